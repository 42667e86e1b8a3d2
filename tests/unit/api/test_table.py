"""Tests for watchproxy.api.table / printers: the Table kube-apiserver answers `kubectl get` with.

Expected cells are what kubernetes/pkg/printers/internalversion/printers.go computes (with the
apiserver's Wide: true) for the same v1 objects; the HumanDuration cases are duration_test.go's.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from watchproxy.api.printers import human_duration, parse_time
from watchproxy.api.table import (
    column_definitions,
    table_document,
    table_event_object,
    table_row,
)
from watchproxy.resources import RESOURCES, Registry, ResourceType

KUBECTL_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
# 2026-01-02T03:04:05Z
T0 = 1767323045
MIN, HOUR, DAY = 60, 3600, 86400

REGISTRY = Registry()


def res(group: str, version: str, plural: str) -> ResourceType:
    found = REGISTRY.lookup(group, version, plural)
    assert found is not None
    return found


PODS = res("", "v1", "pods")
NODES = res("", "v1", "nodes")


def ts(offset: float) -> str:
    """The RFC 3339 time `offset` seconds after T0."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(T0 + offset, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(resource: ResourceType, obj: dict[str, Any], now: float = T0) -> list[Any]:
    row = table_row(resource, obj, now=now)
    assert len(row["cells"]) == len(column_definitions(resource))
    return list(row["cells"])


def meta(name: str, created: float = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ts(created), **extra}


# --- HumanDuration (staging/src/k8s.io/apimachinery/pkg/util/duration/duration_test.go) ------

MS, NS = 0.001, 1e-9
YEAR = 365 * DAY


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        # TestHumanDuration
        (1, "1s"),
        (70, "70s"),
        (190, "3m10s"),
        (70 * MIN, "70m"),
        (47 * HOUR, "47h"),
        (49 * HOUR, "2d1h"),
        ((8 * 24 + 2) * HOUR, "8d"),
        (367 * DAY, "367d"),
        ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
        ((365 * 8 * 24 + 2) * HOUR, "8y"),
        # TestHumanDurationBoundaries
        (-2, "<invalid>"),
        (-2 + NS, "0s"),
        (0, "0s"),
        (1 - MS, "0s"),
        (2 * MIN - MS, "119s"),
        (2 * MIN, "2m"),
        (2 * MIN + 1, "2m1s"),
        (10 * MIN - MS, "9m59s"),
        (10 * MIN, "10m"),
        (10 * MIN + 1, "10m"),
        (3 * HOUR - MS, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + MIN, "3h1m"),
        (8 * HOUR - MS, "7h59m"),
        (8 * HOUR, "8h"),
        (8 * HOUR + 59 * MIN, "8h"),
        (2 * DAY - MS, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + HOUR, "2d1h"),
        (8 * DAY - MS, "7d23h"),
        (8 * DAY, "8d"),
        (8 * DAY + 23 * HOUR, "8d"),
        (2 * YEAR - MS, "729d"),
        (2 * YEAR, "2y"),
        (2 * YEAR + 23 * HOUR, "2y"),
        (2 * YEAR + 23 * HOUR + 59 * MIN, "2y"),
        (2 * YEAR + DAY - MS, "2y"),
        (2 * YEAR + DAY, "2y1d"),
        (3 * YEAR, "3y"),
        (4 * YEAR, "4y"),
        (5 * YEAR, "5y"),
        (6 * YEAR, "6y"),
        (7 * YEAR, "7y"),
        (8 * YEAR - MS, "7y364d"),
        (8 * YEAR, "8y"),
        (8 * YEAR + 364 * DAY, "8y"),
        (9 * YEAR, "9y"),
    ],
)
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


def test_parse_time() -> None:
    assert parse_time("2026-01-02T03:04:05Z") == T0
    assert parse_time("2026-01-02T04:04:05+01:00") == T0
    assert parse_time("2026-01-02T03:04:05.250000Z") == T0 + 0.25
    for unset in (None, "", "yesterday", "0001-01-01T00:00:00Z", 42):
        assert parse_time(unset) is None


# --- Pods ----------------------------------------------------------------------------------


def running(restarts: int = 0, finished: float | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "ready": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": ts(-60)}},
    }
    if finished is not None:
        status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ts(finished)}}
    return status


def pod(name: str, spec: dict[str, Any], status: dict[str, Any], **md: Any) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta(name, **md), "spec": spec, **status}


TWO = {"containers": [{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "sc:1"}]}
ONE = {"containers": [{"name": "app", "image": "app:1"}]}


def test_running_pod_with_a_restarted_container() -> None:
    obj = pod(
        "web",
        {**TWO, "nodeName": "node-1"},
        {
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "podIP": "10.0.0.5",
                "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
                "containerStatuses": [running(), running(restarts=3, finished=-5 * MIN)],
            }
        },
        created=-10 * MIN,
    )
    row = table_row(PODS, obj, now=T0)
    assert row["cells"] == [
        "web",
        "2/2",
        "Running",
        "3 (5m ago)",
        "10m",
        "10.0.0.5",
        "node-1",
        "<none>",
        "<none>",
    ]
    assert "conditions" not in row
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def test_pending_pods() -> None:
    fresh = pod("pending", ONE, {"status": {"phase": "Pending"}}, created=-5)
    assert cells(PODS, fresh) == [
        "pending",
        "0/1",
        "Pending",
        "0",
        "5s",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
    ]
    creating = {
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}},
    }
    scheduled = pod(
        "creating",
        {**ONE, "nodeName": "n1"},
        {"status": {"phase": "Pending", "containerStatuses": [creating]}},
    )
    assert cells(PODS, scheduled)[1:4] == ["0/1", "ContainerCreating", "0"]
    gated = pod(
        "gated",
        ONE,
        {
            "status": {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
                ],
            }
        },
    )
    assert cells(PODS, gated)[2] == "SchedulingGated"


def test_terminating_pod() -> None:
    obj = pod(
        "bye",
        ONE,
        {"status": {"phase": "Running", "containerStatuses": [running()]}},
        deletionTimestamp=ts(30),
        deletionGracePeriodSeconds=30,
    )
    assert cells(PODS, obj)[1:3] == ["1/1", "Terminating"]
    lost = pod("lost", ONE, {"status": {"phase": "Running", "reason": "NodeLost"}})
    lost["metadata"]["deletionTimestamp"] = ts(0)
    assert cells(PODS, lost)[2] == "Unknown"
    done = pod("done", ONE, {"status": {"phase": "Succeeded"}}, deletionTimestamp=ts(0))
    assert cells(PODS, done)[2] == "Succeeded"  # a finished pod is not Terminating


def test_container_states() -> None:
    crash = {
        "ready": False,
        "restartCount": 7,
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(-90)}},
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    }
    obj = pod(
        "crash", TWO, {"status": {"phase": "Running", "containerStatuses": [running(), crash]}}
    )
    assert cells(PODS, obj)[1:4] == ["1/2", "CrashLoopBackOff", "7 (90s ago)"]

    completed = {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    finished = pod("job", ONE, {"status": {"phase": "Succeeded", "containerStatuses": [completed]}})
    row = table_row(PODS, finished, now=T0)
    assert row["cells"][1:4] == ["0/1", "Completed", "0"]
    assert row["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    failed = pod("failed", ONE, {"status": {"phase": "Failed"}})
    assert table_row(PODS, failed, now=T0)["conditions"][0]["message"] == "The pod failed."

    # One container finished, the other still running: "Completed" turns back into Running.
    mixed = pod(
        "mixed",
        TWO,
        {
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [completed, running()],
            }
        },
    )
    assert cells(PODS, mixed)[1:3] == ["1/2", "NotReady"]

    signal = {"state": {"terminated": {"exitCode": 137, "signal": 9}}}
    exit_code = {"state": {"terminated": {"exitCode": 2}}}
    sig = pod("sig", ONE, {"status": {"phase": "Failed", "containerStatuses": [signal]}})
    code = pod("code", ONE, {"status": {"phase": "Failed", "containerStatuses": [exit_code]}})
    assert cells(PODS, sig)[2] == "Signal:9"
    assert cells(PODS, code)[2] == "ExitCode:2"


INIT = {
    "initContainers": [{"name": "migrate", "image": "m:1"}, {"name": "seed", "image": "s:1"}],
    **ONE,
}


def init_pod(*init_statuses: dict[str, Any]) -> dict[str, Any]:
    waiting = {"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}
    status = {"phase": "Pending", "initContainerStatuses": list(init_statuses)}
    return pod("init", INIT, {"status": {**status, "containerStatuses": [waiting]}})


def test_init_containers() -> None:
    done = {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    running_init = {"name": "seed", "restartCount": 0, "state": {"running": {}}}
    assert cells(PODS, init_pod(done, running_init))[1:4] == ["0/1", "Init:1/2", "0"]
    backoff = {
        "name": "migrate",
        "restartCount": 2,
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(-30)}},
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    }
    assert cells(PODS, init_pod(backoff))[2:4] == ["Init:CrashLoopBackOff", "2 (30s ago)"]
    error = {"name": "migrate", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    assert cells(PODS, init_pod(error))[2] == "Init:Error"
    killed = {"name": "migrate", "state": {"terminated": {"exitCode": 1, "signal": 15}}}
    assert cells(PODS, init_pod(killed))[2] == "Init:Signal:15"
    waiting = {"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}
    assert cells(PODS, init_pod(waiting))[2] == "Init:0/2"


def test_sidecar_init_container_counts_as_a_container() -> None:
    spec = {"initContainers": [{"name": "proxy", "image": "p:1", "restartPolicy": "Always"}], **ONE}
    sidecar = {
        "name": "proxy",
        "ready": True,
        "started": True,
        "restartCount": 1,
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(-4 * HOUR)}},
        "state": {"running": {}},
    }
    status = {
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [sidecar],
        "containerStatuses": [running(restarts=1, finished=-3 * HOUR)],
    }
    assert cells(PODS, pod("mesh", spec, {"status": status}))[1:4] == [
        "2/2",
        "Running",
        "2 (3h ago)",
    ]


def test_pod_wide_cells() -> None:
    spec = {
        **ONE,
        "nodeName": "n1",
        "readinessGates": [{"conditionType": "example.com/a"}, {"conditionType": "example.com/b"}],
    }
    status = {
        "phase": "Running",
        "podIP": "10.1.2.3",  # an old object without podIPs
        "nominatedNodeName": "n2",
        "conditions": [
            {"type": "example.com/a", "status": "True"},
            {"type": "example.com/b", "status": "False"},
        ],
    }
    assert cells(PODS, pod("gates", spec, {"status": status}))[5:] == [
        "10.1.2.3",
        "n1",
        "n2",
        "1/2",
    ]


def test_include_object() -> None:
    obj = pod("p", ONE, {"status": {"phase": "Pending"}})
    assert table_row(PODS, obj, now=T0, include_object="None")["object"] is None
    full = table_row(PODS, obj, now=T0, include_object="Object")["object"]
    assert full == obj
    assert list(full)[:2] == ["kind", "apiVersion"]
    beta = table_row(PODS, obj, now=T0, api_version="meta.k8s.io/v1beta1")["object"]
    assert beta["apiVersion"] == "meta.k8s.io/v1beta1"
    with pytest.raises(ValueError, match="unrecognized includeObject value"):
        table_row(PODS, obj, now=T0, include_object="Everything")


# --- Other kinds ---------------------------------------------------------------------------


def test_node_ready_control_plane() -> None:
    obj = {
        "metadata": {
            "name": "cp-1",
            "creationTimestamp": ts(-3 * DAY),
            "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"},
        },
        "spec": {},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "addresses": [
                {"type": "InternalIP", "address": "192.168.0.10"},
                {"type": "Hostname", "address": "cp-1"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.4",
                "osImage": "Ubuntu 24.04 LTS",
                "kernelVersion": "6.8.0-45-generic",
                "containerRuntimeVersion": "containerd://1.7.22",
            },
        },
    }
    assert cells(NODES, obj) == [
        "cp-1",
        "Ready",
        "control-plane",
        "3d",
        "v1.32.4",
        "192.168.0.10",
        "<none>",
        "Ubuntu 24.04 LTS",
        "6.8.0-45-generic",
        "containerd://1.7.22",
    ]


def test_node_status_and_roles() -> None:
    cordoned = {
        "metadata": {
            "name": "w",
            "labels": {"kubernetes.io/role": "worker", "node-role.kubernetes.io/infra": ""},
        },
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
    }
    assert cells(NODES, cordoned)[:4] == [
        "w",
        "NotReady,SchedulingDisabled",
        "infra,worker",
        "<unknown>",
    ]
    bare = {"metadata": {"name": "new"}}
    assert cells(NODES, bare)[1:3] == ["Unknown", "<none>"]
    assert cells(NODES, bare)[7:] == ["<unknown>"] * 3


def test_namespace_configmap_secret_lease() -> None:
    ns = {"metadata": meta("default", -49 * HOUR), "status": {"phase": "Active"}}
    assert cells(res("", "v1", "namespaces"), ns) == ["default", "Active", "2d1h"]
    cm = {"metadata": meta("cfg", -90), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells(res("", "v1", "configmaps"), cm) == ["cfg", 3, "90s"]
    empty = {"metadata": meta("empty")}
    assert cells(res("", "v1", "configmaps"), empty)[1] == 0
    secret = {
        "metadata": meta("tls", -HOUR),
        "type": "kubernetes.io/tls",
        "data": {"a": "", "b": ""},
    }
    assert cells(res("", "v1", "secrets"), secret) == ["tls", "kubernetes.io/tls", 2, "60m"]
    leases = res("coordination.k8s.io", "v1", "leases")
    lease = {"metadata": meta("kube-scheduler", -DAY), "spec": {"holderIdentity": "cp-1_abc"}}
    assert cells(leases, lease) == ["kube-scheduler", "cp-1_abc", "24h"]
    assert cells(leases, {"metadata": meta("free")})[1] == ""


SERVICES = res("", "v1", "services")


def svc(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": meta("svc", -5 * MIN), "spec": spec, "status": status or {}}


def test_service_with_ports() -> None:
    obj = svc(
        {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            ],
            "selector": {"app": "web", "tier": "front"},
        }
    )
    assert cells(SERVICES, obj) == [
        "svc",
        "ClusterIP",
        "10.96.0.10",
        "<none>",
        "80/TCP,53/UDP",
        "5m",
        "app=web,tier=front",
    ]


@pytest.mark.parametrize(
    ("spec", "status", "want"),
    [
        (
            {
                "type": "NodePort",
                "clusterIPs": ["10.96.1.1"],
                "ports": [{"port": 80, "nodePort": 30080}],
            },
            None,
            ["NodePort", "10.96.1.1", "<none>", "80:30080/TCP"],
        ),
        (
            {"type": "LoadBalancer", "clusterIPs": ["10.96.1.2"], "ports": [{"port": 443}]},
            None,
            ["LoadBalancer", "10.96.1.2", "<pending>", "443/TCP"],
        ),
        (
            {"type": "LoadBalancer", "clusterIPs": ["10.96.1.2"], "externalIPs": ["1.2.3.4"]},
            {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "5.6.7.8"}]}},
            ["LoadBalancer", "10.96.1.2", "5.6.7.8,lb.example.com,1.2.3.4", "<none>"],
        ),
        (
            {"type": "ExternalName", "externalName": "db.example.com"},
            None,
            ["ExternalName", "<none>", "db.example.com", "<none>"],
        ),
        (
            {"clusterIP": "None", "clusterIPs": ["None"], "externalIPs": ["9.9.9.9"]},
            None,
            ["ClusterIP", "None", "9.9.9.9", "<none>"],
        ),
    ],
)
def test_service_types(
    spec: dict[str, Any], status: dict[str, Any] | None, want: list[str]
) -> None:
    row = cells(SERVICES, svc(spec, status))
    assert row[1:5] == want
    assert row[6] == "<none>"


def test_endpoints() -> None:
    endpoints = res("", "v1", "endpoints")
    many = {
        "metadata": meta("web"),
        "subsets": [
            {
                "addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)],
                "ports": [{"name": "http", "port": 80}],
            }
        ],
    }
    assert cells(endpoints, many)[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
    v6 = {
        "metadata": meta("v6"),
        "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 53}]}],
    }
    assert cells(endpoints, v6)[1] == "[fd00::1]:53"
    headless = {"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "10.0.0.9"}]}]}
    assert cells(endpoints, headless)[1] == "10.0.0.9"
    assert cells(endpoints, {"metadata": meta("none")})[1] == "<none>"


def test_event() -> None:
    events = res("", "v1", "events")
    obj = {
        "metadata": meta("web.17f", -HOUR),
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ts(-HOUR),
        "lastTimestamp": ts(-2 * MIN),
        "count": 12,
        "type": "Warning",
    }
    assert cells(events, obj) == [
        "2m",
        "Warning",
        "BackOff",
        "pod/web",
        "spec.containers{app}",
        "kubelet, node-1",
        "Back-off restarting failed container",
        "60m",
        12,
        "web.17f",
    ]
    # events.k8s.io-style event written through core/v1: eventTime, no count, reporting*.
    new = {
        "metadata": meta("n.1"),
        "involvedObject": {"kind": "Node"},
        "eventTime": "2026-01-02T03:03:05.123456Z",
        "reportingComponent": "scheduler",
        "type": "Normal",
        "reason": "Scheduled",
    }
    assert cells(events, new) == [
        "59s",
        "Normal",
        "Scheduled",
        "node",
        "",
        "scheduler",
        "",
        "59s",
        1,
        "n.1",
    ]
    series = {**new, "series": {"count": 4, "lastObservedTime": "2026-01-02T03:04:00.000000Z"}}
    assert cells(events, series)[0] == "5s"
    assert cells(events, series)[8] == 4


def test_deployment() -> None:
    deployments = res("apps", "v1", "deployments")
    obj = {
        "metadata": meta("web", -HOUR),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "canary"]},
                    {"key": "legacy", "operator": "DoesNotExist"},
                ],
            },
            "template": {
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.27"},
                        {"name": "sidecar", "image": "busybox"},
                    ]
                }
            },
        },
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2},
    }
    assert cells(deployments, obj) == [
        "web",
        "2/3",
        3,
        2,
        "60m",
        "nginx,sidecar",
        "nginx:1.27,busybox",
        "app=web,env in (canary,prod),!legacy",
    ]
    fresh = {"metadata": meta("new"), "spec": {"selector": {"matchLabels": {"a": "b"}}}}
    assert cells(deployments, fresh)[1:4] == ["0/1", 0, 0]  # nil replicas defaults to 1


def test_default_table_for_kinds_without_a_printer() -> None:
    widgets = ResourceType("example.com", "v1", "Widget", "widgets", True, "widgets")
    assert [(c["name"], c["type"], c["format"]) for c in column_definitions(widgets)] == [
        ("Name", "string", "name"),
        ("Created At", "date", ""),
    ]
    obj = {"metadata": {"name": "w", "creationTimestamp": "2026-01-02T04:04:05+01:00"}}
    assert cells(widgets, obj) == ["w", "2026-01-02T03:04:05Z"]
    assert cells(widgets, {"metadata": {"name": "old"}}) == ["old", "0001-01-01T00:00:00Z"]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_every_printer_fills_every_column(resource: ResourceType) -> None:
    columns = column_definitions(resource)
    assert columns[0]["name"] == ("Last Seen" if resource.kind == "Event" else "Name")
    assert [list(c) for c in columns] == [
        ["name", "type", "format", "description", "priority"]
    ] * len(columns)
    assert all(c["description"] for c in columns)
    # kube's printIPAddress emits an Age cell it declares no column for (kubectl drops it)
    extra = 1 if resource.kind == "IPAddress" else 0
    for obj in ({}, {"metadata": {"name": "x"}, "spec": None, "status": "garbage"}):
        assert len(table_row(resource, obj, now=T0)["cells"]) == len(columns) + extra


# --- Documents -----------------------------------------------------------------------------


def test_table_document() -> None:
    obj = pod("web", ONE, {"status": {"phase": "Running", "containerStatuses": [running()]}})
    rows = [table_row(PODS, obj, now=T0)]
    body = orjson.loads(
        table_document(
            PODS, rows, {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3}
        )
    )
    assert list(body) == ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]
    assert body["kind"] == "Table"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert body["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3}
    assert [c["name"] for c in body["columnDefinitions"]][:5] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert body["rows"][0]["cells"][:3] == ["web", "1/1", "Running"]
    beta = orjson.loads(table_document(PODS, [], {}, api_version="meta.k8s.io/v1beta1"))
    assert beta["apiVersion"] == "meta.k8s.io/v1beta1"
    assert beta["rows"] == []


def test_table_event_object() -> None:
    obj = pod("web", ONE, {"status": {"phase": "Pending"}})
    obj["metadata"]["resourceVersion"] = "77"
    first = orjson.loads(table_event_object(PODS, obj, now=T0))
    assert first["kind"] == "Table"
    assert first["metadata"] == {"resourceVersion": "77"}
    assert first["columnDefinitions"] == column_definitions(PODS)
    assert len(first["rows"]) == 1
    assert first["rows"][0]["object"]["metadata"]["name"] == "web"
    later = orjson.loads(table_event_object(PODS, obj, now=T0, with_columns=False))
    assert later["columnDefinitions"] is None
    assert later["rows"] == first["rows"]
    beta = orjson.loads(table_event_object(PODS, obj, now=T0, api_version="meta.k8s.io/v1beta1"))
    assert beta["apiVersion"] == beta["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    event = {"type": "ADDED", "object": orjson.Fragment(table_event_object(PODS, obj, now=T0))}
    assert orjson.loads(orjson.dumps(event))["object"] == first
