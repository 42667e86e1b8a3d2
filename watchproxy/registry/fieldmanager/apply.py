"""Server-side apply: merge an applied configuration into the live object and record what the
applier owns (structured-merge-diff merge/update.go `Updater.Apply` and `prune`;
apimachinery util/managedfields/internal: fieldmanager.go, versioncheck.go, structuredmerge.go,
skipnonapplied.go (`before-first-apply`), lastappliedmanager.go and lastappliedupdater.go
(kubectl's client-side apply annotation), conflict.go (the 409 body)).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy.api.status import ApiError, bad_request
from watchproxy.registry.fieldmanager import fieldpath as fp
from watchproxy.registry.fieldmanager import managed as mf
from watchproxy.registry.fieldmanager.fieldpath import FieldSet
from watchproxy.registry.fieldmanager.merge import ensure_named_fields, merge, remove_items
from watchproxy.registry.fieldmanager.reset import reset_fields
from watchproxy.registry.fieldmanager.typed import (
    Atom,
    TypedError,
    empty_object,
    root_type,
    with_zero,
)
from watchproxy.registry.fieldmanager.walk import ABSENT, compare, to_field_set
from watchproxy.registry.objects import json_copy
from watchproxy.resources import ResourceType

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_MANAGER = "kubectl"  # the only manager whose apply upgrades client-side apply


@dataclass
class Applied:
    """The object to write (the live one, untouched but for managedFields, when the apply
    changes nothing) and whether it differs from the live object."""

    obj: dict[str, Any]
    changed: bool


def _gvk(obj: dict[str, Any]) -> str:
    api_version = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else ""
    group, _, version = str(api_version).rpartition("/")
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    return f"{group}/{version}, Kind={kind}"


def check_config(resource: ResourceType, config: dict[str, Any]) -> None:
    """versioncheck.go and structuredmerge.go: the configuration names the resource's own
    apiVersion and kind, and carries no managedFields. Raises 400."""
    if config.get("apiVersion") != resource.api_version or config.get("kind") != resource.kind:
        raise bad_request(f"invalid object type: {_gvk(config)}")
    meta = config.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    if isinstance(meta, dict) and "managedFields" in meta:
        raise bad_request("metadata.managedFields must be nil")


def apply(
    resource: ResourceType,
    live: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str,
    *,
    force: bool,
    subresource: str = "",
) -> Applied:
    """Apply `config` as `manager` to `live` (None: the object does not exist yet). Raises
    409 Conflict (unless `force`), 400 for a configuration the type's rules refuse."""
    check_config(resource, config)
    config = json_copy(config)  # the result shares its parts; the caller's stays intact
    atom = root_type(resource)
    version = resource.api_version
    ignored = reset_fields(resource, subresource)
    live_obj: dict[str, Any] = json_copy(live) if live is not None else {}
    found_meta = live_obj.get("metadata")
    live_meta: dict[str, Any] = found_meta if isinstance(found_meta, dict) else {}
    try:
        managed = mf.decode(live_meta.get("managedFields"))
    except mf.DecodeError:
        managed = mf.Managed()
    # Merged and compared without managedFields and resourceVersion; an unchanged object is
    # written back as it was (same bytes: no write, same resourceVersion).
    live_clean = dict(live_obj)
    if live is not None:
        server = ("managedFields", "resourceVersion")
        live_clean["metadata"] = {k: v for k, v in live_meta.items() if k not in server}
    key = mf.identifier(manager, mf.APPLY, version, subresource)
    try:
        if not managed.sets and live is not None:
            # skipnonapplied.go: fields of an object nobody tracked yet belong to one updater.
            before = mf.identifier(mf.BEFORE_FIRST_APPLY, mf.UPDATE, version, subresource)
            zero = empty_object(resource)
            mf.record_update(zero, with_zero(live_clean, zero), atom, managed, before, version)
        try:
            merged, managed_after = _apply(live_clean, config, atom, managed, key, force, ignored)
        except mf.Conflicts as exc:
            allowed = (
                _allowed_by_last_applied(live_clean, atom) if manager == KUBECTL_MANAGER else None
            )
            if allowed is None:
                raise conflict_error(exc.conflicts) from exc
            rest = [(m, p) for m, p in exc.conflicts if not fp.has(allowed, p)]
            if rest:
                raise conflict_error(rest) from exc
            merged, managed_after = _apply(live_clean, config, atom, managed, key, True, ignored)
    except TypedError as exc:
        raise bad_request(f"failed to create typed patch object: {exc}") from exc
    changed = merged != live_clean
    if changed:
        managed_after.times[key] = mf.now()
    mf.strip(managed_after)
    mf.cap_update_managers(managed_after)
    result = merged if changed else live_obj
    wanted = (config.get("metadata") or {}).get("resourceVersion")
    if not changed and wanted:
        result["metadata"]["resourceVersion"] = wanted  # the configuration's precondition
    annotations = (result.get("metadata") or {}).get("annotations") or {}
    if manager == KUBECTL_MANAGER and LAST_APPLIED in annotations:
        result.setdefault("metadata", {})["annotations"] = {
            **annotations,
            LAST_APPLIED: build_last_applied(config),
        }
        changed = changed or annotations[LAST_APPLIED] != build_last_applied(config)
    entries = mf.encode(managed_after)
    meta = result.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    return Applied(result, changed)


def _apply(
    live: dict[str, Any],
    config: dict[str, Any],
    atom: Atom,
    managed: mf.Managed,
    key: str,
    force: bool,
    ignored: FieldSet,
) -> tuple[dict[str, Any], mf.Managed]:
    """Updater.Apply on a copy of `managed`. Raises Conflicts, TypedError."""
    managed = managed.copy()
    merged = merge(live, config, atom)
    last = managed.sets.get(key)
    applied = to_field_set(config, atom, allow_duplicates=False)
    if ignored:
        applied = fp.recursive_difference(applied, ignored)
    managed.sets[key] = mf.VersionedSet(applied, config_version(config), True)
    merged = _prune(merged, atom, managed, last.fields if last is not None else {})
    mf.update_sets(live, merged, atom, managed, key, force=force, ignored=ignored)
    return merged, managed


def config_version(config: dict[str, Any]) -> str:
    return str(config.get("apiVersion") or "")


def _prune(merged: Any, atom: Atom, managed: mf.Managed, last: FieldSet) -> Any:
    """Remove what the applier applied last time and no longer does, unless another manager
    (or this configuration) owns it (Updater.prune, addBackOwnedItems, addBackDanglingItems)."""
    if not last:
        return merged
    last_e = ensure_named_fields(last, atom)
    pruned = remove_items(merged, last_e, atom)
    owned: FieldSet = {}
    for vs in managed.sets.values():
        owned = fp.union(owned, vs.fields)
    merged_set = ensure_named_fields(to_field_set(merged, atom), atom)

    def field_set(value: Any) -> FieldSet:
        return {} if value is ABSENT else ensure_named_fields(to_field_set(value, atom), atom)

    keep = fp.union(field_set(pruned), ensure_named_fields(owned, atom))
    pruned = remove_items(merged, fp.difference(merged_set, keep), atom)
    dangling = fp.intersection(fp.difference(merged_set, field_set(pruned)), last_e)
    result = remove_items(merged, dangling, atom)
    return {} if result is ABSENT else result


def _allowed_by_last_applied(live: dict[str, Any], atom: Atom) -> FieldSet | None:
    """lastappliedmanager.go: conflicts with fields whose live value is still the one kubectl's
    client-side apply recorded are allowed (None: no usable annotation)."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    text = annotations.get(LAST_APPLIED)
    if not isinstance(text, str) or not text:
        return None
    try:
        last_applied = orjson.loads(text)
        if not isinstance(last_applied, dict):
            return None
        fields = to_field_set(last_applied, atom)
        changed = compare(last_applied, live, atom).modified
    except (orjson.JSONDecodeError, TypedError):
        return None
    return fp.difference(fields, changed)


def build_last_applied(config: dict[str, Any]) -> str:
    """lastappliedupdater.go buildLastApplied: the configuration without the annotation, as Go's
    encoder writes it (sorted keys, HTML characters escaped, a final newline)."""
    obj = copy.deepcopy(config)
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(LAST_APPLIED, None)
    text = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text + "\n"


def describe_manager(identifier: str) -> str:
    """conflict.go printManager: `"name"`, plus `with subresource "s"` and, for updaters,
    `using <apiVersion>`."""
    try:
        entry = orjson.loads(identifier)
    except orjson.JSONDecodeError:
        return orjson.dumps(identifier).decode()
    text = orjson.dumps(entry.get("manager", "")).decode()
    if entry.get("subresource"):
        text += f" with subresource {orjson.dumps(entry['subresource']).decode()}"
    if entry.get("operation") == mf.UPDATE:
        text += f" using {entry.get('apiVersion', '')}"
    return text


def conflict_error(conflicts: list[tuple[str, tuple[str, ...]]]) -> ApiError:
    """409 Conflict as conflict.go NewConflictError: one cause per (manager, field), the message
    grouping fields by manager (managers sorted)."""
    ordered = sorted(conflicts, key=lambda c: (c[0], fp.path_string(c[1])))
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {describe_manager(m)}",
            "field": fp.path_string(p),
        }
        for m, p in ordered
    ]
    if len(ordered) == 1:
        manager, path = ordered[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {describe_manager(manager)}: "
            f"{fp.path_string(path)}"
        )
    else:
        lines: list[str] = []
        for manager in sorted({m for m, _ in ordered}):
            lines.append(f"conflicts with {describe_manager(manager)}:")
            lines.extend(f"- {fp.path_string(p)}" for m, p in ordered if m == manager)
        message = f"Apply failed with {len(ordered)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, details={"causes": causes})
