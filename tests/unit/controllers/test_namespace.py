"""The namespace controller's pure rules: kube's status conditions (status_condition_utils.go;
controllers/namespace_status.py) and the rule for pods no kubelet will finish
(controllers/pod_liveness.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from watchproxy.config import parse_settings
from watchproxy.controllers import pod_liveness
from watchproxy.controllers.namespace_status import (
    CONDITION_TYPES,
    Remaining,
    failure_conditions,
    merge_conditions,
)
from watchproxy.controllers.pod_liveness import KubeletLiveness, kubelet_alive, should_force_delete
from watchproxy.core.objects import CachedObject, build_object
from watchproxy.proxy import Proxy
from watchproxy.resources import Registry

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = Registry()
PODS = REGISTRY.lookup("", "v1", "pods")
CONFIGMAPS = REGISTRY.lookup("", "v1", "configmaps")
DEPLOYMENTS = REGISTRY.lookup("apps", "v1", "deployments")


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def remaining() -> Remaining:
    assert PODS is not None and CONFIGMAPS is not None and DEPLOYMENTS is not None
    out = Remaining()
    out.add(CONFIGMAPS, {"metadata": {"finalizers": ["example.com/a"]}})
    out.add(CONFIGMAPS, {"metadata": {"finalizers": ["example.com/a", "example.com/b"]}})
    out.add(DEPLOYMENTS, {"metadata": {"finalizers": ["foregroundDeletion"]}})
    out.add(
        PODS,
        {"metadata": {"deletionTimestamp": ago(-30), "deletionGracePeriodSeconds": 30}},
    )
    return out


def test_conditions_word_what_remains_as_kube_does() -> None:
    failures = failure_conditions(remaining())
    assert failures == {
        "NamespaceContentRemaining": (
            "SomeResourcesRemain",
            "Some resources are remaining: configmaps. has 2 resource instances, "
            "deployments.apps has 1 resource instances, pods. has 1 resource instances",
        ),
        "NamespaceFinalizersRemaining": (
            "SomeFinalizersRemain",
            "Some content in the namespace has finalizers remaining: example.com/a in 2 "
            "resource instances, example.com/b in 1 resource instances, foregroundDeletion in 1 "
            "resource instances",
        ),
    }
    errors = Remaining(errors=["pods.: boom", "configmaps.: bang"])
    assert failure_conditions(errors)["NamespaceDeletionContentFailure"] == (
        "ContentDeletionFailed",
        "Failed to delete all resource types, 2 remaining: configmaps.: bang, pods.: boom",
    )


def test_merge_sets_all_five_types_and_moves_transition_time_only_on_a_flip() -> None:
    first = merge_conditions(None, failure_conditions(remaining()), NOW)
    assert first is not None
    assert [c["type"] for c in first] == list(CONDITION_TYPES)
    by_type = {c["type"]: c for c in first}
    assert by_type["NamespaceContentRemaining"]["status"] == "True"
    assert by_type["NamespaceDeletionDiscoveryFailure"] == {
        "type": "NamespaceDeletionDiscoveryFailure",
        "status": "False",
        "lastTransitionTime": "2026-01-01T12:00:00Z",
        "reason": "ResourcesDiscovered",
        "message": "All resources successfully discovered",
    }
    later = NOW + timedelta(minutes=1)
    assert merge_conditions(first, failure_conditions(remaining()), later) is None
    emptied = merge_conditions(first, {}, later)
    assert emptied is not None
    content = {c["type"]: c for c in emptied}["NamespaceContentRemaining"]
    assert (content["status"], content["reason"]) == ("False", "ContentRemoved")
    assert content["lastTransitionTime"] == "2026-01-01T12:01:00Z"
    unchanged = {c["type"]: c for c in emptied}["NamespaceDeletionDiscoveryFailure"]
    assert unchanged["lastTransitionTime"] == "2026-01-01T12:00:00Z"


def test_wait_until_just_after_the_next_pod_grace_period_ends() -> None:
    assert PODS is not None
    left = remaining()
    assert left.wait_seconds(NOW) == pytest.approx(30.5)
    assert left.wait_seconds(NOW + timedelta(seconds=31)) is None
    left.add(PODS, {"metadata": {"deletionTimestamp": ago(1), "deletionGracePeriodSeconds": 5}})
    assert left.wait_seconds(NOW) == pytest.approx(30.5)  # a grace period already over: skipped
    assert Remaining(errors=["x"]).wait_seconds(NOW) == 1.0


def node(heartbeat: str | None) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": "Ready", "status": "True"}
    if heartbeat is not None:
        condition["lastHeartbeatTime"] = heartbeat
    return {"metadata": {"name": "n"}, "status": {"conditions": [condition]}}


@pytest.mark.parametrize(
    ("the_node", "lease", "alive"),
    [
        pytest.param(None, None, False, id="no Node object"),
        pytest.param(node(None), None, False, id="Ready without heartbeat (dev mode seed)"),
        pytest.param(node(ago(10)), None, True, id="recent Ready heartbeat"),
        pytest.param(node(ago(41)), None, False, id="heartbeat older than 40 s"),
        pytest.param(
            node(ago(300)),
            {"spec": {"renewTime": "2026-01-01T11:59:55.000000Z"}},
            True,
            id="node Lease renewed recently",
        ),
        pytest.param(
            node(None), {"spec": {"renewTime": ago(60)}}, False, id="node Lease gone stale"
        ),
    ],
)
def test_kubelet_alive(
    the_node: dict[str, Any] | None, lease: dict[str, Any] | None, alive: bool
) -> None:
    assert kubelet_alive(the_node, lease, NOW) is alive


def terminating_pod(ends: str, grace: int) -> dict[str, Any]:
    return {
        "metadata": {"deletionTimestamp": ends, "deletionGracePeriodSeconds": grace},
        "spec": {"nodeName": "n"},
    }


@pytest.mark.parametrize(
    ("pod", "kubelet", "force"),
    [
        pytest.param(terminating_pod(ago(-5), 30), False, False, id="grace period running"),
        pytest.param(terminating_pod(ago(1), 30), False, True, id="grace over, no kubelet"),
        pytest.param(terminating_pod(ago(1), 30), True, False, id="grace over, live kubelet"),
        pytest.param(terminating_pod(ago(1), 0), False, False, id="already grace 0: finalizers"),
        pytest.param({"metadata": {}}, False, False, id="not being deleted"),
    ],
)
def test_should_force_delete(pod: dict[str, Any], kubelet: bool, force: bool) -> None:
    assert should_force_delete(pod, now=NOW, kubelet_is_alive=kubelet) is force


def test_liveness_decodes_each_node_once_per_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Proxy(parse_settings({"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:1"]}]}))
    for served in proxy.served.values():
        served.cache.replace(0, [], 1)
    nodes = proxy.registry.lookup("", "v1", "nodes")
    leases = proxy.registry.lookup("coordination.k8s.io", "v1", "leases")
    assert nodes is not None and leases is not None
    live = build_object(nodes, "n", orjson.dumps(node(ago(10))), 2)
    proxy.cache_of(nodes).apply(0, "n", live, 2)
    decoded: list[str] = []

    def counting_decode(obj: CachedObject) -> dict[str, Any]:
        decoded.append(obj.name)
        out: dict[str, Any] = orjson.loads(obj.raw)
        return out

    monkeypatch.setattr(pod_liveness, "decode", counting_decode)
    liveness = KubeletLiveness(proxy, nodes=nodes, leases=leases, now=NOW)
    assert [liveness.of_pod(terminating_pod(ago(1), 30)) for _ in range(3)] == [True] * 3
    assert liveness.of_pod({"spec": {"nodeName": "gone"}}) is False
    assert liveness.of_pod({"spec": {}}) is False
    assert decoded == ["n"]
