"""The built-in ResourceTypes built from the generated table and schema/kube_tables.py."""

from __future__ import annotations

import itertools

import pytest

from watchproxy.resources import RESOURCES, Registry, ResourceType
from watchproxy.schema import kube_tables as kt
from watchproxy.schema.builtin import load
from watchproxy.schema.types import builtin_resources

REGISTRY = Registry()


def lookup(group: str, version: str, plural: str) -> ResourceType:
    found = REGISTRY.lookup(group, version, plural)
    assert found is not None, (group, version, plural)
    return found


def test_every_ga_resource_is_served_or_left_out_with_a_reason() -> None:
    table = {(t["group"], t["version"], t["plural"]) for t in load().types}
    served = {(r.group, r.version, r.plural) for r in REGISTRY.all}
    assert len(table) == 72
    assert served | set(kt.NOT_SERVED) == table
    assert not served & set(kt.NOT_SERVED)
    assert len(RESOURCES) == len(builtin_resources()) == 70


def test_every_table_entry_names_a_real_resource() -> None:
    # A typo in kube_tables would silently lose a prefix, short name or selector.
    known = {(t["group"], t["plural"]) for t in load().types}
    for table in (
        kt.STORAGE_PREFIXES,
        kt.SHORT_NAMES,
        kt.CATEGORIES,
        kt.FIELD_SELECTORS,
        kt.TRIGGER_FIELDS,
        kt.RESET_STATUS_ON_CREATE,
    ):
        assert set(table) <= known
    assert kt.VIRTUAL <= known


@pytest.mark.parametrize(
    ("group", "version", "plural", "prefix"),
    [
        ("", "v1", "pods", "pods"),
        ("", "v1", "nodes", "minions"),
        ("", "v1", "services", "services/specs"),
        ("", "v1", "endpoints", "services/endpoints"),
        ("", "v1", "replicationcontrollers", "controllers"),
        ("", "v1", "events", "events"),
        ("networking.k8s.io", "v1", "ingresses", "ingress"),
        ("apiextensions.k8s.io", "v1", "customresourcedefinitions",
         "apiextensions.k8s.io/customresourcedefinitions"),
        ("apiregistration.k8s.io", "v1", "apiservices", "apiregistration.k8s.io/apiservices"),
        ("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscalers"),
        ("apps", "v1", "deployments", "deployments"),
        ("coordination.k8s.io", "v1", "leases", "leases"),
        ("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterroles"),
    ],
)  # fmt: skip
def test_storage_prefixes_are_kube_apiservers(
    group: str, version: str, plural: str, prefix: str
) -> None:
    assert lookup(group, version, plural).storage_prefix == prefix


def test_no_two_stored_resources_share_a_key_space() -> None:
    # The reflector routes each key to the routes of its longest prefix: `a` and `a/b` would
    # collide. Only the versions of one converted type share a prefix (decision 0018).
    stored = [r for r in REGISTRY.resources if not r.converted]
    prefixes = sorted(r.storage_prefix + "/" for r in stored)
    assert len(set(prefixes)) == len(prefixes)
    for a, b in itertools.pairwise(prefixes):
        assert not b.startswith(a), (a, b)


def test_shared_storage_is_served_only_with_a_conversion() -> None:
    v1 = lookup("autoscaling", "v1", "horizontalpodautoscalers")
    v2 = lookup("autoscaling", "v2", "horizontalpodautoscalers")
    assert v1.conversion is not None and v1.conversion is v2.conversion
    assert v1.storage_prefix == v2.storage_prefix and v1.storage_version == "v2"
    shared = [r for r in REGISTRY.resources if r.converted]
    assert [(r.group, r.version, r.plural) for r in shared] == [
        ("autoscaling", "v1", "horizontalpodautoscalers"),
        ("events.k8s.io", "v1", "events"),
    ]
    # events.k8s.io Events are stored as core v1 Events (AddCohabitatingResources).
    events, core = lookup("events.k8s.io", "v1", "events"), lookup("", "v1", "events")
    assert events.storage_prefix == core.storage_prefix == "events"
    assert (events.storage_group, events.storage_version) == ("", "v1")
    assert core.conversion is None and not core.converted
    assert REGISTRY.lookup("", "v1", "componentstatuses") is None
    assert REGISTRY.lookup("", "v1", "bindings") is None


def test_short_names_and_categories() -> None:
    assert lookup("apps", "v1", "deployments").short_names == ("deploy",)
    assert lookup("scheduling.k8s.io", "v1", "priorityclasses").short_names == ("pc",)
    assert lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions").short_names == (
        "crd",
        "crds",
    )
    # Per type: the versions of one type share theirs (both HPA versions are `hpa`, both
    # Event groups `ev`).
    names = [n for r in REGISTRY.all if not r.converted for n in r.short_names]
    assert len(names) == len(set(names))
    in_all = {r.key for r in REGISTRY.all if "all" in r.categories}
    assert in_all == {
        "pods",
        "replicationcontrollers",
        "services",
        "daemonsets.apps",
        "deployments.apps",
        "replicasets.apps",
        "statefulsets.apps",
        "horizontalpodautoscalers.autoscaling",
        "cronjobs.batch",
        "jobs.batch",
    }
    webhooks = lookup("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations")
    assert webhooks.categories == ("api-extensions",)


def test_definitions_and_verbs_come_from_the_table() -> None:
    for r in REGISTRY.all:
        assert r.definition == load().definition_name(r.group, r.version, r.kind)
        assert r.definition in load().definitions
    assert "deletecollection" not in lookup("", "v1", "namespaces").verbs
    assert "deletecollection" in lookup("", "v1", "configmaps").verbs


def test_virtual_review_types() -> None:
    virtual = {r.key for r in REGISTRY.all if r.virtual}
    assert virtual == {
        "selfsubjectreviews.authentication.k8s.io",
        "tokenreviews.authentication.k8s.io",
        "localsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectrulesreviews.authorization.k8s.io",
        "subjectaccessreviews.authorization.k8s.io",
    }
    for r in REGISTRY.all:
        if r.virtual:
            assert r.verbs == ("create",) and r.storage_prefix == ""
    assert not any(r.virtual for r in REGISTRY.resources)


def test_only_served_subresources_are_listed() -> None:
    pods = lookup("", "v1", "pods")
    assert set(pods.subresources) == {"status", "binding", "eviction"}
    assert pods.subresource_version("eviction") == ("policy", "v1")
    assert pods.subresource_version("status") == ("", "v1")
    deploy = lookup("apps", "v1", "deployments")
    assert deploy.subresources["scale"] == ("Scale", ("get", "patch", "update"))
    assert deploy.subresource_version("scale") == ("autoscaling", "v1")
    assert "scale" in lookup("", "v1", "replicationcontrollers").subresources
    csr = lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
    assert "approval" in csr.subresources
    assert lookup("", "v1", "serviceaccounts").subresources["token"][0] == "TokenRequest"
    assert lookup("", "v1", "namespaces").subresources["finalize"] == ("Namespace", ("update",))
    assert lookup("batch", "v1", "jobs").status_subresource
    assert not lookup("", "v1", "configmaps").status_subresource


def test_pod_keeps_its_special_rules() -> None:
    pods = lookup("", "v1", "pods")
    assert pods.trigger_field == "spec.nodeName"
    assert pods.reset_status_on_create == {"phase": "Pending"}
    assert pods.canonical_field("spec.host") == "spec.nodeName"
    assert pods.unknown_field_message("spec.bogus") == "field label not supported: spec.bogus"


@pytest.mark.parametrize(
    ("group", "plural", "label", "obj", "value"),
    [
        ("", "replicationcontrollers", "status.replicas", {"status": {"replicas": 3}}, "3"),
        ("", "replicationcontrollers", "status.replicas", {}, "0"),
        ("batch", "jobs", "status.successful", {"status": {"succeeded": 2}}, "2"),
        ("certificates.k8s.io", "certificatesigningrequests", "spec.signerName",
         {"spec": {"signerName": "example.com/s"}}, "example.com/s"),
        ("resource.k8s.io", "resourceslices", "spec.nodeName", {"spec": {"nodeName": "n1"}}, "n1"),
        ("", "nodes", "spec.unschedulable", {}, "false"),
    ],
)  # fmt: skip
def test_field_selectors(group: str, plural: str, label: str, obj: dict, value: str) -> None:  # type: ignore[type-arg]
    r = next(r for r in REGISTRY.all if (r.group, r.plural) == (group, plural))
    assert r.canonical_field(label) == label
    assert r.selectable_fields({"metadata": {"name": "x"}, **obj})[label] == value


@pytest.mark.parametrize(
    ("group", "plural", "message"),
    [
        ("batch", "jobs", 'field label "x.y" not supported for batchv1.Job'),
        ("", "configmaps", "field label not supported: x.y"),
        ("resource.k8s.io", "resourceslices",
         "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: x.y"),
        ("apps", "replicasets",
         '"x.y" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ],
)  # fmt: skip
def test_unknown_field_messages(group: str, plural: str, message: str) -> None:
    r = next(r for r in REGISTRY.all if (r.group, r.plural) == (group, plural))
    assert r.canonical_field("x.y") is None
    assert r.unknown_field_message("x.y") == message


def test_registry_add_and_remove_bump_the_generation() -> None:
    registry = Registry()
    before = registry.generation
    widgets = ResourceType("example.com", "v1", "Widget", "widgets", True, "example.com/widgets")
    registry.add(widgets)
    assert registry.lookup("example.com", "v1", "widgets") is widgets
    assert registry.generation == before + 1
    assert registry.by_group_kind("example.com", "Widget") is widgets
    assert registry.remove("example.com", "v1", "widgets") is widgets
    assert registry.lookup("example.com", "v1", "widgets") is None
    assert registry.generation == before + 2
