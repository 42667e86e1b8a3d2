"""An ASGI `send` that keeps every message, for tests of handlers that stream their bodies."""

from __future__ import annotations

import gzip
from collections.abc import MutableMapping
from typing import Any


class Recorder:
    """Every message sent; `body()` is the body as the client gets it (gunzipped if gzip)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        self.messages.append(dict(message))

    @property
    def start(self) -> dict[str, Any]:
        assert self.messages[0]["type"] == "http.response.start"
        return self.messages[0]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.start["headers"])

    @property
    def bodies(self) -> list[bytes]:
        """Every body message's bytes, empty ones included."""
        return [m["body"] for m in self.messages[1:]]

    @property
    def chunks(self) -> list[bytes]:
        """The non-empty body messages."""
        return [b for b in self.bodies if b]

    def body(self) -> bytes:
        raw = b"".join(self.bodies)
        if self.headers.get(b"content-encoding") == b"gzip":
            return gzip.decompress(raw)
        return raw
