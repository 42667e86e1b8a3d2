"""The Go facts a Kubernetes protobuf body does not carry, for kubeproto/decode.py's walk.

`KINDS`: the (apiVersion, kind) pairs a protobuf body may carry, with their generated message
classes. `_GO_FIELDS` (parsed into `_RULES`): per message, the `json:` tag and field-type facts of
the Go struct (k8s.io/api and k8s.io/apimachinery v0.37) that decide whether a zero value is
written; the tables themselves are kubeproto/go_facts_core.py (core/v1, meta/v1),
kubeproto/go_facts_groups.py (the named groups) and kubeproto/go_facts_storage.py (storage and
devices). `_JSON_NAMES`: fields whose JSON name is not their protobuf name. Adding a kind:
`python -m watchproxy.kubeproto.refresh ... <its message>` writes its messages into proto/ and its
rules into the tables; then an entry in `KINDS` (and `_JSON_NAMES` or a `_SPECIAL` entry in
kubeproto/special.py where refresh.py reports one). Data only.
"""

from __future__ import annotations

from typing import Final

from google.protobuf.message import Message

from watchproxy.kubeproto._generated import k8s_admissionregistration_v1_pb2 as admission_v1
from watchproxy.kubeproto._generated import k8s_apps_v1_pb2 as apps_v1
from watchproxy.kubeproto._generated import k8s_authentication_v1_pb2 as authentication_v1
from watchproxy.kubeproto._generated import k8s_authorization_v1_pb2 as authorization_v1
from watchproxy.kubeproto._generated import k8s_autoscaling_v1_pb2 as autoscaling_v1
from watchproxy.kubeproto._generated import k8s_autoscaling_v2_pb2 as autoscaling_v2
from watchproxy.kubeproto._generated import k8s_batch_v1_pb2 as batch_v1
from watchproxy.kubeproto._generated import k8s_certificates_v1_pb2 as certificates_v1
from watchproxy.kubeproto._generated import k8s_coordination_v1_pb2 as coordination_v1
from watchproxy.kubeproto._generated import k8s_core_v1_pb2 as core_v1
from watchproxy.kubeproto._generated import k8s_discovery_v1_pb2 as discovery_v1
from watchproxy.kubeproto._generated import k8s_events_v1_pb2 as events_v1
from watchproxy.kubeproto._generated import k8s_flowcontrol_v1_pb2 as flowcontrol_v1
from watchproxy.kubeproto._generated import k8s_meta_v1_pb2 as meta_v1
from watchproxy.kubeproto._generated import k8s_networking_v1_pb2 as networking_v1
from watchproxy.kubeproto._generated import k8s_node_v1_pb2 as node_v1
from watchproxy.kubeproto._generated import k8s_policy_v1_pb2 as policy_v1
from watchproxy.kubeproto._generated import k8s_rbac_v1_pb2 as rbac_v1
from watchproxy.kubeproto._generated import k8s_resource_v1_pb2 as resource_v1
from watchproxy.kubeproto._generated import k8s_scheduling_v1_pb2 as scheduling_v1
from watchproxy.kubeproto._generated import k8s_storage_v1_pb2 as storage_v1
from watchproxy.kubeproto._generated import k8s_storagemigration_v1_pb2 as storagemigration_v1
from watchproxy.kubeproto.go_facts_core import GO_FIELDS_CORE
from watchproxy.kubeproto.go_facts_groups import GO_FIELDS_GROUPS
from watchproxy.kubeproto.go_facts_storage import GO_FIELDS_STORAGE

_AUTHORIZATION_V1: Final = "authorization.k8s.io/v1"
_AUTHENTICATION_V1: Final = "authentication.k8s.io/v1"
_RBAC_V1: Final = "rbac.authorization.k8s.io/v1"
_NETWORKING_V1: Final = "networking.k8s.io/v1"
_ADMISSION_V1: Final = "admissionregistration.k8s.io/v1"
_FLOWCONTROL_V1: Final = "flowcontrol.apiserver.k8s.io/v1"
_STORAGE_V1: Final = "storage.k8s.io/v1"
_RESOURCE_V1: Final = "resource.k8s.io/v1"

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
    ("v1", "ResourceQuota"): core_v1.ResourceQuota,  # `kubectl create quota`
    ("v1", "LimitRange"): core_v1.LimitRange,
    ("v1", "PersistentVolumeClaim"): core_v1.PersistentVolumeClaim,
    ("v1", "PersistentVolume"): core_v1.PersistentVolume,
    ("v1", "ReplicationController"): core_v1.ReplicationController,
    ("v1", "PodTemplate"): core_v1.PodTemplate,
    ("v1", "Binding"): core_v1.Binding,  # pods/binding, the scheduler's
    ("coordination.k8s.io/v1", "Lease"): coordination_v1.Lease,
    ("apps/v1", "Deployment"): apps_v1.Deployment,
    ("apps/v1", "StatefulSet"): apps_v1.StatefulSet,
    ("apps/v1", "DaemonSet"): apps_v1.DaemonSet,
    ("apps/v1", "ReplicaSet"): apps_v1.ReplicaSet,
    ("apps/v1", "ControllerRevision"): apps_v1.ControllerRevision,
    # `kubectl create job` (also --from=cronjob/NAME), `create cronjob`.
    ("batch/v1", "Job"): batch_v1.Job,
    ("batch/v1", "CronJob"): batch_v1.CronJob,
    # `kubectl create poddisruptionbudget`; `kubectl drain` posts an Eviction to pods/NAME/eviction.
    ("policy/v1", "PodDisruptionBudget"): policy_v1.PodDisruptionBudget,
    ("policy/v1", "Eviction"): policy_v1.Eviction,
    ("scheduling.k8s.io/v1", "PriorityClass"): scheduling_v1.PriorityClass,
    (_NETWORKING_V1, "Ingress"): networking_v1.Ingress,
    (_NETWORKING_V1, "IngressClass"): networking_v1.IngressClass,
    (_NETWORKING_V1, "NetworkPolicy"): networking_v1.NetworkPolicy,
    (_NETWORKING_V1, "IPAddress"): networking_v1.IPAddress,
    (_NETWORKING_V1, "ServiceCIDR"): networking_v1.ServiceCIDR,
    # `kubectl certificate approve|deny` (PUT certificatesigningrequests/NAME/approval).
    ("certificates.k8s.io/v1", "CertificateSigningRequest"): (
        certificates_v1.CertificateSigningRequest
    ),
    ("certificates.k8s.io/v1", "ClusterTrustBundle"): certificates_v1.ClusterTrustBundle,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): autoscaling_v2.HorizontalPodAutoscaler,
    # What `kubectl autoscale` of kubectl up to 1.32 posts.
    ("autoscaling/v1", "HorizontalPodAutoscaler"): autoscaling_v1.HorizontalPodAutoscaler,
    ("autoscaling/v1", "Scale"): autoscaling_v1.Scale,  # the scale subresource's kind
    ("discovery.k8s.io/v1", "EndpointSlice"): discovery_v1.EndpointSlice,
    ("events.k8s.io/v1", "Event"): events_v1.Event,
    ("node.k8s.io/v1", "RuntimeClass"): node_v1.RuntimeClass,
    (_STORAGE_V1, "StorageClass"): storage_v1.StorageClass,
    (_STORAGE_V1, "CSIDriver"): storage_v1.CSIDriver,
    (_STORAGE_V1, "CSINode"): storage_v1.CSINode,
    (_STORAGE_V1, "CSIStorageCapacity"): storage_v1.CSIStorageCapacity,
    (_STORAGE_V1, "VolumeAttachment"): storage_v1.VolumeAttachment,
    (_STORAGE_V1, "VolumeAttributesClass"): storage_v1.VolumeAttributesClass,
    ("storagemigration.k8s.io/v1", "StorageVersionMigration"): (
        storagemigration_v1.StorageVersionMigration
    ),
    (_RESOURCE_V1, "DeviceClass"): resource_v1.DeviceClass,
    (_RESOURCE_V1, "DeviceTaintRule"): resource_v1.DeviceTaintRule,
    (_RESOURCE_V1, "ResourceClaim"): resource_v1.ResourceClaim,
    (_RESOURCE_V1, "ResourceClaimTemplate"): resource_v1.ResourceClaimTemplate,
    (_RESOURCE_V1, "ResourceSlice"): resource_v1.ResourceSlice,
    (_ADMISSION_V1, "MutatingWebhookConfiguration"): admission_v1.MutatingWebhookConfiguration,
    (_ADMISSION_V1, "ValidatingWebhookConfiguration"): (
        admission_v1.ValidatingWebhookConfiguration
    ),
    (_ADMISSION_V1, "ValidatingAdmissionPolicy"): admission_v1.ValidatingAdmissionPolicy,
    (_ADMISSION_V1, "MutatingAdmissionPolicy"): admission_v1.MutatingAdmissionPolicy,
    (_ADMISSION_V1, "MutatingAdmissionPolicyBinding"): (
        admission_v1.MutatingAdmissionPolicyBinding
    ),
    (_ADMISSION_V1, "ValidatingAdmissionPolicyBinding"): (
        admission_v1.ValidatingAdmissionPolicyBinding
    ),
    (_FLOWCONTROL_V1, "FlowSchema"): flowcontrol_v1.FlowSchema,
    (_FLOWCONTROL_V1, "PriorityLevelConfiguration"): flowcontrol_v1.PriorityLevelConfiguration,
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
            _ADMISSION_V1,
            "apps/v1",
            "autoscaling/v1",
            "autoscaling/v2",
            "batch/v1",
            "certificates.k8s.io/v1",
            "coordination.k8s.io/v1",
            "discovery.k8s.io/v1",
            "events.k8s.io/v1",
            _FLOWCONTROL_V1,
            _NETWORKING_V1,
            "node.k8s.io/v1",
            "policy/v1",
            _RESOURCE_V1,
            "scheduling.k8s.io/v1",
            _STORAGE_V1,
            "storagemigration.k8s.io/v1",
            _AUTHORIZATION_V1,
            _AUTHENTICATION_V1,
            _RBAC_V1,
            "meta.k8s.io/v1",
        )
    },
}

# Go struct facts the wire format does not carry, from the `json:` tags and field types in
# k8s.io/api and k8s.io/apimachinery v0.37 (the structs behind the schemas in proto/). Per message,
# only the fields that differ from the defaults are listed. Defaults: a scalar is a value with
# `omitempty` (left out when zero), a message a pointer with `omitempty` (left out when unset), a
# repeated or map field has `omitempty` (left out when empty). Flags:
#   K  no `omitempty`: always written (the zero value; null for an unset pointer, list or map)
#   P  pointer scalar: written when set, even when zero (`replicas: 0`)
#   S  struct value, not a pointer: always written (its zero form when unset: `{}`, or null for
#      Time/MicroTime, as encoding/json ignores `omitempty` on structs)
#   I  embedded with `json:",inline"`: its fields are written into the enclosing object
_GO_FIELDS: Final[dict[str, str]] = {**GO_FIELDS_CORE, **GO_FIELDS_GROUPS, **GO_FIELDS_STORAGE}


# Fields whose `json:` name is not their protobuf name, by the field's full protobuf name.
_JSON_NAMES: Final[dict[str, str]] = {
    # BoundObjectReference.UID is `json:"uid,omitempty" protobuf:"bytes,4,opt,name=uID"`.
    "k8s.io.api.authentication.v1.BoundObjectReference.uID": "uid",
    # IngressClassParametersReference.APIGroup is `json:"apiGroup,omitempty" ...name=aPIGroup"`.
    "k8s.io.api.networking.v1.IngressClassParametersReference.aPIGroup": "apiGroup",
    # admissionregistration/v1 has a few capitalised protobuf names (`name=Webhooks`...).
    "k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration.Webhooks": "webhooks",
    "k8s.io.api.admissionregistration.v1.ValidatingWebhookConfiguration.Webhooks": "webhooks",
    "k8s.io.api.admissionregistration.v1.Validation.Expression": "expression",
    "k8s.io.api.admissionregistration.v1.Variable.Name": "name",
    "k8s.io.api.admissionregistration.v1.Variable.Expression": "expression",
}


def _parse_go_fields(table: dict[str, str]) -> dict[str, dict[str, str]]:
    rules: dict[str, dict[str, str]] = {}
    for message, spec in table.items():
        rules[message] = dict(item.split(":", 1) for item in spec.split())
    return rules


_RULES: Final = _parse_go_fields(_GO_FIELDS)
