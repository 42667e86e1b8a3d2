"""ListOptions from the query string, validated the way kube-apiserver does it.

Parse errors (selectors, continue tokens, resourceVersion) are 400; invalid combinations of
options are 422 against `ListOptions.meta.k8s.io` (apimachinery internalversion/validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from watchproxy.api.status import ApiError, bad_request
from watchproxy.core.selectors import (
    FieldRequirement,
    FieldSelector,
    LabelSelector,
    SelectorError,
)
from watchproxy.core.validation import go_quote
from watchproxy.resources import ResourceType

EXACT = "Exact"
NOT_OLDER_THAN = "NotOlderThan"


def parse_bool(value: str | None) -> bool:
    """Go's query-to-bool conversion: false only when absent, "0" or "false" (any case)."""
    return value is not None and value.lower() not in ("0", "false")


@dataclass(frozen=True)
class ListOptions:
    watch: bool
    labels: LabelSelector
    fields: FieldSelector
    resource_version: str
    resource_version_match: str
    limit: int
    continue_token: str
    # None when absent. 0 (like absent) means the server's default watch timeout, min request
    # timeout x (1 + rand) (handlers/get.go handleWatch); api/watches.py applies it.
    timeout_seconds: float | None
    allow_bookmarks: bool
    send_initial_events: bool | None


def _forbidden(field: str, message: str, reason: str = "FieldValueForbidden") -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f'ListOptions.meta.k8s.io "" is invalid: {field}: '
        f"{'Forbidden' if reason == 'FieldValueForbidden' else 'Unsupported value'}: {message}",
        details={
            "group": "meta.k8s.io",
            "kind": "ListOptions",
            "causes": [{"reason": reason, "field": field, "message": message}],
        },
    )


def _field_selector(text: str, resource: ResourceType, name: str | None) -> FieldSelector:
    try:
        selector = FieldSelector.parse(text)
    except SelectorError as exc:
        raise bad_request(str(exc)) from exc
    reqs = []
    for req in selector.requirements:
        canonical = resource.canonical_field(req.field)
        if canonical is None:
            raise bad_request(resource.unknown_field_message(req.field))
        reqs.append(FieldRequirement(canonical, req.operator, req.value))
    if name is not None:
        pinned = selector.exact_value("metadata.name")
        if pinned is not None and pinned != name:
            raise bad_request("fieldSelector metadata.name doesn't match requested name")
        if pinned is None:
            reqs.append(FieldRequirement("metadata.name", "=", name))
    return FieldSelector(reqs)


def parse_list_options(
    query: bytes, resource: ResourceType, *, name: str | None = None, force_watch: bool = False
) -> ListOptions:
    params: dict[str, str] = {}
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        params.setdefault(key, value)
    watch = force_watch or parse_bool(params.get("watch"))
    try:
        labels = LabelSelector.parse(params.get("labelSelector", ""))
    except SelectorError as exc:
        raise bad_request(str(exc)) from exc
    fields = _field_selector(params.get("fieldSelector", ""), resource, name)
    limit_text = params.get("limit", "") or "0"
    try:
        limit = int(limit_text)
    except ValueError as exc:
        raise bad_request(f'invalid limit: "{limit_text}"') from exc
    timeout: float | None = None
    if params.get("timeoutSeconds"):
        try:
            timeout = float(int(params["timeoutSeconds"]))
        except ValueError as exc:
            raise bad_request(f'invalid timeoutSeconds: "{params["timeoutSeconds"]}"') from exc
    sie_text = params.get("sendInitialEvents")
    opts = ListOptions(
        watch=watch,
        labels=labels,
        fields=fields,
        resource_version=params.get("resourceVersion", ""),
        resource_version_match=params.get("resourceVersionMatch", ""),
        limit=max(limit, 0),
        continue_token=params.get("continue", ""),
        timeout_seconds=timeout,
        allow_bookmarks=parse_bool(params.get("allowWatchBookmarks")),
        send_initial_events=None if sie_text is None else parse_bool(sie_text),
    )
    _validate(opts)
    return opts


def _validate(o: ListOptions) -> None:
    match = o.resource_version_match
    if not o.watch:
        if o.send_initial_events is not None:
            raise _forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list")
        if match:
            if not o.resource_version:
                raise _forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            if o.continue_token:
                raise _forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            if match not in (EXACT, NOT_OLDER_THAN):
                raise _forbidden(
                    "resourceVersionMatch",
                    f'"{match}": supported values: "Exact", "NotOlderThan", ""',
                    "FieldValueNotSupported",
                )
            if match == EXACT and o.resource_version == "0":
                raise _forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
        if o.continue_token and o.resource_version not in ("", "0"):
            raise bad_request("specifying resource version is not allowed when using continue")
        return
    if o.send_initial_events is not None:
        if match != NOT_OLDER_THAN:
            raise _forbidden(
                "sendInitialEvents",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
    elif match:
        raise _forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        )
    if match and match != NOT_OLDER_THAN:
        raise _forbidden(
            "resourceVersionMatch",
            f'"{match}": supported values: "NotOlderThan"',
            "FieldValueNotSupported",
        )
    if match and o.continue_token:
        raise _forbidden(
            "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"
        )


# -- fieldValidation (CreateOptions, UpdateOptions, PatchOptions) -------------------------------

STRICT = "Strict"
WARN = "Warn"
IGNORE = "Ignore"
# ValidateFieldValidation's allowed values, as its sets.NewString(...).List() prints them.
_FIELD_VALIDATION_VALUES = ("", IGNORE, STRICT, WARN)


def field_validation(query: bytes, kind: str) -> str:
    """The `fieldValidation` directive of a write: Strict, Warn or Ignore; absent or empty is
    Warn, the server's default since kube 1.27 (endpoints/handlers/rest.go fieldValidation).

    `kind` is the options kind (CreateOptions, UpdateOptions, PatchOptions). Any other value is
    the 422 apimachinery's ValidateFieldValidation gives: `CreateOptions.meta.k8s.io "" is
    invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore",
    "Strict", "Warn"` (exact, case-sensitive match; the first value of a repeated parameter)."""
    value = ""
    for key, item in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key == "fieldValidation":
            value = item
            break
    if value not in _FIELD_VALIDATION_VALUES:
        supported = ", ".join(go_quote(v) for v in _FIELD_VALIDATION_VALUES)
        message = f"Unsupported value: {go_quote(value)}: supported values: {supported}"
        raise ApiError(
            422,
            "Invalid",
            f'{kind}.meta.k8s.io "" is invalid: fieldValidation: {message}',
            details={
                "group": "meta.k8s.io",
                "kind": kind,
                "causes": [
                    {
                        "reason": "FieldValueNotSupported",
                        "message": message,
                        "field": "fieldValidation",
                    }
                ],
            },
        )
    return value or WARN
