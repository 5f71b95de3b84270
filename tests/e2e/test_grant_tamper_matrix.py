"""A grant tamper matrix through the local cloud (README "Security").

For each grant kind, every form field a holder might change, add, respell or drop,
every ``file``-part header and a wrong size go over real HTTP to the emulator. Each
tamper is either refused with a 4xx OSS error and stores nothing, or stores exactly
what the grant pinned: its key, a private ACL, its type and its disposition. The
exact-key grant (``POST /uploads``) pins all of these; the sample route's grant pins a
per-grant directory, and nothing outside it ever changes. Last, the page's website
origin never serves an upload, not even public-read HTML.

Grants come from the running function, asked as the page asks (``Origin`` is the
website origin); nothing here signs a policy. The admin SDK client is the independent
reader of listings and headers; the ACL, which the emulator offers no GetObjectAcl for,
is read from the emulator's store.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.forms import post_json, request

Form = list[tuple[str, str]]

#: What the holder declared: HTML, the type an attacker wants rendered.
FILENAME = "page.html"
DECLARED_TYPE = "text/html"
DATA = b"<!doctype html><script>fetch('/steal?'+document.cookie)</script>tamper"
#: What the grant must make of it (tests/sign/test_mediatypes.py pins the rules).
PINNED_TYPE = "application/octet-stream"
PINNED_DISPOSITION = "attachment; filename*=UTF-8''page.html"
PINNED_METADATA = {"x-oss-meta-original-filename": FILENAME}
#: The file part as the page's form sends it.
FILE_HEAD = f'Content-Disposition: form-data; name="file"; filename="{FILENAME}"\r\n' \
            f"Content-Type: {DECLARED_TYPE}"
#: Another callback target: where a holder would like the upload summary to go.
STOLEN_CALLBACK = base64.b64encode(json.dumps(
    {"callbackUrl": "http://127.0.0.1:9/steal", "callbackBody": "bucket=${bucket}"},
).encode()).decode()


@dataclass(frozen=True)
class Refused:
    """The expected refusal: status and OSS error code; nothing is stored."""

    status: int
    code: str


@dataclass(frozen=True)
class Stored:
    """Stored with the pinned key, ACL, type and disposition, plus what the grant leaves free.

    ``headers``, ``metadata`` and ``storage_class`` are the unpinned attributes the
    tamper may add (OSS accepts fields a policy does not name: oss-postobject.md §5.4).
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    storage_class: str = "Standard"


BY_POLICY = Refused(403, "AccessDenied")
BY_SIGNATURE = Refused(403, "SignatureDoesNotMatch")
DUPLICATE = Refused(400, "MalformedPOSTRequest")
MALFORMED = Refused(400, "MalformedPOSTRequest")
TOO_LARGE = Refused(400, "EntityTooLarge")
TOO_SMALL = Refused(400, "EntityTooSmall")
PINNED = Stored()

Value = str | Callable[[Mapping[str, str]], str]


@dataclass(frozen=True)
class Edit:
    """One change to the granted fields: set, add, drop or respell a field.

    ``name`` is matched exactly as the grant spells it. ``value`` may derive from the
    granted fields (a tampered policy is built from the real one).
    """

    op: Literal["set", "add", "drop", "respell"]
    name: str
    value: Value | None = None
    spelling: str | None = None

    def apply(self, form: Form, granted: Mapping[str, str]) -> Form:
        """Return the form with this edit made."""
        value = self.value(granted) if callable(self.value) else self.value
        if self.op == "add":
            assert value is not None
            return [*form, (self.name, value)]
        assert self.name in dict(form), self.name
        if self.op == "drop":
            return [(n, v) for n, v in form if n != self.name]
        if self.op == "set":
            assert value is not None
            return [(n, value if n == self.name else v) for n, v in form]
        assert self.op == "respell" and self.spelling is not None
        return [(self.spelling if n == self.name else n,
                 v if value is None or n != self.name else value) for n, v in form]


def set_(name: str, value: Value) -> Edit:
    return Edit("set", name, value)


def add(name: str, value: str) -> Edit:
    return Edit("add", name, value)


def drop(name: str) -> Edit:
    return Edit("drop", name)


def respell(name: str, spelling: str, value: str | None = None) -> Edit:
    return Edit("respell", name, value, spelling)


@dataclass(frozen=True)
class Tamper:
    """What a holder does to a real grant's form before POSTing it."""

    edits: tuple[Edit, ...] = ()
    file_head: str = FILE_HEAD
    size_delta: int = 0
    trailing: tuple[tuple[str, str], ...] = ()  # parts after ``file``
    headers: Mapping[str, str] = field(default_factory=dict)  # HTTP request headers


def policy_without(field_name: str) -> Callable[[Mapping[str, str]], str]:
    """Return the grant's policy re-encoded without the conditions on ``field_name``."""
    def derive(granted: Mapping[str, str]) -> str:
        document = json.loads(base64.b64decode(granted["policy"]))
        document["conditions"] = [
            c for c in document["conditions"]
            if not (isinstance(c, list) and c[1:2] == [f"${field_name}"])
        ]
        return base64.b64encode(json.dumps(document).encode()).decode()
    return derive


def flipped_signature(granted: Mapping[str, str]) -> str:
    signature = granted["x-oss-signature"]
    return ("1" if signature[0] == "0" else "0") + signature[1:]


def other_day(granted: Mapping[str, str]) -> str:
    return "20200101" + granted["x-oss-date"][8:]


def file_head(disposition: str, *types: str) -> str:
    return "\r\n".join([f"Content-Disposition: {disposition}",
                        *(f"Content-Type: {t}" for t in types)])


#: Every field of the grant, as the grant spells it (the callback is on: the default).
GRANTED_FIELDS = (
    "key", "x-oss-object-acl", "x-oss-content-type", "Content-Disposition",
    "x-oss-storage-class", "x-oss-meta-original-filename", "success_action_status",
    "x-oss-forbid-overwrite",
    "callback", "x:grant-id", "x:grant-token", "x-oss-signature-version",
    "x-oss-credential", "x-oss-date", "x-oss-security-token", "policy", "x-oss-signature",
)
#: Dropping a field: the policy names every one of them, so each is missed.
DROP_EXPECTED = {
    "key": Refused(400, "InvalidArgument"),
    "policy": Refused(400, "InvalidArgument"),
    "x-oss-signature": Refused(400, "InvalidArgument"),
    "x-oss-credential": Refused(400, "InvalidArgument"),
    "x-oss-date": Refused(400, "InvalidArgument"),
    "x-oss-signature-version": Refused(400, "InvalidArgument"),
    "x-oss-security-token": Refused(403, "InvalidAccessKeyId"),
}

EXACT_KEY_TAMPERS = [
    # -- a pinned field changed ---------------------------------------------------------
    pytest.param(Tamper((set_("key", "uploads/2020/01/01/" + "0" * 32 + ".bin"),)),
                 BY_POLICY, id="key-another-key-in-the-dir"),
    pytest.param(Tamper((set_("key", "uploads/index.html"),)), BY_POLICY,
                 id="key-uploads/index.html"),
    pytest.param(Tamper((set_("key", "index.html"),)), BY_POLICY, id="key-outside-the-dir"),
    pytest.param(Tamper((set_("key", "uploads/../index.html"),)), BY_POLICY,
                 id="key-dot-dot"),
    pytest.param(Tamper((set_("key", "${filename}"),)), BY_POLICY, id="key-${filename}"),
    pytest.param(Tamper((set_("key", lambda g: g["key"].upper()),)), BY_POLICY,
                 id="key-other-case"),
    pytest.param(Tamper((set_("key", lambda g: g["key"] + ".html"),)), BY_POLICY,
                 id="key-extension-appended"),
    pytest.param(Tamper((set_("x-oss-object-acl", "public-read"),)), BY_POLICY,
                 id="acl-public-read"),
    pytest.param(Tamper((set_("x-oss-object-acl", "public-read-write"),)), BY_POLICY,
                 id="acl-public-read-write"),
    pytest.param(Tamper((set_("x-oss-object-acl", "default"),)), BY_POLICY, id="acl-default"),
    pytest.param(Tamper((set_("x-oss-object-acl", "Private"),)), BY_POLICY,
                 id="acl-value-other-case"),
    pytest.param(Tamper((set_("x-oss-content-type", "text/html"),)), BY_POLICY,
                 id="x-oss-content-type-text/html"),
    pytest.param(Tamper((set_("x-oss-content-type", "image/svg+xml"),)), BY_POLICY,
                 id="x-oss-content-type-svg"),
    pytest.param(Tamper((set_("Content-Disposition", "inline"),)), BY_POLICY,
                 id="disposition-inline"),
    pytest.param(Tamper((set_("Content-Disposition", "inline; filename*=UTF-8''page.html"),)),
                 BY_POLICY, id="disposition-inline-with-name"),
    pytest.param(Tamper((set_("x-oss-storage-class", "Archive"),)), BY_POLICY,
                 id="storage-class-archive"),
    pytest.param(Tamper((set_("x-oss-forbid-overwrite", "false"),)), BY_POLICY,
                 id="forbid-overwrite-false"),
    pytest.param(Tamper((set_("x-oss-forbid-overwrite", ""),)), BY_POLICY,
                 id="forbid-overwrite-empty"),
    pytest.param(Tamper((set_("success_action_status", "201"),)), BY_POLICY,
                 id="success_action_status-201"),
    pytest.param(Tamper((set_("x-oss-meta-original-filename", "evil.html"),)), BY_POLICY,
                 id="original-filename"),
    pytest.param(Tamper((set_("callback", STOLEN_CALLBACK),)), BY_POLICY,
                 id="callback-another-url"),
    pytest.param(Tamper((set_("callback", ""),)), BY_POLICY, id="callback-empty"),
    pytest.param(Tamper((set_("x:grant-id", "0" * 24),)), BY_POLICY, id="x:grant-id"),
    pytest.param(Tamper((set_("x:grant-token", "v1.0.forged"),)), BY_POLICY,
                 id="x:grant-token"),
    pytest.param(Tamper((set_("x-oss-date", other_day),)), Refused(400, "InvalidArgument"),
                 id="x-oss-date-another-day"),
    pytest.param(Tamper((set_("x-oss-signature", flipped_signature),)), BY_SIGNATURE,
                 id="signature-altered"),
    pytest.param(Tamper((set_("policy", policy_without("x-oss-object-acl")),
                         set_("x-oss-object-acl", "public-read"))),
                 BY_SIGNATURE, id="policy-without-the-acl-condition"),
    # -- a field the grant does not carry, added ---------------------------------------
    pytest.param(Tamper((add("Content-Type", "text/html"),)), PINNED,
                 id="add-Content-Type-text/html"),
    pytest.param(Tamper((add("Cache-Control", "public, max-age=31536000"),)),
                 Stored(headers={"Cache-Control": "public, max-age=31536000"}),
                 id="add-Cache-Control"),
    pytest.param(Tamper((add("Content-Encoding", "gzip"),)),
                 Stored(headers={"Content-Encoding": "gzip"}), id="add-Content-Encoding"),
    pytest.param(Tamper((add("Expires", "Thu, 01 Jan 2099 00:00:00 GMT"),)),
                 Stored(headers={"Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}),
                 id="add-Expires"),
    pytest.param(Tamper((add("x-oss-meta-foo", "bar"),)),
                 Stored(metadata={"x-oss-meta-foo": "bar"}), id="add-x-oss-meta-foo"),
    pytest.param(Tamper((add("x-oss-storage-class", "Archive"),)), DUPLICATE,
                 id="second-storage-class"),
    pytest.param(Tamper((add("success_action_redirect", "http://127.0.0.1:9/next"),)),
                 PINNED, id="add-success_action_redirect"),
    pytest.param(Tamper((add("x:extra", "value"),)), PINNED, id="add-callback-variable"),
    # -- a second spelling of a pinned field ---------------------------------------------
    pytest.param(Tamper((add("key", "uploads/index.html"),)), DUPLICATE, id="second-key"),
    pytest.param(Tamper((add("x-oss-object-acl", "public-read"),)), DUPLICATE,
                 id="second-acl"),
    pytest.param(Tamper((add("X-OSS-OBJECT-ACL", "public-read"),)), DUPLICATE,
                 id="second-acl-upper-case"),
    pytest.param(Tamper((add("X-Oss-Content-Type", "text/html"),)), DUPLICATE,
                 id="second-x-oss-content-type-other-case"),
    pytest.param(Tamper((add("content-disposition", "inline"),)), DUPLICATE,
                 id="second-disposition-lower-case"),
    pytest.param(Tamper((add("x-oss-forbid-overwrite", "false"),)), DUPLICATE,
                 id="second-forbid-overwrite"),
    pytest.param(Tamper((add("policy", "e30="),)), DUPLICATE, id="second-policy"),
    pytest.param(Tamper((add("x-oss-object-acl ", "public-read"),)), DUPLICATE,
                 id="second-acl-name-with-trailing-space"),
    pytest.param(Tamper((respell("x-oss-object-acl", "X-OSS-OBJECT-ACL", "public-read"),)),
                 BY_POLICY, id="acl-upper-case-spelling-public-read"),
    pytest.param(Tamper((respell("x-oss-content-type", "X-OSS-CONTENT-TYPE", "text/html"),)),
                 BY_POLICY, id="x-oss-content-type-upper-case-spelling-text/html"),
    pytest.param(Tamper((respell("x-oss-object-acl", "X-OSS-OBJECT-ACL"),)), PINNED,
                 id="acl-upper-case-spelling-same-value"),
    pytest.param(Tamper((respell("x-oss-content-type", "X-Oss-Content-Type"),)), PINNED,
                 id="x-oss-content-type-other-case-same-value"),
    # -- a pinned field dropped ----------------------------------------------------------
    *(pytest.param(Tamper((drop(name),)), DROP_EXPECTED.get(name, BY_POLICY),
                   id=f"drop-{name}") for name in GRANTED_FIELDS),
    # -- the file part's headers ---------------------------------------------------------
    pytest.param(Tamper(file_head=file_head(f'form-data; name="file"; filename="{FILENAME}"',
                                            "text/html; charset=utf-8")),
                 PINNED, id="file-type-html-charset"),
    pytest.param(Tamper(file_head=file_head(f'form-data; name="file"; filename="{FILENAME}"',
                                            "image/svg+xml")),
                 PINNED, id="file-type-svg"),
    pytest.param(Tamper(file_head=file_head(f'form-data; name="file"; filename="{FILENAME}"',
                                            "image/png", "text/html")),
                 PINNED, id="file-type-twice"),
    pytest.param(Tamper(file_head=file_head(f'form-data; name="file"; filename="{FILENAME}"')),
                 PINNED, id="file-type-absent"),
    pytest.param(Tamper(file_head=file_head('form-data; name="file"; filename="evil.html"',
                                            "text/html")),
                 PINNED, id="file-name-evil.html"),
    pytest.param(Tamper(file_head=file_head(
        'form-data; name="file"; filename="../../uploads/index.html"', "text/html")),
                 PINNED, id="file-name-with-path"),
    pytest.param(Tamper(file_head=file_head(
        "form-data; name=\"file\"; filename=\"a.png\"; filename*=UTF-8''evil.html",
        "text/html")), PINNED, id="file-name-extended"),
    pytest.param(Tamper(file_head=file_head('form-data; name="file"', "text/html")),
                 PINNED, id="file-without-name"),
    pytest.param(Tamper(file_head=file_head(f'form-data; name="FILE"; filename="{FILENAME}"',
                                            "text/html")),
                 PINNED, id="file-part-name-upper-case"),
    pytest.param(Tamper(file_head=file_head(f'attachment; name="file"; filename="{FILENAME}"',
                                            "text/html")),
                 MALFORMED, id="file-disposition-attachment"),
    pytest.param(Tamper(file_head=f"Content-Type: {DECLARED_TYPE}"), MALFORMED,
                 id="file-disposition-absent"),
    # -- fields after the file part ------------------------------------------------------
    pytest.param(Tamper(trailing=(("x-oss-object-acl", "public-read"),
                                  ("x-oss-content-type", "text/html"),
                                  ("Content-Disposition", "inline"),
                                  ("key", "uploads/index.html"))),
                 PINNED, id="trailing-fields-after-file"),
    # -- the size ------------------------------------------------------------------------
    pytest.param(Tamper(size_delta=1), TOO_LARGE, id="size-one-byte-more"),
    pytest.param(Tamper(size_delta=-1), TOO_SMALL, id="size-one-byte-less"),
    pytest.param(Tamper(size_delta=-len(DATA)), TOO_SMALL, id="size-empty"),
    # -- HTTP request headers instead of form fields -----------------------------------
    pytest.param(Tamper(headers={"x-oss-object-acl": "public-read",
                                 "x-oss-forbid-overwrite": "false",
                                 "x-oss-content-type": "text/html",
                                 "Content-Disposition": "inline",
                                 "x-oss-storage-class": "Archive"}),
                 PINNED, id="request-headers"),
]


# -- plumbing ---------------------------------------------------------------------------

def encode_form(fields: Sequence[tuple[str, str]], head: str, data: bytes,
                trailing: Sequence[tuple[str, str]] = ()) -> tuple[bytes, str]:
    """Encode fields, a file part with the given raw headers, and trailing fields."""
    boundary = "----tamper" + secrets.token_hex(8)

    def text(name: str, value: str) -> bytes:
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()

    body = b"".join(text(n, v) for n, v in fields)
    body += f"--{boundary}\r\n{head}\r\n\r\n".encode() + data + b"\r\n"
    body += b"".join(text(n, v) for n, v in trailing)
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post_form(url: str, fields: Sequence[tuple[str, str]], *, head: str = FILE_HEAD,
              data: bytes = DATA, trailing: Sequence[tuple[str, str]] = (),
              headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    body, ctype = encode_form(fields, head, data, trailing)
    status, _, answer = request("POST", url, body, {**(headers or {}), "Content-Type": ctype})
    return status, answer


def error_code(answer: bytes) -> str | None:
    found = re.search(rb"<Code>([^<]+)</Code>", answer)
    return found.group(1).decode() if found else None


def upload_grant(cloud: LocalCloud, size: int = len(DATA)) -> dict[str, Any]:
    status, grant = post_json(
        f"{cloud.function_url}/uploads",
        {"filename": FILENAME, "size": size, "content_type": DECLARED_TYPE},
        origin=cloud.website_origin,
    )
    assert status == 200, grant
    assert isinstance(grant, dict)
    return grant


def sample_grant(cloud: LocalCloud) -> dict[str, Any]:
    status, _, raw = request("GET", f"{cloud.function_url}/get_post_signature_for_oss_upload",
                             headers={"Origin": cloud.website_origin})
    assert status == 200, raw
    grant: dict[str, Any] = json.loads(raw)
    return grant


def sample_form(grant: Mapping[str, Any], key: str) -> Form:
    """The fields the published sample page sends, in its order."""
    return [
        ("success_action_status", str(grant["success_action_status"])),
        ("policy", grant["policy"]),
        ("x-oss-signature", grant["signature"]),
        ("x-oss-signature-version", grant["x_oss_signature_version"]),
        ("x-oss-credential", grant["x_oss_credential"]),
        ("x-oss-date", grant["x_oss_date"]),
        ("key", key),
        ("x-oss-security-token", grant["security_token"]),
    ]


def listing(admin: oss.Client, bucket: str) -> dict[str, str]:
    """Every object of the bucket as key → ETag, read by the admin client."""
    listed = admin.list_objects_v2(oss.ListObjectsV2Request(bucket=bucket, max_keys=1000))
    assert not listed.is_truncated
    return {str(o.key): str(o.etag) for o in listed.contents or []}


def stored_record(cloud: LocalCloud, key: str) -> dict[str, Any]:
    """What the emulator's store remembers about an object (ACL included)."""
    meta = cloud.emulator.store.head(cloud.bucket, key)
    assert meta is not None, key
    return {"key": meta.key, "size": meta.size, "acl": meta.acl,
            "content_type": meta.content_type, "storage_class": meta.storage_class,
            "headers": dict(meta.headers), "metadata": dict(meta.metadata)}


def bytes_of(admin: oss.Client, bucket: str, key: str) -> bytes:
    data: bytes = admin.get_object(oss.GetObjectRequest(bucket=bucket, key=key)).body.read()
    return data


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """One stack for the module: callback on (the default), the sample route on, no rate
    limit (the matrix asks for a grant per row)."""
    with LocalCloud.start(
        tmp_path_factory.mktemp("tamper"),
        function_env_overrides={"UPLOAD_SAMPLE_ROUTE": "on", "RATE_LIMIT_PER_MINUTE": "0"},
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def admin(cloud: LocalCloud) -> oss.Client:
    return admin_client(cloud)


# -- the exact-key grant ------------------------------------------------------------------

def test_the_matrix_grant_pins_a_private_octet_stream_attachment_under_a_bin_key(
    cloud: LocalCloud,
) -> None:
    grant = upload_grant(cloud)
    fields = grant["fields"]
    assert list(fields) == list(GRANTED_FIELDS[:-2]) + ["policy", "x-oss-signature"]
    assert {name: fields[name] for name in GRANTED_FIELDS[1:8]} == {
        "x-oss-object-acl": "private",
        "x-oss-content-type": PINNED_TYPE,
        "Content-Disposition": PINNED_DISPOSITION,
        "x-oss-storage-class": "Standard",
        "x-oss-meta-original-filename": FILENAME,
        "success_action_status": "200",
        "x-oss-forbid-overwrite": "true",
    }
    assert re.fullmatch(r"uploads/\d{4}/\d\d/\d\d/[0-9a-f]{32}\.bin", fields["key"])
    assert fields["key"] == grant["key"]


@pytest.mark.parametrize(("tamper", "expected"), EXACT_KEY_TAMPERS)
def test_exact_key_grant_tamper_is_refused_or_stores_only_what_the_grant_pinned(
    cloud: LocalCloud, admin: oss.Client, tamper: Tamper, expected: Refused | Stored
) -> None:
    grant = upload_grant(cloud)
    granted: dict[str, str] = grant["fields"]
    form: Form = list(granted.items())
    for edit in tamper.edits:
        form = edit.apply(form, granted)
    data = (DATA + b"!" * tamper.size_delta)[: len(DATA) + tamper.size_delta]
    before = listing(admin, cloud.bucket)

    status, answer = post_form(grant["url"], form, head=tamper.file_head, data=data,
                               trailing=tamper.trailing, headers=tamper.headers)

    after = listing(admin, cloud.bucket)
    if isinstance(expected, Refused):
        assert (status, error_code(answer)) == (expected.status, expected.code), answer
        assert after == before
        return
    key = grant["key"]
    assert status == 200, answer  # success_action_status, through the grant's callback
    assert after == {**before, key: after.get(key)}  # this one object, nothing else
    assert stored_record(cloud, key) == {
        "key": key, "size": len(DATA), "acl": "private", "content_type": PINNED_TYPE,
        "storage_class": expected.storage_class,
        "headers": {"Content-Disposition": PINNED_DISPOSITION, **expected.headers},
        "metadata": {**PINNED_METADATA, **expected.metadata},
    }
    head = admin.head_object(oss.HeadObjectRequest(bucket=cloud.bucket, key=key))
    assert (head.content_type, head.content_disposition) == (PINNED_TYPE, PINNED_DISPOSITION)
    assert request("GET", f"{cloud.post_url}/{key}")[0] == 403  # private: no anonymous read


def test_second_upload_with_the_same_grant_is_refused_and_keeps_the_first_bytes(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    grant = upload_grant(cloud)
    form = list(grant["fields"].items())
    second = DATA.replace(b"tamper", b"second")
    assert post_form(grant["url"], form)[0] == 200

    status, answer = post_form(grant["url"], form, data=second)

    assert (status, error_code(answer)) == (409, "FileAlreadyExists")
    assert bytes_of(admin, cloud.bucket, grant["key"]) == DATA


# -- the sample route's grant -------------------------------------------------------------

VICTIM = b"another user's upload"


@pytest.fixture(scope="module")
def neighbour_dir(cloud: LocalCloud, admin: oss.Client) -> str:
    """Objects outside any new grant's directory: the admin's, and another grant's."""
    for key in ("uploads/victim.txt", "uploads/index.html", "index.html"):
        admin.put_object(oss.PutObjectRequest(bucket=cloud.bucket, key=key, body=VICTIM))
    neighbour = sample_grant(cloud)
    status, answer = post_form(neighbour["host"], sample_form(neighbour, neighbour["dir"] + "x"),
                               data=VICTIM)
    assert status == 200, answer
    return str(neighbour["dir"])


#: (key, file name, extra fields) → refused, or stored under this literal key.
SAMPLE_TAMPERS = [
    pytest.param("uploads/victim.txt", "a.txt", (), BY_POLICY, id="another-users-object"),
    pytest.param("uploads/index.html", "a.txt", (), BY_POLICY, id="uploads/index.html"),
    pytest.param("index.html", "a.txt", (), BY_POLICY, id="bucket-root"),
    pytest.param("{neighbour}x", "a.txt", (), BY_POLICY, id="another-grants-object"),
    pytest.param("{neighbour}new", "a.txt", (), BY_POLICY, id="another-grants-dir"),
    pytest.param("../uploads/victim.txt", "a.txt", (), BY_POLICY, id="leading-dot-dot"),
    pytest.param("/{dir}a.txt", "a.txt", (), BY_POLICY, id="leading-slash"),
    pytest.param("{dir_no_slash}", "a.txt", (), BY_POLICY, id="the-dir-without-its-slash"),
    pytest.param("{dir_no_slash}a.txt", "a.txt", (), BY_POLICY, id="a-sibling-of-the-dir"),
    pytest.param("UPLOADS/{gid}/a.txt", "a.txt", (), BY_POLICY, id="dir-in-other-case"),
    pytest.param("${filename}", "uploads/victim.txt", (), BY_POLICY,
                 id="${filename}-naming-another-users-object"),
    pytest.param("{dir}a.txt", "a.txt", (("key", "uploads/victim.txt"),), DUPLICATE,
                 id="second-key-outside"),
    pytest.param("{dir}a.txt", "a.txt", (("KEY", "uploads/victim.txt"),), DUPLICATE,
                 id="second-key-upper-case"),
    # OSS keys are names, not paths: ".." inside the directory stays inside it.
    pytest.param("{dir}../victim.txt", "a.txt", (), "{dir}../victim.txt", id="dot-dot-inside"),
    pytest.param("{dir}../../index.html", "a.txt", (), "{dir}../../index.html",
                 id="dot-dot-dot-dot-inside"),
    pytest.param("{dir}${filename}", "../../victim.txt", (), "{dir}../../victim.txt",
                 id="${filename}-with-dot-dot-inside"),
]


def fill(template: str, names: Mapping[str, str]) -> str:
    """Replace ``{name}`` placeholders; ``${filename}`` is OSS's and stays."""
    for name, value in names.items():
        template = template.replace("{" + name + "}", value)
    return template


@pytest.mark.parametrize(("key", "filename", "extra", "expected"), SAMPLE_TAMPERS)
def test_sample_grant_never_writes_outside_its_directory(
    cloud: LocalCloud, admin: oss.Client, neighbour_dir: str, key: str, filename: str,
    extra: tuple[tuple[str, str], ...], expected: Refused | str,
) -> None:
    grant = sample_grant(cloud)
    upload_dir = str(grant["dir"])
    names = {"dir": upload_dir, "dir_no_slash": upload_dir.rstrip("/"),
             "gid": grant["grant_id"], "neighbour": neighbour_dir}
    form = sample_form(grant, fill(key, names)) + list(extra)
    before = listing(admin, cloud.bucket)

    status, answer = post_form(
        grant["host"], form, data=b"tampered",
        head=f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
             "Content-Type: text/plain",
    )

    after = listing(admin, cloud.bucket)
    outside = {k: v for k, v in after.items() if not k.startswith(upload_dir)}
    assert outside == before
    assert {k: bytes_of(admin, cloud.bucket, k) for k in (
        "uploads/victim.txt", "uploads/index.html", "index.html", neighbour_dir + "x",
    )} == dict.fromkeys(("uploads/victim.txt", "uploads/index.html", "index.html",
                         neighbour_dir + "x"), VICTIM)
    if isinstance(expected, Refused):
        assert (status, error_code(answer)) == (expected.status, expected.code), answer
        assert after == before
    else:
        assert status == 200, answer
        assert sorted(set(after) - set(before)) == [fill(expected, names)]


def test_sample_grant_inside_its_own_directory_lets_a_holder_choose_acl_type_and_overwrite(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """The residual risk the README states: the published sample page sends no ACL,
    type or overwrite fields, so the sample grant cannot pin them. If this starts
    failing because the route got stricter, update the README's Security section."""
    grant = sample_grant(cloud)
    key = grant["dir"] + "page.html"
    chosen = [("x-oss-object-acl", "public-read"), ("Content-Type", "text/html")]
    first = post_form(grant["host"], sample_form(grant, key) + chosen, data=b"first")
    second = post_form(grant["host"], sample_form(grant, key) + chosen, data=DATA)
    third = post_form(grant["host"], sample_form(grant, grant["dir"] + "more.html"), data=DATA)

    assert [first[0], second[0], third[0]] == [200, 200, 200]
    record = stored_record(cloud, key)
    assert (record["acl"], record["content_type"], record["headers"]) == (
        "public-read", "text/html", {})
    assert bytes_of(admin, cloud.bucket, key) == DATA


# -- the website origin -------------------------------------------------------------------

@dataclass(frozen=True)
class Exposed:
    """Uploads stored the worst ways available: each key with its bytes and ETag."""

    objects: dict[str, tuple[bytes, str]]
    sample_dir: str


@pytest.fixture(scope="module")
def exposed(cloud: LocalCloud, admin: oss.Client) -> Exposed:
    """An HTML upload through each grant kind and one the admin made public-read HTML."""
    objects: dict[str, tuple[bytes, str]] = {}

    def unique() -> bytes:
        return b"<!doctype html><script>parent.postMessage(1)</script>" + \
            secrets.token_hex(16).encode()

    data = unique()
    grant = upload_grant(cloud, len(data))
    body, ctype = encode_form(list(grant["fields"].items()), FILE_HEAD, data)
    status, headers, answer = request("POST", grant["url"], body, {"Content-Type": ctype})
    assert status == 200, answer
    objects[grant["key"]] = (data, headers["etag"])

    data = unique()
    sample = sample_grant(cloud)
    key = sample["dir"] + "index.html"
    form = sample_form(sample, key) + [("x-oss-object-acl", "public-read"),
                                       ("Content-Type", "text/html")]
    body, ctype = encode_form(form, FILE_HEAD, data)
    status, headers, answer = request("POST", sample["host"], body, {"Content-Type": ctype})
    assert status == 200, answer
    objects[key] = (data, headers["etag"])

    data = unique()
    key = "uploads/admin-public.html"
    put = admin.put_object(oss.PutObjectRequest(
        bucket=cloud.bucket, key=key, body=data, content_type="text/html; charset=utf-8",
        acl="public-read"))
    objects[key] = (data, str(put.etag))
    return Exposed(objects, str(sample["dir"]))


def website_paths(cloud: LocalCloud, exposed: Exposed) -> dict[str, int]:
    """Every way a website URL could name an upload, with the status it must get.

    Only ``/`` (and ``/`` with a query) is the page itself; every other path names no
    object of the page bucket.
    """
    bucket = cloud.bucket
    spelled = "".join(f"%{b:02X}" for b in bucket.encode())
    paths = {"/": 200, "/?list-type=2&prefix=uploads/": 200, f"/{bucket}": 404,
             f"/{bucket}/": 404, "/uploads/": 404, f"/{bucket}/uploads/": 404,
             f"/{exposed.sample_dir}": 404, f"/{bucket}/{exposed.sample_dir}": 404}
    for key in exposed.objects:
        for path in (f"/{key}", f"/{bucket}/{key}", f"//{bucket}/{key}",
                     f"/./{bucket}/{key}", f"/x/../{bucket}/{key}", f"/{spelled}/{key}",
                     f"/{bucket}%2F{quote(key, safe='')}",
                     f"/{bucket}/{key}?response-content-type=text/html"):
            paths[path] = 404
    return paths


@pytest.mark.parametrize("host", ["{host}:{port}", "LOCALHOST:{port}", "{host}"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_website_origin_never_serves_an_upload(
    cloud: LocalCloud, exposed: Exposed, method: str, host: str
) -> None:
    origin_host = cloud.website_origin.split("//", 1)[1].split(":", 1)[0]
    host_header = host.format(host=origin_host, port=cloud.emulator.port)
    etags = {etag for _, etag in exposed.objects.values()}
    expected = website_paths(cloud, exposed)

    seen: dict[str, tuple[int, bool]] = {}
    for path in expected:
        status, headers, body = request(method, cloud.oss_url + path,
                                        headers={"Host": host_header})
        leaked = headers.get("etag") in etags or any(
            data in body for data, _ in exposed.objects.values())
        seen[path] = (status, leaked)

    assert seen == {path: (status, False) for path, status in expected.items()}


def test_the_exposed_uploads_are_public_html_on_the_bucket_endpoint(
    cloud: LocalCloud, exposed: Exposed
) -> None:
    """The control: two of them are readable anonymously from the upload bucket's own
    endpoint (another origin), so the website test above would see them if it could."""
    readable = {}
    for key, (data, _) in exposed.objects.items():
        status, _, body = request("GET", f"{cloud.post_url}/{key}")
        readable[key] = (status, data in body)
    assert readable == {
        key: (403, False) if key.endswith(".bin") else (200, True) for key in exposed.objects
    }
