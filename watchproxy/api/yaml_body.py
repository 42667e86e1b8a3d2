"""YAML request bodies: `application/yaml` creates and updates, and the duplicate keys of any
YAML body (server-side apply's `application/apply-patch+yaml` too).

kube reads YAML by converting it to JSON (sigs.k8s.io/yaml YAMLToJSON over go-yaml v2, YAML
1.1: `yes` is true, timestamps stay strings, keys become strings) and decoding that JSON as it
decodes a JSON body; with fieldValidation Strict or Warn it converts once more with
YAMLToJSONStrict, whose only extra finding is a duplicate key (runtime/serializer/json/json.go
unmarshal). PyYAML's SafeLoader is YAML 1.1 too; it differs from go-yaml v2 on rare plain
scalars (`1e3` is a string to PyYAML, a float to go-yaml).
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from typing import Any

import yaml

from watchproxy.api.status import bad_request
from watchproxy.core.json_limits import DEPTH_MESSAGE, MAX_DEPTH, object_problems
from watchproxy.core.validation import go_quote

MEDIA_TYPE = "application/yaml"
DECODE_PREFIX = "the body of the request could not be decoded as YAML: "
STRICT_PREFIX = "error converting YAML to JSON: yaml: unmarshal errors:\n  "
# Expanded nodes a document may reach through aliases (a "billion laughs" body is refused,
# as go-yaml refuses it: `yaml: document contains excessive aliasing`).
MAX_EXPANDED_NODES = 1_000_000
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: go-yaml v2 decodes a timestamp-looking
    scalar into interface{} as its string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _CLoader(yaml.CSafeLoader):
    """_Loader with libyaml's parser (the same YAML 1.1 grammar, in C; the constructor and the
    resolvers stay PyYAML's): a server-side apply body is parsed twice (its object, its
    duplicate keys), which in pure Python was a third of the apply's CPU. A body it refuses is
    parsed again by _Loader, whose error messages the answers carry."""


_CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


def decode_yaml_object(body: bytes) -> dict[str, Any]:
    """A YAML body that must be one object, as the JSON kube converts it to.

    Raises ApiError 400: `the body of the request could not be decoded as YAML: ...` for a
    syntax error, excessive aliasing, nesting beyond core/json_limits.py's depth, a value JSON
    cannot hold (`.inf`); `the body of the request must be a JSON object` otherwise."""
    try:
        obj = _decode(body, _CLoader)
    except (yaml.YAMLError, RecursionError, ValueError):
        obj = _NOT_DECODED  # the words of the error are the pure-Python parser's
    if obj is _NOT_DECODED:
        try:
            obj = _decode(body, _Loader)
        except yaml.YAMLError as exc:
            raise bad_request(DECODE_PREFIX + str(exc)) from None
        except RecursionError:
            raise bad_request(DECODE_PREFIX + DEPTH_MESSAGE) from None
        except ValueError as exc:
            raise bad_request(DECODE_PREFIX + str(exc)) from None
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    problems = object_problems(obj)
    if problems:
        field, message = problems[0]
        raise bad_request(f"{DECODE_PREFIX}{field}: {message}")
    return obj


_NOT_DECODED: Any = object()


def _decode(body: bytes, loader_class: type[_Loader] | type[_CLoader]) -> Any:
    """The one document of `body` as JSON values; raises what the loader raises."""
    loader = loader_class(body)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
        value = loader.construct_document(node) if node is not None else None
        return _jsonable(value)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH + 1:
            raise ValueError(DEPTH_MESSAGE)
        known = sizes.get(id(node))
        if known is not None:
            if known < 0:  # an anchor inside its own value
                raise ValueError("yaml: anchor value contains itself")
            return known
        sizes[id(node)] = -1
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        if total > MAX_EXPANDED_NODES:
            raise ValueError("yaml: document contains excessive aliasing")
        sizes[id(node)] = total
        return total

    size(root, 0)


def _key(key: Any) -> str:
    """A mapping key as sigs.k8s.io/yaml makes it a JSON key."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(_jsonable(key))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ValueError(f"json: unsupported value: {value}")
    if isinstance(value, bytes):  # !!binary
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.date):  # an explicit !!timestamp
        return value.isoformat()
    if isinstance(value, set):  # !!set: a mapping of keys to null
        return {_key(k): None for k in value}
    return value


def yaml_duplicates(body: bytes) -> list[str]:
    """The duplicate keys of a YAML body, as go-yaml v2's strict decoding words them, in
    document order: `line 5: key "replicas" already set in map` (the line of the second
    key, 1-based; the key as Go's `%#v` prints it). kube joins them into one strict error,
    strict_error(lines); as warnings each line is one (handlers/rest.go parseYAMLWarnings).
    [] for a body that is not YAML."""
    try:
        documents = list(yaml.compose_all(body, Loader=_CLoader))
    except (yaml.YAMLError, RecursionError):
        try:  # as decode_yaml_object: what libyaml refuses, PyYAML decides
            documents = list(yaml.compose_all(body, Loader=_Loader))
        except (yaml.YAMLError, RecursionError):
            return []
    found: list[str] = []
    # Iterators of (key, value) children, depth first: each key is checked before the values
    # after it, as go-yaml decodes a mapping.
    stack: list[Iterator[tuple[yaml.Node | None, yaml.Node]]] = [
        iter([(None, doc) for doc in documents if doc is not None])
    ]
    seen: list[set[tuple[str, str]]] = [set()]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            seen.pop()
            continue
        key, node = step
        if isinstance(key, yaml.ScalarNode):
            ident = (key.tag, key.value)
            if ident in seen[-1]:
                shown = go_quote(key.value) if key.tag.endswith(":str") else key.value
                found.append(f"line {key.start_mark.line + 1}: key {shown} already set in map")
            seen[-1].add(ident)
        if len(stack) > MAX_DEPTH + 1:
            continue  # the body is refused for its depth anyway
        if isinstance(node, yaml.MappingNode):
            stack.append(iter(node.value))
            seen.append(set())
        elif isinstance(node, yaml.SequenceNode):
            stack.append(iter([(None, item) for item in node.value]))
            seen.append(set())
    return found


def strict_error(lines: list[str]) -> str:
    """The one strict error kube makes of go-yaml's duplicate-key lines."""
    return STRICT_PREFIX + "\n  ".join(lines)


def apply_patch_duplicates(body: bytes, mode: str) -> list[str]:
    """Server-side apply's own check of its YAML body (handlers/patch.go applyPatcher): for
    Warn the warnings, one per duplicate key (`line 5: key "replicas" already set in map`);
    for Strict a duplicate is the 400 `error strict decoding patch: error converting YAML to
    JSON: yaml: unmarshal errors:\\n  line 5: key "replicas" already set in map`; Ignore
    never parses twice. Unknown fields of the applied object are the apply machinery's."""
    if mode == "Ignore":
        return []
    lines = yaml_duplicates(body)
    if lines and mode == "Strict":
        raise bad_request("error strict decoding patch: " + strict_error(lines))
    return lines
