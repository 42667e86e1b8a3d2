"""CustomResourceDefinition objects (apiextensions.k8s.io/v1) -> the ResourceTypes they serve.

Pure functions over the CRD's JSON (no I/O). kube: apiextensions-apiserver's
`pkg/apiserver/customresource_handler.go` (getOrCreateServingInfoFor) builds one REST storage
per served version from the CRD's `status.acceptedNames` once it is `Established`; the etcd
key is `/registry/<group>/<plural>/[<namespace>/]<name>` (`etcdKeyPrefix + group + plural`).

Conversion is `None` (apiextensions nop_converter.go): objects are stored at the storage
version and every served version is a view of them that differs only in `apiVersion`; each
served version is its own ResourceType (docs/decisions/0015-custom-resources.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from watchproxy.resources import CustomResourceInfo, FieldGetter, ResourceType
from watchproxy.schema.structural import read_decoder

JsonObject = dict[str, Any]

GROUP = "apiextensions.k8s.io"
PLURAL = "customresourcedefinitions"

# The built-in type, for a registry that does not list it yet (the generated type table does).
CRD_RESOURCE = ResourceType(
    GROUP,
    "v1",
    "CustomResourceDefinition",
    PLURAL,
    False,
    f"{GROUP}/{PLURAL}",
    ("crd", "crds"),
    status_subresource=True,
    categories=("api-extensions",),
)

SCALE_SUBRESOURCE = ("scale", "Scale", ("get", "patch", "update"))


def conditions(crd: JsonObject) -> dict[str, JsonObject]:
    """status.conditions by type."""
    out: dict[str, JsonObject] = {}
    for cond in (crd.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and isinstance(cond.get("type"), str):
            out[cond["type"]] = cond
    return out


def is_condition_true(crd: JsonObject, kind: str) -> bool:
    return conditions(crd).get(kind, {}).get("status") == "True"


def set_condition(
    crd: JsonObject, kind: str, status: str, reason: str, message: str, now: str
) -> None:
    """apiextensions helpers SetCRDCondition: replace the condition of type `kind`, keeping its
    lastTransitionTime unless the status changes; `now` is an RFC 3339 timestamp."""
    current = crd.setdefault("status", {})
    if not isinstance(current, dict):
        current = crd["status"] = {}
    conds = [c for c in current.get("conditions") or [] if isinstance(c, dict)]
    old = next((c for c in conds if c.get("type") == kind), None)
    since = old.get("lastTransitionTime") if old and old.get("status") == status else None
    new = {
        "type": kind,
        "status": status,
        "lastTransitionTime": since or now,
        "reason": reason,
        "message": message,
    }
    current["conditions"] = [new if c is old else c for c in conds] if old else [*conds, new]


def storage_version(crd: JsonObject) -> JsonObject | None:
    """The `spec.versions[]` entry with `storage: true` (validation allows exactly one)."""
    for version in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(version, dict) and version.get("storage") is True:
            return version
    return None


def _path_getter(json_path: str) -> FieldGetter:
    """A selectableFields `jsonPath` (`.spec.color`) as a field getter: the value as a string
    (booleans `true`/`false`, as kube's field set prints them), "" when absent."""
    keys = [k for k in json_path.split(".") if k]

    def get(obj: JsonObject) -> str:
        cur: Any = obj
        for key in keys:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(key)
        if cur is None or isinstance(cur, (dict, list)):
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


def served_types(crd: JsonObject) -> list[ResourceType]:
    """The ResourceTypes a CRD serves, one per `served: true` version, in `spec.versions`
    order: once its names are accepted or it is Established, as kube's crdHandler serves it
    (empty before, or with no storage version).
    A Terminating CRD keeps being served until its key is removed: kube stops new writes then
    but keeps reads, and here the finalizer controller deletes the instances through the store,
    which needs the type.

    Every version shares the storage version's etcd prefix (`<group>/<plural>`); each carries
    its own schema, columns, subresources and selectable fields (customresource_handler.go
    builds one storage per served version). Names come from `status.acceptedNames` (what the
    naming controller accepted), falling back to `spec.names`."""
    if not (is_condition_true(crd, "Established") or is_condition_true(crd, "NamesAccepted")):
        return []
    spec = crd.get("spec") or {}
    storage = storage_version(crd)
    if storage is None or not isinstance(storage.get("name"), str):
        return []
    names = (crd.get("status") or {}).get("acceptedNames") or spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (isinstance(group, str) and isinstance(plural, str) and isinstance(kind, str)):
        return []
    versions = [
        v
        for v in spec.get("versions") or []
        if isinstance(v, dict) and v.get("served") is True and isinstance(v.get("name"), str)
    ]
    crd_name = str((crd.get("metadata") or {}).get("name", ""))
    return [
        _version_type(crd_name, group, plural, kind, names, spec, v, storage["name"])
        for v in versions
    ]


def _version_type(
    crd_name: str,
    group: str,
    plural: str,
    kind: str,
    names: JsonObject,
    spec: JsonObject,
    version: JsonObject,
    storage: str,
) -> ResourceType:
    subresources = version.get("subresources") or {}
    scale = subresources.get("scale") if isinstance(subresources.get("scale"), dict) else None
    selectable = tuple(
        str(f.get("jsonPath", ""))
        for f in version.get("selectableFields") or []
        if isinstance(f, dict) and f.get("jsonPath")
    )
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    info = CustomResourceInfo(
        crd_name=crd_name,
        storage_version=storage,
        schema=schema if isinstance(schema, dict) else None,
        printer_columns=tuple(
            c for c in version.get("additionalPrinterColumns") or [] if isinstance(c, dict)
        ),
        scale=scale,
        selectable_fields=selectable,
        deprecation_warning=deprecation_warning(spec, version, kind),
        read_decoder=read_decoder(schema) if isinstance(schema, dict) else None,
    )
    return ResourceType(
        group,
        version["name"],
        kind,
        plural,
        spec.get("scope") != "Cluster",
        f"{group}/{plural}",
        tuple(_strings(names.get("shortNames"))),
        fields={path.lstrip("."): _path_getter(path) for path in selectable},
        status_subresource="status" in subresources,
        extra_subresources=(SCALE_SUBRESOURCE,) if scale is not None else (),
        subresource_versions={"scale": ("autoscaling", "v1")} if scale is not None else {},
        singular_name=str(names.get("singular") or ""),
        categories=tuple(_strings(names.get("categories"))),
        custom=info,
    )


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key, highest priority first: GA, then beta, then alpha, higher numbers first, then
    any other string alphabetically (apimachinery pkg/version/helpers.go
    CompareKubeAwareVersionStrings: v1 > v1beta2 > v1beta1 > v1alpha1 > foo)."""
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), "")


def deprecation_warning(spec: JsonObject, version: JsonObject, kind: str) -> str | None:
    """The `Warning` text of a request to `version` (None: not deprecated): its
    `deprecationWarning`, else customresource_handler.go defaultDeprecationWarning --
    `<group>/<v> <Kind> is deprecated`, plus `; use <group>/<w> <Kind>` naming the
    highest-priority served, non-deprecated version newer than it."""
    if version.get("deprecated") is not True:
        return None
    if isinstance(version.get("deprecationWarning"), str):
        return str(version["deprecationWarning"])
    group, name = spec.get("group"), str(version.get("name"))
    message = f"{group}/{name} {kind} is deprecated"
    newer = sorted(
        (
            str(v.get("name"))
            for v in spec.get("versions") or []
            if isinstance(v, dict)
            and v.get("served") is True
            and v.get("deprecated") is not True
            and isinstance(v.get("name"), str)
            and version_priority(str(v["name"])) < version_priority(name)
        ),
        key=version_priority,
    )
    return f"{message}; use {group}/{newer[0]} {kind}" if newer else message


def _strings(values: Any) -> Iterable[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def served_by_crds(crds: Iterable[JsonObject]) -> dict[tuple[str, str, str], ResourceType]:
    """(group, version, plural) -> type, over every CRD in the cache. Two CRDs cannot claim one
    plural.group (metadata.name is plural.group); the first one in name order wins anyway."""
    out: dict[tuple[str, str, str], ResourceType] = {}
    for crd in sorted(crds, key=lambda c: str((c.get("metadata") or {}).get("name", ""))):
        for resource in served_types(crd):
            out.setdefault((resource.group, resource.version, resource.plural), resource)
    return out
