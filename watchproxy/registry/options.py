"""Write options from the query string and the DeleteOptions body, validated as kube does.

Sources: apimachinery pkg/apis/meta/v1/types.go (CreateOptions, UpdateOptions, PatchOptions,
DeleteOptions) and pkg/apis/meta/v1/validation/validation.go (ValidateDryRun,
ValidateDeleteOptions). Invalid options are 422 Invalid against `<Kind>Options.meta.k8s.io`,
exactly as the apiserver's handlers (endpoints/handlers/create.go, update.go, patch.go,
delete.go) answer them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from watchproxy.api.status import ApiError, bad_request
from watchproxy.core.validation import INT64_MAX, INT64_MIN

DRY_RUN_ALL = "All"
ORPHAN = "Orphan"
BACKGROUND = "Background"
FOREGROUND = "Foreground"
PROPAGATION_POLICIES = (BACKGROUND, FOREGROUND, ORPHAN)
MAX_GRACE_SECONDS = 100 * 365 * 24 * 3600


@dataclass(frozen=True)
class WriteOptions:
    """CreateOptions / UpdateOptions / PatchOptions: what the write path reads of them."""

    dry_run: bool = False
    field_manager: str = ""


@dataclass(frozen=True)
class DeleteOptions:
    """metav1.DeleteOptions. `grace_period_seconds` None = the strategy's default."""

    dry_run: bool = False
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None

    def with_grace(self, seconds: int | None) -> DeleteOptions:
        return replace(self, grace_period_seconds=seconds)


def _invalid_options(kind: str, field: str, reason: str, message: str, value: str) -> ApiError:
    word = {"FieldValueNotSupported": "Unsupported value", "FieldValueInvalid": "Invalid value"}
    return ApiError(
        422,
        "Invalid",
        f'{kind}.meta.k8s.io "" is invalid: {field}: {word.get(reason, "Invalid value")}: '
        f"{value}: {message}",
        details={
            "group": "meta.k8s.io",
            "kind": kind,
            "causes": [
                {
                    "reason": reason,
                    "message": f"{word.get(reason, 'Invalid value')}: {value}: {message}",
                    "field": field,
                }
            ],
        },
    )


def _all_values(query: bytes, key: str) -> list[str]:
    return [v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == key]


def parse_dry_run(values: list[str], kind: str) -> bool:
    """`dryRun` may repeat; only "All" is allowed (ValidateDryRun). `dryRun=` is the value "",
    refused like any other (kube decodes it as []string{""}), never a real write."""
    if not values:
        return False
    if any(v != DRY_RUN_ALL for v in values):
        shown = "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"
        raise _invalid_options(
            kind, "dryRun", "FieldValueNotSupported", 'supported values: "All"', shown
        )
    return True


def write_options(query: bytes, kind: str) -> WriteOptions:
    """CreateOptions, UpdateOptions or PatchOptions (`kind`) from the query string."""
    managers = _all_values(query, "fieldManager")
    return WriteOptions(
        dry_run=parse_dry_run(_all_values(query, "dryRun"), kind),
        field_manager=managers[0] if managers else "",
    )


def _bool(text: str) -> bool:
    return text.lower() not in ("0", "false")


def delete_options(query: bytes, body: dict[str, Any] | None) -> DeleteOptions:
    """DeleteOptions from the body if there is one, else from the query string -- never both,
    as endpoints/handlers/delete.go decodes one or the other (a body's options win entirely:
    `?dryRun=All` next to a DeleteOptions body is ignored, as in kube)."""
    if body is not None:
        query = b""
        kind = body.get("kind")
        if kind not in (None, "", "DeleteOptions"):
            # The body is decoded as DeleteOptions; another kind is a decoding error, and
            # nothing is deleted.
            raise bad_request(f'the body of a delete must be DeleteOptions, not kind "{kind}"')
    data: dict[str, Any] = dict(body or {})
    pre = data.get("preconditions") or {}
    if not isinstance(pre, dict):
        raise bad_request("DeleteOptions.preconditions must be an object")
    dry_run_values = data.get("dryRun") or []
    if not isinstance(dry_run_values, list):
        raise bad_request("DeleteOptions.dryRun must be a list of strings")
    dry_run_values = [str(v) for v in dry_run_values] + _all_values(query, "dryRun")
    grace = data.get("gracePeriodSeconds")
    policy = data.get("propagationPolicy")
    orphan = data.get("orphanDependents")
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key == "gracePeriodSeconds" and value != "":
            try:
                grace = int(value)
            except ValueError as exc:
                raise bad_request(f'invalid gracePeriodSeconds: "{value}"') from exc
        elif key == "propagationPolicy" and value != "":
            policy = value
        elif key == "orphanDependents" and value != "":
            orphan = _bool(value)
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
        raise bad_request("DeleteOptions.gracePeriodSeconds must be an integer")
    if grace is not None and not INT64_MIN <= grace <= INT64_MAX:
        # What Go's query decoding (strconv.ParseInt) says of a number beyond int64.
        raise bad_request(f'strconv.ParseInt: parsing "{grace}": value out of range')
    if grace is not None:
        # Any int64 is a valid request; beyond a century it is the same as a century (datetime
        # cannot reach further, and no pod waits that long).
        grace = max(min(grace, MAX_GRACE_SECONDS), -MAX_GRACE_SECONDS)
    if policy is not None and policy not in PROPAGATION_POLICIES:
        raise _invalid_options(
            "DeleteOptions",
            "propagationPolicy",
            "FieldValueNotSupported",
            # ValidateDeleteOptions' list, in its order ("nil": the field may be unset).
            'supported values: "Foreground", "Background", "Orphan", "nil"',
            f'"{policy}"',
        )
    if orphan is not None and policy is not None:
        raise _invalid_options(
            "DeleteOptions",
            "propagationPolicy",
            "FieldValueInvalid",
            "orphanDependents and deletionPropagation cannot be both set",
            f'"{policy}"',
        )
    rv = pre.get("resourceVersion")
    uid = pre.get("uid")
    return DeleteOptions(
        dry_run=parse_dry_run(dry_run_values, "DeleteOptions"),
        grace_period_seconds=grace,
        propagation_policy=policy,
        orphan_dependents=bool(orphan) if orphan is not None else None,
        precondition_uid=str(uid) if uid else None,
        precondition_resource_version=str(rv) if rv else None,
    )
