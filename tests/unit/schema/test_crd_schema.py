"""CustomResourceDefinition -> served ResourceTypes (watchproxy/schema/crd.py), and the Table
of a custom resource from its printer columns (watchproxy/api/printer_columns.py)."""

from __future__ import annotations

import copy
from typing import Any

from watchproxy.api import printer_columns
from watchproxy.api.table import column_definitions, table_row
from watchproxy.schema.crd import served_by_crds, served_types, set_condition

NOW = "2026-01-01T00:00:00Z"


def widget_crd(**version: Any) -> dict[str, Any]:
    """A v1 CRD of widgets.example.com, Established, with a status and a scale subresource."""
    v1 = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object"}},
        "subresources": {
            "status": {},
            "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.n"},
        },
        "additionalPrinterColumns": [
            {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {
                "name": "Ready",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
            },
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
        "selectableFields": [{"jsonPath": ".spec.color"}],
        **version,
    }
    names = {
        "plural": "widgets",
        "singular": "widget",
        "kind": "Widget",
        "listKind": "WidgetList",
        "shortNames": ["wd"],
        "categories": ["all", "toys"],
    }
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "uid": "u1"},
        "spec": {
            "group": "example.com",
            "names": names,
            "scope": "Namespaced",
            "versions": [v1, {**copy.deepcopy(v1), "name": "v1beta1", "storage": False}],
        },
        "status": {"acceptedNames": names, "storedVersions": ["v1"]},
    }
    set_condition(crd, "Established", "True", "InitialNamesAccepted", "x", NOW)
    return crd


def test_an_established_crd_serves_its_storage_version() -> None:
    widget, beta = served_types(widget_crd())  # every served version, in spec order
    assert beta.version == "v1beta1" and beta.storage_prefix == "example.com/widgets"
    assert beta.custom is not None and beta.custom.storage_version == "v1"
    assert (widget.group, widget.version, widget.kind, widget.plural) == (
        "example.com",
        "v1",
        "Widget",
        "widgets",
    )
    assert widget.namespaced and widget.storage_prefix == "example.com/widgets"
    assert widget.short_names == ("wd",) and widget.categories == ("all", "toys")
    assert widget.singular == "widget"
    assert widget.status_subresource
    assert set(widget.subresources) == {"status", "scale"}
    assert widget.subresource_version("scale") == ("autoscaling", "v1")
    assert widget.custom is not None and widget.custom.crd_name == "widgets.example.com"
    assert widget.custom.storage_version == "v1" and len(widget.custom.printer_columns) == 4
    assert widget.selectable_fields({"metadata": {"name": "w"}, "spec": {"color": "red"}}) == {
        "metadata.name": "w",
        "metadata.namespace": "",
        "spec.color": "red",
    }
    assert widget.canonical_field("spec.color") == "spec.color"


def test_not_established_or_not_served_serves_nothing() -> None:
    crd = widget_crd()
    set_condition(crd, "Established", "False", "NotAccepted", "x", NOW)
    assert served_types(crd) == []
    assert served_types(widget_crd(served=False)) == []


def test_cluster_scope_and_accepted_names() -> None:
    crd = widget_crd()
    crd["spec"]["scope"] = "Cluster"
    crd["status"]["acceptedNames"] = {**crd["status"]["acceptedNames"], "shortNames": []}
    widget, _ = served_types(crd)
    assert not widget.namespaced and widget.short_names == ()


def test_one_type_per_plural_group() -> None:
    twin = widget_crd()
    twin["metadata"]["name"] = "zz"
    served = served_by_crds([twin, widget_crd()])
    assert list(served) == [("example.com", "v1", "widgets"), ("example.com", "v1beta1", "widgets")]
    assert served["example.com", "v1", "widgets"].custom.crd_name == "widgets.example.com"  # type: ignore[union-attr]


def test_set_condition_keeps_the_transition_time_while_the_status_holds() -> None:
    crd: dict[str, Any] = {}
    set_condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found", "t1")
    set_condition(crd, "NamesAccepted", "True", "NoConflicts", "again", "t2")
    assert crd["status"]["conditions"] == [
        {
            "type": "NamesAccepted",
            "status": "True",
            "lastTransitionTime": "t1",
            "reason": "NoConflicts",
            "message": "again",
        }
    ]
    set_condition(crd, "NamesAccepted", "False", "KindConflict", "m", "t3")
    assert crd["status"]["conditions"][0]["lastTransitionTime"] == "t3"


def test_table_of_a_custom_resource_uses_its_printer_columns() -> None:
    widget = served_types(widget_crd())[0]
    names = [c["name"] for c in column_definitions(widget)]
    assert names == ["Name", "Color", "Replicas", "Ready", "Age"]
    obj = {
        "metadata": {"name": "w1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"color": "red", "replicas": 3},
        "status": {"conditions": [{"type": "Other"}, {"type": "Ready", "status": "True"}]},
    }
    now = 1767225600.0 + 300  # five minutes later
    assert table_row(widget, obj, now=now)["cells"] == ["w1", "red", 3, "True", "5m"]
    obj["spec"] = {"replicas": "three"}
    assert table_row(widget, obj, now=now)["cells"] == ["w1", None, None, "True", "5m"]


def test_no_printer_columns_is_one_age_column() -> None:
    widget = served_types(widget_crd(additionalPrinterColumns=[]))[0]
    assert [c["name"] for c in column_definitions(widget)] == ["Name", "Age"]
    assert [c["type"] for c in column_definitions(widget)] == ["string", "date"]


def test_jsonpath_subset() -> None:
    obj = {"a": {"b": [{"k": "x", "v": 1}, {"k": "y", "v": True}]}, "m": {"p": 1, "q": 2}}
    find = printer_columns.find
    assert find(obj, ".a.b[1].k") == ["y"]
    assert find(obj, ".a.b[-1].v") == [True]
    assert find(obj, '.a.b[?(@.k!="x")].v') == [True]
    assert find(obj, ".a.b[*].k") == ["x", "y"]
    assert find(obj, "{.a['b'][0].v}") == [1]
    assert find(obj, ".a.missing") == []
    assert find(obj, ".a.b[") == []  # unparsable: nothing
    assert printer_columns.cell("string", {"p": 1}, 0.0) == '{"p":1}'
    assert printer_columns.cell("integer", 2.0, 0.0) == 2
    assert printer_columns.cell("boolean", "true", 0.0) is None
