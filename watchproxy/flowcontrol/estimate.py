"""How many seats a request occupies while it executes (its width).

kube-apiserver's work estimator (staging/src/k8s.io/apiserver/pkg/util/flowcontrol/request/
list_work_estimator.go, count-based form, config.go): a LIST (or a WATCH that starts with the
current state) takes one seat per 100 objects it will process, at least 1 and at most 10; a LIST
naming one object, and a WATCH resuming from a resourceVersion, take 1. Every other request takes
1 (kube's mutating estimator, which charges writes for their watch fan-out, is not implemented:
fan-out here is the dispatcher's work, not the request's).

The object count is what the watch cache will walk for the request: the namespace's objects when
the path or an exact field selector names one, the node's when a pod LIST pins `spec.nodeName`
(watchproxy indexes both; kube counts the whole resource).
"""

from __future__ import annotations

import math
from typing import Final

OBJECTS_PER_SEAT: Final = 100.0
MINIMUM_SEATS: Final = 1
MAXIMUM_LIST_SEATS: Final = 10


def list_seats(objects: int, *, limit: int = 0, single: bool = False) -> int:
    """Seats for a LIST processing `objects` objects (`limit` caps the page; `single`: the
    request names one object)."""
    if single:
        return MINIMUM_SEATS
    if 0 < limit < objects:
        objects = limit
    seats = math.ceil(objects / OBJECTS_PER_SEAT)
    return max(MINIMUM_SEATS, min(MAXIMUM_LIST_SEATS, seats))


def watch_sends_initial_state(resource_version: str, send_initial_events: str) -> bool:
    """A WATCH begins with the current state (and costs like a LIST) when it asks for initial
    events, or is a legacy watch from resourceVersion "" or "0"."""
    return send_initial_events == "true" or resource_version in ("", "0")
