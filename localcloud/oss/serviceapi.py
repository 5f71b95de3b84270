"""The service level (no bucket addressed): ListBuckets and DescribeRegions.

Owns both operations' permission rule, parameters and XML answers. ListBuckets lists
the local cloud's buckets (one account, one region) with the emulator's URL as their
endpoint (see :mod:`bucketapi`). DescribeRegions describes OSS's regions, not the local
cloud: it answers the public catalog below, so an application that looks an endpoint up
gets OSS's. No socket code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from localcloud.config import REGION
from localcloud.oss import xmlbody
from localcloud.oss.bucketapi import RESOURCE_GROUP_ID, EndpointOf
from localcloud.oss.buckets import BucketRegistry
from localcloud.oss.errors import OssError, invalid_argument
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.listing import owner_xml
from localcloud.oss.xmlbody import iso_time

DEFAULT_MAX_KEYS = 100
LIMIT_MAX_KEYS = 1000

#: OSS's public regions (region ids without the ``oss-`` prefix). Each has the endpoints
#: ``oss-<id>.aliyuncs.com`` and ``oss-<id>-internal.aliyuncs.com``; acceleration is
#: global. UNCONFIRMED that the list is complete today: OSS adds regions over time.
OSS_REGIONS = (
    "cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr", "cn-qingdao",
    "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-shenzhen",
    "cn-heyuan", "cn-guangzhou", "cn-chengdu", "cn-hongkong", "ap-northeast-1",
    "ap-northeast-2", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "eu-central-1", "eu-west-1", "us-west-1",
    "us-east-1", "na-south-1", "me-east-1", "me-central-1",
)
ACCELERATE_ENDPOINT = "oss-accelerate.aliyuncs.com"


def no_such_region() -> OssError:
    """DescribeRegions for a region OSS does not have (Code and wording UNCONFIRMED)."""
    return OssError(404, "NoSuchRegion", "The specified region does not exist.")


def _max_keys(query: Mapping[str, str]) -> int:
    raw = query.get("max-keys", "")
    if not raw:
        return DEFAULT_MAX_KEYS
    if not raw.isdigit() or not 1 <= int(raw) <= LIMIT_MAX_KEYS:
        raise invalid_argument("Argument max-keys is invalid.", name="max-keys", value=raw)
    return int(raw)


@dataclass
class ServiceApi:
    """ListBuckets and DescribeRegions over one bucket registry."""

    buckets: BucketRegistry
    endpoint_of: EndpointOf

    def list_buckets(self, request: Request) -> Response:
        """List buckets by name: ``prefix``, ``marker`` (exclusive), ``max-keys``."""
        query = request.query
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        max_keys = _max_keys(query)
        names = [n for n in self.buckets.names() if n.startswith(prefix) and n > marker]
        page, truncated = names[:max_keys], len(names) > max_keys
        endpoint = escape(self.endpoint_of(request))
        parts = [f"{xmlbody.XML_DECLARATION}<ListAllMyBucketsResult>"]
        # The paging parameters are echoed only when given, as in OSS's samples.
        if "prefix" in query:
            parts.append(f"<Prefix>{escape(prefix)}</Prefix>")
        if "marker" in query:
            parts.append(f"<Marker>{escape(marker)}</Marker>")
        if "max-keys" in query:
            parts.append(f"<MaxKeys>{max_keys}</MaxKeys>")
        parts.append(xmlbody.is_truncated(truncated))
        if truncated:
            parts.append(f"<NextMarker>{escape(page[-1])}</NextMarker>")
        parts.append(f"{owner_xml()}<Buckets>")
        for name in page:
            config = self.buckets.get(name)
            if config is None:  # deleted since names() was read
                continue
            created = iso_time(config.created or request.now)
            parts.append(
                f"<Bucket><CreationDate>{created}</CreationDate>"
                f"<ExtranetEndpoint>{endpoint}</ExtranetEndpoint>"
                f"<IntranetEndpoint>{endpoint}</IntranetEndpoint>"
                f"<Location>oss-{REGION}</Location><Name>{escape(name)}</Name>"
                f"<Region>{REGION}</Region>"
                f"<StorageClass>{escape(config.storage_class)}</StorageClass>"
                f"<ResourceGroupId>{RESOURCE_GROUP_ID}</ResourceGroupId></Bucket>")
        parts.append("</Buckets></ListAllMyBucketsResult>")
        return Response(200, dict(xmlbody.XML), "".join(parts).encode())

    def describe_regions(self, request: Request) -> Response:
        """Describe every OSS region, or the one ``regions=oss-<id>`` names."""
        wanted = request.query.get("regions", "")
        regions: tuple[str, ...] = OSS_REGIONS
        if wanted:
            region = wanted.removeprefix("oss-")
            if region not in OSS_REGIONS:
                raise no_such_region()
            regions = (region,)
        parts = [f"{xmlbody.XML_DECLARATION}<RegionInfoList>"]
        for region in regions:
            parts.append(
                f"<RegionInfo><Region>oss-{region}</Region>"
                f"<InternetEndpoint>oss-{region}.aliyuncs.com</InternetEndpoint>"
                f"<InternalEndpoint>oss-{region}-internal.aliyuncs.com</InternalEndpoint>"
                f"<AccelerateEndpoint>{ACCELERATE_ENDPOINT}</AccelerateEndpoint></RegionInfo>")
        parts.append("</RegionInfoList>")
        return Response(200, dict(xmlbody.XML), "".join(parts).encode())
