"""The garbage collector's pure rules (controllers/garbage_collector.py) against kube's
garbagecollector.go attemptToDeleteItem / classifyReferences and graph.go."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.controllers.garbage_collector import (
    KEEP,
    Decision,
    Owner,
    Verdict,
    blocking_dependents,
    decide,
    resolve_owner,
)
from watchproxy.controllers.gc_graph import Graph, Item, OwnerRef, parse_item
from watchproxy.resources import Registry, ResourceType

REGISTRY = Registry()


def res(plural: str, group: str = "") -> ResourceType:
    found = REGISTRY.lookup(group, "v1", plural)
    assert found is not None
    return found


def owner_ref(uid: str, *, block: bool = False, kind: str = "ConfigMap") -> OwnerRef:
    return OwnerRef("v1", kind, f"name-{uid}", uid, block)


def item(
    *refs: OwnerRef, deleting: bool = False, finalizers: tuple[str, ...] = (), uid: str = "me"
) -> Item:
    return Item(res("configmaps"), "ns", uid, uid, refs, deleting, finalizers)


def test_parse_item_reads_owner_references() -> None:
    obj: dict[str, Any] = {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "uid": "u1",
            "deletionTimestamp": "2026-01-01T00:00:00Z",
            "finalizers": ["orphan"],
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "o1"},
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": "n",
                    "uid": "o2",
                    "blockOwnerDeletion": True,
                },
                {"apiVersion": "v1", "kind": "Node", "name": "no-uid"},
            ],
        }
    }
    got = parse_item(res("pods"), obj)
    assert got.owners == (
        OwnerRef("apps/v1", "Deployment", "d", "o1", False),
        OwnerRef("v1", "Node", "n", "o2", True),
    )
    assert got.deleting and got.orphaning and not got.deleting_dependents
    assert got.describe() == "pods ns/p"


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        pytest.param("apps/v1", "Deployment", "deployments.apps", id="served group kind"),
        pytest.param("v1", "Node", "nodes", id="cluster-scoped core kind"),
        pytest.param("extensions/v1beta1", "Deployment", None, id="group mismatch"),
        pytest.param("apps/v1", "ReplicaSet", "replicasets.apps", id="served replicaset"),
        pytest.param("policy/v1beta1", "PodSecurityPolicy", None, id="kind not served"),
        pytest.param("v1", "Event", None, id="events are ignored by the GC"),
    ],
)
def test_resolve_owner(api_version: str, kind: str, expected: str | None) -> None:
    found = resolve_owner(REGISTRY, OwnerRef(api_version, kind, "x", "u", False))
    assert (found.key if found is not None else None) == expected


A, B = owner_ref("a"), owner_ref("b")


@pytest.mark.parametrize(
    ("the_item", "owners", "has_dependents", "expected"),
    [
        pytest.param(item(A), {"a": Owner.SOLID}, False, KEEP, id="owner exists"),
        pytest.param(
            item(A),
            {"a": Owner.DANGLING},
            False,
            Decision(Verdict.DELETE, policy="Background"),
            id="only owner gone: delete in background",
        ),
        pytest.param(
            item(A, B),
            {"a": Owner.SOLID, "b": Owner.DANGLING},
            False,
            Decision(Verdict.REMOVE_REFERENCES, uids=frozenset({"b"})),
            id="one owner left: drop the reference to the gone one",
        ),
        pytest.param(
            item(A, B),
            {"a": Owner.SOLID, "b": Owner.WAITING},
            False,
            Decision(Verdict.REMOVE_REFERENCES, uids=frozenset({"b"})),
            id="solid owner and a foreground one: unblock the foreground owner",
        ),
        pytest.param(
            item(A),
            {"a": Owner.WAITING},
            True,
            Decision(Verdict.DELETE, policy="Foreground"),
            id="foreground owner, dependent has dependents: delete foreground",
        ),
        pytest.param(
            item(A),
            {"a": Owner.WAITING},
            False,
            Decision(Verdict.DELETE, policy="Background"),
            id="foreground owner, leaf dependent: delete",
        ),
        pytest.param(
            item(A, finalizers=("orphan",)),
            {"a": Owner.DANGLING},
            False,
            Decision(Verdict.DELETE, policy="Orphan"),
            id="existing orphan finalizer is honoured",
        ),
        pytest.param(
            item(A, finalizers=("foregroundDeletion",)),
            {"a": Owner.DANGLING},
            False,
            Decision(Verdict.DELETE, policy="Foreground"),
            id="existing foreground finalizer is honoured",
        ),
        pytest.param(
            item(A, B),
            {"a": Owner.DANGLING, "b": Owner.UNRESOLVABLE},
            False,
            KEEP,
            id="an unresolvable owner keeps it",
        ),
        pytest.param(
            item(A, deleting=True), {"a": Owner.DANGLING}, False, KEEP, id="already deleting"
        ),
        pytest.param(item(), {}, False, KEEP, id="no owners"),
    ],
)
def test_decide(
    the_item: Item, owners: dict[str, Owner], has_dependents: bool, expected: Decision
) -> None:
    assert decide(the_item, owners, has_dependents=has_dependents) == expected


def test_blocking_dependents_and_graph() -> None:
    owner = item(deleting=True, finalizers=("foregroundDeletion",), uid="o")
    blocking = item(owner_ref("o", block=True), uid="d1")
    free = item(owner_ref("o"), uid="d2")
    other = item(owner_ref("x", block=True), uid="d3")
    graph = Graph()
    for it in (owner, blocking, free, other):
        graph.put(it)
    assert graph.dependents == {"o": {"d1", "d2"}, "x": {"d3"}}
    assert blocking_dependents(owner, graph.dependents_of("o")) == [blocking]
    graph.remove(blocking)
    assert blocking_dependents(owner, graph.dependents_of("o")) == []
    graph.remove(other)
    assert "x" not in graph.dependents and "d3" not in graph.items
