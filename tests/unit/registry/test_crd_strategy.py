"""The CustomResourceDefinition strategy (registry/strategies/crd.py: kube's
customresourcedefinition/strategy.go and apiextensions validation.go) and the naming rules of
the CRD controller (controllers/crd_status.py: naming_controller.go)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from tests.unit.schema.test_crd_schema import widget_crd
from watchproxy.controllers.crd_status import accepted_names
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.strategies.crd import CLEANUP_FINALIZER, CustomResourceDefinitionStrategy
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import Registry, ResourceType
from watchproxy.schema.crd import CRD_RESOURCE, conditions, served_types

REGISTRY = Registry()


def crd_type() -> ResourceType:
    return (
        REGISTRY.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions") or CRD_RESOURCE
    )


def strategy() -> CustomResourceDefinitionStrategy:
    found = strategy_for(crd_type())
    assert isinstance(found, CustomResourceDefinitionStrategy)
    return found


def fields(causes: list[tuple[str, str, str]]) -> list[str]:
    return [field for _, field, _ in causes]


def test_a_valid_crd_has_no_causes() -> None:
    assert strategy().validate(widget_crd()) == []


def test_name_must_be_plural_dot_group() -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "widget.example.com"
    assert strategy().validate(crd) == [
        (
            "FieldValueInvalid",
            "metadata.name",
            'Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group',
        )
    ]


def test_names_group_scope() -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "Widgets.example"
    spec = crd["spec"]
    spec["group"] = "example"
    spec["scope"] = "Everywhere"
    spec["names"] = {**spec["names"], "plural": "Widgets", "listKind": "Widget", "singular": ""}
    spec["names"]["shortNames"] = ["w_d"]
    causes = strategy().validate(crd)
    assert fields(causes) == [
        "spec.group",
        "spec.scope",
        "spec.names.singular",
        "spec.names.plural",
        "spec.names.shortNames[0]",
        "spec.names.listKind",
    ]
    assert causes[0][2] == 'Invalid value: "example": should be a domain with at least one dot'
    assert causes[1][2] == (
        'Unsupported value: "Everywhere": supported values: "Cluster", "Namespaced"'
    )
    assert causes[2] == ("FieldValueRequired", "spec.names.singular", "Required value")
    assert causes[5][2] == 'Invalid value: "Widget": kind and listKind may not be the same'


def test_exactly_one_storage_version_at_least_one_served_and_schemas() -> None:
    crd = widget_crd()
    versions = crd["spec"]["versions"]
    versions[1]["storage"] = True
    for v in versions:
        v["served"] = False
    del versions[1]["schema"]
    versions[1]["name"] = "V2"
    causes = strategy().validate(crd)
    assert fields(causes) == [
        "spec.versions[1].name",
        "spec.versions[1].schema.openAPIV3Schema",
        "spec.versions",
        "spec.versions",
    ]
    assert causes[1][2] == "Required value: schemas are required"
    assert causes[2][2].endswith("must have exactly one version marked as storage version")
    assert causes[3][2].endswith("must have at least one version marked as served")


def test_structural_basics_subresources_columns_and_preserve_unknown_fields() -> None:
    crd = widget_crd()
    crd["spec"]["preserveUnknownFields"] = True
    v1 = crd["spec"]["versions"][0]
    v1["schema"]["openAPIV3Schema"] = {
        "type": "object",
        "properties": {
            "spec": {"properties": {"tags": {"type": "array", "uniqueItems": True}}},
        },
    }
    v1["subresources"]["scale"] = {"specReplicasPath": "spec.replicas"}
    v1["additionalPrinterColumns"] = [{"name": "X", "type": "text", "jsonPath": ".spec.x"}]
    causes = strategy().validate(crd)
    assert fields(causes) == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags].uniqueItems",
        "spec.versions[0].subresources.scale.specReplicasPath",
        "spec.versions[0].subresources.scale.statusReplicasPath",
        "spec.versions[0].additionalPrinterColumns[0].type",
        "spec.preserveUnknownFields",
    ]
    assert causes[0][2] == "Required value: must not be empty for specified object fields"


def test_a_crd_belongs_to_no_tenant() -> None:
    crd = widget_crd()
    crd["metadata"]["labels"] = {"watchproxy.io/tenant": "acme"}
    [(reason, field, _)] = strategy().validate(crd)
    assert (reason, field) == ("FieldValueForbidden", "metadata.labels[watchproxy.io/tenant]")


def test_create_resets_status_to_the_storage_version() -> None:
    crd = widget_crd()
    strategy().prepare_for_create(crd)
    assert crd["status"] == {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]}


def test_update_keeps_status_and_records_a_new_storage_version() -> None:
    old = widget_crd()
    new = copy.deepcopy(old)
    new["status"] = {"hacked": True}
    versions = new["spec"]["versions"]
    versions[0]["storage"], versions[1]["storage"] = False, True
    strategy().prepare_for_update(new, old, "")
    assert new["status"]["storedVersions"] == ["v1", "v1beta1"]
    assert conditions(new) == conditions(old)
    status_only = copy.deepcopy(old)
    status_only["spec"]["group"] = "changed.com"
    status_only["status"]["acceptedNames"] = {"plural": "x", "kind": "X"}
    strategy().prepare_for_update(status_only, old, "status")
    assert status_only["spec"] == old["spec"]
    assert status_only["status"]["acceptedNames"] == {"plural": "x", "kind": "X"}


def test_update_rules() -> None:
    old = widget_crd()
    new = copy.deepcopy(old)
    new["spec"]["scope"] = "Cluster"
    new["spec"]["names"]["kind"] = "Gadget"
    new["spec"]["names"]["listKind"] = "GadgetList"
    new["spec"]["versions"] = new["spec"]["versions"][1:]
    new["spec"]["versions"][0]["storage"] = True
    causes = strategy().validate_update(new, old)
    assert fields(causes) == ["spec.scope", "spec.names.kind", "status.storedVersions[0]"]
    assert causes[0][2] == 'Invalid value: "Cluster": field is immutable'
    assert causes[2][2] == 'Invalid value: "v1": must appear in spec.versions'


def test_first_delete_marks_the_crd_with_the_cleanup_finalizer() -> None:
    crd = widget_crd()
    now = datetime(2026, 1, 2, tzinfo=UTC)
    kept = strategy().begin_delete(crd, DeleteOptions(), now)
    assert kept is not None
    assert kept["metadata"]["deletionTimestamp"] == "2026-01-02T00:00:00Z"
    assert kept["metadata"]["finalizers"] == [CLEANUP_FINALIZER]
    assert conditions(kept)["Terminating"]["reason"] == "InstanceDeletionPending"
    assert strategy().begin_delete(kept, DeleteOptions(), now) is None  # then the generic path


def crd_named(plural: str, kind: str, short: list[str], accepted: bool = True) -> dict[str, Any]:
    crd = widget_crd()
    names = {
        "plural": plural,
        "singular": plural[:-1],
        "kind": kind,
        "listKind": kind + "List",
        "shortNames": short,
    }
    crd["metadata"]["name"] = f"{plural}.example.com"
    crd["spec"]["names"] = names
    crd["status"] = {"acceptedNames": names if accepted else {}}
    return crd


def test_names_are_accepted_unless_another_crd_of_the_group_holds_them() -> None:
    mine = crd_named("widgets", "Widget", ["wd"], accepted=False)
    names, cond = accepted_names(mine, [crd_named("gadgets", "Gadget", ["gd"])])
    assert cond == {"status": "True", "reason": "NoConflicts", "message": "no conflicts found"}
    assert names["plural"] == "widgets" and names["shortNames"] == ["wd"]
    clash = crd_named("gizmos", "Widget", ["gz"])
    names, cond = accepted_names(mine, [clash])
    # Kind and listKind both clash: the last conflict checked is the one reported (kube).
    assert cond["status"] == "False" and cond["reason"] == "ListKindConflict"
    assert cond["message"] == '"WidgetList" is already in use'
    assert "kind" not in names and names["plural"] == "widgets" and names["shortNames"] == ["wd"]
    other_group = copy.deepcopy(clash)
    other_group["spec"]["group"] = "other.com"
    assert accepted_names(mine, [other_group])[1]["status"] == "True"
    short = crd_named("gizmos", "Gizmo", ["wd"])
    names, cond = accepted_names(mine, [short])
    assert (cond["reason"], cond["message"]) == ("ShortNamesConflict", '"wd" is already in use')
    assert "shortNames" not in names


def test_a_schema_the_engine_cannot_build_is_refused() -> None:
    crd = widget_crd()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"] = {"spec": {"type": "string", "pattern": "(unclosed"}}
    [(reason, field, message)] = strategy().validate(crd)
    assert (reason, field) == ("FieldValueInvalid", "spec.versions[0].schema.openAPIV3Schema")
    assert "error building validator" in message
    schema["properties"] = {
        "spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.size >"}]}
    }
    causes = strategy().validate(crd)
    assert causes and all("x-kubernetes-validations[0]" in field for _, field, _ in causes)


def widget_strategy() -> Any:
    widget = served_types(widget_crd())[0]  # v1 (v1beta1 is served too)
    return strategy_for(widget)


def test_custom_resources_drop_status_on_create_and_prune_unknown_fields() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"color": "red"},
        "status": {"phase": "Set by the client"},
    }
    strategy = widget_strategy()
    assert strategy.__class__.__name__ == "CustomResourceStrategy"
    strategy.prepare_for_create(obj)
    assert "status" not in obj
    assert strategy.validate(obj) == []


def test_custom_resource_generation_and_scale_replicas() -> None:
    strategy = widget_strategy()
    old = {"metadata": {"name": "w"}, "spec": {"replicas": 1}, "status": {"n": 1}}
    assert not strategy.generation_changes({**old, "status": {"n": 2}}, old)
    assert strategy.generation_changes({**old, "spec": {"replicas": 2}}, old)
    assert strategy.generation_changes({**old, "extra": 1}, old)  # anything but metadata/status
    bad = {**old, "spec": {"replicas": -1}, "status": {"n": "two"}}
    assert strategy.validate(bad) == [
        (
            "FieldValueInvalid",
            ".spec.replicas",
            "Invalid value: -1: should be a non-negative integer",
        ),
        (
            "FieldValueInvalid",
            ".status.n",
            "Invalid value: 0: .status.n accessor error: two is of the type string, expected int64",
        ),
    ]


def test_create_defaults_singular_list_kind_and_conversion() -> None:
    """SetDefaults_CustomResourceDefinitionSpec: a CRD may leave them out (kubectl users do)."""
    crd = widget_crd()
    names = crd["spec"]["names"]
    del names["singular"], names["listKind"]
    crd["spec"].pop("conversion", None)
    strategy().prepare_for_create(crd)
    assert names["singular"] == "widget" and names["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert strategy().validate(crd) == []
