"""Benchmark: uploads over a modelled wide-area link (``bench/wan.py``) to the local cloud.

The client speaks the page's protocol against the signing function (README "HTTP API";
``web/js/multipart.js``): ``POST /uploads``; for a multipart plan, ``GET /uploads/{id}``,
part URLs 20 at a time (``POST …/parts``), the missing parts ``PUT`` N at a time over
kept-alive connections, then ``POST …/complete``. Every byte, the function's calls included,
crosses the link. Rows: one PostObject; multipart with 1, 4 and 8 parts in flight; and a
multipart upload killed at 50% (connections cut mid-part), then resumed, counting the bytes
sent again. Bodies are generated on the fly (no file of the upload's size). Measures;
asserts nothing.

Multipart rows show the end-to-end rate and the parts alone: the emulator's complete
copies the parts into one object on disk (seconds per GiB), which OSS does not. With the
default caps, 4 connections can carry at most 4 × 8 = 32 MB/s, 80% of the link, so 4 in
flight meets 80% only with no gap between parts; each part waits one RTT plus the server.

    .venv/bin/python bench/wan_upload.py [size_mib]      # default: BENCH_WAN_BYTES or 1 GiB
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.emulator_upload import body_parts  # noqa: E402
from bench.wan import WanLink  # noqa: E402
from localcloud.stack import LocalCloud  # noqa: E402

MB = 1_000_000
MIB = 1024 * 1024
RTT_S = 0.040
CONNECTION_RATE = 8 * MB
LINK_RATE = 40 * MB
SIGN_BATCH = 20  # as the page
#: One MiB of bytes repeated: the content does not matter, only its length.
PATTERN = os.urandom(MIB)

Row = tuple[str, str, str, str]


def default_size(quick: bool = False) -> int:
    """BENCH_WAN_BYTES (bytes) when set, else 64 MiB for a quick run and 1 GiB otherwise."""
    return int(os.environ.get("BENCH_WAN_BYTES") or (64 if quick else 1024) * MIB)


def chunks(size: int) -> Iterator[bytes]:
    left = size
    while left:
        piece = PATTERN[: min(left, len(PATTERN))]
        left -= len(piece)
        yield piece


@dataclass
class Route:
    """A server reached through the link: connect to the proxy, name the server in Host."""

    proxy_port: int
    host: str  # the server's own host:port, as signed URLs name it

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=600)


@dataclass
class Endpoints:
    """The function and the OSS endpoint of one stack, both behind the link."""

    function: Route
    oss: Route
    origin: str
    _local: threading.local = field(default_factory=threading.local)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call a function route over this thread's kept-alive connection; the JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Host": self.function.host, "Origin": self.origin,
                   "Content-Type": "application/json"}
        for fresh in (False, True):  # a kept-alive connection the server closed: once more
            conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
            if conn is None or fresh:
                conn = self._local.conn = self.function.connect()
            try:
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                conn.close()
                if fresh:
                    raise
        raw = answer.read()
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {raw[:200]!r}")
        return json.loads(raw) if raw else None


def send_body(route: Route, conn: http.client.HTTPConnection, method: str, url: str,
              headers: dict[str, str], size: int, body: Iterator[bytes],
              killed: threading.Event | None = None, sent: list[int] | None = None) -> int:
    """Stream ``size`` bytes to ``url``; the status, or 0 when ``killed`` cut it short."""
    target = urlsplit(url)
    conn.putrequest(method, f"{target.path}?{target.query}" if target.query else target.path,
                    skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", route.host)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    for piece in body:
        if killed is not None and killed.is_set():
            conn.close()  # the page dies with this part on the wire
            return 0
        conn.send(piece)
        if sent is not None:
            sent.append(len(piece))
    answer = conn.getresponse()
    answer.read()
    return answer.status


def post_object(ends: Endpoints, size: int) -> float:
    """One PostObject of ``size`` bytes; seconds from the grant request to OSS's answer."""
    start = time.perf_counter()
    grant = ends.call("POST", "/uploads", {
        "filename": "big.bin", "size": size, "content_type": "application/octet-stream"})
    assert grant["mode"] == "post", grant
    head, tail, content_type = body_parts(grant["fields"], size)

    def body() -> Iterator[bytes]:
        yield head
        yield from chunks(size)
        yield tail

    status = send_body(ends.oss, ends.oss.connect(), "POST", grant["url"],
                       {"Content-Type": content_type}, len(head) + size + len(tail), body())
    assert 200 <= status < 300, status
    return time.perf_counter() - start


@dataclass
class Multipart:
    """The page's multipart protocol for one plan, with N parts in flight."""

    ends: Endpoints
    plan: dict[str, Any]
    size: int
    urls: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: list[int] = field(default_factory=list)  # bytes put on the wire, partial parts too
    stored: list[int] = field(default_factory=list)  # part numbers answered 200
    in_flight: set[int] = field(default_factory=set)

    @property
    def route(self) -> str:
        return f"/uploads/{self.plan['upload_id']}"

    def part_size(self, number: int) -> int:
        count, size = int(self.plan["part_count"]), int(self.plan["part_size"])
        return size if number < count else self.size - (count - 1) * size

    def missing(self) -> list[int]:
        have = {p["part_number"]: p["size"] for p in self.ends.call("GET", self.route)["parts"]}
        return [n for n in range(1, self.plan["part_count"] + 1)
                if have.get(n) != self.part_size(n)]

    def url_for(self, number: int, todo: list[int]) -> dict[str, Any]:
        with self.lock:
            if number not in self.urls:
                batch = [number, *[n for n in todo if n not in self.urls and n != number]]
                answer = self.ends.call("POST", f"{self.route}/parts",
                                        {"part_numbers": batch[:SIGN_BATCH]})
                self.urls.update({p["part_number"]: p for p in answer["parts"]})
            return self.urls[number]

    def send(self, todo: list[int], in_flight: int, killed: threading.Event | None = None,
             kill_at: int = 0) -> None:
        """PUT the parts of ``todo`` ``in_flight`` at a time; cut all when ``kill_at`` bytes
        are stored (0: never)."""
        queue = list(todo)

        def worker() -> None:
            conn = self.ends.oss.connect()
            while True:
                with self.lock:
                    if not queue or (killed is not None and killed.is_set()):
                        break
                    number = queue.pop(0)
                    self.in_flight.add(number)
                part = self.url_for(number, queue)
                length = self.part_size(number)
                status = send_body(self.ends.oss, conn, "PUT", part["url"], part["headers"],
                                   length, chunks(length), killed, self.sent)
                with self.lock:
                    if status == 0:
                        break
                    assert status == 200, status
                    self.in_flight.discard(number)
                    self.stored.append(number)
                    done = sum(self.part_size(n) for n in self.stored)
                    if killed is not None and kill_at and done >= kill_at:
                        killed.set()
            conn.close()

        threads = [threading.Thread(target=worker) for _ in range(min(in_flight, len(queue)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def complete(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.ends.call("POST", f"{self.route}/complete", {})
        assert answer["size"] == self.size, answer
        return answer


def start_multipart(ends: Endpoints, size: int) -> Multipart:
    plan = ends.call("POST", "/uploads", {
        "filename": "big.bin", "size": size, "content_type": "application/octet-stream"})
    assert plan["mode"] == "multipart", plan
    return Multipart(ends, plan, size)


@dataclass
class Timing:
    """Seconds of one multipart upload: in all, sending the parts, and the complete call."""

    total: float
    parts: float
    complete: float


def multipart(ends: Endpoints, size: int, in_flight: int) -> Timing:
    """A whole multipart upload, ``in_flight`` parts at once."""
    start = time.perf_counter()
    upload = start_multipart(ends, size)
    todo = upload.missing()
    sending = time.perf_counter()
    upload.send(todo, in_flight)
    completing = time.perf_counter()
    upload.complete()
    end = time.perf_counter()
    return Timing(end - start, completing - sending, end - completing)


@dataclass
class Resume:
    parts: int
    part_size: int
    missing: int  # parts storage lacked after the kill
    in_flight: int  # parts on the wire when the connections were cut
    resent: int  # bytes the second run sent of parts the first had started
    second_run: int  # bytes the second run sent


def killed_and_resumed(ends: Endpoints, size: int, in_flight: int) -> Resume:
    """Cut every connection once half the bytes are stored, then resume like a reloaded page."""
    upload = start_multipart(ends, size)
    killed = threading.Event()
    upload.send(upload.missing(), in_flight, killed, kill_at=size // 2)
    cut = set(upload.in_flight)
    started = set(upload.stored) | cut
    upload.sent.clear()
    upload.urls.clear()  # a reloaded page has no URLs; it asks again
    todo = upload.missing()
    upload.send(todo, in_flight)
    upload.complete()
    resent = sum(upload.part_size(n) for n in todo if n in started)
    return Resume(parts=upload.plan["part_count"], part_size=upload.plan["part_size"],
                  missing=len(todo), in_flight=len(cut), resent=resent,
                  second_run=sum(upload.sent))


@contextmanager
def stack(state: Path, size: int, multipart_above: int) -> Iterator[tuple[LocalCloud, Endpoints]]:
    """A local cloud for ``size``-byte uploads, its function and OSS endpoint behind the link."""
    cloud = LocalCloud.start(state, function_env_overrides={
        "UPLOAD_MAX_BYTES": str(max(size, 1)),
        "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(multipart_above),
        "UPLOAD_CALLBACK_URL": "",
        "RATE_LIMIT_PER_MINUTE": "100000",
    })
    link = WanLink(RTT_S, CONNECTION_RATE, LINK_RATE)
    try:
        routes = []
        for url in (str(cloud.function_url), cloud.oss_url):
            netloc = urlsplit(url).netloc
            host, _, port = netloc.rpartition(":")
            routes.append(Route(link.proxy(host, int(port)).port, netloc))
        yield cloud, Endpoints(routes[0], routes[1], cloud.website_origin)
    finally:
        link.close()
        cloud.stop()


def measure(size: int) -> dict[str, Any]:
    """Seconds per row and the resume counts, for ``size``-byte uploads."""
    out: dict[str, Any] = {"size": size}
    with tempfile.TemporaryDirectory(prefix="wan-bench-") as tmp:
        with stack(Path(tmp) / "post", size, multipart_above=max(size, 1)) as (_, ends):
            out["post"] = post_object(ends, size)
        with stack(Path(tmp) / "multipart", size, multipart_above=1) as (_, ends):
            for n in (1, 4, 8):
                out[f"multipart_{n}"] = multipart(ends, size, n)
            out["resume"] = killed_and_resumed(ends, size, 4)
    return out


def rows(size: int) -> list[Row]:
    """Rows for bench/run.py: throughput against the link, and what a resume sends again."""
    m = measure(size)
    link = f"{RTT_S * 1000:.0f} ms RTT, {CONNECTION_RATE / MB:.0f} MB/s per connection, " \
           f"{LINK_RATE / MB:.0f} MB/s link"
    label = f"{size / MIB:.0f} MiB"

    def rate(seconds: float) -> tuple[str, float]:
        share = size / seconds / LINK_RATE
        return f"{size / seconds / MB:.1f} MB/s in {seconds:.1f} s ({share:.0%} of the link)", share

    out: list[Row] = []
    text, _ = rate(m["post"])
    out.append((f"7 WAN PostObject {label} ({link})", text, "report", ""))
    for n in (1, 4, 8):
        t: Timing = m[f"multipart_{n}"]
        text, _ = rate(t.total)
        parts = size / t.parts / LINK_RATE
        target = "parts ≥ 80% of the link" if n >= 4 else "report"
        out.append((f"7 WAN multipart {label}, {n} part(s) in flight",
                     f"{text}; parts alone {size / t.parts / MB:.1f} MB/s ({parts:.0%}; the "
                     f"caps allow {min(n * CONNECTION_RATE, LINK_RATE) / MB:.0f}); complete "
                     f"{t.complete:.1f} s", target,
                     ("yes" if parts >= 0.8 else "NO") if n >= 4 else ""))
    r: Resume = m["resume"]
    allowed = (r.in_flight + 1) * r.part_size
    out.append((
        f"7 WAN multipart {label} killed at 50% (4 in flight), resumed",
        f"re-sent {r.resent / MIB:.0f} MiB = {r.resent // r.part_size} part(s) started before the "
        f"kill; {r.in_flight} part(s) were in flight; second run sent {r.second_run / MIB:.0f} "
        f"MiB for {r.missing} of {r.parts} parts",
        "≤ parts in flight + 1", "yes" if r.resent <= allowed else "NO"))
    return out


if __name__ == "__main__":
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    for row in rows(mib * MIB if mib else default_size()):
        print(" | ".join(row))
