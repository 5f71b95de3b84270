"""Benchmark: a 1 GiB PostObject upload to the emulator on loopback.

Reports upload throughput next to a plain socket copy of the same bytes, and the
emulator process's peak RSS above its idle RSS (VmHWM/VmRSS from /proc/<pid>/status).
The body is generated on the fly: no 1 GiB buffer, no 1 GiB input file.
Run: ``.venv/bin/python bench/emulator_upload.py [size_mib]``. Measures; asserts nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AK, SK = "FAKE-AK-BENCH", "fake-bench-secret-0000"
BUCKET = "bench-bucket"
REGION = "cn-hangzhou"
CHUNK = 1024 * 1024

SERVER = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
ids = IdentityStore([Principal({AK!r}, {SK!r})])
emu = Emulator.start(sys.argv[1], lookup=ids.lookup)
emu.buckets.put(BucketConfig(name={BUCKET!r}))
print(emu.port, flush=True)
while True:
    time.sleep(3600)
"""


def rss_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def signed_fields(now: datetime, key: str, size: int) -> dict[str, str]:
    day = now.strftime("%Y%m%d")
    credential = f"{AK}/{day}/{REGION}/oss/aliyun_v4_request"
    x_date = now.strftime("%Y%m%dT%H%M%SZ")
    policy = {"expiration": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "conditions": [{"bucket": BUCKET}, {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
                             {"x-oss-credential": credential}, {"x-oss-date": x_date},
                             ["eq", "$key", key], ["content-length-range", 0, size]]}
    b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    k = ("aliyun_v4" + SK).encode()
    for part in (day, REGION, "oss", "aliyun_v4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return {"key": key, "policy": b64, "x-oss-signature-version": "OSS4-HMAC-SHA256",
            "x-oss-credential": credential, "x-oss-date": x_date,
            "x-oss-signature": hmac.new(k, b64.encode(), hashlib.sha256).hexdigest()}


def body_parts(fields: dict[str, str], size: int) -> tuple[bytes, bytes, str]:
    boundary = "benchboundary0123456789"
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
                    .encode() for n, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
             "\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def payload(size: int) -> Iterator[bytes]:
    block = os.urandom(CHUNK)
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


def send_upload(port: int, size: int) -> tuple[float, bytes]:
    head, tail, ctype = body_parts(signed_fields(datetime.now(timezone.utc), "big.bin", size), size)
    total = len(head) + size + len(tail)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall((f"POST /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: "
                      f"{ctype}\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n").encode())
        sock.sendall(head)
        for piece in payload(size):
            sock.sendall(piece)
        sock.sendall(tail)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return time.perf_counter() - start, answer.split(b"\r\n", 1)[0]


def socket_copy(size: int) -> float:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def sink() -> None:
        conn, _ = listener.accept()
        with conn:
            while conn.recv_into(buf := bytearray(CHUNK)):
                del buf

    thread = threading.Thread(target=sink)
    thread.start()
    start = time.perf_counter()
    with socket.create_connection(listener.getsockname()) as sock:
        for piece in payload(size):
            sock.sendall(piece)
    thread.join()
    listener.close()
    return time.perf_counter() - start


def main() -> None:
    size = int(sys.argv[1]) * CHUNK if len(sys.argv) > 1 else 1024 * CHUNK
    with tempfile.TemporaryDirectory() as state:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, state], stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            idle = rss_kib(proc.pid)
            elapsed, status = send_upload(port, size)
            peak = rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
    plain = socket_copy(size)
    mib = size / CHUNK
    print(f"upload {mib:.0f} MiB: {status.decode()}  {mib / elapsed:.1f} MiB/s ({elapsed:.2f} s)")
    print(f"plain socket copy:  {mib / plain:.1f} MiB/s ({plain:.2f} s)")
    above = (peak["VmHWM"] - idle["VmRSS"]) / 1024
    print(f"emulator RSS idle {idle['VmRSS'] / 1024:.1f} MiB, peak (VmHWM) "
          f"{peak['VmHWM'] / 1024:.1f} MiB, above idle {above:.1f} MiB")


if __name__ == "__main__":
    main()
