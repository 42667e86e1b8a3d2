"""Column definitions shared by the printer modules of api/printers_more.py: TableColumnDefinition
dicts as kubernetes/pkg/printers/internalversion/printers.go AddHandlers declares them. Pure.

Wide-only columns have priority 1 (kubectl shows them with `-o wide`). Descriptions are kube's
where short; the long SwaggerDoc() texts are abbreviated (kubectl never prints them).
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import (
    JsonObject,
    Printer,
    format_selector,
)

Columns = tuple[JsonObject, ...]
Kinds = dict[tuple[str, str], tuple[Columns, Printer]]

_NAME_DOC = "Name must be unique within a namespace."
_AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created."
)


def col(
    name: str, doc: str, kind: str = "string", *, priority: int = 0, fmt: str = ""
) -> JsonObject:
    """One TableColumnDefinition: {name, type, format, description, priority}."""
    fmt = fmt or ("name" if name == "Name" else "")
    return {"name": name, "type": kind, "format": fmt, "description": doc, "priority": priority}


def wide(name: str, doc: str, kind: str = "string") -> JsonObject:
    """A priority-1 (wide-only) column."""
    return col(name, doc, kind, priority=1)


NAME = col("Name", _NAME_DOC)
AGE = col("Age", _AGE_DOC)
CONTAINERS = wide("Containers", "Names of each container in the template.")
IMAGES = wide("Images", "Images referenced by each container in the template.")


def label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: the selector string, `<none>` for a nil or empty one."""
    return format_selector(selector) or "<none>"


def bool_ptr(value: Any) -> str:
    """printBoolPtr: `True`/`False`, `<unset>` when nil."""
    return "<unset>" if not isinstance(value, bool) else ("True" if value else "False")


def quantity(value: Any) -> str:
    """resource.Quantity.String() of a stored (canonical) quantity; `0` when absent."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return "0"


def more_list(items: list[str], count: int, limit: int = 3) -> str:
    """listWithMoreString: the first `limit` items, ` + N more...`, `<unset>` when empty."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"
