"""The registry of Kubernetes resource types watchproxy serves.

Adding a resource is one `ResourceType(...)` entry: its REST names, scope, etcd key prefix (the one
kube-apiserver uses with `--storage-media-type=application/json`), the field labels it accepts in
field selectors, an optional watch trigger field, and whether it has a `status` subresource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]
FieldGetter = Callable[[JsonObject], str]


def _path(*keys: str) -> FieldGetter:
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


def _bool_path(*keys: str) -> FieldGetter:
    get = _path(*keys)
    return lambda obj: get(obj) or "false"


def _first_pod_ip(obj: JsonObject) -> str:
    ips = (obj.get("status") or {}).get("podIPs") or []
    if ips and isinstance(ips[0], dict):
        return str(ips[0].get("ip", ""))
    return _path("status", "podIP")(obj)


@dataclass(frozen=True)
class CustomResourceInfo:
    """One served version of a CustomResourceDefinition (apiextensions.k8s.io/v1).

    `schema` is the version's `openAPIV3Schema` (structural), `printer_columns` its
    `additionalPrinterColumns`, `scale` its `subresources.scale` (specReplicasPath,
    statusReplicasPath, labelSelectorPath), `storage_version` the version objects are stored
    at (conversion None: only apiVersion differs), `crd_name` the CRD's metadata.name."""

    crd_name: str
    storage_version: str
    schema: JsonObject | None = None
    printer_columns: tuple[JsonObject, ...] = ()
    scale: JsonObject | None = None
    selectable_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceType:
    """One served resource. `fields` are the selectable fields besides metadata.name/namespace."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    storage_prefix: str
    short_names: tuple[str, ...] = ()
    fields: Mapping[str, FieldGetter] = field(default_factory=dict)
    field_aliases: Mapping[str, str] = field(default_factory=dict)
    # Core types reject unknown field labels with their own message
    # (pkg/apis/core/v1/conversion.go).
    core_field_errors: bool = False
    trigger_field: str | None = None
    status_subresource: bool = False
    # Other subresources served, as discovery lists them: (name, kind, verbs).
    extra_subresources: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # Pods get their status reset to Pending on create, as kube-apiserver's pod strategy does.
    reset_status_on_create: JsonObject | None = None
    # Resources that are never stored (TokenReview, SubjectAccessReview, ...): create only,
    # answered by a handler, no cache, no etcd key.
    virtual: bool = False
    # kube's storage Categories() (`kubectl get all` asks for "all").
    categories: tuple[str, ...] = ()
    # The OpenAPI definition name of a built-in type (`io.k8s.api.core.v1.Pod`); None for
    # custom resources, whose schema is in `custom`.
    definition: str | None = None
    # What a CustomResourceDefinition says about this served version; None for built-ins.
    custom: CustomResourceInfo | None = None
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def subresources(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """name -> (kind, verbs) of every subresource served (discovery, routing)."""
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        if self.status_subresource:
            out["status"] = (self.kind, ("get", "patch", "update"))
        for name, kind, verbs in self.extra_subresources:
            out[name] = (kind, verbs)
        return out

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def key(self) -> str:
        """Registry key: `plural.group` (core: `plural`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def selectable_fields(self, obj: JsonObject) -> dict[str, str]:
        """The field set a field selector matches against (the apiserver's GetAttrs)."""
        meta = obj.get("metadata") or {}
        out = {"metadata.name": str(meta.get("name", ""))}
        if self.namespaced:
            out["metadata.namespace"] = str(meta.get("namespace", ""))
        for name, getter in self.fields.items():
            out[name] = getter(obj)
        return out

    def canonical_field(self, label: str) -> str | None:
        """Map a selector field label to the stored field name, or None if unsupported."""
        label = self.field_aliases.get(label, label)
        if label == "metadata.name" or label in self.fields:
            return label
        if label == "metadata.namespace":
            return label
        return None

    def unknown_field_message(self, label: str) -> str:
        if self.core_field_errors:
            return f"field label not supported: {label}"
        return (
            f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )


_POD_FIELDS: dict[str, FieldGetter] = {
    "spec.nodeName": _path("spec", "nodeName"),
    "spec.restartPolicy": _path("spec", "restartPolicy"),
    "spec.schedulerName": _path("spec", "schedulerName"),
    "spec.serviceAccountName": _path("spec", "serviceAccountName"),
    "spec.hostNetwork": _bool_path("spec", "hostNetwork"),
    "status.phase": _path("status", "phase"),
    "status.podIP": _first_pod_ip,
    "status.nominatedNodeName": _path("status", "nominatedNodeName"),
}

_EVENT_FIELDS: dict[str, FieldGetter] = {
    **{
        f"involvedObject.{f}": _path("involvedObject", f)
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    },
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": _path("source", "component"),
    "type": _path("type"),
}

_RBAC = "rbac.authorization.k8s.io"

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        "pods",
        ("po",),
        fields=_POD_FIELDS,
        field_aliases={"spec.host": "spec.nodeName"},
        core_field_errors=True,
        trigger_field="spec.nodeName",
        status_subresource=True,
        extra_subresources=(("binding", "Binding", ("create",)),),
        reset_status_on_create={"phase": "Pending"},
    ),
    ResourceType(
        "",
        "v1",
        "Node",
        "nodes",
        False,
        "minions",
        ("no",),
        fields={"spec.unschedulable": _bool_path("spec", "unschedulable")},
        core_field_errors=True,
        status_subresource=True,
    ),
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        "namespaces",
        ("ns",),
        fields={"status.phase": _path("status", "phase")},
        core_field_errors=True,
        status_subresource=True,
        extra_subresources=(("finalize", "Namespace", ("update",)),),
        # The namespace storage has no DeleteCollection (pkg/registry/core/namespace/storage).
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    ResourceType(
        "", "v1", "ConfigMap", "configmaps", True, "configmaps", ("cm",), core_field_errors=True
    ),
    ResourceType(
        "",
        "v1",
        "Secret",
        "secrets",
        True,
        "secrets",
        fields={"type": _path("type")},
        core_field_errors=True,
    ),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        True,
        "services/specs",
        ("svc",),
        fields={"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
        core_field_errors=True,
    ),
    ResourceType(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        True,
        "services/endpoints",
        ("ep",),
        core_field_errors=True,
    ),
    ResourceType(
        "",
        "v1",
        "Event",
        "events",
        True,
        "events",
        ("ev",),
        fields=_EVENT_FIELDS,
        core_field_errors=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True, "leases"),
    ResourceType(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        True,
        "serviceaccounts",
        ("sa",),
        core_field_errors=True,
        extra_subresources=(("token", "TokenRequest", ("create",)),),
    ),
    *(
        ResourceType(_RBAC, "v1", kind, plural, namespaced, plural)
        for kind, plural, namespaced in (
            ("ClusterRole", "clusterroles", False),
            ("ClusterRoleBinding", "clusterrolebindings", False),
            ("Role", "roles", True),
            ("RoleBinding", "rolebindings", True),
        )
    ),
    *(
        ResourceType(group, "v1", kind, plural, namespaced, "", virtual=True, verbs=("create",))
        for group, kind, plural, namespaced in (
            ("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", False),
            ("authentication.k8s.io", "TokenReview", "tokenreviews", False),
            ("authorization.k8s.io", "LocalSubjectAccessReview", "localsubjectaccessreviews", True),
            ("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
            ("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False),
            ("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews", False),
        )
    ),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        "deployments",
        ("deploy",),
        status_subresource=True,
    ),
)

TENANT_LABEL = "watchproxy.io/tenant"


RegistryListener = Callable[["ResourceType", bool], None]


class Registry:
    """Lookups over the served resources by (group, version, plural) and by group.

    Starts with the built-in types; custom resources come and go at run time (`add`, `remove`,
    called as CustomResourceDefinitions are established and deleted). `generation` grows on
    every change, so documents built from the registry (discovery, OpenAPI) know when to
    rebuild; listeners hear of each change (`listener(resource, added)`)."""

    def __init__(self, resources: tuple[ResourceType, ...] = RESOURCES) -> None:
        self.generation = 0
        self._listeners: list[RegistryListener] = []
        self._set(resources)

    def _set(self, resources: tuple[ResourceType, ...]) -> None:
        self.all = resources
        # Stored resources (cached, watched, written to etcd); `all` adds the virtual ones.
        self.resources = tuple(r for r in resources if not r.virtual)
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}
        self._by_key = {r.key: r for r in resources}
        self.generation += 1

    def subscribe(self, listener: RegistryListener) -> None:
        self._listeners.append(listener)

    def add(self, resource: ResourceType) -> None:
        """Serve `resource` (replacing one with the same group, version and plural)."""
        path = (resource.group, resource.version, resource.plural)
        kept = tuple(r for r in self.all if (r.group, r.version, r.plural) != path)
        self._set((*kept, resource))
        for listener in list(self._listeners):
            listener(resource, True)

    def remove(self, group: str, version: str, plural: str) -> ResourceType | None:
        """Stop serving group/version/plural; the removed resource, or None if unknown."""
        gone = self._by_path.get((group, version, plural))
        if gone is None:
            return None
        self._set(tuple(r for r in self.all if r is not gone))
        for listener in list(self._listeners):
            listener(gone, False)
        return gone

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_key(self, key: str) -> ResourceType | None:
        """By registry key (`plural` or `plural.group`)."""
        return self._by_key.get(key)

    def groups(self) -> dict[str, list[str]]:
        """group -> versions, for the named (non-core) groups, in registry order."""
        out: dict[str, list[str]] = {}
        for r in self.all:
            if r.group and r.version not in out.setdefault(r.group, []):
                out[r.group].append(r.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.all if r.group == group and r.version == version]

    def by_kind(self, kind: str) -> ResourceType | None:
        return next((r for r in self.resources if r.kind == kind), None)
