"""More of kube's type validation (review findings): container resources, probes, volume
mounts, env sources and activeDeadlineSeconds of pods; rolling-update parameters; Service port
duplicates, targetPort names and IP families; generated Job selectors; CronJob time zones; CSR
certificates. Expected texts are kube-apiserver's."""

from __future__ import annotations

import base64
import copy
import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.unit.registry.strategies.test_type_validation import (
    CRONJOBS,
    DEPLOYMENTS,
    JOBS,
    PODS,
    SERVICES,
    STATEFULSETS,
    create_causes,
    deployment,
    rtype,
    update_causes,
)
from watchproxy.registry.strategies.csr_certificate import certificate_causes, certificate_error
from watchproxy.registry.strategies.service_alloc import family_causes

DAEMONSETS = rtype("apps", "DaemonSet", "daemonsets")
CSRS = rtype("certificates.k8s.io", "CertificateSigningRequest", "certificatesigningrequests")


def pod(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "c", "image": "nginx", **container}], **spec}}


def test_resources_requests_above_limits_and_negative() -> None:
    over = pod({"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}})
    assert create_causes(PODS, over) == [
        (
            "FieldValueInvalid",
            "spec.containers[0].resources.requests",
            'Invalid value: "2": must be less than or equal to cpu limit of 1',
        )
    ]
    # Compared as quantities, not strings: 1000Mi < 1Gi.
    fine = pod({"resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "1000Mi"}}})
    assert create_causes(PODS, fine) == []
    negative = pod({"resources": {"limits": {"memory": "-1Mi"}}})
    assert create_causes(PODS, negative) == [
        (
            "FieldValueInvalid",
            "spec.containers[0].resources.limits[memory]",
            'Invalid value: "-1Mi": must be greater than or equal to 0',
        ),
        # The defaults copy limits to absent requests, as kube's do.
        (
            "FieldValueInvalid",
            "spec.containers[0].resources.requests[memory]",
            'Invalid value: "-1Mi": must be greater than or equal to 0',
        ),
    ]
    gpu = pod(
        {"resources": {"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}}
    )
    assert [c[2] for c in create_causes(PODS, gpu)] == [
        'Invalid value: "1": must be equal to example.com/gpu limit of 2'
    ]


def test_active_deadline_seconds_create_and_update() -> None:
    range_1 = "must be between 1 and 2147483647, inclusive"
    assert create_causes(PODS, pod({}, activeDeadlineSeconds=-1)) == [
        ("FieldValueInvalid", "spec.activeDeadlineSeconds", f"Invalid value: -1: {range_1}")
    ]
    old = pod({}, activeDeadlineSeconds=60)
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = -1
    assert update_causes(PODS, old, new) == [
        ("FieldValueInvalid", "spec.activeDeadlineSeconds", f"Invalid value: -1: {range_1}"),
        (
            "FieldValueInvalid",
            "spec.activeDeadlineSeconds",
            "Invalid value: -1: must be between 0 and 2147483647, inclusive",
        ),
    ]
    new["spec"]["activeDeadlineSeconds"] = 90
    assert update_causes(PODS, old, new) == [
        (
            "FieldValueInvalid",
            "spec.activeDeadlineSeconds",
            "Invalid value: 90: must be less than or equal to previous value",
        )
    ]


def test_probes() -> None:
    assert create_causes(PODS, pod({"livenessProbe": {"periodSeconds": 5}})) == [
        (
            "FieldValueRequired",
            "spec.containers[0].livenessProbe",
            "Required value: must specify a handler type",
        )
    ]
    probe = {"tcpSocket": {"port": 80}, "periodSeconds": -1}
    assert create_causes(PODS, pod({"readinessProbe": probe})) == [
        (
            "FieldValueInvalid",
            "spec.containers[0].readinessProbe.periodSeconds",
            "Invalid value: -1: must be greater than or equal to 0",
        )
    ]
    two = {"tcpSocket": {"port": 80}, "exec": {"command": ["true"]}}
    assert [c[:2] for c in create_causes(PODS, pod({"startupProbe": two}))] == [
        ("FieldValueForbidden", "spec.containers[0].startupProbe.tcpSocket")
    ]


def test_volume_mounts_and_env_sources() -> None:
    mounts = [{"name": "x", "mountPath": "/x"}]
    assert create_causes(PODS, pod({"volumeMounts": mounts})) == [
        ("FieldValueNotFound", "spec.containers[0].volumeMounts[0].name", 'Not found: "x"')
    ]
    defined = pod({"volumeMounts": mounts}, volumes=[{"name": "x", "emptyDir": {}}])
    assert create_causes(PODS, defined) == []
    env = [{"name": "A", "valueFrom": {}}]
    assert create_causes(PODS, pod({"env": env})) == [
        (
            "FieldValueInvalid",
            "spec.containers[0].env[0].valueFrom",
            'Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, '
            "`configMapKeyRef` or `secretKeyRef`",
        )
    ]


def test_rolling_update_parameters() -> None:
    d = deployment({"a": "b"}, {"a": "b"})
    d["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0},
    }
    assert create_causes(DEPLOYMENTS, d) == [
        (
            "FieldValueInvalid",
            "spec.strategy.rollingUpdate.maxUnavailable",
            "Invalid value: 0: may not be 0 when `maxSurge` is 0",
        )
    ]
    d["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": "150x", "maxUnavailable": "150%"}
    assert create_causes(DEPLOYMENTS, d) == [
        (
            "FieldValueInvalid",
            "spec.strategy.rollingUpdate.maxSurge",
            "Invalid value: 150x: a valid percent string must be a numeric string followed by an "
            "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
        (
            "FieldValueInvalid",
            "spec.strategy.rollingUpdate.maxUnavailable",
            "Invalid value: 150%: must not be greater than 100%",
        ),
    ]
    ds = deployment({"a": "b"}, {"a": "b"})
    ds["spec"]["updateStrategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0},
    }
    assert create_causes(DAEMONSETS, ds) == [
        (
            "FieldValueRequired",
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "Required value: cannot be 0 when maxSurge is 0",
        )
    ]


def service(*ports: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"type": "NodePort", "ports": list(ports)}}


def test_service_duplicates_and_target_port_names() -> None:
    same_node_port = service(
        {"name": "a", "port": 80, "nodePort": 30001}, {"name": "b", "port": 81, "nodePort": 30001}
    )
    assert create_causes(SERVICES, same_node_port) == [
        ("FieldValueDuplicate", "spec.ports[1].nodePort", "Duplicate value: 30001")
    ]
    same_port = service({"name": "a", "port": 80}, {"name": "b", "port": 80})
    assert create_causes(SERVICES, same_port) == [
        (
            "FieldValueDuplicate",
            "spec.ports[1]",
            'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", '
            "AppProtocol:(*string)(nil), Port:80, "
            'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
        )
    ]
    udp = service({"name": "a", "port": 53}, {"name": "b", "port": 53, "protocol": "UDP"})
    assert create_causes(SERVICES, udp) == []
    long_name = service({"port": 80, "targetPort": "a-very-long-port-name"})
    assert create_causes(SERVICES, long_name) == [
        (
            "FieldValueInvalid",
            "spec.ports[0].targetPort",
            "Invalid value: a-very-long-port-name: must be no more than 15 characters",
        )
    ]


def test_service_families_must_be_configured() -> None:
    svc = {"spec": {"ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack"}}
    assert family_causes(svc, "IPv4") == [
        (
            "FieldValueInvalid",
            "spec.ipFamilies[0]",
            "Invalid value: []string(nil): ipfamily IPv6 is not configured on cluster",
        )
    ]
    assert family_causes(svc, "IPv6") == []


def test_job_selector_must_be_generated_unless_manual() -> None:
    job = {
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]},
            },
        }
    }
    assert create_causes(JOBS, job) == [
        (
            "FieldValueInvalid",
            "spec.selector",
            'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated",
        )
    ]
    job["spec"]["manualSelector"] = True
    assert create_causes(JOBS, job) == []


def test_cronjob_time_zone() -> None:
    cron = {
        "spec": {
            "schedule": "* * * * *",
            "timeZone": "Mars/Olympus",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "i"}],
                        }
                    }
                }
            },
        }
    }
    assert create_causes(CRONJOBS, cron) == [
        (
            "FieldValueInvalid",
            "spec.timeZone",
            'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
        )
    ]
    cron["spec"]["timeZone"] = "Europe/Berlin"
    assert create_causes(CRONJOBS, cron) == []


def _certificate_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "n")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_csr_certificate_must_be_pem() -> None:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    old: dict[str, Any] = {"status": {}}
    bad = {"status": {"certificate": b64(b"not a certificate")}}
    assert certificate_causes(bad, old) == [
        (
            "FieldValueInvalid",
            "status.certificate",
            'Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block',
        )
    ]
    good = {"status": {"certificate": b64(_certificate_pem())}}
    assert certificate_causes(good, old) == []
    key_block = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    assert (
        certificate_error(key_block)
        == 'only CERTIFICATE PEM blocks are allowed, found "PRIVATE KEY"'
    )
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    assert certificate_error(broken) == "x509: malformed certificate"
    # A stored certificate that was already invalid tolerates any update (compatibility).
    assert certificate_causes(bad, bad) == []
    assert certificate_causes(good, {"status": {"certificate": b64(b"junk")}}) == []


def test_statefulset_mounts_may_name_its_claim_templates() -> None:
    sts = deployment({"a": "b"}, {"a": "b"})
    container = sts["spec"]["template"]["spec"]["containers"][0]
    container["volumeMounts"] = [{"name": "d", "mountPath": "/d"}]
    sts["spec"]["serviceName"] = "s"
    assert [c[1] for c in create_causes(STATEFULSETS, sts)] == [
        "spec.template.spec.containers[0].volumeMounts[0].name"
    ]
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "d"}, "spec": {}}]
    assert create_causes(STATEFULSETS, sts) == []
