"""OSS's published upload-callback signature vectors (oss-postobject.md §10.3).

Owns the known-answer data both sides are checked against: the emulator signs and verifies
callbacks (tests/localcloud) and the function verifies them (tests/sign). The two meet only
through the wire format and these vectors, so they are written once. Pure data.
"""

from __future__ import annotations

from typing import Any

#: OSS's published 512-bit test public key (PEM).
DOC_PUBLIC_KEY = b"""-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
"""
#: The documentation's signed request; ``query`` without its leading ``?``.
DOC_VECTOR: dict[str, Any] = {
    "pub_key_url": "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==",
    "path": "/index.php",
    "query": "id=1&index=2",
    "body": b"bucket=yonghu-test",
    "authorization": "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDj"
    "C3uG33esH2txA==",
}
#: A second published request signed with the same key (a JSON body, no query).
SECOND_VECTOR: dict[str, Any] = {
    "pub_key_url": "aHR0cHM6Ly9nb3NzcHVibGljLmFsaWNkbi5jb20vY2FsbGJhY2tfcHViX2tleV92MS5wZW0=",
    "path": "/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH",
    "query": "",
    "body": b'{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM'
    b'_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}',
    "authorization": "e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suu"
    "Uh7LaOryR87Dw==",
}
