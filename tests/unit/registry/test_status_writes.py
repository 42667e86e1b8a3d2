"""A status write checks what it may change (decision 0022, second round): kube's status
strategies validate the status alone (pod/strategy.go podStatusStrategy ->
ValidatePodStatusUpdate), defaults reach only the parts the status strategy keeps, a patch's
unknown fields and Go types are looked for only where it changed the object, and managedFields
sets already known to be well formed are not checked again."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from watchproxy.api.status import ApiError
from watchproxy.registry.field_validation import check_patched_fields
from watchproxy.registry.fieldmanager import fieldpath as fp
from watchproxy.registry.fieldmanager import managed as mf
from watchproxy.registry.strategies.pod_status import pod_status_update_causes
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import Registry, ResourceType


def lookup(group: str, plural: str) -> ResourceType:
    found = Registry().lookup(group, "v1", plural)
    assert found is not None
    return found


PODS = lookup("", "pods")


def pod(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {
            "nodeName": "n1",
            "restartPolicy": "Always",
            "containers": [{"name": "c", "image": "i"}],
        },
        "status": dict(status),
    }


# -- ValidatePodStatusUpdate -------------------------------------------------------------------


def test_status_update_does_not_validate_the_stored_spec() -> None:
    old = pod(phase="Pending")
    old["spec"]["containers"][0]["name"] = "Not_A_Label"  # stored by another writer
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Running", "podIP": "10.0.0.1"}
    strategy = strategy_for(PODS)
    assert strategy.validate_status_update(new, old) == []
    assert strategy.validate_update(new, old) != []  # the main resource's rules would refuse


def test_status_update_rules() -> None:
    old = pod(phase="Running", nominatedNodeName="n2")
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "n9"
    new["status"].update(
        nominatedNodeName="Bad_Node",
        podIP="10.0.0.1",
        podIPs=[{"ip": "10.0.0.1"}, {"ip": "10.0.0.1"}],
        hostIPs=[{"ip": "not-an-ip"}],
    )
    assert pod_status_update_causes(new, old) == [
        ("FieldValueForbidden", "status.nodeName", "Forbidden: may not be changed directly"),
        (
            "FieldValueInvalid",
            "status.nominatedNodeName",
            'Invalid value: "Bad_Node": a lowercase RFC 1123 subdomain must consist of lower '
            "case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        (
            "FieldValueInvalid",
            "status.podIPs",
            'Invalid value: []core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"10.0.0.1"}}:'
            " may specify no more than one IP for each IP family",
        ),
        ("FieldValueDuplicate", "status.podIPs[1]", 'Duplicate value: core.PodIP{IP:"10.0.0.1"}'),
        (
            "FieldValueInvalid",
            "status.hostIPs[0]",
            'Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or '
            "2001:db8::ffff)",
        ),
    ]


def test_dual_stack_ips_and_zones() -> None:
    old = pod()
    new = pod(podIPs=[{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], hostIP="fe80::1%eth0")
    causes = pod_status_update_causes(new, old)
    assert [c[1] for c in causes] == ["status.hostIPs[0]"]  # Go's ParseIP refuses zones


@pytest.mark.parametrize(
    ("policy", "exit_code", "refused"),
    [("Never", 0, True), ("OnFailure", 0, True), ("OnFailure", 1, False), ("Always", 0, False)],
)
def test_terminated_containers_stay_terminated(policy: str, exit_code: int, refused: bool) -> None:
    old = pod(containerStatuses=[{"name": "c", "state": {"terminated": {"exitCode": exit_code}}}])
    old["spec"]["restartPolicy"] = policy
    new = copy.deepcopy(old)
    new["status"]["containerStatuses"][0]["state"] = {"running": {}}
    expected = [
        (
            "FieldValueForbidden",
            "status.containerStatuses[0].state",
            "Forbidden: may not be transitioned to non-terminated state",
        )
    ]
    assert pod_status_update_causes(new, old) == (expected if refused else [])


def test_condition_types_qos_class_and_claim_statuses() -> None:
    """validatePodConditions (with kube's `metadata.` path), the immutable qosClass and
    validatePodResourceClaimStatuses, in kube's order."""
    old = pod(qosClass="Burstable")
    old["spec"]["resourceClaims"] = [{"name": "gpu"}]
    new = copy.deepcopy(old)
    new["status"] = {
        "qosClass": "BestEffort",
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "example.com/ok", "status": "True"},
            {"type": "not ok", "status": "True"},
        ],
        "resourceClaimStatuses": [{"name": "gpu"}, {"name": "gpu"}, {"name": "tpu"}],
    }
    causes = pod_status_update_causes(new, old)
    assert [(reason, path) for reason, path, _ in causes] == [
        ("FieldValueInvalid", "metadata.conditions[2].Type"),
        ("FieldValueInvalid", "status.qosClass"),
        ("FieldValueDuplicate", "status.resourceClaimStatuses[1].name"),
        ("FieldValueInvalid", "status.resourceClaimStatuses[2].name"),
    ]
    assert causes[1][2] == 'Invalid value: "BestEffort": field is immutable'
    assert causes[3][2] == (
        'Invalid value: "tpu": must match the name of an entry in `spec.resourceClaims`'
    )


def test_an_empty_qos_class_is_backfilled() -> None:
    """podStatusStrategy.PrepareForUpdate: old kubelets dropped qosClass; not a refusal."""
    old = pod(qosClass="Guaranteed", phase="Running")
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Failed"}
    strategy = strategy_for(PODS)
    strategy.prepare_for_update(new, copy.deepcopy(old), "status")
    assert new["status"]["qosClass"] == "Guaranteed"
    assert strategy.validate_status_update(new, old) == []


def test_what_kube_does_not_check_either() -> None:
    """validation.go: no check of container statuses naming no container (or twice), and
    none of the phase: a status write may take a Succeeded pod back to Running."""
    old = pod(phase="Succeeded")
    new = copy.deepcopy(old)
    new["status"] = {
        "phase": "Running",
        "containerStatuses": [{"name": "ghost", "state": {"running": {}}}] * 2,
    }
    assert pod_status_update_causes(new, old) == []


def test_status_of_the_wrong_type_is_a_decode_error() -> None:
    new = pod()
    new["status"] = ["x"]
    with pytest.raises(ApiError) as caught:
        pod_status_update_causes(new, pod())
    assert caught.value.code == 400 and "cannot unmarshal array" in str(caught.value)


# -- defaults on a status write ------------------------------------------------------------------

SAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("", "pods", {"spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {}}),
    ("apps", "deployments", {"spec": {"template": {"spec": {}}}, "status": {}}),
    ("apps", "statefulsets", {"spec": {}, "status": {"replicas": None}}),
    ("", "nodes", {"spec": {}, "status": {"capacity": {"cpu": "2"}}}),
    ("", "persistentvolumeclaims", {"spec": {}, "status": {}}),
    ("batch", "jobs", {"spec": {"template": {"spec": {}}}, "status": {}}),
    ("policy", "poddisruptionbudgets", {"spec": {}, "status": {}}),
    ("", "services", {"spec": {"ports": [{"port": 80}]}, "status": {}}),
]


@pytest.mark.parametrize(("group", "plural", "body"), SAMPLES)
def test_status_write_defaults_as_the_whole_object_would(
    group: str, plural: str, body: dict[str, Any]
) -> None:
    """kube defaults the whole body, then the status strategy keeps status and metadata: the
    same as defaulting those alone (no defaulter derives them from the spec)."""
    resource = lookup(group, plural)
    strategy = strategy_for(resource)
    old = {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {"name": "x"}}
    old["spec"] = {"stored": True}
    sent = {**copy.deepcopy(old), **copy.deepcopy(body)}
    whole = copy.deepcopy(sent)
    strategy.apply_defaults(whole)
    strategy.prepare_for_update(whole, copy.deepcopy(old), "status")
    alone = copy.deepcopy(sent)
    strategy.prepare_for_update(alone, copy.deepcopy(old), "status")
    assert alone == whole
    assert alone["spec"]["stored"] is True  # the stored spec, whatever the body sent


def test_status_write_defaults_the_status() -> None:
    resource = lookup("", "nodes")
    new: dict[str, Any] = {"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "2"}}}
    strategy_for(resource).prepare_for_update(new, {"metadata": {"name": "n"}}, "status")
    assert new["status"]["allocatable"] == {"cpu": "2"}


# -- fieldValidation of what a patch changed ------------------------------------------------------


def stored_pod() -> dict[str, Any]:
    obj = pod(phase="Pending")
    obj["spec"]["containers"][0]["legacy"] = 1  # unknown, stored by another writer
    return obj


def test_unchanged_parts_are_not_walked() -> None:
    old = stored_pod()
    patched = copy.deepcopy(old)
    patched["status"] = {"phase": "Running", "podIPx": "1"}
    with pytest.raises(ApiError) as caught:
        check_patched_fields(PODS, "status", patched, "Strict", [], None, old)
    message = caught.value.details["causes"][0]["message"]  # type: ignore[index]
    assert message.endswith('strict decoding error: unknown field "status.podIPx"')
    patched = copy.deepcopy(old)
    patched["status"] = {"phase": "Running", "podIPx": "1"}
    warnings = check_patched_fields(PODS, "status", patched, "Warn", [], None, old)
    assert warnings == ['unknown field "status.podIPx"']
    assert patched["status"] == {"phase": "Running"}  # removed from what is written
    assert patched["spec"]["containers"][0]["legacy"] == 1  # as stored: not ours to judge
    # Without the old object, everything is walked (a create, the reference behaviour).
    warnings = check_patched_fields(PODS, "status", copy.deepcopy(old), "Warn", [], None)
    assert warnings == ['unknown field "spec.containers[0].legacy"']


def test_an_unknown_top_level_field_is_removed() -> None:
    old = pod()
    patched = {**copy.deepcopy(old), "extra": {"a": 1}}
    assert check_patched_fields(PODS, "", patched, "Ignore", [], None, old) == []
    assert "extra" not in patched


def test_true_is_not_one() -> None:
    """`==` takes 1 for true: a patch that writes 1 where a bool was is walked, and refused."""
    old = pod()
    old["spec"]["hostNetwork"] = True
    patched = copy.deepcopy(old)
    patched["spec"]["hostNetwork"] = 1
    assert patched == old
    with pytest.raises(ApiError) as caught:
        check_patched_fields(PODS, "", patched, "Strict", [], None, old)
    assert "cannot unmarshal number into Go struct field" in str(caught.value)


# -- managedFields: sets known to be well formed ---------------------------------------------


def test_known_sets_are_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = fp.check

    def counting(raw: Any) -> None:
        if any(key in raw for key in ("f:spec", "f:status")):  # not check's own recursion
            calls.append(raw)
        real(raw)

    monkeypatch.setattr(fp, "check", counting)
    monkeypatch.setattr(mf, "_CHECKED", {})
    raw: dict[str, Any] = {"f:status": {"f:phase": {}, "f:podIP": {}}}
    entry: dict[str, Any] = {"manager": "k", "operation": "Update", "apiVersion": "v1"}
    entry |= {"fieldsType": "FieldsV1", "fieldsV1": raw}
    mf.decode([entry])
    mf.decode([copy.deepcopy(entry)])
    assert len(calls) == 1
    # A set the proxy encoded itself is known without any check.
    managed = mf.Managed()
    mf.set_fields(
        managed,
        '{"manager":"m","operation":"Update","apiVersion":"v1"}',
        fp.decode({"f:spec": {"f:x": {}}}),
        "v1",
        False,
    )
    encoded = mf.encode(managed)
    mf.decode(encoded)
    assert len(calls) == 1
    # A malformed set is refused every time.
    bad = {**entry, "fieldsV1": {"f:status": {"zz:bad": {}}}}
    for _ in range(2):
        with pytest.raises(mf.DecodeError):
            mf.decode([bad])


def test_known_sets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mf, "_CHECKED", {})
    monkeypatch.setattr(mf, "CHECKED_MAX", 3)
    for i in range(5):
        raw: dict[str, Any] = {f"f:n{i}": {}}
        entry: dict[str, Any] = {
            "operation": "Update",
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
        }
        mf.decode([{**entry, "fieldsV1": raw}])
    assert list(mf._CHECKED) == [orjson.dumps({f"f:n{i}": {}}) for i in (2, 3, 4)]


def test_a_managers_set_holding_all_it_changed_is_kept_as_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A kubelet's steady status writes change fields it owns already: its entry keeps the
    set as read (the very fieldsV1 object, nothing re-encoded), only its time moves; a field
    it did not own yet grows the set as before."""
    from watchproxy.registry.fieldmanager import track

    seconds = iter(range(10))
    monkeypatch.setattr(mf, "now", lambda: f"2026-01-01T00:00:0{next(seconds)}Z")

    def kubelet(obj: dict[str, Any]) -> dict[str, Any]:
        found: list[dict[str, Any]] = obj["metadata"]["managedFields"]
        return next(e for e in found if e["manager"] == "kubelet")

    live = pod(phase="Pending")
    live["status"] = {}
    track(PODS, None, live, "creator")
    first = orjson.loads(orjson.dumps(live))
    first["status"] = {"phase": "Running"}
    track(PODS, live, first, "kubelet", "status")
    first = orjson.loads(orjson.dumps(first))  # as read back from storage
    second = copy.deepcopy(first)
    second["status"]["phase"] = "Succeeded"
    track(PODS, first, second, "kubelet", "status")
    assert kubelet(second)["fieldsV1"] is kubelet(first)["fieldsV1"]
    assert kubelet(second)["time"] == "2026-01-01T00:00:02Z"  # creator 0, kubelet 1, now 2
    third = copy.deepcopy(second)
    third["status"]["podIP"] = "10.0.0.1"
    track(PODS, second, third, "kubelet", "status")
    assert kubelet(third)["fieldsV1"] == {"f:status": {"f:phase": {}, "f:podIP": {}}}
    assert kubelet(third)["time"] == "2026-01-01T00:00:03Z"


def _steps() -> list[tuple[str, str, Any]]:
    """(manager, subresource, change) steps of a pod's life, each on the previous result."""

    def status(**fields: Any) -> Any:
        return lambda obj: obj["status"].update(fields)

    def drop(field: str) -> Any:
        return lambda obj: obj["status"].pop(field, None)

    def spec(obj: dict[str, Any]) -> None:
        obj["spec"]["activeDeadlineSeconds"] = 5

    return [
        ("kubelet", "status", status(phase="Running")),
        ("kubelet", "status", status(phase="Running", podIP="10.0.0.1")),
        ("kubelet", "status", status(phase="Succeeded")),  # owned already
        ("kubelet", "status", drop("podIP")),  # removes a field it owns
        ("kubelet", "status", status(podIP="10.0.0.2", message="x")),
        ("kubelet", "status", lambda obj: (drop("message")(obj), status(phase="Failed")(obj))),
        ("other", "status", status(phase="Failed")),  # takes a field from the kubelet
        ("kubelet", "status", status(phase="Running")),  # takes it back
        ("kubelet", "", spec),  # another entry (the main resource)
        ("kubelet", "status", status(phase="Pending", message="m")),
        ("kubelet", "status", status(phase="Unknown", message="n")),
    ]


def test_kept_sets_are_the_reference_paths_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    from watchproxy.registry.fieldmanager import track

    monkeypatch.setattr(mf, "now", lambda: "2026-01-01T00:00:00Z")
    results = []
    for keep in (True, False):
        monkeypatch.setattr(mf, "KEEP_UNCHANGED_SETS", keep)
        live = pod(phase="Pending")
        track(PODS, None, live, "creator")
        seen = []
        for manager, subresource, change in _steps():
            new = orjson.loads(orjson.dumps(live))
            change(new)
            track(PODS, live, new, manager, subresource)
            live = orjson.loads(orjson.dumps(new))
            seen.append(live["metadata"]["managedFields"])
        results.append(seen)
    assert results[0] == results[1]
