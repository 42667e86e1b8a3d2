"""Server-side printing of batch/v1 Job and CronJob and autoscaling HorizontalPodAutoscaler --
ports of printJob, printCronJob, printHorizontalPodAutoscaler and formatHPAMetrics in
kubernetes/pkg/printers/internalversion/printers.go (Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import (
    JsonObject,
    _containers,
    _d,
    _i,
    _l,
    _s,
    human_duration,
    parse_time,
    since,
)
from watchproxy.api.printer_defs import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Kinds,
    bool_ptr,
    col,
    label_selector,
    quantity,
    wide,
)

_JOB_STATES = (
    ("Complete", "Complete"),
    ("Failed", "Failed"),
    (None, "Terminating"),
    ("Suspended", "Suspended"),
    ("FailureTarget", "FailureTarget"),
)


def _has_condition(conditions: Any, kind: str) -> bool:
    """hasJobCondition: the first condition of `kind` has status True."""
    for condition in map(_d, _l(conditions)):
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def _job(job: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(job.get("metadata")), _d(job.get("spec")), _d(job.get("status"))
    succeeded = _i(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{_i(spec.get('completions'))}"
    elif _i(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {_i(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration((now if end is None else end) - start)
    state = "Running"
    for condition, text in _JOB_STATES:
        if condition is None and meta.get("deletionTimestamp"):
            state = text
            break
        if condition is not None and _has_condition(status.get("conditions"), condition):
            state = text
            break
    pod_spec = _d(_d(spec.get("template")).get("spec"))
    return [
        _s(meta.get("name")),
        state,
        completions,
        duration,
        since(meta.get("creationTimestamp"), now),
        *_containers(_l(pod_spec.get("containers"))),
        label_selector(spec.get("selector")),
    ]


def _cron_job(cj: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(cj.get("metadata")), _d(cj.get("spec")), _d(cj.get("status"))
    job_spec = _d(_d(spec.get("jobTemplate")).get("spec"))
    last = "<none>"
    if status.get("lastScheduleTime") is not None:
        last = since(status.get("lastScheduleTime"), now)
    zone = spec.get("timeZone")
    return [
        _s(meta.get("name")),
        _s(spec.get("schedule")),
        zone if isinstance(zone, str) else "<none>",
        bool_ptr(spec.get("suspend")),
        len(_l(status.get("active"))),
        last,
        since(meta.get("creationTimestamp"), now),
        *_containers(_l(_d(_d(job_spec.get("template")).get("spec")).get("containers"))),
        label_selector(job_spec.get("selector")),
    ]


def _percent(value: Any) -> str:
    return f"{_i(value)}%"


def _metric(spec: JsonObject, status: JsonObject | None) -> str:
    """One entry of formatHPAMetrics; `status` is the metric status at the same index."""
    kind = spec.get("type")
    if kind in ("External", "Object"):
        field = "external" if kind == "External" else "object"
        target = _d(_d(spec.get(field)).get("target"))
        current = _d(_d((status or {}).get(field)).get("current")) if status else None
        has = status is not None and isinstance(status.get(field), dict)
        if target.get("averageValue") is not None:
            cur = "<unknown>"
            if has and current is not None and current.get("averageValue") is not None:
                cur = quantity(current.get("averageValue"))
            return f"{cur}/{quantity(target.get('averageValue'))} (avg)"
        cur = quantity((current or {}).get("value")) if has else "<unknown>"
        return f"{cur}/{quantity(target.get('value'))}"
    if kind == "Pods":
        target = _d(_d(spec.get("pods")).get("target"))
        has = status is not None and isinstance(status.get("pods"), dict)
        cur = "<unknown>"
        if has and status is not None:
            cur = quantity(_d(_d(status["pods"]).get("current")).get("averageValue"))
        return f"{cur}/{quantity(target.get('averageValue'))}"
    if kind in ("Resource", "ContainerResource"):
        field = "resource" if kind == "Resource" else "containerResource"
        source = _d(spec.get(field))
        target = _d(source.get("target"))
        has = status is not None and isinstance(status.get(field), dict)
        current = _d(_d(status.get(field)).get("current")) if has and status else {}
        name = _s(source.get("name"))
        if target.get("averageValue") is not None:
            cur = quantity(current.get("averageValue")) if has else "<unknown>"
            return f"{name}: {cur}/{quantity(target.get('averageValue'))}"
        cur = "<unknown>"
        if has and current.get("averageUtilization") is not None:
            cur = _percent(current.get("averageUtilization"))
        tgt = "<auto>"
        if target.get("averageUtilization") is not None:
            tgt = _percent(target.get("averageUtilization"))
        return f"{name}: {cur}/{tgt}"
    return "<unknown type>"


def format_hpa_metrics(hpa: JsonObject) -> str:
    """formatHPAMetrics over the internal (v2) metrics; a v1 object's CPU target converted."""
    spec, status = _d(hpa.get("spec")), _d(hpa.get("status"))
    specs = [_d(m) for m in _l(spec.get("metrics"))]
    statuses = [_d(m) for m in _l(status.get("currentMetrics"))]
    if "metrics" not in spec and "scaleTargetRef" in spec:
        # autoscaling/v1 (and v2 defaulting): a CPU utilization target, 80% when unset.
        target = spec.get("targetCPUUtilizationPercentage")
        utilization = 80 if target is None else _i(target)
        specs = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": utilization},
                },
            }
        ]
        if status.get("currentCPUUtilizationPercentage") is not None:
            statuses = [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {
                            "averageUtilization": status["currentCPUUtilizationPercentage"]
                        },
                    },
                }
            ]
    if not specs:
        return "<none>"
    items = [_metric(m, statuses[i] if i < len(statuses) else None) for i, m in enumerate(specs)]
    text = ", ".join(items[:2])
    return f"{text} + {len(items) - 2} more..." if len(items) > 2 else text


def _hpa(hpa: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(hpa.get("metadata")), _d(hpa.get("spec")), _d(hpa.get("status"))
    ref = _d(spec.get("scaleTargetRef"))
    min_pods = spec.get("minReplicas")
    return [
        _s(meta.get("name")),
        f"{_s(ref.get('kind'))}/{_s(ref.get('name'))}",
        format_hpa_metrics(hpa),
        "<unset>" if min_pods is None else str(_i(min_pods)),
        _i(spec.get("maxReplicas")),
        _i(status.get("currentReplicas")),
        since(meta.get("creationTimestamp"), now),
    ]


KINDS: Kinds = {
    ("batch", "Job"): (
        (
            NAME,
            col("Status", "Status of the job."),
            col("Completions", "The completion status of the job"),
            col("Duration", "Time required to complete the job."),
            AGE,
            CONTAINERS,
            IMAGES,
            wide("Selector", "A label query over pods that should match the pod count."),
        ),
        _job,
    ),
    ("batch", "CronJob"): (
        (
            NAME,
            col("Schedule", "The schedule in Cron format."),
            col("Timezone", "The time zone name for the given schedule."),
            col(
                "Suspend",
                "This flag tells the controller to suspend subsequent executions.",
                "boolean",
            ),
            col("Active", "A list of pointers to currently running jobs.", "integer"),
            col(
                "Last Schedule",
                "Information when was the last time the job was successfully scheduled.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            wide("Selector", "A label query over pods that should match the pod count."),
        ),
        _cron_job,
    ),
    ("autoscaling", "HorizontalPodAutoscaler"): (
        (
            NAME,
            col(
                "Reference",
                "reference to scaled resource; horizontal pod autoscaler will learn "
                "the current resource consumption and will set the desired number of pods by "
                "using its Scale subresource.",
            ),
            col("Targets", "the current and target metrics values"),
            col("MinPods", "minReplicas is the lower limit for the number of replicas.", "string"),
            col("MaxPods", "maxReplicas is the upper limit for the number of replicas."),
            col(
                "Replicas",
                "currentReplicas is current number of replicas of pods managed by this autoscaler.",
            ),
            AGE,
        ),
        _hpa,
    ),
}
