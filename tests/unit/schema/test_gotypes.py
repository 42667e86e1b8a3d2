"""Wrong JSON types in a built-in type's body (schema/gotypes.py): Go's UnmarshalTypeError."""

from __future__ import annotations

from typing import Any

from watchproxy.schema.builtin import load
from watchproxy.schema.gotypes import type_error

DEFS = load().definitions


def check(name: str, obj: Any) -> str | None:
    return type_error(obj, DEFS[name], DEFS)


LEASE = "io.k8s.api.coordination.v1.Lease"
POD = "io.k8s.api.core.v1.Pod"


def pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}], **spec},
    }


def test_a_well_typed_body_passes() -> None:
    assert check(LEASE, {"spec": {"leaseDurationSeconds": 15, "holderIdentity": "a"}}) is None
    assert check(POD, pod(nodeSelector={"a": "b"}, priority=None)) is None


def test_string_into_int32() -> None:
    assert check(LEASE, {"spec": {"leaseDurationSeconds": "abc"}}) == (
        "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds"
        " of type int32"
    )


def test_nested_list_path_has_no_indices_and_names_the_innermost_struct() -> None:
    body = pod(containers=[{"name": "c", "ports": [{"containerPort": "80"}]}])
    assert check(POD, body) == (
        "json: cannot unmarshal string into Go struct field"
        " ContainerPort.spec.containers.ports.containerPort of type int32"
    )


def test_wrong_container_types() -> None:
    assert check(POD, pod(containers={"name": "c"})) == (
        "json: cannot unmarshal object into Go struct field PodSpec.spec.containers"
        " of type []v1.Container"
    )
    assert check(POD, {"spec": "x"}) == (
        "json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec"
    )


def test_numbers_that_do_not_fit() -> None:
    assert check(LEASE, {"spec": {"leaseDurationSeconds": 1.5}}) == (
        "json: cannot unmarshal number 1.5 into Go struct field LeaseSpec.spec.leaseDurationSeconds"
        " of type int32"
    )
    assert check(LEASE, {"spec": {"leaseDurationSeconds": 2**31}}) == (
        "json: cannot unmarshal number 2147483648 into Go struct field"
        " LeaseSpec.spec.leaseDurationSeconds of type int32"
    )


def test_maps_bools_and_metadata() -> None:
    assert check(POD, pod(nodeSelector={"a": 1})) == (
        "json: cannot unmarshal number into Go struct field PodSpec.spec.nodeSelector"
        " of type string"
    )
    assert check(POD, pod(hostNetwork="yes")) == (
        "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"
    )
    assert check(POD, {"metadata": {"name": 5}}) == (
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string"
    )


def test_custom_decoders_accept_what_they_accept() -> None:
    deployment = "io.k8s.api.apps.v1.Deployment"
    surge = {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}}}
    assert check(deployment, surge) is None
    surge["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = True
    assert check(deployment, surge) == (
        "json: cannot unmarshal bool into Go struct field RollingUpdateDeployment"
        ".spec.strategy.rollingUpdate.maxSurge of type intstr.IntOrString"
    )
    limits = pod(containers=[{"name": "c", "resources": {"limits": {"cpu": 0.5}}}])
    assert check(POD, limits) is None
    # RawExtension takes any JSON (ControllerRevision.data).
    revision = "io.k8s.api.apps.v1.ControllerRevision"
    assert check(revision, {"data": [1, "x", {"y": None}], "revision": 1}) is None


def test_quantities_are_parsed_as_parse_quantity_does() -> None:
    def limits(cpu: object) -> str | None:
        return check(POD, pod(containers=[{"name": "c", "resources": {"limits": {"cpu": cpu}}}]))

    for good in ("500m", "1", "0.5", "2Gi", "1e3", "+1.5E-3", 2, 0.25):
        assert limits(good) is None, good
    assert limits("abc") == (
        "quantities must match the regular expression"
        " '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    assert limits("1.2.3") == "unable to parse numeric part of quantity"
    assert limits("5Gim") == "unable to parse quantity's suffix"
