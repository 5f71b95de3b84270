"""Success answers to PostObject (oss-postobject.md §7): 204/200/201/303."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from localcloud.oss.postobject.form import VerifiedUpload
from localcloud.oss.postobject.store import success_response

UPLOAD = VerifiedUpload(
    key="uploads/a&b.txt", temp_path=Path("-"), size=5, md5_hex="d8e8fca2dc0f896fd7cb4cb0031ba249",
    crc64=16633938635979353501, content_type="text/plain", headers={}, metadata={}, acl=None,
    storage_class=None, forbid_overwrite=False, success_action_status=None,
    success_action_redirect=None, callback=None, callback_vars={}, access_key_id="FAKE-AK",
)
COMMON = {
    "ETag": '"D8E8FCA2DC0F896FD7CB4CB0031BA249"',
    "x-oss-hash-crc64ecma": "16633938635979353501",
    "Content-MD5": "2Oj8otwPiW/Xy0ywAxuiSQ==",
}


@pytest.mark.parametrize(("status_field", "expected"),
                         [(None, 204), ("204", 204), ("200", 200), ("500", 204), ("", 204)])
def test_success_status_200_or_204_answers_empty_and_anything_else_means_204(
    status_field: str | None, expected: int
) -> None:
    upload = replace(UPLOAD, success_action_status=status_field)
    assert success_response(upload, bucket="b", location="http://b.test/x",
                            etag="D8E8FCA2DC0F896FD7CB4CB0031BA249") == (
        expected, {**COMMON, "Content-Length": "0"}, b"")


def test_201_returns_post_response_xml_in_the_observed_order() -> None:
    upload = replace(UPLOAD, success_action_status="201")
    status, headers, body = success_response(
        upload, bucket="b", location="http://b.test/uploads/a&b.txt",
        etag='"D8E8FCA2DC0F896FD7CB4CB0031BA249"')
    expected_body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Bucket>b</Bucket>'
        b"<Location>http://b.test/uploads/a&amp;b.txt</Location><Key>uploads/a&amp;b.txt</Key>"
        b"<ETag>D8E8FCA2DC0F896FD7CB4CB0031BA249</ETag></PostResponse>")
    assert (status, body) == (201, expected_body)
    assert headers == {**COMMON, "Content-Type": "application/xml",
                       "Content-Length": str(len(expected_body))}


def test_redirect_wins_and_is_a_303_without_added_parameters() -> None:
    upload = replace(UPLOAD, success_action_status="201",
                     success_action_redirect="http://app.test/done?x=1")
    assert success_response(upload, bucket="b", location="-", etag="E") == (
        303, {**COMMON, "ETag": '"E"', "Location": "http://app.test/done?x=1",
              "Content-Length": "0"}, b"")
