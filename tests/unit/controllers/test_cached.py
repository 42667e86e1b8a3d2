"""The controllers' uid-guarded writes (controllers/cached.py) against an object that was
deleted and recreated under the same name since the controller decided: nothing is written,
and the answer is None (kube's GC: a UID precondition failure means the work is done)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

import pytest

from watchproxy.controllers.cached import ObjectId, delete_by_uid, update_by_uid
from watchproxy.etcd.client import KeyValue
from watchproxy.registry.deleting import delete
from watchproxy.registry.errors import PreconditionFailed
from watchproxy.registry.objects import Located
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.store import Store
from watchproxy.resources import Registry, ResourceType


def configmaps() -> ResourceType:
    found = Registry().lookup("", "v1", "configmaps")
    assert found is not None
    return found


CONFIGMAPS = configmaps()
OLD = ObjectId(CONFIGMAPS, "ns", "dep", "old-uid")


class RecreatedStore:
    """Only the reads a write starts with: the object under the name now has uid "new-uid".
    It has no write methods, so a write that got past the uid check would fail the test."""

    def __init__(self) -> None:
        self.obj: dict[str, Any] = {
            "metadata": {"name": "dep", "namespace": "ns", "uid": "new-uid"},
            "data": {"k": "v"},
        }

    def cached(self, resource: Any, namespace: str, name: str) -> Located | None:
        return None  # no watch cache: every attempt reads (require)

    async def require(self, resource: Any, namespace: str, name: str) -> Located:
        kv = KeyValue(b"/registry/configmaps/ns/dep", b"{}", 5, 7, 2)
        return Located(0, kv, copy.deepcopy(self.obj))

    def precondition(self, shard: int, text: Any) -> int | None:
        return None

    async def guaranteed_update(
        self,
        resource: Any,
        namespace: str,
        name: str,
        mutate: Callable[[dict[str, Any]], None],
        *,
        subresource: str = "",
    ) -> Any:
        new = copy.deepcopy(self.obj)
        mutate(new)  # the store writes what this leaves; a Replaced aborts
        self.obj = new
        raise AssertionError("wrote to the recreated object")


def recreated() -> Store:
    return cast(Store, RecreatedStore())


async def test_a_uid_precondition_failure_is_its_own_409() -> None:
    options = DeleteOptions(precondition_uid="old-uid")
    with pytest.raises(PreconditionFailed) as info:
        await delete(recreated(), CONFIGMAPS, "ns", "dep", options)
    assert (info.value.code, info.value.reason) == (409, "Conflict")
    assert info.value.message == (
        'Operation cannot be fulfilled on ConfigMap "dep": the UID in the precondition '
        "(old-uid) does not match the UID in record (new-uid). The object might have been "
        "deleted and then recreated"
    )
    assert info.value.details == {"name": "dep", "group": "", "kind": "ConfigMap"}


async def test_delete_by_uid_leaves_a_recreated_object() -> None:
    store = RecreatedStore()
    assert await delete_by_uid(cast(Store, store), OLD, DeleteOptions()) is None
    assert store.obj["metadata"]["uid"] == "new-uid"


async def test_update_by_uid_leaves_a_recreated_object() -> None:
    store = RecreatedStore()
    called: list[dict[str, Any]] = []
    assert await update_by_uid(cast(Store, store), OLD, called.append) is None
    assert called == [] and store.obj["data"] == {"k": "v"}
