"""The registry of Kubernetes resource types watchproxy serves.

A `ResourceType` is one served resource: its REST names, scope, etcd key prefix (the one
kube-apiserver uses with `--storage-media-type=application/json`), the field labels it accepts in
field selectors, an optional watch trigger field, and its subresources. The built-in ones are
built from the generated type table by `watchproxy/schema/types.py` (`RESOURCES`, loaded on
first use); custom resources are added and removed at run time (`Registry.add/remove`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]
FieldGetter = Callable[[JsonObject], str]


@dataclass(frozen=True)
class CustomResourceInfo:
    """One served version of a CustomResourceDefinition (apiextensions.k8s.io/v1).

    `schema` is the version's `openAPIV3Schema` (structural), `printer_columns` its
    `additionalPrinterColumns`, `scale` its `subresources.scale` (specReplicasPath,
    statusReplicasPath, labelSelectorPath), `storage_version` the version objects are stored
    at (conversion None: only apiVersion differs), `crd_name` the CRD's metadata.name,
    `deprecation_warning` the `Warning` text of every request to a deprecated version (None:
    not deprecated)."""

    crd_name: str
    storage_version: str
    schema: JsonObject | None = None
    printer_columns: tuple[JsonObject, ...] = ()
    scale: JsonObject | None = None
    selectable_fields: tuple[str, ...] = ()
    deprecation_warning: str | None = None
    # What reading a stored object applies (prune, default by this version's schema:
    # schema/structural.py read_decoder); core calls it, as it sits below schema.
    read_decoder: Callable[[JsonObject], JsonObject] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Conversion:
    """How a built-in type served at several versions from one etcd prefix converts between
    them (kube's scheme conversion functions, e.g. pkg/apis/autoscaling/v1/conversion.go).

    `storage_version` is the version objects are stored at (kube's storage version), in
    `storage_group` (None: the type's own group; "" for events.k8s.io Events, stored as core
    v1 Events); `convert(obj, version)` returns a new dict: `obj`, at any served version, as
    `version` (of the other group when the groups differ).
    A hook on the type rather than a lookup in schema/: core (`build_from_dict`) converts
    what it caches, and core sits below schema (pyproject's import contracts)."""

    storage_version: str
    convert: Callable[[JsonObject, str], JsonObject]
    storage_group: str | None = None


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
    # The type's own message for an unsupported field label (`{label}` substituted), as its
    # AddFieldLabelConversionFunc words it; "" for the default conversion's message.
    field_error: str = ""
    trigger_field: str | None = None
    status_subresource: bool = False
    # Other subresources served, as discovery lists them: (name, kind, verbs).
    extra_subresources: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # The group and version of a subresource's kind when not the resource's own
    # (scale: autoscaling/v1 Scale; eviction: policy/v1; token: authentication.k8s.io/v1).
    subresource_versions: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # kube's singular name; "" is the lower-cased kind (true of every built-in type).
    singular_name: str = ""
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
    # A built-in type served at several versions (autoscaling v1 and v2 HPAs); None: one.
    conversion: Conversion | None = None
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
    def storage_version(self) -> str:
        """The version objects of this resource are stored at."""
        if self.custom is not None:
            return self.custom.storage_version
        return self.conversion.storage_version if self.conversion else self.version

    @property
    def storage_group(self) -> str:
        """The API group objects of this resource are stored in (events.k8s.io Events: core)."""
        if self.conversion is not None and self.conversion.storage_group is not None:
            return self.conversion.storage_group
        return self.group

    @property
    def converted(self) -> bool:
        """Whether this built-in type is served at another group/version than it is stored."""
        return self.conversion is not None and (self.group, self.version) != (
            self.storage_group,
            self.storage_version,
        )

    def served_form(self, obj: JsonObject) -> JsonObject:
        """`obj` (as stored, at any version) as this version serves it: converted by the
        type's `conversion`; a custom resource's apiVersion replaced (CRD conversion None,
        apiextensions nop_converter.go); else `obj` itself."""
        if self.custom is not None:
            obj["apiVersion"] = self.api_version
        elif self.conversion is not None and obj.get("apiVersion") != self.api_version:
            return self.conversion.convert(obj, self.version)
        return obj

    def stored_form(self, obj: JsonObject) -> JsonObject:
        """`obj` (at this version) as it is stored: at the storage version."""
        if self.conversion is not None and self.converted:
            return self.conversion.convert(obj, self.conversion.storage_version)
        return obj

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
        return self.singular_name or self.kind.lower()

    def subresource_version(self, name: str) -> tuple[str, str]:
        """(group, version) of subresource `name`'s kind (discovery's responseKind)."""
        return self.subresource_versions.get(name, (self.group, self.version))

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
        if self.field_error:
            return self.field_error.replace("{label}", label)
        if self.core_field_errors:
            return f"field label not supported: {label}"
        return (
            f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )


TENANT_LABEL = "watchproxy.io/tenant"


def _builtin() -> tuple[ResourceType, ...]:
    # Imported here: schema/types.py builds ResourceTypes, so it imports this module.
    from watchproxy.schema.types import builtin_resources

    return builtin_resources()


def __getattr__(name: str) -> Any:
    """`RESOURCES`: every built-in served type (schema/types.py), built on first use."""
    if name == "RESOURCES":
        return _builtin()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


RegistryListener = Callable[["ResourceType", bool], None]


class Registry:
    """Lookups over the served resources by (group, version, plural) and by group.

    Starts with the built-in types; custom resources come and go at run time (`add`, `remove`,
    called as CustomResourceDefinitions are established and deleted). `generation` grows on
    every change, so documents built from the registry (discovery, OpenAPI) know when to
    rebuild; listeners hear of each change (`listener(resource, added)`)."""

    def __init__(self, resources: tuple[ResourceType, ...] | None = None) -> None:
        if resources is None:
            resources = _builtin()
        self.generation = 0
        self._listeners: list[RegistryListener] = []
        self._set(resources)

    def _set(self, resources: tuple[ResourceType, ...]) -> None:
        self.all = resources
        # Stored resources (cached, watched, written to etcd); `all` adds the virtual ones.
        self.resources = tuple(r for r in resources if not r.virtual)
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}
        # The first of a key's versions: a converted built-in's storage version (schema/types).
        self._by_key: dict[str, ResourceType] = {}
        for r in resources:
            self._by_key.setdefault(r.key, r)
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

    def by_group_kind(self, group: str, kind: str) -> ResourceType | None:
        """The stored resource serving group/kind (a custom kind may reuse a built-in name)."""
        return next((r for r in self.resources if r.kind == kind and r.group == group), None)
