"""Request bodies as JSON objects, under kube-apiserver's decoding limits (core/json_limits.py):
any limit broken is a 400 BadRequest Status, never a crash deeper down (issue 6).

A protobuf body obeys them too: the JSON its RawExtension and FieldsV1 fields carry is parsed by
kubeproto without them, so the decoded object is checked as a whole (object_problems).

Duplicate fields, which orjson cannot see, are found by a second parse only for writes whose
`fieldValidation` is Strict or Warn (json_duplicates here, yaml_duplicates in api/yaml_body.py);
check_body hands them to registry/field_validation.py, which reports them with the unknown
fields."""

from __future__ import annotations

import json
from typing import Any

import orjson

from watchproxy.api.params import IGNORE
from watchproxy.api.status import bad_request
from watchproxy.api.yaml_body import MEDIA_TYPE as YAML_MEDIA_TYPE
from watchproxy.api.yaml_body import strict_error as yaml_strict_error
from watchproxy.api.yaml_body import yaml_duplicates
from watchproxy.core.json_limits import JsonLimitError, loads, object_problems
from watchproxy.core.validation import go_quote
from watchproxy.kubeproto.decode import MEDIA_TYPE, decode_protobuf
from watchproxy.registry.field_validation import check_body_fields
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]

DECODE_PREFIX = "the body of the request could not be decoded as JSON: "
PROTOBUF_DECODE_PREFIX = "the body of the request could not be decoded as protobuf: "


def decode_json_object(body: bytes) -> JsonObject:
    """A JSON request body that must be an object (create, update, DeleteOptions, bindings).

    Raises ApiError 400 BadRequest: `the body of the request could not be decoded as JSON: ...`
    for the rules of core/json_limits.py, `the body of the request must be a JSON object`
    otherwise."""
    try:
        obj = loads(body)
    except JsonLimitError as exc:
        raise bad_request(DECODE_PREFIX + str(exc)) from None
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    return obj


def decode_protobuf_object(body: bytes) -> JsonObject:
    """A Kubernetes protobuf request body as the JSON object kube makes of it (kubeproto).

    Raises ApiError 400 BadRequest `the body of the request could not be decoded as protobuf:
    ...` when it does not decode, or when the object breaks a limit of core/json_limits.py
    (`metadata: exceeded max depth of 250`: embedded JSON nested too deep)."""
    try:
        obj = decode_protobuf(body)
    except ValueError as exc:
        raise bad_request(PROTOBUF_DECODE_PREFIX + str(exc)) from exc
    problems = object_problems(obj)
    if problems:
        field, message = problems[0]
        raise bad_request(f"{PROTOBUF_DECODE_PREFIX}{field}: {message}")
    return obj


def json_duplicates(body: bytes) -> dict[str, list[str]]:
    """The keys that appear more than once in an object of the JSON `body`, by the path of
    that object (`""` the top, `spec.containers[0]`), in document order: what kube's strict
    decoder reports as `duplicate field "spec.replicas"` (sigs.k8s.io/json decode.go
    DisallowDuplicateFields), the last value winning as it does when decoding leniently.

    For a body `loads` accepted (any other answers {}). orjson cannot see duplicates, so this
    is a second parse by the standard library's C scanner, paid only by writes that asked for
    Strict or Warn; only a body that has duplicates is walked in Python to name their paths."""
    marked: dict[int, list[str]] = {}
    held: list[JsonObject] = []  # keeps the marked dicts, and so their ids, alive

    def pairs_hook(pairs: list[tuple[str, Any]]) -> JsonObject:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            twice: list[str] = []
            for key, _ in pairs:
                if key not in seen:
                    seen.add(key)
                elif key not in twice:
                    twice.append(key)
            marked[id(obj)] = twice
            held.append(obj)
        return obj

    try:
        tree = json.loads(body, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than the interpreter's stack (a few thousand levels);
        # the depth-limited decode that follows refuses such a body with kube's 400 (review
        # finding: it was a 500).
        return {}
    found: dict[str, list[str]] = {}
    if not marked:
        return found
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack:  # depth first, children in order: the document's order
        node, path = stack.pop()
        if isinstance(node, dict):
            if id(node) in marked:
                found[path] = marked[id(node)]
            children = [(v, f"{path}.{k}" if path else k) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(node)]
        else:
            continue
        stack.extend(reversed([c for c in children if isinstance(c[0], dict | list)]))
    return found


# The fields of a JSON patch operation (endpoints/handlers/patch.go jsonPatchOp).
_JSON_PATCH_FIELDS = frozenset({"op", "path", "from", "value"})


def patch_strict_errors(body: bytes, patch_type: str) -> list[str]:
    """The strict errors of a patch body itself, for Strict and Warn (handlers/patch.go
    applyJSPatch, strategicPatchObject): a JSON patch's operations are decoded into
    {op, path, from, value} (`json patch unknown field "[0].foo"`, `json patch duplicate
    field "[0].op"`); a merge or strategic merge patch into a map, where only duplicates can
    be wrong (`duplicate field "spec.replicas"`). [] for a body that is not JSON: the patch
    itself fails later, with its own error."""
    duplicates = json_duplicates(body)
    twice = [
        (path, f"{path}.{key}" if path else key)
        for path, keys in duplicates.items()
        for key in keys
    ]
    if patch_type != "application/json-patch+json":
        return [f"duplicate field {go_quote(child)}" for _, child in twice]
    try:
        operations = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(operations, list):
        return []
    errors: list[str] = []
    for index, operation in enumerate(operations):
        where = f"[{index}]"
        if not isinstance(operation, dict):
            continue
        own = set(duplicates.get(where, ()))
        for key in operation:  # a duplicate is reported where its key first appears
            if key in own:
                errors.append(f"duplicate field {go_quote(f'{where}.{key}')}")
            if key not in _JSON_PATCH_FIELDS:
                errors.append(f"unknown field {go_quote(f'{where}.{key}')}")
            elif key == "value":
                inside = f"{where}.value"
                errors.extend(
                    f"duplicate field {go_quote(child)}"
                    for path, child in twice
                    if path == inside or path.startswith((inside + ".", inside + "["))
                )
    return ["json patch " + error for error in errors]


def check_body(
    resource: ResourceType,
    subresource: str,
    obj: JsonObject,
    body: bytes,
    content_type: str,
    mode: str,
) -> list[str]:
    """A decoded create or update body (`obj`, from `body`) checked for unknown and duplicate
    fields by the `fieldValidation` `mode` (registry/decoding.py check_body_fields: unknown
    fields are removed; Strict raises kube's 400; Warn answers the warnings). Duplicates are
    looked for only under Strict and Warn: Ignore keeps the one orjson parse. Protobuf cannot
    repeat a field the way JSON can (kube's protobuf decoding has no strict mode); a YAML
    body's duplicates come first, as one error (kube's YAMLToJSONStrict)."""
    media = content_type.split(";")[0].strip().lower()
    duplicates: dict[str, list[str]] = {}
    leading: list[str] = []
    if mode != IGNORE and media == YAML_MEDIA_TYPE:
        lines = yaml_duplicates(body)
        leading = [yaml_strict_error(lines)] if lines else []
    elif mode != IGNORE and media != MEDIA_TYPE:
        duplicates = json_duplicates(body)
    return check_body_fields(resource, subresource, obj, mode, duplicates, leading)
