"""`Warning` response headers, as kube-apiserver writes them.

kube: apiserver pkg/endpoints/filters/warning.go (the recorder: a text is written once, texts
with control characters are dropped, and past 4096 runes in all every text is cut to 256 runes
and the headers are written again) and apimachinery pkg/util/net/http.go NewWarningHeader
(`299 - "<text>"`, `"` and `\\` escaped with a backslash).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from watchproxy.api.http import Message, Send

TRUNCATE_AT_TOTAL_RUNES = 4 * 1024
TRUNCATE_ITEM_RUNES = 256


def warning_value(text: str) -> bytes:
    """One header value: `299 - "unknown field \\"spec.foo\\""` (UTF-8)."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{quoted}"'.encode()


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def warning_headers(texts: Iterable[str]) -> list[tuple[bytes, bytes]]:
    """(b"warning", value) for each distinct, non-empty text, in order, under kube's limits
    (the recorder of filters/warning.go, step by step)."""
    recorded: set[str] = set()
    ordered: list[str] = []
    written: list[str] = []
    total, truncating = 0, False
    for text in texts:
        if not text or text in recorded:
            continue
        if truncating and total >= TRUNCATE_AT_TOTAL_RUNES:
            break
        recorded.add(text)
        ordered.append(text)
        if truncating:
            text = text[:TRUNCATE_ITEM_RUNES]
        if _has_control(text):
            continue
        if total + len(text) <= TRUNCATE_AT_TOTAL_RUNES or truncating:
            total += len(text)
            written.append(text)
            continue
        # Over the limit: every text so far is written again, cut to TRUNCATE_ITEM_RUNES.
        truncating = True
        written = [t[:TRUNCATE_ITEM_RUNES] for t in ordered if not _has_control(t)]
        total = sum(len(t) for t in written)
    return [(b"warning", warning_value(text)) for text in written]


def with_warning(send: Send, text: str) -> Send:
    """`send` adding `Warning: 299 - "<text>"` to the response's headers (kube's warning
    recorder, for a warning known before the handler runs: a deprecated custom resource
    version, apiextensions customresource_handler.go ServeHTTP)."""

    async def warned(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *warning_headers([text])]
        await send(message)

    return warned
