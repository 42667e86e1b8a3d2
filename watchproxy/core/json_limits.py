"""JSON decoding with the limits kube-apiserver's decoder enforces, so bad input is a
400 Status instead of a crash deeper down (issue 6).

`loads(body)` parses with orjson and then applies three rules:

* **Nesting depth** at most `MAX_DEPTH` containers (`{}` is depth 1, `{"a": []}` depth 2).
  kube-apiserver's JSON scanner allows 10000 (sigs.k8s.io/json internal/golang/encoding/json
  scanner.go `maxNestingDepth`; apimachinery pkg/util/json/json.go `maxDepth`, message
  "exceeded max depth of %d"). watchproxy cannot go that deep: orjson serialises at most 254
  levels, and a served object is nested up to 3 levels deeper (a Table row's `object`), so
  anything deeper could be stored but never served -- before this rule it was a 500 with a
  traceback. The message is apimachinery's, with our limit.
* **Integers within int64.** An integer literal outside [-2^63, 2^63-1] is refused with Go's
  `json: cannot unmarshal number N into Go value of type int64` (the UnmarshalTypeError kube
  returns for such a number in an int64 field). orjson would silently turn it into a float
  (stored as `1e+32`). Note: kube keeps such a number as a float64 in schemaless fields
  (sigs.k8s.io/json `PreserveInts`); watchproxy has no schemas, so it refuses everywhere.
* **Valid UTF-8 and no lone surrogates** in strings: orjson refuses both (invalid UTF-8,
  `"\\ud800"`), so they are 400s with orjson's message. Note: Go's decoder replaces them with
  U+FFFD instead (sigs.k8s.io/json decode.go `unquoteBytes`); refusing is deliberate here.

Everything else (syntax errors) is orjson's message. api/decoding.py turns these into 400
Status errors for request bodies; core/patch.py parses PATCH bodies with `loads`.
`object_problems` checks an already-decoded object (a patch result) against the same limits.

`loads` runs on every request body, so its checks run at C speed: the depth by letting orjson
serialise the value inside a few more levels (it refuses beyond its own ceiling, the reason for
MAX_DEPTH; cheaper than counting the brackets of the body), the integers by one translation of
the body that shows whether 19 digits follow a JSON separator anywhere (digits inside strings,
such as nanosecond timestamps, do not). Only a body that has such digits is tokenised in Python.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from watchproxy.core.validation import INT64_MAX, INT64_MIN

MAX_DEPTH = 250
DEPTH_MESSAGE = f"exceeded max depth of {MAX_DEPTH}"  # apimachinery util/json, our limit

# orjson serialises at most this many nested containers (TypeError "Recursion limit reached").
_ORJSON_WRITE_DEPTH = 254
# int64's extremes have 19 digits: a body without 19 digits right after a separator (':', ',' or
# '[', then whitespace and a '-' sign) or at its start holds no literal beyond them. In the body
# translated by _NUMBER_SHAPE (separators ',', digits '0', whitespace and '-' dropped, any other
# byte 'x') that is one substring search: rb'(?:^|[:,\[])\s*-?[0-9]{19}' as `re` would scan it is
# ten times slower.
_NUMBER_SHAPE = bytes(
    ord("0") if byte in b"0123456789" else ord(",") if byte in b":,[" else ord("x")
    for byte in range(256)
)
_LONG_DIGITS = b"0" * 19
# JSON strings and numbers in order; on valid JSON every '"' outside a string starts one, so
# scanning left to right never mistakes digits inside a string for a number.
_TOKENS = re.compile(
    rb'"[^"\\]*(?:\\.[^"\\]*)*"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?', re.DOTALL
)


class JsonLimitError(ValueError):
    """JSON kube-apiserver would refuse to decode; `str()` is the message (no prefix)."""


def int64_message(literal: str) -> str:
    """Go's UnmarshalTypeError for a number beyond int64 (encoding/json decode.go)."""
    return f"json: cannot unmarshal number {literal} into Go value of type int64"


def loads(body: bytes) -> Any:
    """Any JSON value from `body`, under the rules above; raises JsonLimitError."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):  # orjson's own limit, 1024
            raise JsonLimitError(DEPTH_MESSAGE) from None
        raise JsonLimitError(str(exc)) from None
    # Each container opens and closes: a body of 2 * MAX_DEPTH bytes or less cannot be too deep.
    if len(body) > 2 * MAX_DEPTH and _too_deep(value):
        raise JsonLimitError(DEPTH_MESSAGE)
    if _may_hold_long_number(body):
        literal = _first_big_integer(body)
        if literal is not None:
            raise JsonLimitError(int64_message(literal))
    return value


def object_problems(obj: Any) -> list[tuple[str, str]]:
    """(field path, message) for each way an already-decoded value breaks the rules above:
    too deep (path: the top-level field holding the deepest part) or holding an integer beyond
    int64 (path: where it is). For objects built by a patch, whose body orjson parsed."""
    try:
        raw = orjson.dumps(_wrapped(obj))
    except TypeError:  # too deep, an integer beyond 64 bits, or not JSON at all
        raw = None
    problems: list[tuple[str, str]] = []
    if raw is None:
        deep = _too_deep_field(obj)
        if deep is not None:
            problems.append((deep, DEPTH_MESSAGE))
    if raw is None or _may_hold_long_number(raw):
        problems.extend(_big_ints(obj))
    return problems


def _wrapped(value: Any) -> Any:
    """`value` inside as many lists as orjson can write beyond MAX_DEPTH: orjson.dumps of the
    result fails exactly when `value` nests more than MAX_DEPTH containers."""
    for _ in range(_ORJSON_WRITE_DEPTH - MAX_DEPTH):
        value = [value]
    return value


def _may_hold_long_number(body: bytes) -> bool:
    """Whether the JSON `body` may hold an integer literal of 19 digits or more."""
    shape = body.translate(_NUMBER_SHAPE, b" \t\r\n-")
    return shape.startswith(_LONG_DIGITS) or b"," + _LONG_DIGITS in shape


def _too_deep(value: Any) -> bool:
    """Whether a value decoded by orjson (so serialisable) nests more than MAX_DEPTH containers."""
    try:
        orjson.dumps(_wrapped(value))
    except TypeError:
        return True
    return False


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests more than `limit` containers (iterative: no recursion limit). Slow
    (Python): only to name the field of an object already known to be too deep, or not JSON."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _too_deep_field(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "" if _depth_exceeds(obj, MAX_DEPTH) else None
    for key, child in obj.items():
        if _depth_exceeds(child, MAX_DEPTH - 1):
            return str(key)
    return None


def _first_big_integer(body: bytes) -> str | None:
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token[:1] == b'"' or b"." in token or b"e" in token or b"E" in token:
            continue
        if not INT64_MIN <= int(token) <= INT64_MAX:
            return token.decode()
    return None


def _big_ints(obj: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
        elif isinstance(node, int) and not isinstance(node, bool):
            if not INT64_MIN <= node <= INT64_MAX:
                found.append((path, int64_message(str(node))))
    return sorted(found)
