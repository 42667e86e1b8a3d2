"""Kubernetes protobuf request bodies to the JSON objects kube-apiserver would make of them.

Owns `decode_protobuf`. kubectl's typed commands (`create namespace|configmap|secret|deployment|
service|serviceaccount|token|role|rolebinding|clusterrole|clusterrolebinding`, `auth can-i`, also
with `--list`, `auth whoami`) send `application/vnd.kubernetes.protobuf` bodies (`kubectl run` and
`delete` send JSON). Such a body is the 4-byte magic `k8s\\x00` and a `runtime.Unknown` whose
`typeMeta` names the kind and whose `raw` is the typed message (k8s.io/apimachinery/pkg/runtime/
serializer/protobuf). The typed message is walked by descriptor and written the way encoding/json
writes the Go struct kube-apiserver decodes it into: the result is what the same client would have
sent as JSON (same keys, same order), so a protobuf create stores what the JSON create stores.

Why a walk by descriptor and not `MessageToDict`: the Go field semantics are not in the wire
format. Go clients (gogoproto) write every non-pointer field, zero or not (`generateName: ""`,
an empty `creationTimestamp`...), so presence only means something for pointer fields; and
whether a zero value is in the JSON depends on the field's `omitempty`. `_GO_FIELDS` carries that
knowledge, `_SPECIAL` the types with their own JSON form (`Time`, `MicroTime`, `Quantity`,
`IntOrString`, `ExtraValue`...), `_JSON_NAMES` the few fields whose JSON name is not their protobuf
name. Fields the schema does not know (a newer client) are dropped, as kube-apiserver drops them.
The schemas are trimmed copies of the upstream `generated.proto` files in `proto/`, compiled at
build time into `_generated/` (see hatch_build.py); a new kind needs its messages there, an entry
in `KINDS` and its Go facts in `_GO_FIELDS` (and `_JSON_NAMES`, `_SPECIAL` where they apply).

One module, over 400 lines: the descriptor walk and its tables of Go facts (`KINDS`, `_GO_FIELDS`,
`_SPECIAL`, `_JSON_NAMES`) must change together when a kind is added.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from watchproxy.kubeproto._generated import k8s_apps_v1_pb2 as apps_v1
from watchproxy.kubeproto._generated import k8s_authentication_v1_pb2 as authentication_v1
from watchproxy.kubeproto._generated import k8s_authorization_v1_pb2 as authorization_v1
from watchproxy.kubeproto._generated import k8s_coordination_v1_pb2 as coordination_v1
from watchproxy.kubeproto._generated import k8s_core_v1_pb2 as core_v1
from watchproxy.kubeproto._generated import k8s_meta_v1_pb2 as meta_v1
from watchproxy.kubeproto._generated import k8s_rbac_v1_pb2 as rbac_v1
from watchproxy.kubeproto._generated import k8s_runtime_pb2 as runtime

JsonObject = dict[str, Any]

MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
MAGIC: Final = b"k8s\x00"

_AUTHORIZATION_V1: Final = "authorization.k8s.io/v1"
_AUTHENTICATION_V1: Final = "authentication.k8s.io/v1"
_RBAC_V1: Final = "rbac.authorization.k8s.io/v1"

# The kinds a protobuf body may carry, by (apiVersion, kind) of the envelope's typeMeta.
KINDS: Final[dict[tuple[str, str], type[Message]]] = {
    ("v1", "Pod"): core_v1.Pod,
    ("v1", "Node"): core_v1.Node,
    ("v1", "Namespace"): core_v1.Namespace,
    ("v1", "ConfigMap"): core_v1.ConfigMap,
    ("v1", "Secret"): core_v1.Secret,
    ("v1", "Service"): core_v1.Service,
    ("v1", "Endpoints"): core_v1.Endpoints,
    ("v1", "Event"): core_v1.Event,
    ("v1", "ServiceAccount"): core_v1.ServiceAccount,
    ("coordination.k8s.io/v1", "Lease"): coordination_v1.Lease,
    ("apps/v1", "Deployment"): apps_v1.Deployment,
    # `kubectl auth can-i` (SelfSubjectAccessReview; with --list SelfSubjectRulesReview).
    (_AUTHORIZATION_V1, "SelfSubjectAccessReview"): authorization_v1.SelfSubjectAccessReview,
    (_AUTHORIZATION_V1, "SelfSubjectRulesReview"): authorization_v1.SelfSubjectRulesReview,
    (_AUTHORIZATION_V1, "SubjectAccessReview"): authorization_v1.SubjectAccessReview,
    (_AUTHORIZATION_V1, "LocalSubjectAccessReview"): authorization_v1.LocalSubjectAccessReview,
    # `kubectl auth whoami` (SelfSubjectReview), `create token` (serviceaccounts/NAME/token).
    (_AUTHENTICATION_V1, "SelfSubjectReview"): authentication_v1.SelfSubjectReview,
    (_AUTHENTICATION_V1, "TokenReview"): authentication_v1.TokenReview,
    (_AUTHENTICATION_V1, "TokenRequest"): authentication_v1.TokenRequest,
    (_RBAC_V1, "Role"): rbac_v1.Role,
    (_RBAC_V1, "ClusterRole"): rbac_v1.ClusterRole,
    (_RBAC_V1, "RoleBinding"): rbac_v1.RoleBinding,
    (_RBAC_V1, "ClusterRoleBinding"): rbac_v1.ClusterRoleBinding,
    # client-go encodes DeleteOptions in the group version of the client that sends it.
    **{
        (version, "DeleteOptions"): meta_v1.DeleteOptions
        for version in (
            "v1",
            "apps/v1",
            "coordination.k8s.io/v1",
            _AUTHORIZATION_V1,
            _AUTHENTICATION_V1,
            _RBAC_V1,
            "meta.k8s.io/v1",
        )
    },
}

# Go struct facts the wire format does not carry, from the `json:` tags and field types in
# k8s.io/api and k8s.io/apimachinery v0.32 (the structs behind the schemas in proto/). Per message,
# only the fields that differ from the defaults are listed. Defaults: a scalar is a value with
# `omitempty` (left out when zero), a message a pointer with `omitempty` (left out when unset), a
# repeated or map field has `omitempty` (left out when empty). Flags:
#   K  no `omitempty`: always written (the zero value; null for an unset pointer, list or map)
#   P  pointer scalar: written when set, even when zero (`replicas: 0`)
#   S  struct value, not a pointer: always written (its zero form when unset: `{}`, or null for
#      Time/MicroTime, as encoding/json ignores `omitempty` on structs)
#   I  embedded with `json:",inline"`: its fields are written into the enclosing object
_GO_FIELDS: Final[dict[str, str]] = {
    "k8s.io.api.apps.v1.Deployment": "metadata:S spec:S status:S",
    "k8s.io.api.apps.v1.DeploymentCondition": (
        "type:K status:K lastUpdateTime:S lastTransitionTime:S"
    ),
    "k8s.io.api.apps.v1.DeploymentSpec": (
        "replicas:P selector:K template:S strategy:S revisionHistoryLimit:P "
        "progressDeadlineSeconds:P"
    ),
    "k8s.io.api.apps.v1.DeploymentStatus": "collisionCount:P",
    "k8s.io.api.authentication.v1.SelfSubjectReview": "metadata:S status:S",
    "k8s.io.api.authentication.v1.SelfSubjectReviewStatus": "userInfo:S",
    "k8s.io.api.authentication.v1.TokenRequest": "metadata:S spec:S status:S",
    "k8s.io.api.authentication.v1.TokenRequestSpec": (
        "audiences:K expirationSeconds:PK boundObjectRef:K"
    ),
    "k8s.io.api.authentication.v1.TokenRequestStatus": "token:K expirationTimestamp:S",
    "k8s.io.api.authentication.v1.TokenReview": "metadata:S spec:S status:S",
    "k8s.io.api.authentication.v1.TokenReviewStatus": "user:S",
    "k8s.io.api.authorization.v1.LocalSubjectAccessReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.NonResourceRule": "verbs:K",
    "k8s.io.api.authorization.v1.ResourceRule": "verbs:K",
    "k8s.io.api.authorization.v1.SelfSubjectAccessReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.SelfSubjectRulesReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.SubjectAccessReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.SubjectAccessReviewStatus": "allowed:K",
    "k8s.io.api.authorization.v1.SubjectRulesReviewStatus": (
        "resourceRules:K nonResourceRules:K incomplete:K"
    ),
    "k8s.io.api.coordination.v1.Lease": "metadata:S spec:S",
    "k8s.io.api.coordination.v1.LeaseSpec": (
        "holderIdentity:P leaseDurationSeconds:P leaseTransitions:P strategy:P preferredHolder:P"
    ),
    "k8s.io.api.core.v1.AWSElasticBlockStoreVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.AppArmorProfile": "type:K localhostProfile:P",
    "k8s.io.api.core.v1.AttachedVolume": "name:K devicePath:K",
    "k8s.io.api.core.v1.AzureDiskVolumeSource": (
        "diskName:K diskURI:K cachingMode:P fsType:P readOnly:P kind:P"
    ),
    "k8s.io.api.core.v1.AzureFileVolumeSource": "secretName:K shareName:K",
    "k8s.io.api.core.v1.CSIVolumeSource": "driver:K readOnly:P fsType:P",
    "k8s.io.api.core.v1.CephFSVolumeSource": "monitors:K",
    "k8s.io.api.core.v1.CinderVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.ClientIPConfig": "timeoutSeconds:P",
    "k8s.io.api.core.v1.ClusterTrustBundleProjection": "name:P signerName:P optional:P path:K",
    "k8s.io.api.core.v1.ConfigMap": "metadata:S immutable:P",
    "k8s.io.api.core.v1.ConfigMapEnvSource": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.ConfigMapKeySelector": "localObjectReference:I key:K optional:P",
    "k8s.io.api.core.v1.ConfigMapNodeConfigSource": "namespace:K name:K kubeletConfigKey:K",
    "k8s.io.api.core.v1.ConfigMapProjection": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.ConfigMapVolumeSource": "localObjectReference:I defaultMode:P optional:P",
    "k8s.io.api.core.v1.Container": "name:K resources:S restartPolicy:P",
    "k8s.io.api.core.v1.ContainerImage": "names:K",
    "k8s.io.api.core.v1.ContainerPort": "containerPort:K",
    "k8s.io.api.core.v1.ContainerResizePolicy": "resourceName:K restartPolicy:K",
    "k8s.io.api.core.v1.ContainerStateRunning": "startedAt:S",
    "k8s.io.api.core.v1.ContainerStateTerminated": "exitCode:K startedAt:S finishedAt:S",
    "k8s.io.api.core.v1.ContainerStatus": (
        "name:K state:S lastState:S ready:K restartCount:K image:K imageID:K started:P"
    ),
    "k8s.io.api.core.v1.DaemonEndpoint": "Port:K",
    "k8s.io.api.core.v1.DownwardAPIVolumeFile": "path:K mode:P",
    "k8s.io.api.core.v1.DownwardAPIVolumeSource": "defaultMode:P",
    "k8s.io.api.core.v1.EndpointAddress": "ip:K nodeName:P",
    "k8s.io.api.core.v1.EndpointPort": "port:K appProtocol:P",
    "k8s.io.api.core.v1.Endpoints": "metadata:S",
    "k8s.io.api.core.v1.EnvVar": "name:K",
    "k8s.io.api.core.v1.EphemeralContainer": "ephemeralContainerCommon:I",
    "k8s.io.api.core.v1.EphemeralContainerCommon": "name:K resources:S restartPolicy:P",
    "k8s.io.api.core.v1.Event": (
        "metadata:S involvedObject:S source:S firstTimestamp:S lastTimestamp:S eventTime:S "
        "reportingComponent:K reportingInstance:K"
    ),
    "k8s.io.api.core.v1.EventSeries": "lastObservedTime:S",
    "k8s.io.api.core.v1.FCVolumeSource": "lun:P",
    "k8s.io.api.core.v1.FlexVolumeSource": "driver:K",
    "k8s.io.api.core.v1.GCEPersistentDiskVolumeSource": "pdName:K",
    "k8s.io.api.core.v1.GRPCAction": "port:K service:PK",
    "k8s.io.api.core.v1.GitRepoVolumeSource": "repository:K",
    "k8s.io.api.core.v1.GlusterfsVolumeSource": "endpoints:K path:K",
    "k8s.io.api.core.v1.HTTPGetAction": "port:S",
    "k8s.io.api.core.v1.HTTPHeader": "name:K value:K",
    "k8s.io.api.core.v1.HostAlias": "ip:K",
    "k8s.io.api.core.v1.HostIP": "ip:K",
    "k8s.io.api.core.v1.HostPathVolumeSource": "path:K type:P",
    "k8s.io.api.core.v1.ISCSIVolumeSource": "targetPortal:K iqn:K lun:K initiatorName:P",
    "k8s.io.api.core.v1.KeyToPath": "key:K path:K mode:P",
    "k8s.io.api.core.v1.LinuxContainerUser": "uid:K gid:K",
    "k8s.io.api.core.v1.LoadBalancerIngress": "ipMode:P",
    "k8s.io.api.core.v1.NFSVolumeSource": "server:K path:K",
    "k8s.io.api.core.v1.Namespace": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.NamespaceCondition": "type:K status:K lastTransitionTime:S",
    "k8s.io.api.core.v1.Node": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.NodeAddress": "type:K address:K",
    "k8s.io.api.core.v1.NodeCondition": "type:K status:K lastHeartbeatTime:S lastTransitionTime:S",
    "k8s.io.api.core.v1.NodeDaemonEndpoints": "kubeletEndpoint:S",
    "k8s.io.api.core.v1.NodeFeatures": "supplementalGroupsPolicy:P",
    "k8s.io.api.core.v1.NodeRuntimeHandler": "name:K",
    "k8s.io.api.core.v1.NodeRuntimeHandlerFeatures": "recursiveReadOnlyMounts:P userNamespaces:P",
    "k8s.io.api.core.v1.NodeSelector": "nodeSelectorTerms:K",
    "k8s.io.api.core.v1.NodeSelectorRequirement": "key:K operator:K",
    "k8s.io.api.core.v1.NodeStatus": "daemonEndpoints:S nodeInfo:S",
    "k8s.io.api.core.v1.NodeSystemInfo": (
        "machineID:K systemUUID:K bootID:K kernelVersion:K osImage:K containerRuntimeVersion:K "
        "kubeletVersion:K kubeProxyVersion:K operatingSystem:K architecture:K"
    ),
    "k8s.io.api.core.v1.ObjectFieldSelector": "fieldPath:K",
    "k8s.io.api.core.v1.PersistentVolumeClaimSpec": (
        "resources:S storageClassName:P volumeMode:P volumeAttributesClassName:P"
    ),
    "k8s.io.api.core.v1.PersistentVolumeClaimTemplate": "metadata:S spec:S",
    "k8s.io.api.core.v1.PersistentVolumeClaimVolumeSource": "claimName:K",
    "k8s.io.api.core.v1.PhotonPersistentDiskVolumeSource": "pdID:K",
    "k8s.io.api.core.v1.Pod": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.PodAffinityTerm": "topologyKey:K",
    "k8s.io.api.core.v1.PodCondition": "type:K status:K lastProbeTime:S lastTransitionTime:S",
    "k8s.io.api.core.v1.PodDNSConfigOption": "value:P",
    "k8s.io.api.core.v1.PodIP": "ip:K",
    "k8s.io.api.core.v1.PodOS": "name:K",
    "k8s.io.api.core.v1.PodReadinessGate": "conditionType:K",
    "k8s.io.api.core.v1.PodResourceClaim": "name:K resourceClaimName:P resourceClaimTemplateName:P",
    "k8s.io.api.core.v1.PodResourceClaimStatus": "name:K resourceClaimName:P",
    "k8s.io.api.core.v1.PodSchedulingGate": "name:K",
    "k8s.io.api.core.v1.PodSecurityContext": (
        "runAsUser:P runAsGroup:P runAsNonRoot:P supplementalGroupsPolicy:P fsGroup:P "
        "fsGroupChangePolicy:P seLinuxChangePolicy:P"
    ),
    "k8s.io.api.core.v1.PodSpec": (
        "containers:K terminationGracePeriodSeconds:P activeDeadlineSeconds:P "
        "automountServiceAccountToken:P shareProcessNamespace:P priority:P runtimeClassName:P "
        "enableServiceLinks:P preemptionPolicy:P setHostnameAsFQDN:P hostUsers:P"
    ),
    "k8s.io.api.core.v1.PodTemplateSpec": "metadata:S spec:S",
    "k8s.io.api.core.v1.PortStatus": "port:K protocol:K error:P",
    "k8s.io.api.core.v1.PortworxVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.PreferredSchedulingTerm": "weight:K preference:S",
    "k8s.io.api.core.v1.Probe": "handler:I terminationGracePeriodSeconds:P",
    "k8s.io.api.core.v1.ProjectedVolumeSource": "sources:K defaultMode:P",
    "k8s.io.api.core.v1.QuobyteVolumeSource": "registry:K volume:K",
    "k8s.io.api.core.v1.RBDVolumeSource": "monitors:K image:K",
    "k8s.io.api.core.v1.ResourceClaim": "name:K",
    "k8s.io.api.core.v1.ResourceFieldSelector": "resource:K divisor:S",
    "k8s.io.api.core.v1.ResourceHealth": "resourceID:K",
    "k8s.io.api.core.v1.ResourceStatus": "name:K",
    "k8s.io.api.core.v1.ScaleIOVolumeSource": "gateway:K system:K secretRef:K",
    "k8s.io.api.core.v1.SeccompProfile": "type:K localhostProfile:P",
    "k8s.io.api.core.v1.Secret": "metadata:S immutable:P",
    "k8s.io.api.core.v1.SecretEnvSource": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.SecretKeySelector": "localObjectReference:I key:K optional:P",
    "k8s.io.api.core.v1.SecretProjection": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.SecretVolumeSource": "defaultMode:P optional:P",
    "k8s.io.api.core.v1.SecurityContext": (
        "privileged:P runAsUser:P runAsGroup:P runAsNonRoot:P readOnlyRootFilesystem:P "
        "allowPrivilegeEscalation:P procMount:P"
    ),
    "k8s.io.api.core.v1.Service": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.ServiceAccount": "metadata:S automountServiceAccountToken:P",
    "k8s.io.api.core.v1.ServiceAccountTokenProjection": "expirationSeconds:P path:K",
    "k8s.io.api.core.v1.ServicePort": "appProtocol:P port:K targetPort:S",
    "k8s.io.api.core.v1.ServiceSpec": (
        "ipFamilyPolicy:P allocateLoadBalancerNodePorts:P loadBalancerClass:P "
        "internalTrafficPolicy:P trafficDistribution:P"
    ),
    "k8s.io.api.core.v1.ServiceStatus": "loadBalancer:S",
    "k8s.io.api.core.v1.SleepAction": "seconds:K",
    "k8s.io.api.core.v1.Sysctl": "name:K value:K",
    "k8s.io.api.core.v1.TCPSocketAction": "port:S",
    "k8s.io.api.core.v1.Taint": "key:K effect:K",
    "k8s.io.api.core.v1.Toleration": "tolerationSeconds:P",
    "k8s.io.api.core.v1.TopologySpreadConstraint": (
        "maxSkew:K topologyKey:K whenUnsatisfiable:K minDomains:P nodeAffinityPolicy:P "
        "nodeTaintsPolicy:P"
    ),
    "k8s.io.api.core.v1.TypedLocalObjectReference": "apiGroup:PK kind:K name:K",
    "k8s.io.api.core.v1.TypedObjectReference": "apiGroup:PK kind:K name:K namespace:P",
    "k8s.io.api.core.v1.Volume": "name:K volumeSource:I",
    "k8s.io.api.core.v1.VolumeDevice": "name:K devicePath:K",
    "k8s.io.api.core.v1.VolumeMount": "name:K recursiveReadOnly:P mountPath:K mountPropagation:P",
    "k8s.io.api.core.v1.VolumeMountStatus": "name:K mountPath:K recursiveReadOnly:P",
    "k8s.io.api.core.v1.VsphereVirtualDiskVolumeSource": "volumePath:K",
    "k8s.io.api.core.v1.WeightedPodAffinityTerm": "weight:K podAffinityTerm:S",
    "k8s.io.api.core.v1.WindowsSecurityContextOptions": (
        "gmsaCredentialSpecName:P gmsaCredentialSpec:P runAsUserName:P hostProcess:P"
    ),
    "k8s.io.api.rbac.v1.ClusterRole": "metadata:S rules:K",
    "k8s.io.api.rbac.v1.ClusterRoleBinding": "metadata:S roleRef:S",
    "k8s.io.api.rbac.v1.PolicyRule": "verbs:K",
    "k8s.io.api.rbac.v1.Role": "metadata:S rules:K",
    "k8s.io.api.rbac.v1.RoleBinding": "metadata:S roleRef:S",
    "k8s.io.api.rbac.v1.RoleRef": "apiGroup:K kind:K name:K",
    "k8s.io.api.rbac.v1.Subject": "kind:K name:K",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Condition": (
        "type:K status:K lastTransitionTime:S reason:K message:K"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions": (
        "gracePeriodSeconds:P orphanDependents:P propagationPolicy:P "
        "ignoreStoreReadErrorWithClusterBreakingPotential:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement": "key:K operator:K",
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement": "key:K operator:K",
    "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta": (
        "creationTimestamp:S deletionGracePeriodSeconds:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference": (
        "apiVersion:K kind:K name:K uid:K controller:P blockOwnerDeletion:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions": "uid:P resourceVersion:P",
}


# Fields whose `json:` name is not their protobuf name, by the field's full protobuf name.
_JSON_NAMES: Final[dict[str, str]] = {
    # BoundObjectReference.UID is `json:"uid,omitempty" protobuf:"bytes,4,opt,name=uID"`.
    "k8s.io.api.authentication.v1.BoundObjectReference.uID": "uid",
}


def _parse_go_fields(table: dict[str, str]) -> dict[str, dict[str, str]]:
    rules: dict[str, dict[str, str]] = {}
    for message, spec in table.items():
        rules[message] = dict(item.split(":", 1) for item in spec.split())
    return rules


_RULES: Final = _parse_go_fields(_GO_FIELDS)


def decode_protobuf(body: bytes) -> JsonObject:
    """Decode a `application/vnd.kubernetes.protobuf` body into its JSON object.

    The result starts with `kind` and `apiVersion` (from the envelope) and is what encoding/json
    writes for the Go object. Raises ValueError, with a message fit for a 400 response, for a
    body that is not a Kubernetes protobuf envelope, has a kind outside `KINDS`, or does not parse.
    """
    if not body.startswith(MAGIC):
        raise ValueError(
            f"the body is not a Kubernetes protobuf object: it does not start with {MAGIC!r}"
        )
    envelope = runtime.Unknown()
    try:
        envelope.ParseFromString(body[len(MAGIC) :])
    except DecodeError as exc:
        raise ValueError(
            f"the protobuf envelope (runtime.Unknown) could not be decoded: {exc}"
        ) from exc
    if envelope.contentEncoding:
        raise ValueError(f"unsupported protobuf content encoding {envelope.contentEncoding!r}")
    api_version: str = envelope.typeMeta.apiVersion
    kind: str = envelope.typeMeta.kind
    message_type = KINDS.get((api_version, kind))
    if message_type is None:
        raise ValueError(f"no protobuf schema for kind {kind!r} in apiVersion {api_version!r}")
    message = message_type()
    try:
        message.ParseFromString(envelope.raw)
    except DecodeError as exc:
        raise ValueError(f"the {kind} could not be decoded from protobuf: {exc}") from exc
    obj: JsonObject = {"kind": kind, "apiVersion": api_version}
    obj.update(_object(message))
    return obj


# -- messages --------------------------------------------------------------------------------------


def _object(message: Message) -> JsonObject:
    descriptor: Descriptor = message.DESCRIPTOR
    rules = _RULES.get(descriptor.full_name, {})
    out: JsonObject = {}
    for field in descriptor.fields:
        name: str = field.name
        flags = rules.get(name, "")
        key: str = _JSON_NAMES.get(field.full_name, name)
        if "I" in flags:
            out.update(_object(getattr(message, name)))
            continue
        if field.is_repeated:
            values = getattr(message, name)
            if values:
                out[key] = (
                    _map(field, values)
                    if _is_map(field)
                    else [_value(field, value) for value in values]
                )
            elif "K" in flags:
                out[key] = None  # a nil slice or map without omitempty
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if "S" in flags or message.HasField(name):
                out[key] = _value(field, getattr(message, name))
            elif "K" in flags:
                out[key] = None  # a nil pointer without omitempty
        elif "P" in flags:
            if message.HasField(name):
                out[key] = _value(field, getattr(message, name))
            elif "K" in flags:
                out[key] = None
        else:
            # A Go value field: whether the sender wrote it says nothing; only its value counts.
            value = getattr(message, name)
            if value or "K" in flags:
                out[key] = _value(field, value)
    return out


def _is_map(field: FieldDescriptor) -> bool:
    entry: Descriptor | None = field.message_type
    return entry is not None and bool(entry.GetOptions().map_entry)


def _map(field: FieldDescriptor, values: Any) -> JsonObject:
    value_field: FieldDescriptor = field.message_type.fields_by_name["value"]
    # encoding/json writes map keys sorted.
    return {key: _value(value_field, values[key]) for key in sorted(values)}


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        special = _SPECIAL.get(field.message_type.full_name)
        return special(value) if special is not None else _object(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")  # encoding/json's []byte
    return value


# -- apimachinery types with their own JSON form ---------------------------------------------------


def _time(message: Message) -> str | None:
    # metav1.Time: an empty message is the zero time, which marshals as null; otherwise whole
    # seconds in RFC 3339 UTC. The nanos are ignored on decode (apimachinery time_proto.go).
    if message.ByteSize() == 0:
        return None
    return _rfc3339(int(message.seconds), 0, micro=False)


def _micro_time(message: Message) -> str | None:
    # metav1.MicroTime: like Time but keeps the nanos and writes exactly 6 fractional digits.
    if message.ByteSize() == 0:
        return None
    return _rfc3339(int(message.seconds), int(message.nanos), micro=True)


def _rfc3339(seconds: int, nanos: int, *, micro: bool) -> str:
    # time.Unix normalises nanos outside [0, 1e9) into the seconds; floor division does the same.
    seconds += nanos // 1_000_000_000
    nanos %= 1_000_000_000
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError as exc:
        raise ValueError(f"timestamp {seconds}s is out of range") from exc
    # Formatted by hand: strftime does not zero-pad years before 1000.
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if micro:
        text += f".{nanos // 1000:06d}"  # Go's Format truncates, it does not round
    return text + "Z"


def _quantity(message: Message) -> str:
    # Go clients send the canonical string (Quantity.String()); the zero Quantity is "0".
    return str(message.string) or "0"


def _int_or_string(message: Message) -> int | str:
    kind = int(message.type)
    if kind == 0:
        return int(message.intVal)
    if kind == 1:
        return str(message.strVal)
    raise ValueError(f"invalid IntOrString type {kind}")


def _raw_json(field_name: str) -> Callable[[Message], Any]:
    # RawExtension and FieldsV1 hold JSON that encoding/json writes as is; an unset one is null.
    def convert(message: Message) -> Any:
        raw = bytes(getattr(message, field_name))
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{message.DESCRIPTOR.name} does not hold JSON: {exc}") from exc

    return convert


def _extra_value(message: Message) -> list[str]:
    # authentication/authorization ExtraValue is `[]string` in Go, a message wrapping `items` on
    # the wire. It only occurs as a map value, which gogoproto decodes into a fresh non-nil
    # `ExtraValue{}`: an empty one is `[]`, never null.
    return [str(item) for item in message.items]


def _duration(message: Message) -> str:
    return go_duration(int(message.duration))


def go_duration(nanoseconds: int) -> str:
    """Go's `time.Duration.String()`: "1h2m3.5s", "1.5ms", "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    left = abs(nanoseconds)
    if left < 1_000_000_000:
        # Under a second Go uses the largest unit that keeps an integer part: 1.5ms, 2µs, 10ns.
        for limit, digits, unit in _SUBSECOND_UNITS:
            if left < limit:
                return sign + _fraction(left, digits) + unit
    text = _fraction(left % 60_000_000_000, 9) + "s"
    minutes = left // 60_000_000_000
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes >= 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


_SUBSECOND_UNITS: Final = ((1_000, 0, "ns"), (1_000_000, 3, "µs"), (1_000_000_000, 6, "ms"))


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    if not frac:
        return str(whole)
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


_SPECIAL: Final[dict[str, Callable[[Message], Any]]] = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": _time,
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": _micro_time,
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": _duration,
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": _raw_json("Raw"),
    "k8s.io.apimachinery.pkg.runtime.RawExtension": _raw_json("raw"),
    "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string,
    "k8s.io.api.authentication.v1.ExtraValue": _extra_value,
    "k8s.io.api.authorization.v1.ExtraValue": _extra_value,
}
