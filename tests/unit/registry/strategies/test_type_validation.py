"""The type-specific validation of registry/strategies/ (pods, workloads, jobs, cronjobs,
services, configmaps), with kube's field paths and messages."""

from __future__ import annotations

import copy
from typing import Any

from watchproxy.registry.errors import Cause
from watchproxy.registry.strategy import strategy_for, validation_level
from watchproxy.resources import CustomResourceInfo, ResourceType


def rtype(group: str, kind: str, plural: str) -> ResourceType:
    return ResourceType(group, "v1", kind, plural, True, plural, status_subresource=True)


PODS = rtype("", "Pod", "pods")
DEPLOYMENTS = rtype("apps", "Deployment", "deployments")
STATEFULSETS = rtype("apps", "StatefulSet", "statefulsets")
JOBS = rtype("batch", "Job", "jobs")
CRONJOBS = rtype("batch", "CronJob", "cronjobs")
SERVICES = rtype("", "Service", "services")
CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps", True, "configmaps")


def create_causes(resource: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    strategy = strategy_for(resource)
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {}).setdefault("name", "x")
    obj["metadata"].setdefault("uid", "u1")
    strategy.prepare_for_create(obj)
    return strategy.validate(obj)


def update_causes(resource: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> list[Cause]:
    strategy = strategy_for(resource)
    old, new = copy.deepcopy(old), copy.deepcopy(new)
    strategy.prepare_for_create(old)
    strategy.prepare_for_update(new, old, "")
    return strategy.validate_update(new, old)


def deployment(selector: dict[str, str], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


def test_pod_without_containers() -> None:
    assert create_causes(PODS, {"spec": {}}) == [
        ("FieldValueRequired", "spec.containers", "Required value")
    ]


def test_pod_container_rules() -> None:
    spec = {
        "containers": [
            {"name": "Bad_Name", "image": "x", "ports": [{"containerPort": 0}]},
            {"name": "", "image": ""},
            {"name": "dup", "image": "x"},
            {"name": "dup", "image": "x", "ports": [{"containerPort": 80, "protocol": "XTP"}]},
        ],
        "restartPolicy": "Sometimes",
    }
    causes = create_causes(PODS, {"spec": spec})
    fields = [(reason, field) for reason, field, _ in causes]
    assert fields == [
        ("FieldValueInvalid", "spec.containers[0].name"),
        ("FieldValueInvalid", "spec.containers[0].ports[0].containerPort"),
        ("FieldValueRequired", "spec.containers[1].name"),
        ("FieldValueRequired", "spec.containers[1].image"),
        ("FieldValueDuplicate", "spec.containers[3].name"),
        ("FieldValueNotSupported", "spec.containers[3].ports[0].protocol"),
        ("FieldValueNotSupported", "spec.restartPolicy"),
    ]
    assert causes[1][2] == "Invalid value: 0: must be between 1 and 65535, inclusive"
    assert causes[-1][2] == (
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    )


def test_deployment_selector_must_match_template() -> None:
    assert create_causes(DEPLOYMENTS, deployment({"app": "x"}, {"app": "x"})) == []
    assert create_causes(DEPLOYMENTS, deployment({"app": "x"}, {"app": "y"})) == [
        (
            "FieldValueInvalid",
            "spec.template.metadata.labels",
            'Invalid value: map[string]string{"app":"y"}: `selector` does not match template '
            "`labels`",
        )
    ]


def test_deployment_selector_required_and_not_empty() -> None:
    obj = deployment({}, {"app": "x"})
    del obj["spec"]["selector"]
    assert ("FieldValueRequired", "spec.selector", "Required value") in create_causes(
        DEPLOYMENTS, obj
    )
    empty = create_causes(DEPLOYMENTS, deployment({}, {"app": "x"}))
    assert empty[0][1] == "spec.selector"
    assert empty[0][2].endswith(": empty selector is invalid for deployment")


def test_deployment_template_restart_policy_and_replicas() -> None:
    obj = deployment({"app": "x"}, {"app": "x"})
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    obj["spec"]["replicas"] = -1
    assert create_causes(DEPLOYMENTS, obj) == [
        (
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            'Unsupported value: "Never": supported values: "Always"',
        ),
    ]


def test_deployment_selector_is_immutable() -> None:
    old = deployment({"app": "x"}, {"app": "x", "v": "1"})
    new = deployment({"app": "x", "v": "1"}, {"app": "x", "v": "1"})
    causes = update_causes(DEPLOYMENTS, old, new)
    assert [c[1] for c in causes] == ["spec.selector"]
    assert causes[0][2].endswith(": field is immutable")
    assert update_causes(DEPLOYMENTS, old, copy.deepcopy(old)) == []


def test_statefulset_update_forbidden_fields() -> None:
    old = deployment({"app": "x"}, {"app": "x"})
    old["spec"]["serviceName"] = "a"
    new = copy.deepcopy(old)
    new["spec"]["serviceName"] = "b"
    causes = update_causes(STATEFULSETS, old, new)
    assert [c[:2] for c in causes] == [("FieldValueForbidden", "spec")]
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    assert update_causes(STATEFULSETS, old, new) == []


def job(restart: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"name": "j"}, "spec": {"template": {"spec": spec}}}


def test_job_restart_policy() -> None:
    assert create_causes(JOBS, job("Never")) == []
    assert create_causes(JOBS, job(None)) == [
        (
            "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            'Unsupported value: "Always": supported values: "OnFailure", "Never"',
        )
    ]


def test_job_template_immutable_unless_suspended() -> None:
    old = job("Never")
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    strategy = strategy_for(JOBS)
    old_obj = copy.deepcopy(old)
    old_obj["metadata"]["uid"] = "u1"
    strategy.prepare_for_create(old_obj)
    new_obj = copy.deepcopy(old_obj)
    new_obj["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    assert [c[1] for c in strategy.validate_update(new_obj, old_obj)] == ["spec.template"]
    old_obj["spec"]["suspend"] = new_obj["spec"]["suspend"] = True
    assert strategy.validate_update(new_obj, old_obj) == []


def cronjob(schedule: str) -> dict[str, Any]:
    return {"spec": {"schedule": schedule, "jobTemplate": {"spec": job("OnFailure")["spec"]}}}


def test_cronjob_schedule() -> None:
    assert create_causes(CRONJOBS, cronjob("*/5 * * * *")) == []
    assert create_causes(CRONJOBS, cronjob("@hourly")) == []
    assert create_causes(CRONJOBS, cronjob("")) == [
        ("FieldValueRequired", "spec.schedule", "Required value")
    ]
    assert create_causes(CRONJOBS, cronjob("* * *")) == [
        (
            "FieldValueInvalid",
            "spec.schedule",
            'Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]',
        )
    ]
    tz = create_causes(CRONJOBS, cronjob("TZ=UTC * * * * *"))
    assert tz[0][2].endswith("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")


def test_service_rules() -> None:
    assert create_causes(SERVICES, {"spec": {"ports": [{"port": 80}]}}) == []
    assert create_causes(SERVICES, {"spec": {}}) == [
        ("FieldValueRequired", "spec.ports", "Required value")
    ]
    assert create_causes(SERVICES, {"spec": {"clusterIP": "None"}}) == []
    two = {"spec": {"ports": [{"port": 80}, {"port": 70000, "nodePort": 30000}]}}
    assert create_causes(SERVICES, two) == [
        ("FieldValueRequired", "spec.ports[0].name", "Required value"),
        ("FieldValueRequired", "spec.ports[1].name", "Required value"),
        (
            "FieldValueInvalid",
            "spec.ports[1].port",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (  # targetPort defaults to port
            "FieldValueInvalid",
            "spec.ports[1].targetPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            "FieldValueForbidden",
            "spec.ports[1].nodePort",
            "Forbidden: may not be used when `type` is 'ClusterIP'",
        ),
    ]
    assert create_causes(SERVICES, {"spec": {"type": "ExternalName"}}) == [
        ("FieldValueRequired", "spec.externalName", "Required value")
    ]


def test_service_cluster_ip_kept_and_immutable() -> None:
    old = {"spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.10"}}
    kept = {"spec": {"ports": [{"port": 80}]}}
    assert update_causes(SERVICES, old, kept) == []
    changed = {"spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.11"}}
    assert update_causes(SERVICES, old, changed) == [
        (
            "FieldValueInvalid",
            "spec.clusterIPs[0]",
            'Invalid value: []string{"10.96.0.11"}: may not change once set',
        )
    ]


def test_immutable_configmap() -> None:
    old = {"metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": True}
    assert update_causes(CONFIGMAPS, old, copy.deepcopy(old)) == []
    new = {**copy.deepcopy(old), "data": {"a": "2"}}
    assert update_causes(CONFIGMAPS, old, new) == [
        ("FieldValueForbidden", "data", "Forbidden: field is immutable when `immutable` is set")
    ]
    thawed = {**copy.deepcopy(old), "immutable": False}
    assert [c[1] for c in update_causes(CONFIGMAPS, old, thawed)] == ["immutable"]
    mutable = {"metadata": {"name": "c"}, "data": {"a": "1"}}
    assert update_causes(CONFIGMAPS, mutable, {**mutable, "data": {"a": "2"}}) == []


def test_validation_level() -> None:
    assert validation_level(DEPLOYMENTS) == "kube"
    assert validation_level(PODS) == "kube"
    assert validation_level(rtype("example.com", "Widget", "widgets")) == "schema"
    leases = ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True, "leases")
    assert validation_level(leases) == "schema"
    custom = ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        "x",
        custom=CustomResourceInfo(crd_name="deployments.apps", storage_version="v1"),
    )
    assert validation_level(custom) == "schema"


PVCS = rtype("", "PersistentVolumeClaim", "persistentvolumeclaims")
PDBS = rtype("policy", "PodDisruptionBudget", "poddisruptionbudgets")


def test_pvc_rules() -> None:
    claim: dict[str, Any] = {
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }
    assert create_causes(PVCS, claim) == []
    assert create_causes(PVCS, {"spec": {}}) == [
        (
            "FieldValueRequired",
            "spec.accessModes",
            "Required value: at least 1 access mode is required",
        ),
        ("FieldValueRequired", "spec.resources[storage]", "Required value"),
    ]
    grown = copy.deepcopy(claim)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert update_causes(PVCS, claim, grown) == []
    moved = copy.deepcopy(claim)
    moved["spec"]["storageClassName"] = "fast"
    assert [c[:2] for c in update_causes(PVCS, claim, moved)] == [("FieldValueForbidden", "spec")]


def test_pdb_rules() -> None:
    selector = {"matchLabels": {"app": "db"}}
    assert create_causes(PDBS, {"spec": {"minAvailable": 1, "selector": selector}}) == []
    both = {"spec": {"minAvailable": 1, "maxUnavailable": 1, "selector": selector}}
    causes = create_causes(PDBS, both)
    assert [c[1] for c in causes] == ["spec"]
    assert causes[0][2].endswith("minAvailable and maxUnavailable cannot be both set")


def test_pod_updates_may_change_only_images_and_a_few_fields() -> None:
    strategy = strategy_for(PODS)
    old: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}], "activeDeadlineSeconds": 60},
    }
    strategy.prepare_for_create(old)  # as stored: defaulted, with the default tolerations

    def causes_of(change: Any) -> list[Cause]:
        new = copy.deepcopy(old)
        change(new["spec"])
        strategy.prepare_for_update(new, old, "")
        return strategy.validate_update(new, old)

    def allowed(spec: dict[str, Any]) -> None:
        spec["containers"][0]["image"] = "nginx:2"
        spec["activeDeadlineSeconds"] = 30
        spec["tolerations"].append({"operator": "Exists"})

    assert causes_of(allowed) == []
    assert causes_of(lambda spec: spec.update(nodeName="n1")) == []  # pods/binding, once
    for change in (
        lambda spec: spec.update(restartPolicy="Never"),
        lambda spec: spec["containers"][0].update(command=["sh"]),
        lambda spec: spec.update(tolerations=[]),
    ):
        causes = causes_of(change)
        assert [c[:2] for c in causes] == [("FieldValueForbidden", "spec")]
        assert causes[0][2].startswith("Forbidden: pod updates may not change fields other than")
