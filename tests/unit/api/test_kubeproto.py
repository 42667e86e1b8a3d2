"""Tests for watchproxy.kubeproto: Kubernetes protobuf request bodies decoded to JSON objects.

The reference for "the JSON kube-apiserver makes of it" is encoding/json on the Go struct: the
real kubectl bodies below are compared with `kubectl create ... --dry-run=client -o json` for the
same command (same key order included). The other cases build bodies with the generated classes
and spell out what encoding/json writes for them (omitempty, pointers, inline structs, custom
JSON types).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.message import Message

from watchproxy.api.status import ApiError
from watchproxy.api.writes import decode_object
from watchproxy.kubeproto._generated import k8s_apps_v1_pb2 as apps_v1
from watchproxy.kubeproto._generated import k8s_coordination_v1_pb2 as coordination_v1
from watchproxy.kubeproto._generated import k8s_core_v1_pb2 as core_v1
from watchproxy.kubeproto._generated import k8s_meta_v1_pb2 as meta_v1
from watchproxy.kubeproto._generated import k8s_runtime_pb2 as runtime
from watchproxy.kubeproto.decode import _GO_FIELDS, MAGIC, MEDIA_TYPE, decode_protobuf, go_duration

# 2026-01-02T03:04:05Z
T0 = 1767323045


def envelope(api_version: str, kind: str, message: Message | bytes) -> bytes:
    unknown = runtime.Unknown()
    unknown.typeMeta.apiVersion = api_version
    unknown.typeMeta.kind = kind
    unknown.raw = message if isinstance(message, bytes) else message.SerializeToString()
    return bytes(MAGIC + unknown.SerializeToString())


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# -- real kubectl v1.32.4 bodies -------------------------------------------------------------------
# Go clients write every non-pointer field, zero or not (name: "", generation: 0, an empty
# creationTimestamp...); none of that may leak into the JSON.

KUBECTL_BODIES = [
    pytest.param(
        "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEh4KFgoGYWNtZS14EgAaACIAKgAyADgAQgASABoCCgAaACIA",
        '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"acme-x","creationTimestamp":null},'
        '"spec":{},"status":{}}',
        id="create-namespace",
    ),
    pytest.param(
        "azhzAAoMCgJ2MRIGU2VjcmV0EisKGAoCczESABoGYWNtZS14IgAqADIAOABCABINCgJwdxIHaHVudGVyMhoAGgAiAA==",
        '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","namespace":"acme-x",'
        '"creationTimestamp":null},"data":{"pw":"aHVudGVyMg=="}}',
        id="create-secret-generic",
    ),
    pytest.param(
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErsBCiMKAmQxEgAaBmFjbWUteCIAKgAyADgAQgBaCQoDYXBwEgJkMRKF"
        "AQgCEgsKCQoDYXBwEgJkMRpsChsKABIAGgAiACoAMgA4AEIAWgkKA2FwcBICZDESTRIvCgVuZ2lueBIFbmdpbngqADIL"
        "CgAQABiQPyIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgA"
        "EAAYACAAKAA4ABoAIgA=",
        '{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d1","namespace":"acme-x",'
        '"creationTimestamp":null,"labels":{"app":"d1"}},"spec":{"replicas":2,"selector":'
        '{"matchLabels":{"app":"d1"}},"template":{"metadata":{"creationTimestamp":null,"labels":'
        '{"app":"d1"}},"spec":{"containers":[{"name":"nginx","image":"nginx","ports":'
        '[{"containerPort":8080}],"resources":{}}]}},"strategy":{}},"status":{}}',
        id="create-deployment",
    ),
    pytest.param(
        "azhzAAoNCgJ2MRIHU2VydmljZRJyCicKBHN2YzESABoGYWNtZS14IgAqADIAOABCAFoLCgNhcHASBHN2YzESQwobCgc4"
        "MC04MDgwEgNUQ1AYUCIHCAAQkD8aACgAEgsKA2FwcBIEc3ZjMRoAIglDbHVzdGVySVA6AEIAUgBaAGAAaAAaAgoAGgAi"
        "AA==",
        '{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc1","namespace":"acme-x",'
        '"creationTimestamp":null,"labels":{"app":"svc1"}},"spec":{"ports":[{"name":"80-8080",'
        '"protocol":"TCP","port":80,"targetPort":8080}],"selector":{"app":"svc1"},'
        '"type":"ClusterIP"},"status":{"loadBalancer":{}}}',
        id="create-service-clusterip",
    ),
]


@pytest.mark.parametrize(("body_b64", "expected"), KUBECTL_BODIES)
def test_real_kubectl_bodies_match_kubectl_json(body_b64: str, expected: str) -> None:
    assert compact(decode_protobuf(base64.b64decode(body_b64))) == expected


# -- kinds built with the generated classes --------------------------------------------------------


def test_namespace_with_labels() -> None:
    ns = core_v1.Namespace()
    ns.metadata.name = "acme-web"
    ns.metadata.labels["tenant"] = "acme"
    ns.metadata.labels["app.kubernetes.io/part-of"] = "web"
    ns.spec.finalizers.append("kubernetes")
    assert decode_protobuf(envelope("v1", "Namespace", ns)) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": "acme-web",
            "creationTimestamp": None,
            "labels": {"app.kubernetes.io/part-of": "web", "tenant": "acme"},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {},
    }


def test_pod() -> None:
    pod = core_v1.Pod()
    pod.metadata.name = "web-0"
    pod.metadata.namespace = "acme-web"
    pod.metadata.labels["app"] = "web"
    pod.metadata.creationTimestamp.seconds = T0
    pod.metadata.generation = 0  # a Go value field: zero is as good as unset
    volume = pod.spec.volumes.add(name="cfg")
    volume.volumeSource.configMap.localObjectReference.name = "web-cfg"  # inline structs
    volume.volumeSource.configMap.defaultMode = 0o644
    container = pod.spec.containers.add(name="web", image="nginx:1.27", command=["nginx"])
    container.ports.add(name="http", containerPort=8080, protocol="TCP")
    container.env.add(name="MODE", value="prod")
    secret_ref = container.env.add(name="PW").valueFrom.secretKeyRef
    secret_ref.localObjectReference.name = "db"
    secret_ref.key = "pw"
    container.resources.requests["cpu"].string = "250m"
    container.resources.requests["memory"].string = "64Mi"
    container.resources.limits["memory"].string = "128Mi"
    container.volumeMounts.add(name="cfg", mountPath="/etc/web")
    container.livenessProbe.handler.httpGet.path = "/healthz"
    container.livenessProbe.handler.httpGet.port.intVal = 8080  # IntOrString, type Int
    container.readinessProbe.handler.tcpSocket.port.type = 1  # IntOrString, type String
    container.readinessProbe.handler.tcpSocket.port.strVal = "http"
    container.readinessProbe.initialDelaySeconds = 5
    pod.spec.restartPolicy = "Always"
    pod.spec.terminationGracePeriodSeconds = 0  # a pointer: set to zero is not unset
    pod.spec.nodeSelector["disk"] = "ssd"
    pod.status.phase = "Pending"
    assert decode_protobuf(envelope("v1", "Pod", pod)) == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "web-0",
            "namespace": "acme-web",
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {"app": "web"},
        },
        "spec": {
            "volumes": [{"name": "cfg", "configMap": {"name": "web-cfg", "defaultMode": 420}}],
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "command": ["nginx"],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {"name": "MODE", "value": "prod"},
                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                ],
                "resources": {
                    "limits": {"memory": "128Mi"},
                    "requests": {"cpu": "250m", "memory": "64Mi"},
                },
                "volumeMounts": [{"name": "cfg", "mountPath": "/etc/web"}],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                "readinessProbe": {"tcpSocket": {"port": "http"}, "initialDelaySeconds": 5},
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 0,
            "nodeSelector": {"disk": "ssd"},
        },
        "status": {"phase": "Pending"},
    }


def test_secret_bytes_are_base64() -> None:
    secret = core_v1.Secret(type="kubernetes.io/tls", immutable=False)
    secret.metadata.name = "tls"
    secret.data["tls.crt"] = b"\x00\xffcert"
    secret.data["empty"] = b""
    secret.stringData["note"] = "plain"
    assert decode_protobuf(envelope("v1", "Secret", secret)) == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "tls", "creationTimestamp": None},
        "immutable": False,
        "data": {"empty": "", "tls.crt": "AP9jZXJ0"},
        "stringData": {"note": "plain"},
        "type": "kubernetes.io/tls",
    }


def test_configmap_binary_data() -> None:
    cm = core_v1.ConfigMap()
    cm.metadata.name = "cfg"
    cm.data["a"] = "1"
    cm.binaryData["b"] = b"\x01\x02"
    assert decode_protobuf(envelope("v1", "ConfigMap", cm)) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "cfg", "creationTimestamp": None},
        "data": {"a": "1"},
        "binaryData": {"b": "AQI="},
    }


def test_deployment_with_template() -> None:
    deploy = apps_v1.Deployment()
    deploy.metadata.name = "web"
    deploy.metadata.namespace = "acme-web"
    deploy.spec.replicas = 0
    deploy.spec.selector.matchLabels["app"] = "web"
    deploy.spec.template.metadata.labels["app"] = "web"
    deploy.spec.template.spec.containers.add(name="web", image="nginx")
    deploy.spec.strategy.type = "RollingUpdate"
    deploy.spec.strategy.rollingUpdate.maxSurge.type = 1
    deploy.spec.strategy.rollingUpdate.maxSurge.strVal = "25%"
    deploy.spec.strategy.rollingUpdate.maxUnavailable.intVal = 0
    deploy.spec.strategy.rollingUpdate.maxUnavailable.type = 0
    assert decode_protobuf(envelope("apps/v1", "Deployment", deploy)) == {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "acme-web", "creationTimestamp": None},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx", "resources": {}}]},
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
            },
        },
        "status": {},
    }


def test_deployment_without_selector_writes_null() -> None:
    # DeploymentSpec.Selector is `json:"selector"`: a nil pointer without omitempty.
    deploy = apps_v1.Deployment()
    deploy.metadata.name = "web"
    assert decode_protobuf(envelope("apps/v1", "Deployment", deploy))["spec"] == {
        "selector": None,
        "template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}},
        "strategy": {},
    }


def test_lease_micro_time() -> None:
    lease = coordination_v1.Lease()
    lease.metadata.name = "node-1"
    lease.metadata.namespace = "kube-node-lease"
    lease.spec.holderIdentity = "node-1"
    lease.spec.leaseDurationSeconds = 40
    lease.spec.acquireTime.seconds = T0
    lease.spec.acquireTime.nanos = 123_456_789  # Go truncates to microseconds
    lease.spec.renewTime.seconds = T0 + 10
    lease.spec.leaseTransitions = 0
    assert decode_protobuf(envelope("coordination.k8s.io/v1", "Lease", lease)) == {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease", "creationTimestamp": None},
        "spec": {
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 40,
            "acquireTime": "2026-01-02T03:04:05.123456Z",
            "renewTime": "2026-01-02T03:04:15.000000Z",
            "leaseTransitions": 0,
        },
    }


def test_event_zero_times_are_null() -> None:
    event = core_v1.Event(reason="Scheduled", message="assigned", type="Normal", count=1)
    event.metadata.name = "web-0.1"
    event.metadata.namespace = "acme-web"
    event.involvedObject.kind = "Pod"
    event.involvedObject.name = "web-0"
    event.source.component = "default-scheduler"
    event.firstTimestamp.seconds = T0
    assert decode_protobuf(envelope("v1", "Event", event)) == {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "web-0.1", "namespace": "acme-web", "creationTimestamp": None},
        "involvedObject": {"kind": "Pod", "name": "web-0"},
        "reason": "Scheduled",
        "message": "assigned",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": "2026-01-02T03:04:05Z",
        "lastTimestamp": None,
        "count": 1,
        "type": "Normal",
        "eventTime": None,
        "reportingComponent": "",
        "reportingInstance": "",
    }


def test_node_status_value_structs() -> None:
    # NodeSystemInfo and DaemonEndpoint fields have no omitempty: kube-apiserver shows them all.
    node = core_v1.Node()
    node.metadata.name = "node-1"
    node.spec.podCIDR = "10.0.1.0/24"
    taint = node.spec.taints.add(key="dedicated", value="db", effect="NoSchedule")
    taint.timeAdded.seconds = T0
    node.status.capacity["cpu"].string = "4"
    node.status.addresses.add(type="InternalIP", address="10.0.0.1")
    node.status.nodeInfo.kubeletVersion = "v1.32.4"
    assert decode_protobuf(envelope("v1", "Node", node)) == {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": "node-1", "creationTimestamp": None},
        "spec": {
            "podCIDR": "10.0.1.0/24",
            "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule",
                        "timeAdded": "2026-01-02T03:04:05Z"}],
        },
        "status": {
            "capacity": {"cpu": "4"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "",
                "osImage": "", "containerRuntimeVersion": "", "kubeletVersion": "v1.32.4",
                "kubeProxyVersion": "", "operatingSystem": "", "architecture": "",
            },
        },
    }


def test_endpoints() -> None:
    endpoints = core_v1.Endpoints()
    endpoints.metadata.name = "web"
    subset = endpoints.subsets.add()
    subset.addresses.add(ip="10.0.0.7", nodeName="node-1")
    subset.ports.add(name="http", port=8080, protocol="TCP")
    assert decode_protobuf(envelope("v1", "Endpoints", endpoints)) == {
        "kind": "Endpoints",
        "apiVersion": "v1",
        "metadata": {"name": "web", "creationTimestamp": None},
        "subsets": [{
            "addresses": [{"ip": "10.0.0.7", "nodeName": "node-1"}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        }],
    }


def test_delete_options() -> None:
    options = meta_v1.DeleteOptions(propagationPolicy="Foreground", gracePeriodSeconds=0)
    options.preconditions.uid = "u-1"
    assert decode_protobuf(envelope("v1", "DeleteOptions", options)) == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u-1"},
        "propagationPolicy": "Foreground",
    }


def test_managed_fields_raw_json() -> None:
    cm = core_v1.ConfigMap()
    cm.metadata.name = "cfg"
    entry = cm.metadata.managedFields.add(manager="kubectl", operation="Update",
                                          apiVersion="v1", fieldsType="FieldsV1")
    entry.time.seconds = T0
    entry.fieldsV1.Raw = b'{"f:data":{".":{}}}'
    assert decode_protobuf(envelope("v1", "ConfigMap", cm))["metadata"]["managedFields"] == [{
        "manager": "kubectl",
        "operation": "Update",
        "apiVersion": "v1",
        "time": "2026-01-02T03:04:05Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}}},
    }]


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, "1970-01-01T00:00:00Z"),
    (-1, "1969-12-31T23:59:59Z"),
    (-62135596800, "0001-01-01T00:00:00Z"),
    (253402300799, "9999-12-31T23:59:59Z"),
])
def test_time_formatting(seconds: int, expected: str) -> None:
    # An explicitly written zero is not the zero time: Go decodes it to the Unix epoch.
    ns = core_v1.Namespace()
    ns.metadata.creationTimestamp.seconds = seconds
    decoded = decode_protobuf(envelope("v1", "Namespace", ns))
    assert decoded["metadata"]["creationTimestamp"] == expected


@pytest.mark.parametrize(("nanoseconds", "expected"), [
    (0, "0s"), (1, "1ns"), (1_500, "1.5µs"), (1_000_000, "1ms"), (2_250_000, "2.25ms"),
    (1_000_000_000, "1s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (3_661_000_000_001, "1h1m1.000000001s"), (-1_500_000_000, "-1.5s"),
])
def test_go_duration(nanoseconds: int, expected: str) -> None:
    assert go_duration(nanoseconds) == expected


# -- errors ----------------------------------------------------------------------------------------


def test_errors() -> None:
    ns = core_v1.Namespace()
    with pytest.raises(ValueError, match="does not start with"):
        decode_protobuf(b'{"kind":"Namespace"}')
    with pytest.raises(ValueError, match="envelope"):
        decode_protobuf(MAGIC + b"\xff\xff\xff")
    with pytest.raises(ValueError, match="no protobuf schema for kind 'Job' in apiVersion 'batch/"):
        decode_protobuf(envelope("batch/v1", "Job", ns))
    with pytest.raises(ValueError, match="no protobuf schema for kind 'Deployment'"):
        decode_protobuf(envelope("v1", "Deployment", ns))
    with pytest.raises(ValueError, match="the Namespace could not be decoded"):
        decode_protobuf(envelope("v1", "Namespace", b"\x0a\x05ab"))
    gzipped = runtime.Unknown(raw=b"", contentEncoding="gzip")
    gzipped.typeMeta.apiVersion, gzipped.typeMeta.kind = "v1", "Namespace"
    with pytest.raises(ValueError, match="content encoding 'gzip'"):
        decode_protobuf(MAGIC + gzipped.SerializeToString())
    svc = core_v1.Service()
    svc.spec.ports.add(port=80).targetPort.type = 7
    with pytest.raises(ValueError, match="invalid IntOrString type 7"):
        decode_protobuf(envelope("v1", "Service", svc))


def test_decode_object_wiring() -> None:
    ns = core_v1.Namespace()
    ns.metadata.name = "acme-x"
    obj = decode_object(envelope("v1", "Namespace", ns), MEDIA_TYPE)
    assert obj["metadata"] == {"name": "acme-x", "creationTimestamp": None}
    with pytest.raises(ApiError) as bad:
        decode_object(b"garbage", MEDIA_TYPE + "; charset=utf-8")
    assert bad.value.code == 400 and "protobuf" in str(bad.value)
    with pytest.raises(ApiError) as unsupported:
        decode_object(b"a: b", "application/yaml")
    assert unsupported.value.code == 415


# -- the Go field table ----------------------------------------------------------------------------


def test_go_field_table_matches_the_schema() -> None:
    pool = descriptor_pool.Default()
    for message_name, spec in _GO_FIELDS.items():
        descriptor = pool.FindMessageTypeByName(message_name)
        for item in spec.split():
            name, flags = item.split(":")
            field = descriptor.fields_by_name.get(name)
            assert field is not None, f"{message_name}.{name}"
            assert flags in ("K", "P", "PK", "S", "I"), item
            is_message = field.type == field.TYPE_MESSAGE and not field.is_repeated
            if flags in ("S", "I"):
                assert is_message, f"{message_name}.{name}"
            if "P" in flags:
                assert not is_message and not field.is_repeated, f"{message_name}.{name}"
