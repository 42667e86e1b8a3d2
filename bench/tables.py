"""Formatting shared by the report and the targets check: numbers, ratios, markdown tables,
and a run's stream-check summary."""

from __future__ import annotations

import math
from typing import Any


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**NO**"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:,.{digits}f}"
    return str(value)


def ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return "-"
    return f"{a / b:.2f}x"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def problems(run: dict[str, Any]) -> str:
    parts = []
    for name, g in run["groups"].items():
        bad = {
            k: g[k]
            for k in ("lost", "duplicates", "out_of_order", "unexpected", "wrong_key",
                      "ended_early", "initial_bad")
            if g.get(k)
        }
        if bad:
            parts.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    if run.get("ready_failed"):
        parts.append(f"{run['ready_failed']} not connected")
    return "; ".join(parts) if parts else "ok"


def find(
    results: dict[str, Any], scenario: str, backend: str, label: str
) -> dict[str, Any] | None:
    for run in results.get("watch", []):
        if run["scenario"] == scenario and run["backend"] == backend and run["label"] == label:
            found: dict[str, Any] = run
            return found
    return None
