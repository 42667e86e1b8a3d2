"""Accept negotiation (api/printing.py) and the metadata-only conversions (api/partial.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from watchproxy.api.partial import partial_list, partial_object
from watchproxy.api.printing import (
    NOT_ACCEPTABLE,
    Printing,
    bookmark_type,
    event_renderer,
    negotiate,
    negotiate_printing,
    render_list,
    render_object,
)
from watchproxy.api.status import ApiError, status_body
from watchproxy.core.objects import build_from_dict
from watchproxy.resources import Registry

REGISTRY = Registry()
CONFIGMAPS = REGISTRY.lookup("", "v1", "configmaps")
DEPLOYMENTS = REGISTRY.lookup("apps", "v1", "deployments")
assert CONFIGMAPS is not None and DEPLOYMENTS is not None

# What client-go's metadata client sends (k8s.io/client-go/metadata/metadata.go).
METADATA_LIST_ACCEPT = (
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
METADATA_GET_ACCEPT = METADATA_LIST_ACCEPT.replace("MetadataList", "Metadata")
KUBECTL_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", None),
        ("application/json", None),
        ("*/*", None),
        ("application/vnd.kubernetes.protobuf, */*", None),
        ("application/vnd.kubernetes.protobuf", None),  # answered in JSON, as always
        ("application/json;stream=watch", None),
        ("application/json;charset=utf-8;pretty=1", None),
        (KUBECTL_ACCEPT, ("Table", "meta.k8s.io/v1")),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", ("Table", "meta.k8s.io/v1beta1")),
        (METADATA_LIST_ACCEPT, ("PartialObjectMetadataList", "meta.k8s.io/v1")),
        (METADATA_GET_ACCEPT, ("PartialObjectMetadata", "meta.k8s.io/v1")),
        (
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
            ("PartialObjectMetadataList", "meta.k8s.io/v1"),
        ),
        (
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
            ("PartialObjectMetadata", "meta.k8s.io/v1beta1"),
        ),
        # unknown conversions are passed over when something else is acceptable
        ("application/json;as=Foo;g=meta.k8s.io;v=v1,application/json", None),
        ("application/json;as=PartialObjectMetadata;g=example.com;v=v1,*/*", None),
        ("application/json;as=PartialObjectMetadata,application/json", None),  # no g/v
        ("application/json;as=Table;g=meta.k8s.io;v=v2,application/json", None),
        # q orders clauses; q=0 sorts last
        (
            "application/json;q=0.5,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            ("PartialObjectMetadata", "meta.k8s.io/v1"),
        ),
        ("application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json", None),
        # a protobuf Table does not exist (rest.go); the JSON alternative is taken
        ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json", None),
        # YAML-only conversions are answered in JSON (this proxy encodes JSON only)
        ("application/yaml;as=Table;v=v1;g=meta.k8s.io", ("Table", "meta.k8s.io/v1")),
    ],
)
def test_negotiation(accept: str, expected: tuple[str, str] | None) -> None:
    got = negotiate(accept)
    assert (None if got is None else (got.kind, got.api_version)) == expected


TABLE_V1, TABLE_V1BETA1 = ("Table", "meta.k8s.io/v1"), ("Table", "meta.k8s.io/v1beta1")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json, */*", None),
        # plain JSON preferred over the Table
        ("application/json,application/json;as=Table;v=v1;g=meta.k8s.io", None),
        # not a Table kube serves: wrong group, no group
        ("application/json;as=Table;v=v1;g=example.com,application/json", None),
        ("application/json;as=Table;v=v1,application/json", None),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", TABLE_V1BETA1),
        ("application/json; g=meta.k8s.io; v=v1; as=Table", TABLE_V1),
        ("*/*;as=Table;v=v1;g=meta.k8s.io", TABLE_V1),
        ("application/*;as=Table;v=v1beta1;g=meta.k8s.io", TABLE_V1BETA1),
        (
            "application/json;as=Table;v=v1;g=meta.k8s.io;q=0.5,"
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
            TABLE_V1BETA1,
        ),
        ("application/json;q=0.9,application/json;as=Table;v=v1;g=meta.k8s.io", TABLE_V1),
        ("application/yaml,application/json;as=Table;v=v1;g=meta.k8s.io", TABLE_V1),
    ],
)
def test_table_negotiation(accept: str, expected: tuple[str, str] | None) -> None:
    """The Table cases of the negotiation api/table.py had before api/printing.py replaced it."""
    got = negotiate(accept)
    assert (None if got is None else (got.kind, got.api_version)) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;as=Foo;g=meta.k8s.io;v=v1",
        "application/json;as=PartialObjectMetadata;g=example.com;v=v1",
        "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
        "text/html",
        "application/json;stream=bogus",
        "application/json;sv=v2",
        "application/yaml;stream=watch",
    ],
)
def test_nothing_acceptable_is_406_with_kubes_message(accept: str) -> None:
    with pytest.raises(ApiError) as caught:
        negotiate(accept)
    assert status_body(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "only the following media types are accepted: application/json, "
        "application/yaml, application/vnd.kubernetes.protobuf",
        "reason": "NotAcceptable",
        "code": 406,
    }
    assert caught.value.message == NOT_ACCEPTABLE


def test_include_object_only_concerns_tables() -> None:
    assert negotiate_printing(KUBECTL_ACCEPT, "") == Printing("meta.k8s.io/v1", "Metadata")
    assert negotiate_printing(KUBECTL_ACCEPT, "Object") == Printing("meta.k8s.io/v1", "Object")
    with pytest.raises(ApiError):
        negotiate_printing(KUBECTL_ACCEPT, "Bogus")
    partial = negotiate_printing(METADATA_GET_ACCEPT, "Bogus")
    assert partial is not None and partial.kind == "PartialObjectMetadata"


def configmap(name: str, rev: int, **meta: Any) -> Any:
    obj = {
        "metadata": {"name": name, "namespace": "ns", "uid": f"u-{name}", **meta},
        "data": {"big": "x" * 100},
    }
    return build_from_dict(CONFIGMAPS, f"ns/{name}", obj, rev)


def test_partial_object_is_the_whole_metadata_and_nothing_else() -> None:
    obj = configmap("a", 7, labels={"app": "web"}, annotations={"k": "v"})
    got = orjson.loads(partial_object(obj.raw, "meta.k8s.io/v1"))
    assert got == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {
            "resourceVersion": "7",
            "name": "a",
            "namespace": "ns",
            "uid": "u-a",
            "labels": {"app": "web"},
            "annotations": {"k": "v"},
        },
    }
    # A merged watch's spliced token survives the conversion.
    spliced = orjson.loads(partial_object(obj.with_rv("Atoken"), "meta.k8s.io/v1beta1"))
    assert spliced["metadata"]["resourceVersion"] == "Atoken"
    assert spliced["apiVersion"] == "meta.k8s.io/v1beta1"


def test_partial_list_keeps_list_meta_and_types_each_item() -> None:
    meta = {"resourceVersion": "9", "continue": "c", "remainingItemCount": 3}
    body = orjson.loads(
        partial_list([configmap("a", 7), configmap("b", 8)], meta, "meta.k8s.io/v1")
    )
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert body["metadata"] == meta
    assert [(i["kind"], i["apiVersion"], i["metadata"]["name"]) for i in body["items"]] == [
        ("PartialObjectMetadata", "meta.k8s.io/v1", "a"),
        ("PartialObjectMetadata", "meta.k8s.io/v1", "b"),
    ]
    assert all("data" not in i for i in body["items"])
    empty = orjson.loads(partial_list([], {"resourceVersion": "9"}, "meta.k8s.io/v1"))
    assert empty["items"] == []


def test_kind_mismatch_is_406_with_the_go_type() -> None:
    obj = configmap("a", 7)
    partial = Printing("meta.k8s.io/v1", kind="PartialObjectMetadata")
    partial_list_ = Printing("meta.k8s.io/v1", kind="PartialObjectMetadataList")
    with pytest.raises(ApiError) as caught:
        render_list(CONFIGMAPS, [obj], {"resourceVersion": "1"}, partial)
    assert (caught.value.code, caught.value.reason, caught.value.message) == (
        406,
        "NotAcceptable",
        "you requested PartialObjectMetadata, but the requested object is a list "
        "(*core.ConfigMapList)",
    )
    with pytest.raises(ApiError) as caught:
        render_object(DEPLOYMENTS, obj, partial_list_)
    assert caught.value.message == (
        "you requested PartialObjectMetadataList, but the requested object is not a list "
        "(*apps.Deployment)"
    )


def test_watch_conversions() -> None:
    obj = configmap("a", 7)
    partial = Printing("meta.k8s.io/v1", kind="PartialObjectMetadata")
    render = event_renderer(CONFIGMAPS, partial)
    assert render is not None
    assert orjson.loads(render(obj.raw))["kind"] == "PartialObjectMetadata"
    assert bookmark_type(CONFIGMAPS, partial) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    # as=PartialObjectMetadataList on a watch: kube's transform fails per object, and the event
    # goes out unchanged (handlers/watch.go Fixup).
    as_list = Printing("meta.k8s.io/v1", kind="PartialObjectMetadataList")
    assert event_renderer(CONFIGMAPS, as_list) is None
    assert bookmark_type(CONFIGMAPS, as_list) == ("ConfigMap", "v1")
    assert bookmark_type(CONFIGMAPS, None) == ("ConfigMap", "v1")
