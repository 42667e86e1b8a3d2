"""What a cached object holds (core/objects.py, decision 0021): its JSON at its exact size (not
orjson's growth buffer), label and field strings shared between objects, no per-event dict of
watch lines until a line is asked for."""

from __future__ import annotations

import tracemalloc

import orjson

from watchproxy.core.objects import ADDED, CachedObject, CacheEvent, build_object
from watchproxy.resources import Registry, ResourceType


def pods() -> ResourceType:
    resource = Registry().lookup("", "v1", "pods")
    assert resource is not None
    return resource


def value(i: int) -> bytes:
    return orjson.dumps(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": f"p-{i}",
                "namespace": "team-a",
                "labels": {"app": "web", "pod-template-hash": "5d8f7c9b4"},
                "annotations": {"pad": "x" * 1500},
            },
            "spec": {"nodeName": "node-1", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIP": f"10.0.0.{i}"},
        }
    )


def build(i: int) -> CachedObject:
    return build_object(pods(), f"team-a/p-{i}", value(i), 100 + i)


def test_the_stored_json_is_allocated_at_its_size() -> None:
    resource = pods()
    tracemalloc.start()
    try:
        obj = build_object(resource, "team-a/p-1", value(1), 101)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    sizes = [
        t.size for t in snapshot.traces if t.size >= len(obj.raw) and t.size < 64 * len(obj.raw)
    ]
    # The raw bytes' block: its length plus the bytes object's header, not orjson's buffer
    # (several KB for a 1.7 KB object).
    assert min(sizes) <= len(obj.raw) + 64
    assert obj.raw[obj.rv_start : obj.rv_end] == b"101"


def test_labels_and_field_values_are_shared_between_objects() -> None:
    a, b = build(1), build(2)
    (ka, va), (kb, vb) = next(iter(a.labels.items())), next(iter(b.labels.items()))
    assert ka is kb and va is vb
    for field in ("spec.nodeName", "status.phase", "metadata.namespace"):
        assert a.fields[field] is b.fields[field]
    assert a.namespace is b.namespace
    assert a.fields["metadata.name"] is a.name  # unique: shared with the object, not interned
    assert a.fields["status.podIP"] == "10.0.0.1"


def test_an_event_makes_its_lines_dict_on_the_first_line_only() -> None:
    obj = build(1)
    event = CacheEvent(seq=1, shard=0, revision=101, key=obj.key, obj=obj, prev=None, vector=(101,))
    assert event._lines is None
    line = event.line(ADDED)
    assert line == b'{"type":"ADDED","object":' + obj.raw + b"}\n"
    assert event.line(ADDED) is line  # memoised
    event.drop_lines()
    assert event._lines is None and event.line(ADDED) == line
