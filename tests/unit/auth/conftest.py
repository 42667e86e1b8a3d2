"""Shared fixtures of the auth tests: a dict-backed ObjectSource (auth/sources.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

JsonObject = dict[str, Any]


class FakeObjectSource:
    """ObjectSource over a dict {(resource, namespace, name): object}; `put`/`delete` bump the
    resource's generation as the watch cache would."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], JsonObject] = {}
        self.generations: dict[str, int] = {}
        self.gets = 0

    def put(self, resource: str, obj: JsonObject) -> JsonObject:
        meta = obj["metadata"]
        self.objects[(resource, meta.get("namespace", ""), meta["name"])] = obj
        self.generations[resource] = self.generations.get(resource, 0) + 1
        return obj

    def delete(self, resource: str, namespace: str, name: str) -> None:
        del self.objects[(resource, namespace, name)]
        self.generations[resource] = self.generations.get(resource, 0) + 1

    def get(self, resource: str, namespace: str, name: str) -> JsonObject | None:
        self.gets += 1
        return self.objects.get((resource, namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> Iterable[JsonObject]:
        return [
            obj
            for (res, ns, _), obj in self.objects.items()
            if res == resource and (namespace is None or ns == namespace)
        ]

    def pods_on_node(self, node: str) -> Iterable[JsonObject]:
        return [obj for obj in self.list("pods") if (obj.get("spec") or {}).get("nodeName") == node]

    def generation(self, resource: str) -> int:
        return self.generations.get(resource, 0)


@pytest.fixture
def object_source() -> FakeObjectSource:
    return FakeObjectSource()
