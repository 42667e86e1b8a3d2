"""Tables of custom resources: a CRD version's `additionalPrinterColumns` (kube:
apiextensions-apiserver pkg/registry/customresource/tableconvertor/tableconvertor.go, and
customresource_handler.go's serveDefaultColumnsIfEmpty: no columns means one `Age` column of
`.metadata.creationTimestamp`). Pure.

Cells: the first result of the column's JSONPath; `string` columns print it as kube's jsonpath
printer does (scalars as text, maps and lists as JSON), `integer`/`number`/`boolean` keep the
JSON value when it has that type, `date` prints the time since the timestamp ("5m"); no result,
or a value of another type, is a null cell.

The JSONPath subset is what CRD validation admits for printer columns (simple paths): `.a.b`,
`['a']`, `[0]`, `[*]` and filters `[?(@.k=="v")]` (or `!=`). No JSONPath library is installed,
and kube's own jsonpath is Go.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from watchproxy.api.printer_cells import since
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
AGE_COLUMN: JsonObject = {
    "name": "Age",
    "type": "date",
    "description": _CREATED_DOC,
    "jsonPath": ".metadata.creationTimestamp",
}
_STEP = re.compile(
    r"""\.(?P<field>[^.\[]+)
      | \[\s*'(?P<quoted>[^']*)'\s*\]
      | \[\s*"(?P<dquoted>[^"]*)"\s*\]
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*\*\s*\]
      | \[\?\(\s*@\.(?P<key>[\w.-]+)\s*(?P<op>==|!=)\s*
          (?:'(?P<v1>[^']*)'|"(?P<v2>[^"]*)"|(?P<v3>[^)\s]+))\s*\)\]
    """,
    re.VERBOSE,
)


def columns_of(resource: ResourceType) -> list[JsonObject]:
    """The CRD version's printer columns, or the default Age column."""
    assert resource.custom is not None
    return list(resource.custom.printer_columns) or [AGE_COLUMN]


def column_definitions(resource: ResourceType) -> list[JsonObject]:
    """TableColumnDefinitions: Name, then one per printer column."""
    out: list[JsonObject] = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": _NAME_DOC,
            "priority": 0,
        }
    ]
    for column in columns_of(resource):
        out.append(
            {
                "name": str(column.get("name", "")),
                "type": str(column.get("type", "")),
                "format": str(column.get("format", "")),
                "description": str(column.get("description", "")),
                "priority": int(column.get("priority") or 0),
            }
        )
    return out


def cells(resource: ResourceType, obj: JsonObject, now: float) -> list[Any]:
    """One row's cells: the name, then each printer column's value."""
    row: list[Any] = [str((obj.get("metadata") or {}).get("name", ""))]
    for column in columns_of(resource):
        results = find(obj, str(column.get("jsonPath", "")))
        row.append(None if not results else cell(str(column.get("type", "")), results[0], now))
    return row


def cell(kind: str, value: Any, now: float) -> Any:
    """tableconvertor.go cellForJSONValue (and the jsonpath printer for strings)."""
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return orjson.dumps(value).decode() if value is not None else None
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return None
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return value if ok else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return since(value, now) if isinstance(value, str) else None
    return None


def find(obj: Any, path: str) -> list[Any]:
    """Every value `path` selects in `obj` (an unparsable path selects nothing)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1].strip()
    if path.startswith("$"):
        path = path[1:]
    current = [obj]
    pos = 0
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            return []
        pos = match.end()
        current = _step(current, match)
    return current


def _step(values: list[Any], match: re.Match[str]) -> list[Any]:
    out: list[Any] = []
    name = match.group("field") or match.group("quoted") or match.group("dquoted")
    index, key = match.group("index"), match.group("key")
    for value in values:
        if name is not None:
            if isinstance(value, dict) and name in value:
                out.append(value[name])
        elif index is not None:
            i = int(index)
            if isinstance(value, list) and -len(value) <= i < len(value):
                out.append(value[i])
        elif key is not None:
            wanted = match.group("v1") or match.group("v2") or match.group("v3") or ""
            for item in value if isinstance(value, list) else []:
                found = find(item, "." + key)
                text = _text(found[0]) if found else None
                if (text == wanted) == (match.group("op") == "=="):
                    out.append(item)
        elif isinstance(value, list):  # [*]
            out.extend(value)
        elif isinstance(value, dict):
            out.extend(value.values())
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()
