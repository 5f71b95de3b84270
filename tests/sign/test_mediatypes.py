"""What a grant stores: the type, the key's extension and the disposition it pins."""

from __future__ import annotations

import pytest
from uploadsign import mediatypes
from uploadsign.errors import InvalidField, UnsupportedContentType
from uploadsign.grants import parse_upload_request as parse
from werkzeug.test import Client

from .support import BASE_ENV, FakeClock, FakeFetcher

ORIGIN = "https://app.example.com"

DECLARED = [
    pytest.param("", "application/octet-stream", id="empty-unknown-extension"),
    pytest.param("   ", "application/octet-stream", id="blank"),
    pytest.param("image/png", "image/png", id="plain"),
    pytest.param("IMAGE/PNG", "image/png", id="upper-case"),
    pytest.param("text/plain;charset=utf-8", "text/plain", id="charset"),
    pytest.param("text/plain; charset=UTF-8", "text/plain", id="charset-spaced"),
    pytest.param('application/json; profile="x;y"', "application/json", id="quoted-param"),
    pytest.param(" image/jpeg ", "image/jpeg", id="padded"),
]


@pytest.mark.parametrize(("declared", "essence"), DECLARED)
def test_declared_type_is_read_as_browsers_send_it(declared: str, essence: str) -> None:
    assert mediatypes.essence(declared) == essence


@pytest.mark.parametrize(
    "declared", ["png", "image/", "/png", "image/png/x", "image png", ";charset=utf-8",
                 "text/html\r\nx-oss-object-acl: public-read", "a/" + "b" * 300],
)
def test_anything_else_is_refused_as_an_invalid_field(declared: str) -> None:
    with pytest.raises(InvalidField):
        mediatypes.essence(declared)


ACTIVE = ["text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
          "text/javascript", "application/javascript", "application/ecmascript", "text/css",
          "application/rss+xml", "application/atom+xml", "application/mathml+xml", "text/xsl",
          "application/pdf", "application/x-shockwave-flash", "multipart/x-mixed-replace",
          "text/pdf", "application/x-pdf", "application/xml-dtd",
          "text/xml-external-parsed-entity"]


@pytest.mark.parametrize("media_type", ACTIVE)
def test_script_capable_types_are_stored_as_octet_stream_unless_allowed(media_type: str) -> None:
    assert mediatypes.is_active(media_type)
    assert mediatypes.stored_type(media_type, ()) == "application/octet-stream"
    assert mediatypes.stored_type(media_type, (media_type,)) == media_type


@pytest.mark.parametrize("media_type", ["image/png", "text/plain", "application/json",
                                        "video/mp4", "application/zip"])
def test_passive_types_are_stored_as_themselves(media_type: str) -> None:
    assert mediatypes.stored_type(media_type, ()) == media_type


@pytest.mark.parametrize(
    ("media_type", "ext"),
    [("image/jpeg", "jpg"), ("image/png", "png"), ("text/plain", "txt"),
     ("application/octet-stream", "bin"), ("application/pdf", "pdf"),
     ("audio/mpeg", "mp3"), ("application/x-unknown-thing", "")],
)
def test_key_extension_comes_from_the_type(media_type: str, ext: str) -> None:
    assert mediatypes.extension(media_type) == ext


@pytest.mark.parametrize(
    ("media_type", "filename", "disposition"),
    [
        ("image/png", "cat.png", "inline; filename*=UTF-8''cat.png"),
        ("image/jpeg", "été 2024.jpg", "inline; filename*=UTF-8''%C3%A9t%C3%A9%202024.jpg"),
        ("text/plain", "notes.txt", "attachment; filename*=UTF-8''notes.txt"),
        ("application/octet-stream", "evil.html", "attachment; filename*=UTF-8''evil.html"),
        ("application/pdf", "a\"b;c.pdf", "attachment; filename*=UTF-8''a%22b%3Bc.pdf"),
        ("image/svg+xml", "logo.svg", "attachment; filename*=UTF-8''logo.svg"),
    ],
)
def test_disposition_is_inline_only_for_raster_images_and_carries_the_name(
    media_type: str, filename: str, disposition: str
) -> None:
    assert mediatypes.content_disposition(media_type, filename) == disposition
    assert disposition.isascii()


def test_allow_list_compares_the_essence_and_empty_means_octet_stream() -> None:
    body = b'{"filename":"a.txt","size":1,"content_type":"text/plain;charset=utf-8"}'
    assert parse(body, max_bytes=10, allowed_types=("text/plain",)).content_type == "text/plain"
    unknown = b'{"filename":"model.blend","size":1,"content_type":""}'
    assert parse(unknown, max_bytes=10, allowed_types=()).content_type == (
        "application/octet-stream"
    )
    with pytest.raises(UnsupportedContentType):
        parse(unknown, max_bytes=10, allowed_types=("image/png",))


# --- through the app ------------------------------------------------------------------------


def grant(client: Client, filename: str, content_type: str) -> dict[str, str]:
    response = client.post(
        "/uploads", json={"filename": filename, "size": 10, "content_type": content_type},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 200, response.get_json()
    fields: dict[str, str] = response.get_json()["fields"]
    return fields


@pytest.fixture
def client(clock: FakeClock, fetcher: FakeFetcher) -> Client:
    from uploadsign.factory import build_app

    return Client(build_app(BASE_ENV, fetcher_factory=lambda s: fetcher, clock=clock))


@pytest.mark.parametrize(
    ("filename", "declared", "stored", "ext", "disposition"),
    [
        pytest.param("evil.html", "image/png", "image/png", ".png", "inline", id="lying-name"),
        pytest.param("page.html", "text/html", "application/octet-stream", ".bin", "attachment",
                     id="html"),
        pytest.param("logo.svg", "image/svg+xml", "application/octet-stream", ".bin",
                     "attachment", id="svg"),
        pytest.param("x.png", "text/javascript", "application/octet-stream", ".bin",
                     "attachment", id="js"),
        pytest.param("model.blend", "", "application/octet-stream", ".bin", "attachment",
                     id="unknown"),
        pytest.param("notes", "text/plain;charset=utf-8", "text/plain", ".txt", "attachment",
                     id="charset"),
        pytest.param("photo.JPEG", "image/jpeg", "image/jpeg", ".jpg", "inline", id="jpeg"),
    ],
)
def test_grant_pins_type_extension_disposition_and_private_acl(
    client: Client, filename: str, declared: str, stored: str, ext: str, disposition: str
) -> None:
    fields = grant(client, filename, declared)
    assert fields["x-oss-content-type"] == stored
    assert fields["key"].endswith(ext) and fields["key"].count(".") == 1
    assert fields["Content-Disposition"].startswith(disposition + "; filename*=UTF-8''")
    assert fields["x-oss-object-acl"] == "private"
    assert "Content-Type" not in fields


def test_operator_may_store_an_active_type_as_itself_still_as_a_download(
    clock: FakeClock, fetcher: FakeFetcher
) -> None:
    from uploadsign.factory import build_app

    env = {**BASE_ENV, "UPLOAD_ALLOWED_ACTIVE_TYPES": "image/svg+xml"}
    client = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))
    fields = grant(client, "logo.svg", "image/svg+xml")
    assert (fields["x-oss-content-type"], fields["key"][-4:]) == ("image/svg+xml", ".svg")
    assert fields["Content-Disposition"].startswith("attachment;")
