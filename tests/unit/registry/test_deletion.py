"""The pure deletion rules (registry/deletion.py) against kube's rest/delete.go and store.go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from watchproxy.registry.deletion import (
    before_delete,
    gc_finalizers,
    mark_as_deleting,
    should_delete_during_update,
)
from watchproxy.registry.options import DeleteOptions, delete_options
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import Registry

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = Registry()
PODS = strategy_for(REGISTRY.lookup("", "v1", "pods"))  # type: ignore[arg-type]
CONFIGMAPS = strategy_for(REGISTRY.lookup("", "v1", "configmaps"))  # type: ignore[arg-type]
NAMESPACES = strategy_for(REGISTRY.lookup("", "v1", "namespaces"))  # type: ignore[arg-type]


def pod(node: str = "n1", phase: str = "Running", **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": "p", **meta}, "spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("obj", "grace", "expected"),
    [
        pytest.param(pod(), None, 30, id="bound pod: default 30 s"),
        pytest.param(pod(), 5, 5, id="bound pod: the request's grace"),
        pytest.param(pod(node=""), 5, 0, id="unbound pod: at once"),
        pytest.param(pod(phase="Succeeded"), 5, 0, id="finished pod: at once"),
        pytest.param(pod(), -3, 1, id="negative grace counts as 1 s"),
    ],
)
def test_pod_grace_period(obj: dict[str, Any], grace: int | None, expected: int) -> None:
    graceful, pending, used = before_delete(
        PODS, obj, DeleteOptions(grace_period_seconds=grace), NOW
    )
    assert (graceful, pending, used.grace_period_seconds) == (True, False, expected)
    assert obj["metadata"]["deletionGracePeriodSeconds"] == expected


def test_pod_grace_can_only_shrink() -> None:
    obj = pod()
    before_delete(PODS, obj, DeleteOptions(), NOW)
    assert obj["metadata"]["deletionTimestamp"] == "2026-01-01T12:00:30Z"
    graceful, pending, _ = before_delete(PODS, obj, DeleteOptions(grace_period_seconds=60), NOW)
    assert (graceful, pending) == (False, True)
    graceful, pending, _ = before_delete(PODS, obj, DeleteOptions(grace_period_seconds=10), NOW)
    assert (graceful, pending) == (True, False)
    assert obj["metadata"]["deletionTimestamp"] == "2026-01-01T12:00:10Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 10


def test_types_without_graceful_deletion_delete_at_once() -> None:
    obj = {"metadata": {"name": "cm"}}
    assert before_delete(CONFIGMAPS, obj, DeleteOptions(grace_period_seconds=30), NOW)[:2] == (
        False,
        False,
    )
    assert "deletionTimestamp" not in obj["metadata"]


@pytest.mark.parametrize(
    ("finalizers", "options", "expected"),
    [
        pytest.param([], DeleteOptions(), (False, []), id="background default: nothing"),
        pytest.param(
            [], DeleteOptions(propagation_policy="Orphan"), (True, ["orphan"]), id="orphan"
        ),
        pytest.param(
            ["a"],
            DeleteOptions(propagation_policy="Foreground"),
            (True, ["a", "foregroundDeletion"]),
            id="foreground keeps others",
        ),
        pytest.param(
            ["orphan", "a"],
            DeleteOptions(propagation_policy="Background"),
            (True, ["a"]),
            id="background clears both",
        ),
        pytest.param(
            ["orphan"], DeleteOptions(), (False, ["orphan"]), id="existing finalizer wins"
        ),
        pytest.param(
            [], DeleteOptions(orphan_dependents=True), (True, ["orphan"]), id="legacy flag"
        ),
    ],
)
def test_gc_finalizers(
    finalizers: list[str], options: DeleteOptions, expected: tuple[bool, list[str]]
) -> None:
    assert gc_finalizers({"metadata": {"finalizers": finalizers}}, options) == expected


def test_mark_as_deleting_keeps_an_earlier_timestamp() -> None:
    obj = {"metadata": {"generation": 3, "deletionTimestamp": "2025-01-01T00:00:00Z"}}
    mark_as_deleting(obj, NOW)
    assert obj["metadata"] == {
        "generation": 3,
        "deletionTimestamp": "2025-01-01T00:00:00Z",
        "deletionGracePeriodSeconds": 0,
    }
    fresh = {"metadata": {"generation": 1}}
    mark_as_deleting(fresh, NOW)
    assert fresh["metadata"]["generation"] == 2
    assert fresh["metadata"]["deletionTimestamp"] == "2026-01-01T12:00:00Z"


def test_removing_the_last_finalizer_deletes_only_a_deleting_object() -> None:
    deleting = {
        "metadata": {"finalizers": ["x"], "deletionTimestamp": "t", "deletionGracePeriodSeconds": 0}
    }
    emptied = {"metadata": {"finalizers": []}}
    assert should_delete_during_update(CONFIGMAPS, emptied, deleting)
    assert not should_delete_during_update(CONFIGMAPS, emptied, {"metadata": {"finalizers": ["x"]}})
    graceful = {"metadata": {**deleting["metadata"], "deletionGracePeriodSeconds": 30}}
    assert not should_delete_during_update(PODS, emptied, graceful)
    # A namespace also waits for spec.finalizers (its kubernetes finalizer).
    ns_new = {"metadata": {"finalizers": []}, "spec": {"finalizers": ["kubernetes"]}}
    assert not should_delete_during_update(NAMESPACES, ns_new, deleting)


def test_namespace_delete_starts_termination() -> None:
    obj = {
        "metadata": {"name": "ns"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    out = NAMESPACES.begin_delete(obj, DeleteOptions(), NOW)
    assert out is not None
    assert out["status"]["phase"] == "Terminating"
    assert out["metadata"]["deletionTimestamp"] == "2026-01-01T12:00:00Z"
    assert NAMESPACES.begin_delete(out, DeleteOptions(), NOW) is None  # already terminating


@pytest.mark.parametrize(
    ("query", "body", "error"),
    [
        pytest.param(b"dryRun=Some", None, "supported values", id="dryRun value"),
        pytest.param(b"propagationPolicy=Sideways", None, "supported values", id="policy"),
        pytest.param(
            b"", {"orphanDependents": True, "propagationPolicy": "Orphan"}, "both", id="both"
        ),
    ],
)
def test_bad_delete_options_are_422(query: bytes, body: dict[str, Any] | None, error: str) -> None:
    with pytest.raises(Exception) as info:
        delete_options(query, body)
    assert getattr(info.value, "code", None) == 422 and error in str(info.value)


def test_delete_options_come_from_the_body_or_the_query_never_both() -> None:
    assert delete_options(b"dryRun=All&gracePeriodSeconds=3", {}) == DeleteOptions()
    assert delete_options(b"dryRun=All&gracePeriodSeconds=3", None) == DeleteOptions(
        dry_run=True, grace_period_seconds=3
    )
    opts = delete_options(
        b"gracePeriodSeconds=1",
        {
            "preconditions": {"uid": "u", "resourceVersion": "5"},
            "propagationPolicy": "Foreground",
            "gracePeriodSeconds": 7,
            "dryRun": ["All"],
        },
    )
    assert opts == DeleteOptions(
        dry_run=True,
        grace_period_seconds=7,
        propagation_policy="Foreground",
        precondition_uid="u",
        precondition_resource_version="5",
    )
