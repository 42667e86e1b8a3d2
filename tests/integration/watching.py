"""A small streaming watch reader for tests (real HTTP, one JSON document per line)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import orjson


class WatchStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> dict[str, Any]:
        line = ""
        while not line:
            line = next(self._lines)
        event: dict[str, Any] = orjson.loads(line)
        return event

    def take(self, n: int, *, skip_bookmarks: bool = True) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n:
            event = self.next()
            if skip_bookmarks and event["type"] == "BOOKMARK":
                continue
            out.append(event)
        return out

    def until(self, predicate: Any, limit: int = 10_000) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for _ in range(limit):
            event = self.next()
            out.append(event)
            if predicate(event):
                return out
        raise AssertionError("condition not met")

    def rest(self) -> list[dict[str, Any]]:
        out = []
        for line in self._lines:
            if line:
                out.append(orjson.loads(line))
        return out


@contextlib.contextmanager
def watch(
    client: httpx.Client, path: str, read_timeout: float = 15, **params: Any
) -> Iterator[WatchStream]:
    params = {"watch": "true", **params}
    timeout = httpx.Timeout(10, read=read_timeout)
    with client.stream("GET", path, params=params, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        yield WatchStream(response)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]
