"""Hostile answers, for the bounds of the operator call (issue #12, item 7): bytes dripped one at a
time, a gzip bomb, a token answer whose `expires_in` is no lifetime. Every loop here is bounded."""

import json
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

MIB = 1024 * 1024
MAX_DRIP_SECONDS = 60.0  # a drip stops after this, whether or not the client is still listening
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no name, no mtime, max compression
_FINAL_EMPTY_BLOCK = b"\x03\x00"


@lru_cache(maxsize=4)
def gzip_bomb(mib: int) -> bytes:
    """A valid gzip body of `mib` MiB of zeros, about 1 KiB per MiB.

    A MiB of zeros compressed and then fully flushed is a byte-aligned run of deflate blocks that
    depends on nothing before it, so it is compressed once and repeated: a 1 GiB bomb takes a CRC
    pass (under a second), not a compression pass (ten)."""
    zeros = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return _GZIP_HEADER + segment * mib + _FINAL_EMPTY_BLOCK + trailer


def with_raw_expires_in(answer: Mapping[str, Any], raw: str) -> bytes:
    """The answer as JSON with `expires_in` replaced by `raw` as is (`NaN`, `-1`, `"300"`...)."""
    rest = json.dumps({name: value for name, value in answer.items() if name != "expires_in"})
    separator = ", " if len(rest) > 2 else ""
    return f'{rest[:-1]}{separator}"expires_in": {raw}}}'.encode()


def drip(write: Callable[[bytes], object], data: bytes, interval: float) -> None:
    """Write `data` a byte at a time, `interval` apart; stop when the reader has gone or time is up."""
    ends = time.monotonic() + MAX_DRIP_SECONDS
    for byte in data:
        if time.monotonic() > ends:
            return
        try:
            write(bytes((byte,)))
        except OSError:
            return
        time.sleep(interval)
