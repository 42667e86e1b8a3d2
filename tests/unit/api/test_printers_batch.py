"""Tests for api/printers_batch.py: printJob, printCronJob and printHorizontalPodAutoscaler
(formatHPAMetrics) of kube's printers.go, Wide; expectations as printers_test.go has them.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printers_batch import KINDS, format_hpa_metrics

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return KINDS[(group, kind)][1](obj, T0)


def job(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "pi", "creationTimestamp": CREATED},
        "spec": {
            "completions": 3,
            "parallelism": 1,
            "selector": {"matchLabels": {"job": "pi"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}},
        },
        "status": status,
    }


def test_job_columns_and_a_running_job() -> None:
    assert [(c["name"], c["priority"]) for c in KINDS[("batch", "Job")][0]] == [
        ("Name", 0), ("Status", 0), ("Completions", 0), ("Duration", 0), ("Age", 0),
        ("Containers", 1), ("Images", 1), ("Selector", 1),
    ]  # fmt: skip
    running = job(succeeded=1, startTime="2026-01-02T03:00:05Z")
    assert row("batch", "Job", running) == [
        "pi", "Running", "1/3", "4m", "60m", "pi", "perl", "job=pi"
    ]  # fmt: skip


def test_job_status_and_completions_forms() -> None:
    done = job(
        succeeded=3,
        startTime="2026-01-02T02:10:05Z",
        completionTime="2026-01-02T02:12:05Z",
        conditions=[{"type": "Complete", "status": "True"}],
    )
    assert row("batch", "Job", done)[1:4] == ["Complete", "3/3", "2m"]
    failed = job(conditions=[{"type": "Failed", "status": "True"}])
    assert row("batch", "Job", failed)[1:4] == ["Failed", "0/3", ""]
    not_true = job(conditions=[{"type": "Failed", "status": "False"}])
    assert row("batch", "Job", not_true)[1] == "Running"
    suspended = job(conditions=[{"type": "Suspended", "status": "True"}])
    assert row("batch", "Job", suspended)[1] == "Suspended"
    deleting = job(conditions=[{"type": "Suspended", "status": "True"}])
    deleting["metadata"]["deletionTimestamp"] = CREATED
    assert row("batch", "Job", deleting)[1] == "Terminating"
    work_queue = {"spec": {"parallelism": 4}, "status": {"succeeded": 2}}
    assert row("batch", "Job", work_queue)[2] == "2/1 of 4"
    assert row("batch", "Job", {"spec": {"parallelism": 1}})[2] == "0/1"


def test_cron_job() -> None:
    cj = {
        "metadata": {"name": "hello", "creationTimestamp": CREATED},
        "spec": {
            "schedule": "*/1 * * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [
                {"name": "hello", "image": "busybox"}]}}}},
        },
        "status": {"active": [{"name": "a"}], "lastScheduleTime": "2026-01-02T03:04:00Z"},
    }  # fmt: skip
    assert [c["name"] for c in KINDS[("batch", "CronJob")][0]][:7] == [
        "Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"
    ]  # fmt: skip
    assert row("batch", "CronJob", cj) == [
        "hello", "*/1 * * * *", "<none>", "False", 1, "5s", "60m", "hello", "busybox", "<none>"
    ]  # fmt: skip
    cj["spec"].update(timeZone="Etc/UTC", suspend=True)
    del cj["status"]
    assert row("batch", "CronJob", cj)[2:6] == ["Etc/UTC", "True", 0, "<none>"]
    assert row("batch", "CronJob", {})[3] == "<unset>"


def resource(name: str, **target: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def test_hpa_targets() -> None:
    hpa = {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [resource("cpu", type="Utilization", averageUtilization=50)],
        },
        "status": {"currentReplicas": 3},
    }
    assert [c["name"] for c in KINDS[("autoscaling", "HorizontalPodAutoscaler")][0]] == [
        "Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"
    ]  # fmt: skip
    assert row("autoscaling", "HorizontalPodAutoscaler", hpa) == [
        "web", "Deployment/web", "cpu: <unknown>/50%", "2", 10, 3, "60m"
    ]  # fmt: skip
    hpa["status"]["currentMetrics"] = [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}
    ]
    assert format_hpa_metrics(hpa) == "cpu: 12%/50%"
    del hpa["status"]["currentMetrics"]
    hpa["spec"]["metrics"] = [
        resource("memory", type="AverageValue", averageValue="100Mi"),
        {"type": "Pods", "pods": {"target": {"averageValue": "1k"}}},
        {"type": "External", "external": {"target": {"value": "5"}}},
    ]
    assert format_hpa_metrics(hpa) == "memory: <unknown>/100Mi, <unknown>/1k + 1 more..."
    hpa["spec"]["metrics"] = [{"type": "Object", "object": {"target": {"averageValue": "3"}}}]
    assert format_hpa_metrics(hpa) == "<unknown>/3 (avg)"
    assert format_hpa_metrics({"spec": {"metrics": []}}) == "<none>"


def test_hpa_v1_shape_and_unset_min() -> None:
    v1 = {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3}}
    assert format_hpa_metrics(v1) == "cpu: <unknown>/80%"
    v1["spec"]["targetCPUUtilizationPercentage"] = 60
    v1["status"] = {"currentCPUUtilizationPercentage": 7}
    assert format_hpa_metrics(v1) == "cpu: 7%/60%"
    assert row("autoscaling", "HorizontalPodAutoscaler", v1)[3] == "<unset>"
