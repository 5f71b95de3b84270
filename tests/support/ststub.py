"""A loopback STS that answers every request as a successful AssumeRole.

Owns the one fake AssumeRole server that the sign and deploy tests point the real SDK at
(``STS_ENDPOINT``), so the whole path SDK → HTTP → JSON parse runs over a socket. It is a
fake, not the STS emulator (``localcloud.sts``): no signature check, no roles, one fixed
answer. Served through :mod:`tests.support.liveserver`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.support.liveserver import QuietHandler, serving


@dataclass(frozen=True)
class AssumeRoleAnswer:
    """The credentials the fake hands out; ``expiration`` is STS wire text (UTC, ``Z``)."""

    key_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    expiration: str
    role_arn: str = "acs:ram::123456789012:role/oss-uploader"

    def body(self) -> bytes:
        """Return the JSON body in the shape STS answers AssumeRole with."""
        return json.dumps(
            {
                "RequestId": "FAKE-STS-REQUEST",
                "AssumedRoleUser": {"Arn": f"{self.role_arn}/s", "AssumedRoleId": "1:s"},
                "Credentials": {
                    "AccessKeyId": self.key_id,
                    "AccessKeySecret": self.secret,
                    "SecurityToken": self.token,
                    "Expiration": self.expiration,
                },
            }
        ).encode()


@dataclass
class FakeSts:
    """A running fake: its base URL and the request paths it has answered, in order."""

    url: str
    paths: list[str] = field(default_factory=list)

    def queries(self) -> list[dict[str, list[str]]]:
        """Return each answered request's query string, parsed."""
        return [parse_qs(urlsplit(path).query) for path in self.paths]


def _handler_for(answer: AssumeRoleAnswer, fake: FakeSts) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()
    body = answer.body()

    class Handler(QuietHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                fake.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    return Handler


@contextmanager
def fake_sts(answer: AssumeRoleAnswer) -> Iterator[FakeSts]:
    """Serve ``answer`` on 127.0.0.1, port 0, until the block ends (even on failure)."""
    fake = FakeSts(url="")
    with serving(_handler_for(answer, fake)) as live:
        fake.url = live.url
        yield fake
