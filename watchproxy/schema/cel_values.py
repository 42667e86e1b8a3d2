"""The values CEL rules see: decoded JSON typed by its schema node, as celpy values.

Values (kube: apiextensions-apiserver pkg/apiserver/schema/cel/model and values.go): an object
with `properties` exposes those fields only (names escaped as kube's cel.Escape does:
`foo-bar` is `foo__dash__bar`); `additionalProperties` is a map; no schema (preserve unknown
fields) exposes everything; `number` is a double even when the JSON has an integer; strings
with format `byte`, `duration`, `date-time`/`date` are bytes, durations and timestamps; a
resource root (or embedded resource) shows apiVersion, kind and metadata.name/generateName.
Integers beyond int64 (which kube's decoding refuses before CEL) become doubles rather than fail.
"""

from __future__ import annotations

import base64
import functools
import re
from typing import Any

from celpy import celtypes

JsonObject = dict[str, Any]
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_RESERVED = frozenset(
    "true false null in as break const continue else for function if import let loop package "
    "namespace return var void while".split()
)
_EXPAND = re.compile(r"__|[-./]")
_IDENT = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}


@functools.lru_cache(maxsize=4096)
def escape(name: str) -> str | None:
    """kube's cel.Escape: a property name as a CEL identifier, or None when it has none."""
    if not name or name[0].isdigit():
        return None
    if name in _RESERVED:
        return f"__{name}__"
    ok = True

    def sub(match: re.Match[str]) -> str:
        nonlocal ok
        if match.group(0) not in _ESCAPES:
            ok = False
        return _ESCAPES.get(match.group(0), "")

    escaped = _EXPAND.sub(sub, name)
    return escaped if ok and _IDENT.match(escaped) else None


def _string(value: str, fmt: Any) -> Any:
    try:
        if fmt == "byte":
            return celtypes.BytesType(base64.b64decode(value, validate=True))
        if fmt == "duration":
            return celtypes.DurationType(value)
        if fmt in ("date-time", "datetime"):
            return celtypes.TimestampType(value)
        if fmt == "date":
            return celtypes.TimestampType(value + "T00:00:00Z")
    except (ValueError, TypeError):
        pass  # kube's format validation refuses the value before CEL runs
    return celtypes.StringType(value)


def to_cel(value: Any, schema: JsonObject | None, resource_root: bool = False) -> Any:
    """A decoded JSON value as a celpy value typed by its schema node."""
    if value is None:
        return None
    kind = schema.get("type") if schema is not None else None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if kind == "number" or not _INT64_MIN <= value <= _INT64_MAX:
            # Beyond int64 never reaches kube's CEL (its JSON decoding refuses it); a double
            # keeps the evaluation total instead of raising.
            return celtypes.DoubleType(value)
        return celtypes.IntType(value)
    if isinstance(value, float):
        if kind == "integer" and value.is_integer():
            return celtypes.IntType(int(value))
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return _string(value, schema.get("format") if schema is not None else None)
    if isinstance(value, list):
        items = schema.get("items") if schema is not None else None
        return celtypes.ListType([to_cel(v, items) for v in value])
    if not isinstance(value, dict):
        return None
    out: dict[Any, Any] = {}
    props = schema.get("properties") if schema is not None else None
    extra = schema.get("additionalProperties") if schema is not None else None
    if resource_root:
        for key in ("apiVersion", "kind"):
            if isinstance(value.get(key), str):
                out[celtypes.StringType(key)] = celtypes.StringType(value[key])
        meta = value.get("metadata")
        if isinstance(meta, dict):
            shown = {k: meta[k] for k in ("name", "generateName") if isinstance(meta.get(k), str)}
            out[celtypes.StringType("metadata")] = to_cel(shown, None)
    if isinstance(props, dict) and props:
        for key, sub in props.items():
            name = escape(key)
            if key in value and name is not None and not (resource_root and key == "metadata"):
                out[celtypes.StringType(name)] = to_cel(value[key], sub)
    elif isinstance(extra, dict):
        for key, item in value.items():
            out[celtypes.StringType(key)] = to_cel(item, extra)
    elif not resource_root:
        for key, item in value.items():
            out[celtypes.StringType(key)] = to_cel(item, None)
    return celtypes.MapType(out)
