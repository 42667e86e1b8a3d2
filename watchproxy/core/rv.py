"""resourceVersion values: plain etcd revisions for one shard, opaque tokens for several.

A composite token is the vector of per-shard revisions in sorted-shard-name order, meaning "every
event of shard s with revision <= V[s] has been delivered". A token that stands for one object
(a WatchList initial event of a merged watch) also carries that object's own revision, so it works
as an update precondition. Layout, base64url without padding:

    byte 0     format version: 1 = vector only, 2 = vector + object revision
               (either way the text starts with 'A' and never parses as an integer)
    bytes 1-4  fingerprint: first 4 bytes of sha256 over the sorted shard names, joined by '\\n'
    then       one unsigned LEB128 varint per shard (the vector)
    version 2  one more varint: the object's own revision (its etcd mod_revision in its shard)

Version 1 tokens are unchanged (every token minted before version 2 existed still decodes).
A token from another shard layout fails the fingerprint check and is answered with 410 (relist).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

TOKEN_VERSION = 1  # vector only
OBJECT_TOKEN_VERSION = 2  # vector, then the object's own revision
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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenCodec:
    """Encodes and decodes vectors (and object revisions) for one shard layout.

    Owner: one per Proxy; used from the event loop only (the one-entry memo is not locked).
    """

    def __init__(self, shard_names: Sequence[str]) -> None:
        self.shard_count = len(shard_names)
        self._fingerprint = fingerprint(shard_names)
        self._prefix = bytes([TOKEN_VERSION]) + self._fingerprint
        self._object_prefix = bytes([OBJECT_TOKEN_VERSION]) + self._fingerprint
        # A WatchList's initial events share one vector: its varints are encoded once.
        self._memo_vector: Vector = ()
        self._memo_varints = b""

    def _vector_bytes(self, vector: Vector) -> bytes:
        if vector != self._memo_vector:
            self._memo_varints = b"".join(_varint(v) for v in vector)
            self._memo_vector = vector
        return self._memo_varints

    def encode(self, vector: Vector, object_revision: int | None = None) -> str:
        """The token of `vector`; with `object_revision`, a version-2 token that also names the
        revision of the one object it is the resourceVersion of."""
        if object_revision is None:
            return _b64(self._prefix + self._vector_bytes(vector))
        return _b64(self._object_prefix + self._vector_bytes(vector) + _varint(object_revision))

    def decode(self, token: str) -> Vector:
        """The vector of a version-1 or version-2 token.

        Raises ResourceVersionError (not a token of this format: 400) or ForeignTokenError
        (another shard layout: 410).
        """
        return self.decode_full(token)[0]

    def object_revision(self, text: str, shard: int) -> int:
        """The revision an update precondition compares with the object's mod_revision: the
        object's own revision if the token carries one, else the vector's entry for `shard`
        (the object's shard). Raises as `decode` does."""
        vector, revision = self.decode_full(text)
        if revision is not None:
            return revision
        if not 0 <= shard < len(vector):
            raise ResourceVersionError(f"no shard {shard} in resource version {text!r}")
        return vector[shard]

    def decode_full(self, token: str) -> tuple[Vector, int | None]:
        """(vector, the object's own revision or None)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ResourceVersionError(f"invalid resource version: {token!r}") from exc
        if len(raw) < 5 or raw[0] not in (TOKEN_VERSION, OBJECT_TOKEN_VERSION):
            raise ResourceVersionError(f"invalid resource version: {token!r}")
        if raw[1:5] != self._fingerprint:
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
        expected = self.shard_count + (raw[0] == OBJECT_TOKEN_VERSION)
        if shift or len(values) != expected:
            raise ResourceVersionError(f"invalid resource version: {token!r}")
        if raw[0] == OBJECT_TOKEN_VERSION:
            return tuple(values[:-1]), values[-1]
        return tuple(values), None


def parse_plain(text: str) -> int | None:
    """A plain decimal revision, or None if `text` is not one."""
    if text.isascii() and text.isdigit() and len(text) < 20:
        return int(text)
    return None
