"""The cells of kube-apiserver's server-side printing, computed from stored JSON objects; pure.

Each printer is a port of the one in kubernetes/pkg/printers/internalversion/printers.go for
that kind, as kube-apiserver runs it: always with `GenerateOptions{Wide: true}`, so the rows
carry the priority-1 cells too and kubectl hides them unless `-o wide`. Times are rendered like
`translateTimestampSince`: `duration.HumanDuration(now - t)`, or `<unknown>` for a zero time.
The JSON fields are read as the v1 (or apps/v1, coordination/v1) objects kube stores, with the
defaults the v1 -> internal conversion would apply where a field may be absent.

Parts: api/printer_cells.py (time, label and container cells), api/printers_workloads.py (Pod,
Node, Deployment), api/printers_cluster.py (Namespace, ConfigMap, Secret, Service, Endpoints,
Event, Lease), api/printers_more.py (the other kinds, with their columns); this module is the
table of printers by (group, kind) that api/table.py reads.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from watchproxy.api.printer_cells import (
    JsonObject,
    Printer,
    _d,
    _s,
    format_labels,
    format_selector,
    human_duration,
    parse_time,
    since,
)
from watchproxy.api.printers_cluster import (
    _configmap,
    _endpoints,
    _event,
    _lease,
    _namespace,
    _secret,
    _service,
)
from watchproxy.api.printers_more import COLUMNS, KINDS
from watchproxy.api.printers_workloads import _deployment, _node, _pod, pod_row_conditions

__all__ = [
    "COLUMNS",
    "PRINTERS",
    "JsonObject",
    "Printer",
    "default_cells",
    "format_labels",
    "format_selector",
    "human_duration",
    "parse_time",
    "pod_row_conditions",
    "since",
]


def default_cells(obj: JsonObject) -> list[Any]:
    """rest.defaultTableConvertor: name and creationTimestamp as UTC RFC 3339."""
    meta = _d(obj.get("metadata"))
    stamp = parse_time(meta.get("creationTimestamp"))
    created = "0001-01-01T00:00:00Z"
    if stamp is not None:
        created = datetime.fromtimestamp(math.floor(stamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [_s(meta.get("name")), created]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): _pod,
    ("", "Node"): _node,
    ("", "Namespace"): _namespace,
    ("", "ConfigMap"): _configmap,
    ("", "Secret"): _secret,
    ("", "Service"): _service,
    ("", "Endpoints"): _endpoints,
    ("", "Event"): _event,
    ("coordination.k8s.io", "Lease"): _lease,
    ("apps", "Deployment"): _deployment,
    **{key: printer for key, (_, printer) in KINDS.items()},  # api/printers_more.py
}
