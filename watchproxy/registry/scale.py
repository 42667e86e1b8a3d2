"""The `scale` subresource (kube: pkg/registry/apps/deployment/storage/storage.go ScaleREST and
its ReplicaSet, StatefulSet and ReplicationController twins; apiextensions-apiserver's
customresource ScaleREST for custom resources).

An autoscaling/v1 `Scale` is a view of its parent: `spec.replicas` <- the parent's spec replicas,
`status.replicas` <- its status replicas, `status.selector` <- its label selector as a string.
Writing a Scale writes `spec.replicas` of the parent through the generic store (the parent's
strategy and validation run; a Scale's resourceVersion or uid is the parent's precondition).

`ScalePaths` says where those live: the built-in types' by default, a CRD's
`subresources.scale` (specReplicasPath, statusReplicasPath, labelSelectorPath) for custom
resources -- `read_scale` and `apply_scale` serve both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from watchproxy.core.validation import field_invalid
from watchproxy.registry.errors import Cause

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class ScalePaths:
    """JSON paths (`.spec.replicas`) of the replica counts and the selector. With
    `selector_path` None the selector is the parent's `spec.selector` (a LabelSelector, or a
    ReplicationController's map), formatted as kube's labels.Selector.String()."""

    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    selector_path: str | None = None

    @classmethod
    def of_crd(cls, scale: JsonObject) -> ScalePaths:
        """From a CRD version's `subresources.scale`."""
        return cls(
            str(scale.get("specReplicasPath") or ".spec.replicas"),
            str(scale.get("statusReplicasPath") or ".status.replicas"),
            str(scale["labelSelectorPath"]) if scale.get("labelSelectorPath") else None,
        )


BUILTIN = ScalePaths()


def _keys(path: str) -> list[str]:
    return [k for k in path.split(".") if k]


def get_path(obj: Any, path: str) -> Any:
    """The value at a simple JSON path (`.spec.replicas`), or None."""
    for key in _keys(path):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def set_path(obj: JsonObject, path: str, value: Any) -> None:
    """Set the value at a simple JSON path, creating the objects on the way."""
    keys = _keys(path)
    for key in keys[:-1]:
        nxt = obj.get(key)
        if not isinstance(nxt, dict):
            nxt = obj[key] = {}
        obj = nxt
    obj[keys[-1]] = value


def selector_string(selector: Any) -> str:
    """labels.Selector.String() of a LabelSelector (or of a map selector): requirements sorted
    by key, values sorted: `app=x,tier in (a,b),!legacy`."""
    if not isinstance(selector, dict):
        return ""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}  # ReplicationController: a plain map
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((str(key), f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            continue
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(str(op), key)
        reqs.append((key, text))
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def read_scale(obj: JsonObject, paths: ScalePaths = BUILTIN) -> JsonObject:
    """The autoscaling/v1 Scale of `obj` (its name, namespace, uid, resourceVersion and
    creationTimestamp; spec.replicas; status.replicas and status.selector)."""
    meta = obj.get("metadata") or {}
    if paths.selector_path is None:
        selector = selector_string((obj.get("spec") or {}).get("selector"))
    else:
        found = get_path(obj, paths.selector_path)
        selector = found if isinstance(found, str) else ""
    status: JsonObject = {"replicas": _int(get_path(obj, paths.status_replicas))}
    if selector:
        status["selector"] = selector
    out_meta = {
        k: meta[k]
        for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if k in meta
    }
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": out_meta,
        "spec": {"replicas": _int(get_path(obj, paths.spec_replicas))},
        "status": status,
    }


def scale_causes(scale: JsonObject) -> list[Cause]:
    """ValidateScale: spec.replicas >= 0 (an int32); spec and metadata objects."""
    for field in ("spec", "metadata"):
        if scale.get(field) is not None and not isinstance(scale[field], dict):
            return [field_invalid(field, "null", "must be an object")]
    replicas = (scale.get("spec") or {}).get("replicas")
    if replicas is None:
        return []
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        return [field_invalid("spec.replicas", str(replicas), "must be an integer")]
    if replicas < 0:
        return [field_invalid("spec.replicas", str(replicas), "must be greater than or equal to 0")]
    return []


def apply_scale(obj: JsonObject, scale: JsonObject, paths: ScalePaths = BUILTIN) -> None:
    """Write the Scale's spec.replicas into `obj` (validated by scale_causes first); its
    resourceVersion and uid become `obj`'s preconditions."""
    replicas = (scale.get("spec") or {}).get("replicas")
    set_path(obj, paths.spec_replicas, _int(replicas))
    meta = obj.setdefault("metadata", {})
    scale_meta = scale.get("metadata") or {}
    meta.pop("resourceVersion", None)
    for key in ("resourceVersion", "uid"):
        if scale_meta.get(key):
            meta[key] = scale_meta[key]
