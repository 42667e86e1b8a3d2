"""Unknown and duplicate fields of a write's body, by its `fieldValidation` (Strict, Warn,
Ignore), with kube's words and order.

kube decodes a body into the Go type (built-ins) or prunes it by the CRD's structural schema
(custom resources): fields nothing declares are dropped in every mode -- watchproxy never stores
them either -- and reported by the directive: Strict refuses the write, Warn answers one
`Warning` header each, Ignore says nothing (endpoints/handlers/create.go, update.go, patch.go,
rest.go; apiextensions-apiserver customresource_handler.go). Built-in types are checked against
their OpenAPI definition (schema/builtin.py), custom resources against their schema, both by
schema/pruning.py; the body's duplicate fields come from api/decoding.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from watchproxy.api.params import IGNORE, STRICT
from watchproxy.api.status import invalid
from watchproxy.core.validation import go_quote
from watchproxy.registry.decoding import JsonObject, cannot_decode
from watchproxy.resources import ResourceType
from watchproxy.schema.builtin import load
from watchproxy.schema.goformat import go_float
from watchproxy.schema.gotypes import type_error
from watchproxy.schema.pruning import Walk, compiler_for

# Subresources whose body is the resource's own type; any other's is the kind the body names.
_SAME_TYPE_SUBRESOURCES = ("", "status", "ephemeralcontainers", "resize")
_MAX_STRICT_ERRORS = 100  # sigs.k8s.io/json saveStrictError stops there
STRICT_PREFIX = "strict decoding error: "


def _schema_for(
    resource: ResourceType, subresource: str, obj: JsonObject
) -> tuple[Mapping[str, Any], Mapping[str, Mapping[str, Any]], bool] | None:
    """(schema, definitions, is_custom) of the body of a write, None when there is none."""
    builtin = load()
    if resource.custom is not None and subresource in _SAME_TYPE_SUBRESOURCES:
        schema = resource.custom.schema
        return (schema, builtin.definitions, True) if schema is not None else None
    if subresource in _SAME_TYPE_SUBRESOURCES:
        name = resource.definition or builtin.definition_name(
            resource.group, resource.version, resource.kind
        )
    else:
        group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
        name = builtin.definition_name(group, version, str(obj.get("kind") or ""))
    schema = builtin.definitions.get(name) if name else None
    return (schema, builtin.definitions, False) if schema is not None else None


def _type_error(resource: ResourceType, subresource: str, obj: JsonObject) -> str | None:
    """Go's decode error for a value of the wrong JSON type in a built-in type's body
    (schema/gotypes.py); custom resources are validated by their schema instead."""
    found = _schema_for(resource, subresource, obj)
    if found is None or found[2]:
        return None
    return type_error(obj, found[0], found[1])


def _strict_errors(
    resource: ResourceType,
    subresource: str,
    obj: JsonObject,
    duplicates: Mapping[str, list[str]],
    *,
    remove: bool,
    sort_keys: bool = False,
) -> list[str]:
    """kube's strict decoding errors of `obj` (`unknown field "spec.foo"`, `duplicate field
    "spec.replicas"`), in kube's order; unknown fields are removed from `obj` when `remove`.

    Built-in types: as the JSON decoder meets them (document order; `sort_keys` for a patch
    result, which kube re-encodes with sorted keys), at most 100. Custom resources
    (customresource_handler.go schemaCoercingDecoder): the body's duplicates, then ObjectMeta's
    unknown fields, then the pruned ones sorted (pruning/algorithm.go)."""
    found = _schema_for(resource, subresource, obj)
    if found is None:
        return []
    schema, definitions, custom = found
    compiler = compiler_for(definitions)
    walk = Walk(
        compiler.meta(),
        remove=remove,
        duplicates=None if custom else duplicates,
        sort_keys=sort_keys,
    )
    walk.prune(obj, compiler.root(schema), "", root=True)
    if not custom:
        kinds = ("duplicate field " if twice else "unknown field " for twice, _ in walk.found)
        errors = [kind + go_quote(path) for kind, (_, path) in zip(kinds, walk.found, strict=True)]
        return list(dict.fromkeys(errors))[:_MAX_STRICT_ERRORS]
    twice = [f"{path}.{key}" if path else key for path, keys in duplicates.items() for key in keys]
    pruned = [path for _, path in walk.found]
    meta = sorted(p for p in pruned if p.startswith("metadata."))
    rest = sorted(p for p in pruned if not p.startswith("metadata."))
    return [f"duplicate field {go_quote(p)}" for p in twice] + [
        f'unknown field "{p}"' for p in meta + rest
    ]


def check_body_fields(
    resource: ResourceType,
    subresource: str,
    obj: JsonObject,
    mode: str,
    duplicates: Mapping[str, list[str]],
    leading: Sequence[str] = (),
) -> list[str]:
    """A create or update body against its type's schema, by the `fieldValidation` `mode`
    (Strict, Warn, Ignore; api/params.py): unknown fields are removed from `obj` in every mode
    (what decoding into the Go type does; custom resources are pruned). Answers the warnings
    for Warn (`unknown field "spec.foo"`, `duplicate field "spec.replicas"`), [] otherwise.

    Strict raises the 400 handlers/create.go and update.go give: `Pod in version "v1" cannot be
    handled as a Pod: strict decoding error: unknown field "spec.foo", ...`. `duplicates` are
    api/decoding.py json_duplicates of the body ({} when not asked for); `leading` are errors
    found before (a YAML body's duplicate keys, one error of several lines: as warnings, one
    per line, handlers/rest.go parseYAMLWarnings)."""
    wrong = _type_error(resource, subresource, obj)
    if wrong is not None:
        kind = str(obj.get("kind") or resource.kind)
        cannot_decode(kind, str(obj.get("apiVersion") or resource.version), wrong)
    errors = [*leading, *_strict_errors(resource, subresource, obj, duplicates, remove=True)]
    if not errors or mode == IGNORE:
        return []
    if mode == STRICT:
        kind = str(obj.get("kind") or resource.kind)
        cannot_decode(kind, str(obj.get("apiVersion") or resource.version), _strict(errors))
    return [line for error in errors for line in _warning_lines(error)]


_YAML_ERROR_PREFIXES = (
    "yaml: unmarshal errors:\n",
    "error converting YAML to JSON: yaml: unmarshal errors:\n",
)


def _warning_lines(error: str) -> list[str]:
    """handlers/rest.go parseYAMLWarnings: a go-yaml error is one warning per line."""
    for prefix in _YAML_ERROR_PREFIXES:
        if error.startswith(prefix):
            return [line.strip() for line in error[len(prefix) :].split("\n")]
    return [error]


def check_patched_fields(
    resource: ResourceType,
    subresource: str,
    patched: JsonObject,
    mode: str,
    patch_errors: list[str],
    smp_body: bytes | None,
    old: JsonObject | None = None,
) -> list[str]:
    """The object a JSON, merge or strategic merge patch made, as handlers/patch.go checks it:
    unknown fields are removed in every mode; Warn answers the warnings (`patch_errors`, the
    patch body's own strict errors, first); Strict raises the 422 kube gives, ` "" is invalid:
    patch: Invalid value: "<the patched object as JSON>": strict decoding error: ...`.

    `smp_body` is None for JSON and merge patches, whose result kube re-encodes with sorted
    keys (so that is the order of its errors); for a strategic merge patch it is the patch,
    which kube prints with Go's `%+v` in place of the object, and its errors are sorted
    (runtime/converter.go FromUnstructuredWithValidation).

    A value of the wrong JSON type fails the decode of the result in every mode: 422 `patch:
    Invalid value: "<the patched object as JSON>": json: cannot unmarshal ...`.

    `old`: the object the patch was applied to. Its top-level fields the patch left as they
    were (equal values with equal JSON encodings) are not walked: only what the request
    changed is. kube never reports or refuses what it decoded from storage either (its
    decode into the Go type dropped it silently), and what this proxy stored was checked
    when written; a status patch walks `status` alone."""
    view = _changed_fields(patched, old)
    wrong = _type_error(resource, subresource, view)
    if wrong is not None:
        detail = f"Invalid value: {go_quote(go_json(patched))}: {wrong}"
        raise invalid("", "", [("FieldValueInvalid", "patch", detail)])
    if mode == IGNORE:
        _remove_unknown(resource, subresource, patched, view)
        return []
    errors = _strict_errors(
        resource, subresource, view, {}, remove=False, sort_keys=smp_body is None
    )
    if smp_body is not None:
        errors.sort()
    errors = patch_errors + errors
    if errors and mode == STRICT:
        shown = go_value(orjson.loads(smp_body)) if smp_body is not None else go_json(patched)
        detail = f"Invalid value: {go_quote(shown)}: {_strict(errors)}"
        raise invalid("", "", [("FieldValueInvalid", "patch", detail)])
    if len(errors) > len(patch_errors):
        _remove_unknown(resource, subresource, patched, view)
    return errors


# Walked whatever they hold: the walk needs them to know the object (and they are short).
_ALWAYS_WALKED = ("apiVersion", "kind")


def _changed_fields(patched: JsonObject, old: JsonObject | None) -> JsonObject:
    """`patched` without the top-level fields that are the same in `old` (a new dict sharing
    the values, so a walk that removes below the top level removes from `patched`). Same
    means equal and encoded alike: `==` alone takes `true` for `1`, a type error."""
    if old is None:
        return patched
    view: JsonObject = {}
    for key, value in patched.items():
        if key not in _ALWAYS_WALKED and key in old:
            before = old[key]
            if value is before or (value == before and orjson.dumps(value) == orjson.dumps(before)):
                continue
        view[key] = value
    return view


def _remove_unknown(
    resource: ResourceType, subresource: str, patched: JsonObject, view: JsonObject
) -> None:
    """Remove the unknown fields of `view` (a part of `patched`, _changed_fields) from
    `patched`: below the top level they are shared; unknown top-level fields are popped."""
    keys = list(view)
    _strict_errors(resource, subresource, view, {}, remove=True)
    if view is not patched:
        for key in keys:
            if key not in view:
                patched.pop(key, None)


def _strict(errors: list[str]) -> str:
    return STRICT_PREFIX + ", ".join(errors)


def go_json(value: Any) -> str:
    """Go's json.Marshal of a decoded object: keys sorted, `<`, `>`, `&`, U+2028 and U+2029
    escaped (HTML-safe), compact."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    for char, escaped in _GO_JSON_ESCAPES:
        text = text.replace(char, escaped)
    return text


_GO_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def go_value(value: Any) -> str:
    """Go's `%+v` of a decoded JSON value: `map[a:1 b:[x y]]` (keys sorted), `<nil>`."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)
