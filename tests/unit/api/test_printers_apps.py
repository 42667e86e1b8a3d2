"""Tests for api/printers_apps.py and the merged table of api/printers_more.py: the cells kube's
printers.go (Wide) computes for ReplicaSet, DaemonSet, StatefulSet, ControllerRevision,
ReplicationController and PodTemplate (expected values as printers_test.go derives them).
"""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.api.printers_apps import KINDS
from watchproxy.api.printers_more import KINDS as ALL_KINDS

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"  # one hour before T0


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return KINDS[(group, kind)][1](obj, T0)


def names(group: str, kind: str) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in KINDS[(group, kind)][0]]


TEMPLATE = {
    "metadata": {"labels": {"app": "web", "tier": "fe"}},
    "spec": {"containers": [{"name": "a", "image": "i:1"}, {"name": "b", "image": "j:2"}]},
}


@pytest.mark.parametrize("key", sorted(ALL_KINDS), ids=lambda k: k[1])
def test_every_printer_fills_every_column(key: tuple[str, str]) -> None:
    columns, printer = ALL_KINDS[key]
    assert columns[0]["name"] == "Name" and columns[0]["format"] == "name"
    # kube's IPAddress printer emits an Age cell it declares no column for
    extra = 1 if key == ("networking.k8s.io", "IPAddress") else 0
    assert len(printer({}, T0)) == len(columns) + extra
    obj = {"metadata": {"name": "x", "creationTimestamp": CREATED}}
    assert len(printer(obj, T0)) == len(columns) + extra


def test_kinds_kube_leaves_to_the_default_table_are_not_printed_here() -> None:
    for key in [("rbac.authorization.k8s.io", "Role"), ("", "LimitRange")]:
        assert key not in ALL_KINDS


def test_replica_set() -> None:
    rs = {
        "metadata": {"name": "web-1", "creationTimestamp": CREATED},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    assert names("apps", "ReplicaSet") == [
        ("Name", 0), ("Desired", 0), ("Current", 0), ("Ready", 0), ("Age", 0),
        ("Containers", 1), ("Images", 1), ("Selector", 1),
    ]  # fmt: skip
    assert row("apps", "ReplicaSet", rs) == [
        "web-1", 3, 2, 1, "60m", "a,b", "i:1,j:2", "app=web"
    ]  # fmt: skip
    # nil replicas defaults to 1; a nil selector is FormatLabelSelector's <none>
    assert row("apps", "ReplicaSet", {"metadata": {"name": "x"}})[1:4] == [1, 0, 0]
    assert row("apps", "ReplicaSet", {})[-1] == "<none>"


def test_replication_controller_formats_its_map_selector() -> None:
    rc = {
        "metadata": {"name": "rc", "creationTimestamp": CREATED},
        "spec": {"replicas": 2, "selector": {"b": "2", "a": "1"}, "template": TEMPLATE},
        "status": {"replicas": 2, "readyReplicas": 2},
    }
    assert row("", "ReplicationController", rc) == [
        "rc", 2, 2, 2, "60m", "a,b", "i:1,j:2", "a=1,b=2"
    ]  # fmt: skip


def test_daemon_set() -> None:
    ds = {
        "metadata": {"name": "agent", "creationTimestamp": CREATED},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"spec": {**TEMPLATE["spec"], "nodeSelector": {"os": "linux"}}},
        },
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 2,
            "numberReady": 1,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
        },
    }
    assert [n for n, _ in names("apps", "DaemonSet")][:8] == [
        "Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"
    ]  # fmt: skip
    assert row("apps", "DaemonSet", ds) == [
        "agent", 3, 2, 1, 2, 1, "os=linux", "60m", "a,b", "i:1,j:2", "app=agent"
    ]  # fmt: skip
    assert row("apps", "DaemonSet", {})[6] == "<none>"


def test_stateful_set_ready_over_desired() -> None:
    sts = {
        "metadata": {"name": "db", "creationTimestamp": CREATED},
        "spec": {"replicas": 3, "template": TEMPLATE},
        "status": {"readyReplicas": 2},
    }
    assert names("apps", "StatefulSet") == [
        ("Name", 0), ("Ready", 0), ("Age", 0), ("Containers", 1), ("Images", 1)
    ]  # fmt: skip
    assert row("apps", "StatefulSet", sts) == ["db", "2/3", "60m", "a,b", "i:1,j:2"]


def test_controller_revision_names_its_controller_with_group_kind() -> None:
    rev = {
        "metadata": {
            "name": "db-7d",
            "creationTimestamp": CREATED,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": "p"},
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True},
            ],
        },
        "revision": 4,
    }
    assert row("apps", "ControllerRevision", rev) == ["db-7d", "statefulset.apps/db", 4, "60m"]
    assert row("apps", "ControllerRevision", {"revision": 1})[1] == "<none>"


def test_pod_template() -> None:
    tmpl = {"metadata": {"name": "t"}, "template": TEMPLATE}
    assert names("", "PodTemplate") == [
        ("Name", 0), ("Containers", 0), ("Images", 0), ("Pod Labels", 0)
    ]  # fmt: skip
    assert row("", "PodTemplate", tmpl) == ["t", "a,b", "i:1,j:2", "app=web,tier=fe"]
    assert row("", "PodTemplate", {})[-1] == "<none>"
