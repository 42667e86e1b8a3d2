"""events.k8s.io/v1 <-> core v1 Event conversion (schema/event_conversion.py), after kube's
pkg/apis/events/v1/conversion.go and its field label conversion; and how the events.k8s.io type
carries it (resources.Conversion with storage group "", core/objects.build_from_dict)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from watchproxy.core.objects import build_from_dict
from watchproxy.proxy import served_key
from watchproxy.resources import Registry, ResourceType
from watchproxy.schema.event_conversion import convert, to_core, to_events

META = {"name": "web.17c8", "namespace": "ns", "uid": "u-1", "resourceVersion": "5"}
REF = {"kind": "Pod", "namespace": "ns", "name": "web", "uid": "p-1", "apiVersion": "v1"}
SERIES = {"count": 3, "lastObservedTime": "2026-12-07T19:00:00.123456Z"}


def core_event() -> dict[str, Any]:
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": copy.deepcopy(META),
        "involvedObject": copy.deepcopy(REF),
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2026-12-07T18:00:00Z",
        "lastTimestamp": "2026-12-07T19:00:00Z",
        "count": 4,
        "type": "Warning",
        "eventTime": "2026-12-07T18:00:00.000001Z",
        "series": copy.deepcopy(SERIES),
        "action": "Restarting",
        "related": {"kind": "Node", "name": "node-1"},
        "reportingComponent": "kubelet",
        "reportingInstance": "node-1",
    }


def events_event() -> dict[str, Any]:
    return {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": copy.deepcopy(META),
        "regarding": copy.deepcopy(REF),
        "reason": "BackOff",
        "note": "Back-off restarting failed container",
        "deprecatedSource": {"component": "kubelet", "host": "node-1"},
        "deprecatedFirstTimestamp": "2026-12-07T18:00:00Z",
        "deprecatedLastTimestamp": "2026-12-07T19:00:00Z",
        "deprecatedCount": 4,
        "type": "Warning",
        "eventTime": "2026-12-07T18:00:00.000001Z",
        "series": copy.deepcopy(SERIES),
        "action": "Restarting",
        "related": {"kind": "Node", "name": "node-1"},
        "reportingController": "kubelet",
        "reportingInstance": "node-1",
    }


# Convert_core_Event_To_v1_Event / Convert_v1_Event_To_core_Event: every field, both ways.
def test_core_to_events_renames_every_field() -> None:
    source = core_event()
    assert to_events(source) == events_event()
    assert source == core_event()  # not mutated
    assert convert(core_event(), "v1") == events_event()


def test_events_to_core_renames_every_field() -> None:
    assert to_core(events_event()) == core_event()
    assert convert(events_event(), "v1") == core_event()


@pytest.mark.parametrize("start", [core_event, events_event])
def test_round_trip_is_lossless(start: Any) -> None:
    obj = start()
    assert convert(convert(obj, "v1"), "v1") == obj


def test_events_form_has_the_fields_go_always_marshals() -> None:
    minimal = {"kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"}, "reason": "R"}
    out = to_events(minimal)
    assert out == {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": {"name": "e"},
        "reason": "R",
        "eventTime": None,
        "regarding": {},
        "deprecatedSource": {},
        "deprecatedFirstTimestamp": None,
        "deprecatedLastTimestamp": None,
    }
    # ...and going back drops the nulls: what the core route serves is unchanged.
    assert to_core(out) == {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "e"},
        "reason": "R",
        "involvedObject": {},
        "source": {},
    }


def _types() -> tuple[Registry, ResourceType, ResourceType]:
    registry = Registry()
    events = registry.lookup("events.k8s.io", "v1", "events")
    core = registry.lookup("", "v1", "events")
    assert events is not None and core is not None
    return registry, events, core


def test_registry_serves_events_k8s_io_from_the_core_storage() -> None:
    registry, events, core = _types()
    assert registry.groups()["events.k8s.io"] == ["v1"]
    assert events.converted and not core.converted
    assert events.storage_prefix == core.storage_prefix == "events"
    assert (events.storage_group, events.storage_version) == ("", "v1")
    assert served_key(core) == "events"
    assert served_key(events) == "events.events.k8s.io"
    assert registry.by_group_kind("", "Event") is core


def test_the_events_cache_encodes_the_stored_core_object() -> None:
    _, events, core = _types()
    stored = core_event()
    served = json.loads(build_from_dict(events, "k", copy.deepcopy(stored), 9).raw)
    assert served["apiVersion"] == "events.k8s.io/v1"
    assert served["regarding"] == REF and served["note"] == stored["message"]
    assert "involvedObject" not in served
    assert served["metadata"]["resourceVersion"] == "9"
    as_core = json.loads(build_from_dict(core, "k", copy.deepcopy(stored), 9).raw)
    assert as_core["involvedObject"] == REF and "regarding" not in as_core
    # Writes through events.k8s.io are stored in the core shape.
    assert events.stored_form(events_event()) == core_event()
    assert core.stored_form(stored) is stored


# pkg/apis/events/v1/conversion.go AddFieldLabelConversionsForEvent.
def test_field_selectors_are_the_events_k8s_io_labels() -> None:
    _, events, _ = _types()
    fields = events.selectable_fields(to_events(core_event()))
    assert fields["regarding.kind"] == "Pod"
    assert fields["regarding.name"] == "web"
    assert fields["regarding.fieldPath"] == ""
    assert fields["reportingController"] == "kubelet"
    assert fields["source"] == "kubelet"
    assert fields["reason"] == "BackOff" and fields["type"] == "Warning"
    assert fields["metadata.namespace"] == "ns"
    for label in ("regarding.uid", "reportingController", "source", "metadata.name"):
        assert events.canonical_field(label) == label
    # The core spellings are not labels of events.k8s.io (kube: "field label not supported").
    for label in ("involvedObject.kind", "reportingComponent", "note"):
        assert events.canonical_field(label) is None
        assert events.unknown_field_message(label) == f"field label not supported: {label}"


def test_source_label_falls_back_to_the_reporting_controller() -> None:
    # pkg/registry/core/event/strategy.go ToSelectableFields: source.component or, when
    # empty, the reporting controller (events written through events.k8s.io have no source).
    _, events, _ = _types()
    obj = events_event()
    obj["deprecatedSource"] = {}
    obj["reportingController"] = "scheduler"
    assert events.selectable_fields(obj)["source"] == "scheduler"
