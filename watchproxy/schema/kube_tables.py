"""What kube-apiserver knows about its built-in types that the generated table does not carry.

The generated table (`watchproxy/schema/builtin.py`) gives every GA REST resource of Kubernetes
1.37 with its verbs and subresources. This module adds, per (group, plural):

- `STORAGE_PREFIXES`: the etcd key prefix when it is not the plural. kube-apiserver's default is
  the lower-cased resource name without its group (`DefaultStorageFactory.ResourcePrefix`,
  `staging/src/k8s.io/apiserver/pkg/server/storage/storage_factory.go`), with the exceptions of
  `SpecialDefaultResourcePrefixes` (`pkg/kubeapiserver/default_storage_factory_builder.go`).
  The apiextensions and aggregator servers inside kube-apiserver use `EtcdOptions.ApplyTo`'s
  `SimpleRestOptionsFactory`, whose prefix is `<group>/<resource>`
  (`pkg/controlplane/apiserver/apiextensions.go`, `.../aggregator.go`). Cohabiting resources
  (`storageFactory.AddCohabitatingResources`: core and events.k8s.io events, autoscaling v1 and
  v2 HPAs) share one prefix.
- `SHORT_NAMES`, `CATEGORIES`: each storage's `ShortNames()` / `Categories()`
  (`pkg/registry/<group>/<resource>/storage/storage.go`, apiextensions'
  `pkg/registry/customresourcedefinition/etcd.go`, kube-aggregator's
  `pkg/registry/apiservice/etcd/etcd.go`).
- `FIELD_SELECTORS`: the field labels a LIST/WATCH may select on, as the type's
  `AddFieldLabelConversionFunc` accepts them (`pkg/apis/<group>/<version>/conversion.go`) and its
  strategy's `GetAttrs` fills them (`pkg/registry/<group>/<resource>/strategy.go`); with the
  conversion function's own message for an unsupported label.
- `NOT_SERVED`: GA resources watchproxy leaves out, and why.
- `SERVED_SUBRESOURCES`: the subresources watchproxy answers (discovery lists only these).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watchproxy.resources import FieldGetter, JsonObject

GroupPlural = tuple[str, str]

STORAGE_PREFIXES: Mapping[GroupPlural, str] = {
    # SpecialDefaultResourcePrefixes (pkg/kubeapiserver/default_storage_factory_builder.go).
    ("", "replicationcontrollers"): "controllers",
    ("", "endpoints"): "services/endpoints",
    ("", "nodes"): "minions",
    ("", "services"): "services/specs",
    ("networking.k8s.io", "ingresses"): "ingress",
    # apiextensions-apiserver and kube-aggregator: `<group>/<resource>` (SimpleRestOptionsFactory,
    # staging/src/k8s.io/apiserver/pkg/server/options/etcd.go).
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        "apiextensions.k8s.io/customresourcedefinitions"
    ),
    ("apiregistration.k8s.io", "apiservices"): "apiregistration.k8s.io/apiservices",
    # AddCohabitatingResources(api.Resource("events"), events.Resource("events")): the core
    # resource is the one chosen for storage, so its prefix.
    ("events.k8s.io", "events"): "events",
}

ALL = ("all",)
API_EXTENSIONS = ("api-extensions",)

SHORT_NAMES: Mapping[GroupPlural, tuple[str, ...]] = {
    ("", "configmaps"): ("cm",),
    ("", "endpoints"): ("ep",),
    ("", "events"): ("ev",),
    ("", "limitranges"): ("limits",),
    ("", "namespaces"): ("ns",),
    ("", "nodes"): ("no",),
    ("", "persistentvolumeclaims"): ("pvc",),
    ("", "persistentvolumes"): ("pv",),
    ("", "pods"): ("po",),
    ("", "replicationcontrollers"): ("rc",),
    ("", "resourcequotas"): ("quota",),
    ("", "serviceaccounts"): ("sa",),
    ("", "services"): ("svc",),
    ("apiextensions.k8s.io", "customresourcedefinitions"): ("crd", "crds"),
    ("apps", "daemonsets"): ("ds",),
    ("apps", "deployments"): ("deploy",),
    ("apps", "replicasets"): ("rs",),
    ("apps", "statefulsets"): ("sts",),
    ("autoscaling", "horizontalpodautoscalers"): ("hpa",),
    ("batch", "cronjobs"): ("cj",),
    ("certificates.k8s.io", "certificatesigningrequests"): ("csr",),
    ("events.k8s.io", "events"): ("ev",),
    ("networking.k8s.io", "ingresses"): ("ing",),
    ("networking.k8s.io", "ipaddresses"): ("ip",),
    ("networking.k8s.io", "networkpolicies"): ("netpol",),
    ("policy", "poddisruptionbudgets"): ("pdb",),
    ("scheduling.k8s.io", "priorityclasses"): ("pc",),
    ("storage.k8s.io", "storageclasses"): ("sc",),
    ("storage.k8s.io", "volumeattributesclasses"): ("vac",),
}

CATEGORIES: Mapping[GroupPlural, tuple[str, ...]] = {
    ("", "pods"): ALL,
    ("", "replicationcontrollers"): ALL,
    ("", "services"): ALL,
    ("apps", "daemonsets"): ALL,
    ("apps", "deployments"): ALL,
    ("apps", "replicasets"): ALL,
    ("apps", "statefulsets"): ALL,
    ("autoscaling", "horizontalpodautoscalers"): ALL,
    ("batch", "cronjobs"): ALL,
    ("batch", "jobs"): ALL,
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"): API_EXTENSIONS,
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"): API_EXTENSIONS,
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): API_EXTENSIONS,
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): API_EXTENSIONS,
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): API_EXTENSIONS,
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): API_EXTENSIONS,
    ("apiextensions.k8s.io", "customresourcedefinitions"): API_EXTENSIONS,
    ("apiregistration.k8s.io", "apiservices"): API_EXTENSIONS,
}

# (group, version, plural) -> why it is not served.
NOT_SERVED: Mapping[tuple[str, str, str], str] = {
    ("", "v1", "componentstatuses"): "deprecated, not stored (kube probes components on GET)",
    ("", "v1", "bindings"): "not stored; a pod is bound through pods/binding",
}

# Subresources watchproxy answers. `status` is the generic store's (Strategy.prepare_for_update);
# `scale`, `eviction` and `approval` are served by registry/scale.py and the pod and CSR
# strategies; `binding`, `token`, `finalize` by api/writes.py, api/tokens.py and the namespace
# strategy. pods/log, pods/exec and friends need a kubelet and are not served.
SERVED_SUBRESOURCES = frozenset(
    {"status", "scale", "eviction", "approval", "binding", "token", "finalize"}
)


def path(*keys: str) -> FieldGetter:
    """A getter for a nested string field; missing is "", booleans are "true"/"false"."""

    def get(obj: JsonObject) -> str:
        cur: Any = obj
        for key in keys:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(key)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


def bool_path(*keys: str) -> FieldGetter:
    """A boolean field as Go's fmt.Sprint prints it (missing is "false")."""
    get = path(*keys)
    return lambda obj: get(obj) or "false"


def int_path(*keys: str) -> FieldGetter:
    """An int32 field as strconv.Itoa prints it (missing is "0")."""
    get = path(*keys)
    return lambda obj: get(obj) or "0"


def first_pod_ip(obj: JsonObject) -> str:
    # pkg/registry/core/pod/strategy.go PodToSelectableFields: the first of status.podIPs.
    ips = (obj.get("status") or {}).get("podIPs") or []
    if ips and isinstance(ips[0], dict):
        return str(ips[0].get("ip", ""))
    return path("status", "podIP")(obj)


@dataclass(frozen=True)
class FieldSelectors:
    """A type's selectable fields beyond metadata.name/namespace, label aliases, and the message
    its conversion function gives for any other label (`{label}` is substituted)."""

    fields: Mapping[str, FieldGetter]
    error: str
    aliases: Mapping[str, str] = field(default_factory=dict)


CORE_ERROR = "field label not supported: {label}"

_POD = FieldSelectors(
    {
        "spec.nodeName": path("spec", "nodeName"),
        "spec.restartPolicy": path("spec", "restartPolicy"),
        "spec.schedulerName": path("spec", "schedulerName"),
        "spec.serviceAccountName": path("spec", "serviceAccountName"),
        "spec.hostNetwork": bool_path("spec", "hostNetwork"),
        "status.phase": path("status", "phase"),
        "status.podIP": first_pod_ip,
        "status.nominatedNodeName": path("status", "nominatedNodeName"),
    },
    CORE_ERROR,
    aliases={"spec.host": "spec.nodeName"},
)

# The ObjectReference fields an event's involvedObject (events.k8s.io: regarding) selects on.
_OBJECT_REFERENCE_FIELDS = (
    "kind",
    "namespace",
    "name",
    "uid",
    "apiVersion",
    "resourceVersion",
    "fieldPath",
)

_EVENT = FieldSelectors(
    {
        **{f"involvedObject.{f}": path("involvedObject", f) for f in _OBJECT_REFERENCE_FIELDS},
        "reason": path("reason"),
        "reportingComponent": path("reportingComponent"),
        "source": path("source", "component"),
        "type": path("type"),
    },
    CORE_ERROR,
)


def _event_source(obj: JsonObject) -> str:
    # pkg/registry/core/event/strategy.go ToSelectableFields: source.component, else the
    # reporting controller.
    return path("deprecatedSource", "component")(obj) or path("reportingController")(obj)


# pkg/apis/events/v1/conversion.go AddFieldLabelConversionsForEvent: these labels map to the
# core event's field set (the core registry's GetAttrs); core's own spellings are refused.
# The getters read the events.k8s.io form the route caches.
_EVENTS_V1 = FieldSelectors(
    {
        **{f"regarding.{f}": path("regarding", f) for f in _OBJECT_REFERENCE_FIELDS},
        "reason": path("reason"),
        "reportingController": path("reportingController"),
        "source": _event_source,
        "type": path("type"),
    },
    CORE_ERROR,
)

_CORE_NO_EXTRA = FieldSelectors({}, CORE_ERROR)

FIELD_SELECTORS: Mapping[GroupPlural, FieldSelectors] = {
    # pkg/apis/core/v1/conversion.go addFieldLabelConversionsFor*.
    ("", "pods"): _POD,
    ("", "events"): _EVENT,
    ("events.k8s.io", "events"): _EVENTS_V1,
    ("", "nodes"): FieldSelectors(
        {"spec.unschedulable": bool_path("spec", "unschedulable")}, CORE_ERROR
    ),
    ("", "namespaces"): FieldSelectors({"status.phase": path("status", "phase")}, CORE_ERROR),
    ("", "secrets"): FieldSelectors({"type": path("type")}, CORE_ERROR),
    ("", "services"): FieldSelectors(
        {"spec.clusterIP": path("spec", "clusterIP"), "spec.type": path("spec", "type")},
        CORE_ERROR,
    ),
    ("", "replicationcontrollers"): FieldSelectors(
        {"status.replicas": int_path("status", "replicas")}, CORE_ERROR
    ),
    # "kinds having selectable nothing but ObjectMeta fields" with core's message.
    ("", "configmaps"): _CORE_NO_EXTRA,
    ("", "endpoints"): _CORE_NO_EXTRA,
    ("", "persistentvolumeclaims"): _CORE_NO_EXTRA,
    ("", "resourcequotas"): _CORE_NO_EXTRA,
    ("", "serviceaccounts"): _CORE_NO_EXTRA,
    # pkg/apis/batch/v1/conversion.go; pkg/registry/batch/job/strategy.go JobToSelectableFields.
    ("batch", "jobs"): FieldSelectors(
        {"status.successful": int_path("status", "succeeded")},
        'field label "{label}" not supported for batchv1.Job',
    ),
    # pkg/apis/certificates/v1/conversion.go (CSR, ClusterTrustBundle, PodCertificateRequest).
    ("certificates.k8s.io", "certificatesigningrequests"): FieldSelectors(
        {"spec.signerName": path("spec", "signerName")}, CORE_ERROR
    ),
    ("certificates.k8s.io", "clustertrustbundles"): FieldSelectors(
        {"spec.signerName": path("spec", "signerName")}, CORE_ERROR
    ),
    ("certificates.k8s.io", "podcertificaterequests"): FieldSelectors(
        {
            "spec.signerName": path("spec", "signerName"),
            "spec.podName": path("spec", "podName"),
            "spec.nodeName": path("spec", "nodeName"),
        },
        CORE_ERROR,
    ),
    # pkg/apis/resource/v1/conversion.go; ResourceSliceSelectorNodeName / ...Driver.
    ("resource.k8s.io", "resourceslices"): FieldSelectors(
        {"spec.nodeName": path("spec", "nodeName"), "spec.driver": path("spec", "driver")},
        "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: {label}",
    ),
}

# The watch dispatcher's trigger field (one value per object, pinned by the common selector).
TRIGGER_FIELDS: Mapping[GroupPlural, str] = {("", "pods"): "spec.nodeName"}

# Status a create starts from, whatever the client sent (pkg/registry/core/pod/strategy.go
# PrepareForCreate: `pod.Status = api.PodStatus{Phase: api.PodPending}`).
RESET_STATUS_ON_CREATE: Mapping[GroupPlural, JsonObject] = {("", "pods"): {"phase": "Pending"}}

# Types answered by a handler and never stored (api/reviews.py): create only.
VIRTUAL: frozenset[GroupPlural] = frozenset(
    {
        ("authentication.k8s.io", "selfsubjectreviews"),
        ("authentication.k8s.io", "tokenreviews"),
        ("authorization.k8s.io", "localsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
    }
)
