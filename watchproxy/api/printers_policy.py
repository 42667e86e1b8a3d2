"""Server-side printing of policy/v1 PodDisruptionBudget, v1 ResourceQuota, scheduling
PriorityClass, node RuntimeClass and flowcontrol FlowSchema and PriorityLevelConfiguration --
ports of the printers of the same names in kubernetes/pkg/printers/internalversion/printers.go
(Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import JsonObject, _d, _i, _l, _s, since
from watchproxy.api.printer_defs import (
    AGE,
    NAME,
    Kinds,
    col,
    quantity,
)


def _int_or_string(value: Any) -> str:
    """A nil *IntOrString is `N/A`; else its String()."""
    if value is None:
        return "N/A"
    return str(value) if not isinstance(value, bool) else "N/A"


def _pdb(pdb: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(pdb.get("metadata")), _d(pdb.get("spec"))
    return [
        _s(meta.get("name")),
        _int_or_string(spec.get("minAvailable")),
        _int_or_string(spec.get("maxUnavailable")),
        _i(_d(pdb.get("status")).get("disruptionsAllowed")),
        since(meta.get("creationTimestamp"), now),
    ]


def _resource_quota(rq: JsonObject, now: float) -> list[Any]:
    meta, status = _d(rq.get("metadata")), _d(rq.get("status"))
    hard, used = _d(status.get("hard")), _d(status.get("used"))
    requests: list[str] = []
    limits: list[str] = []
    for name in sorted(hard):  # SortableResourceNames: string order
        pieces = name.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{name}: {quantity(used.get(name))}/{quantity(hard.get(name))}")
    return [
        _s(meta.get("name")),
        ", ".join(requests),
        ", ".join(limits),
        since(meta.get("creationTimestamp"), now),
    ]


def _priority_class(pc: JsonObject, now: float) -> list[Any]:
    meta = _d(pc.get("metadata"))
    policy = pc.get("preemptionPolicy")
    return [
        _s(meta.get("name")),
        _i(pc.get("value")),
        pc.get("globalDefault") is True,
        since(meta.get("creationTimestamp"), now),
        policy if isinstance(policy, str) else "",  # wide only; "" when nil
    ]


def _runtime_class(rc: JsonObject, now: float) -> list[Any]:
    meta = _d(rc.get("metadata"))
    return [_s(meta.get("name")), _s(rc.get("handler")), since(meta.get("creationTimestamp"), now)]


def _flow_schema(fs: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(fs.get("metadata")), _d(fs.get("spec"))
    method = spec.get("distinguisherMethod")
    dangling = "?"
    for condition in map(_d, _l(_d(fs.get("status")).get("conditions"))):
        if condition.get("type") == "Dangling":
            dangling = _s(condition.get("status"))
            break
    return [
        _s(meta.get("name")),
        _s(_d(spec.get("priorityLevelConfiguration")).get("name")),
        _i(spec.get("matchingPrecedence")),
        _s(_d(method).get("type")) if isinstance(method, dict) else "<none>",
        since(meta.get("creationTimestamp"), now),
        dangling,
    ]


def _priority_level(pl: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(pl.get("metadata")), _d(pl.get("spec"))
    cells: list[Any] = ["<none>", "<none>", "<none>", "<none>"]
    limited = spec.get("limited")
    if isinstance(limited, dict):
        cells[0] = _i(limited.get("nominalConcurrencyShares"))
        queuing = _d(limited.get("limitResponse")).get("queuing")
        if isinstance(queuing, dict):
            cells[1:] = [_i(queuing.get(k)) for k in ("queues", "handSize", "queueLengthLimit")]
    return [
        _s(meta.get("name")),
        _s(spec.get("type")),
        *cells,
        since(meta.get("creationTimestamp"), now),
    ]


KINDS: Kinds = {
    ("policy", "PodDisruptionBudget"): (
        (
            NAME,
            col("Min Available", "The minimum number of pods that must be available."),
            col("Max Unavailable", "The maximum number of pods that may be unavailable."),
            col(
                "Allowed Disruptions",
                "Calculated number of pods that may be disrupted at this time.",
                "integer",
            ),
            AGE,
        ),
        _pdb,
    ),
    ("", "ResourceQuota"): (
        (
            NAME,
            col(
                "Request",
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            col(
                "Limit",
                "Limits control the maximum amount of cpu/memory that a container may "
                "use independent of contention on the node.",
            ),
            AGE,
        ),
        _resource_quota,
    ),
    ("scheduling.k8s.io", "PriorityClass"): (
        (
            NAME,
            col("Value", "The value of this priority class.", "integer"),
            col(
                "Global-Default",
                "globalDefault specifies whether this PriorityClass should be "
                "considered as the default priority.",
                "boolean",
            ),
            AGE,
            col(
                "PreemptionPolicy",
                "PreemptionPolicy is the Policy for preempting pods with lower priority.",
            ),
        ),
        _priority_class,
    ),
    ("node.k8s.io", "RuntimeClass"): (
        (NAME, col("Handler", "Handler specifies the underlying runtime and configuration."), AGE),
        _runtime_class,
    ),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): (
        (
            NAME,
            col("PriorityLevel", "The name of the PriorityLevelConfiguration."),
            col("MatchingPrecedence", "The precedence of the FlowSchema."),
            col("DistinguisherMethod", "The method of distinguishing flows."),
            AGE,
            col("MissingPL", "references a broken or non-existent PriorityLevelConfiguration"),
        ),
        _flow_schema,
    ),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): (
        (
            NAME,
            col("Type", "The type of the PriorityLevelConfiguration."),
            col("NominalConcurrencyShares", "The nominal concurrency shares.", "string"),
            col("Queues", "The number of queues.", "string"),
            col("HandSize", "The hand size.", "string"),
            col("QueueLengthLimit", "The queue length limit.", "string"),
            AGE,
        ),
        _priority_level,
    ),
}
