"""events.k8s.io/v1 Event <-> core v1 Event, as kube-apiserver converts them.

kube serves both from `/registry/events` (`AddCohabitatingResources`; the core resource is the
one chosen for storage) and stores the core v1 shape. events.k8s.io/v1 is converted through the
internal `core.Event` (pkg/apis/events/v1/conversion.go; the auto-generated part maps equally
named fields):

- `regarding` <-> `involvedObject`, `note` <-> `message`, `deprecatedSource` <-> `source`,
  `deprecatedFirstTimestamp` / `deprecatedLastTimestamp` / `deprecatedCount` <->
  `firstTimestamp` / `lastTimestamp` / `count`, and `reportingController` <->
  `reportingComponent` (the internal field is ReportingController; core v1's json tag is
  `reportingComponent`).
- `eventTime`, `series`, `reportingInstance`, `action`, `reason`, `related`, `type` and
  `metadata` keep their names.

The events.k8s.io form carries the fields Go's json.Marshal always writes for it (struct
fields, whose `omitempty` has no effect): `eventTime`, `deprecatedFirstTimestamp`,
`deprecatedLastTimestamp` (null when unset), `regarding` and `deprecatedSource` ({} when
unset), as kube's answers have them. The core form keeps only the fields that are set (a null
is dropped), so what the core route stores and serves is unchanged by a write through
events.k8s.io.

Shapes: objects are JSON dicts; `to_events(obj)` / `to_core(obj)` return new dicts (deep
copies; nothing of `obj` is mutated). `convert(obj, version)`: both served versions are "v1",
so the target is the other group's form of `obj`, chosen by `obj`'s apiVersion.
"""

from __future__ import annotations

import copy
from typing import Any

JsonObject = dict[str, Any]

CORE_API_VERSION = "v1"
EVENTS_API_VERSION = "events.k8s.io/v1"

# core v1 field -> events.k8s.io/v1 field (Convert_core_Event_To_v1_Event and the generated
# autoConvert for the fields named alike).
CORE_TO_EVENTS: dict[str, str] = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "reportingComponent": "reportingController",
    "reportingInstance": "reportingInstance",
    "eventTime": "eventTime",
    "series": "series",
    "action": "action",
    "reason": "reason",
    "related": "related",
    "type": "type",
}
EVENTS_TO_CORE = {v: k for k, v in CORE_TO_EVENTS.items()}

# events.k8s.io/v1 struct fields Go marshals even when zero: value written when unset.
_EVENTS_ALWAYS: dict[str, Any] = {
    "eventTime": None,
    "regarding": {},
    "deprecatedSource": {},
    "deprecatedFirstTimestamp": None,
    "deprecatedLastTimestamp": None,
}


def convert(obj: JsonObject, version: str) -> JsonObject:
    """`obj` (an Event of either group) as the other group's `version` ("v1"): a core v1 Event
    as events.k8s.io/v1, anything else as core v1."""
    del version  # both groups serve "v1"; the source's group decides the target
    return to_events(obj) if obj.get("apiVersion") == CORE_API_VERSION else to_core(obj)


def _renamed(obj: JsonObject, names: dict[str, str], api_version: str) -> JsonObject:
    out: JsonObject = {"kind": "Event", "apiVersion": api_version}
    if "metadata" in obj:
        out["metadata"] = copy.deepcopy(obj["metadata"])
    for src, dst in names.items():
        if src in obj:
            out[dst] = copy.deepcopy(obj[src])
    return out


def to_events(obj: JsonObject) -> JsonObject:
    """A core v1 Event as events.k8s.io/v1 (Convert_core_Event_To_v1_Event)."""
    out = _renamed(obj, CORE_TO_EVENTS, EVENTS_API_VERSION)
    for name, zero in _EVENTS_ALWAYS.items():
        if out.get(name) is None:
            out[name] = copy.deepcopy(zero)
    return out


def to_core(obj: JsonObject) -> JsonObject:
    """An events.k8s.io/v1 Event as core v1 (Convert_v1_Event_To_core_Event); unset (null)
    fields are left out."""
    out = _renamed(obj, EVENTS_TO_CORE, CORE_API_VERSION)
    return {k: v for k, v in out.items() if v is not None}
