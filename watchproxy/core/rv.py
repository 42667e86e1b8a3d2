"""resourceVersion values: plain etcd revisions for one shard, opaque tokens for several.

A composite token is the vector of per-shard revisions in sorted-shard-name order, meaning "every
event of shard s with revision <= V[s] has been delivered". Layout, base64url without padding:

    byte 0     format version (1) -- so the text always starts with 'A' and never parses as an int
    bytes 1-4  fingerprint: first 4 bytes of sha256 over the sorted shard names, joined by '\\n'
    rest       one unsigned LEB128 varint per shard

A token from another shard layout fails the fingerprint check and is answered with 410 (relist).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

TOKEN_VERSION = 1
Vector = tuple[int, ...]


class ResourceVersionError(ValueError):
    """The text is not a resourceVersion this server can read (a 400)."""


class ForeignTokenError(ValueError):
    """A well-formed token minted for a different shard layout (answered with 410)."""


def fingerprint(shard_names: Sequence[str]) -> bytes:
    return hashlib.sha256("\n".join(sorted(shard_names)).encode()).digest()[:4]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class TokenCodec:
    """Encodes and decodes vectors for one shard layout."""

    def __init__(self, shard_names: Sequence[str]) -> None:
        self.shard_count = len(shard_names)
        self._prefix = bytes([TOKEN_VERSION]) + fingerprint(shard_names)

    def encode(self, vector: Vector) -> str:
        raw = self._prefix + b"".join(_varint(v) for v in vector)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def decode(self, token: str) -> Vector:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ResourceVersionError(f"invalid resource version: {token!r}") from exc
        if len(raw) < 5 or raw[0] != TOKEN_VERSION:
            raise ResourceVersionError(f"invalid resource version: {token!r}")
        if raw[:5] != self._prefix:
            raise ForeignTokenError(
                f"resource version {token!r} was issued for a different shard layout"
            )
        values: list[int] = []
        value = shift = 0
        for byte in raw[5:]:
            value |= (byte & 0x7F) << shift
            if byte & 0x80:
                shift += 7
                if shift > 63:
                    raise ResourceVersionError(f"invalid resource version: {token!r}")
                continue
            values.append(value)
            value = shift = 0
        if shift or len(values) != self.shard_count:
            raise ResourceVersionError(f"invalid resource version: {token!r}")
        return tuple(values)


def parse_plain(text: str) -> int | None:
    """A plain decimal revision, or None if `text` is not one."""
    if text.isdigit() and len(text) < 20:
        return int(text)
    return None
