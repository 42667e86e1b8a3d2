"""managedFields on every write that is not an apply: create, update, patch (kube's
FieldManager.UpdateNoErrors, called by endpoints/handlers/create.go, update.go and patch.go, and
IgnoreManagedFieldsTimestampsTransformer).

Updates are tracked as the strategy leaves them (defaults applied, server-owned fields carried
from the stored object); creates before the strategy runs, as kube does. Either way the
strategy's reset fields (reset.py) are owned by nobody: a create that sends status owns no status
field, a status write no spec field.
"""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import Any

from watchproxy.api.status import ApiError
from watchproxy.core.validation import go_quote
from watchproxy.registry.fieldmanager import managed as mf
from watchproxy.registry.fieldmanager.reset import reset_fields
from watchproxy.registry.fieldmanager.typed import TypedError, empty_object, root_type, with_zero
from watchproxy.resources import ResourceType

# The request's User-Agent, set by the API edge (api/app.py) for the request's task: the default
# manager name (handlers/rest.go managerOrUserAgent).
user_agent: ContextVar[str] = ContextVar("user_agent", default="")
# Writes outside any request: the built-in controllers and bootstrap.
INTERNAL_MANAGER = "watchproxy"
FIELD_MANAGER_MAX_LENGTH = 128
# Subresources whose writes kube does not track (BindingREST writes the pod directly).
UNTRACKED_SUBRESOURCES = frozenset({"binding"})


def manager_name(field_manager: str) -> str:
    """managerOrUserAgent: the fieldManager option, else the User-Agent up to its first `/`."""
    if field_manager:
        return field_manager
    agent = user_agent.get()
    return agent.split("/", 1)[0] if agent else INTERNAL_MANAGER


def validate_field_manager(field_manager: str, options_kind: str) -> None:
    """ValidateFieldManager: at most 128 bytes, printable characters only. Raises 422 Invalid
    against `<options_kind>.meta.k8s.io`."""
    causes = []
    if len(field_manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        causes.append(
            (
                "FieldValueTooLong",
                f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes",
            )
        )
    for index, char in enumerate(field_manager):
        if not char.isprintable():  # Go's unicode.IsPrint: of the spaces, only U+0020
            causes.append(
                (
                    "FieldValueInvalid",
                    f"Invalid value: {go_quote(field_manager)}: invalid character "
                    f"U+{ord(char):04X} (at position {len(field_manager[:index].encode())})",
                )
            )
    if causes:
        raise options_invalid(options_kind, "fieldManager", causes)


def options_invalid(kind: str, field: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid against `<kind>.meta.k8s.io` (the handlers' options validation)."""
    text = ", ".join(f"{field}: {message}" for _, message in causes)
    if len(causes) > 1:
        text = "[" + text + "]"
    return ApiError(
        422,
        "Invalid",
        f'{kind}.meta.k8s.io "" is invalid: {text}',
        details={
            "group": "meta.k8s.io",
            "kind": kind,
            "causes": [{"reason": r, "message": m, "field": field} for r, m in causes],
        },
    )


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or (
        "managedFields" not in meta and "resourceVersion" not in meta
    ):
        return obj
    rest = {k: v for k, v in meta.items() if k not in ("managedFields", "resourceVersion")}
    return {**obj, "metadata": rest}


def api_version_of(resource: ResourceType) -> str:
    return resource.api_version


def track(
    resource: ResourceType,
    live: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    subresource: str = "",
) -> None:
    """Record in `new.metadata.managedFields` what `manager` changed from `live` (None: a
    create). Sets the request's managedFields as given when it sends valid non-empty ones on
    the main resource (`[]` or `[{}]` resets them); otherwise, invalid ones included, continues
    the live object's. Never raises: an object the type's rules cannot walk keeps the live
    object's managedFields (UpdateNoErrors)."""
    if subresource in UNTRACKED_SUBRESOURCES:
        return
    meta = new.setdefault("metadata", {})
    live_meta = (live or {}).get("metadata") or {}
    # decodeLiveOrNew: a subresource never sets managedFields; the main resource may reset
    # them or send its own, and entries that do not decode (or none) leave the live ones.
    reset = not subresource and mf.is_reset(meta.get("managedFields"))
    sent = mf.Managed()
    if not reset and not subresource:  # a subresource's own entries are never read
        try:
            sent = mf.decode(meta.get("managedFields"))
        except mf.DecodeError:
            pass
    if reset:
        managed = mf.Managed()
    elif not sent.sets or subresource:
        try:
            managed = mf.decode(live_meta.get("managedFields"))
        except mf.DecodeError:
            managed = mf.Managed()
    else:
        managed = sent
    try:
        atom = root_type(resource)
        # Both sides as kube's typed objects have them: value-typed structs always there.
        zero = empty_object(resource)
        clean = with_zero(_without_managed(new), zero)
        before = zero if live is None else with_zero(_without_managed(live), zero)
        version = api_version_of(resource)
        key = mf.identifier(manager, mf.UPDATE, version, subresource)
        ignored = reset_fields(resource, subresource)
        comparison = mf.record_update(before, clean, atom, managed, key, version, ignored)
        mf.cap_update_managers(managed)
    except TypedError:
        # UpdateNoErrors: the live object's entries stay as they were.
        if live_meta.get("managedFields"):
            meta["managedFields"] = live_meta["managedFields"]
        else:
            meta.pop("managedFields", None)
        return
    entries = mf.encode(managed)
    if live is not None and comparison.same() and _same_but_time(entries, live_meta):
        entries = live_meta.get("managedFields") or []
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


def keep_times_if_unchanged(live: dict[str, Any], new: dict[str, Any]) -> None:
    """IgnoreManagedFieldsTimestampsTransformer for an apply, once the strategy has run: an
    object that ends up as it was, but for its entries' times, keeps the live entries (an
    atomic list applied without its defaults is a change until defaulting restores it)."""
    live_meta = live.get("metadata") or {}
    entries = (new.get("metadata") or {}).get("managedFields")
    if not isinstance(entries, list) or not _same_but_time(entries, live_meta):
        return
    if _without_managed(new) == _without_managed(live):
        # Unchanged: the live object itself, so the bytes match and nothing is written.
        new.clear()
        new.update(copy.deepcopy(live))


def _same_but_time(entries: list[dict[str, Any]], live_meta: dict[str, Any]) -> bool:
    """IgnoreManagedFieldsTimestampsTransformer: an unchanged object keeps its entries' times."""
    old = live_meta.get("managedFields")
    if not isinstance(old, list) or len(old) != len(entries):
        return False
    for mine, theirs in zip(entries, old, strict=True):
        if not isinstance(theirs, dict):
            return False
        if {k: v for k, v in mine.items() if k != "time"} != {
            k: v for k, v in theirs.items() if k != "time"
        }:
            return False
    return True
