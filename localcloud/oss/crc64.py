"""CRC-64 as OSS reports it in ``x-oss-hash-crc64ecma``.

Owns the checksum only. OSS's "crc64ecma" is the ECMA-182 polynomial used the way
CRC-64/XZ uses it: reflected, initial value and final XOR all ones, sent as an
unsigned decimal. The running value passed between calls is the *finished* CRC
(so ``crc64_update(0, b"")`` is 0 and updates chain), which is the form OSS
returns and the SDKs combine.

Two implementations: a pure-Python table-driven one (the reference, always
available) and the C extension of ``crcmod`` when it is installed, which the
official ``alibabacloud-oss-v2`` SDK already pulls in. The fast path is only an
accelerator: both are checked against each other in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

_POLY_REFLECTED = 0xC96C5795D7870F42  # ECMA-182 0x42F0E1EBA9EA3693, bit-reversed
_MASK = 0xFFFFFFFFFFFFFFFF


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc64_update_pure(crc: int, data: bytes) -> int:
    """Extend a finished CRC-64 with ``data`` (pure Python; slow, the reference)."""
    value = crc ^ _MASK
    table = _TABLE
    for byte in data:
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ _MASK


def _load_fast() -> Callable[[bytes, int], int] | None:
    try:
        import crcmod
        from crcmod.crcmod import _usingExtension
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    if not _usingExtension:  # pragma: no cover - pure-Python crcmod is no faster
        return None
    # crcmod's (data, crc) calling convention takes and returns the finished value,
    # applying the XOR-out on entry and exit, which is exactly our chaining form.
    fun: Callable[[bytes, int], int] = crcmod.mkCrcFun(
        0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=_MASK
    )
    return fun


_FAST = _load_fast()


def crc64_update(crc: int, data: bytes) -> int:
    """Extend a finished CRC-64 (0 for no data) with ``data``; the result chains likewise."""
    if _FAST is not None:
        return _FAST(data, crc)
    return crc64_update_pure(crc, data)
