"""The building blocks of kube-apiserver's server-side printing (kubernetes/pkg/printers/
internalversion/printers.go and apimachinery's duration.HumanDuration): time parsing and
`translateTimestampSince`, label and selector formatting, container cells, and the tolerant
readers (`_d`, `_l`, `_s`, `_i`) that take a stored JSON field of any shape. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

JsonObject = dict[str, Any]
Printer = Callable[[JsonObject, float], list[Any]]

_NS = 1_000_000_000
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
# Go's zero time.Time, which metav1.Time.IsZero() treats as unset.
_ZERO_TIME = -62135596800.0


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, for a duration in seconds."""
    ns = round(seconds * _NS)
    whole = -(-ns // _NS) if ns < 0 else ns // _NS  # Go's int(d.Seconds()) truncates to zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> float | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime) as epoch seconds; None if unset/zero."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        stamp = datetime.fromisoformat(f"{day}T{clock}{offset}").timestamp()
    except ValueError:
        return None
    if stamp == _ZERO_TIME:
        return None
    return stamp + (float(fraction) if fraction else 0.0)


def since(value: Any, now: float) -> str:
    """printers.go translateTimestampSince / translateMicroTimestampSince."""
    stamp = parse_time(value)
    return "<unknown>" if stamp is None else human_duration(now - stamp)


def _d(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _i(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _later(current: float | None, stamp: float | None) -> float | None:
    if stamp is None:
        return current
    return stamp if current is None or current < stamp else current


def _finished_at(status: JsonObject) -> float | None:
    terminated = _d(status.get("lastState")).get("terminated")
    return parse_time(terminated.get("finishedAt")) if isinstance(terminated, dict) else None


def _condition_true(conditions: Any, kind: str) -> bool:
    """The first condition of `kind` is True (isPodInitializedConditionTrue)."""
    for condition in _l(conditions):
        if _d(condition).get("type") == kind:
            return bool(condition.get("status") == "True")
    return False


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted `k=v` pairs, `<none>` when empty."""
    pairs = sorted(_d(labels).items())
    return ",".join(f"{k}={v}" for k, v in pairs) or "<none>"


def format_selector(selector: Any) -> str:
    """metav1.LabelSelectorAsSelector(s).String(): requirements sorted by key."""
    if not isinstance(selector, dict):
        return ""
    reqs: list[tuple[str, str]] = [
        (k, f"{k}={v}") for k, v in _d(selector.get("matchLabels")).items()
    ]
    for expr in map(_d, _l(selector.get("matchExpressions"))):
        key, op = _s(expr.get("key")), expr.get("operator")
        raw = [str(v) for v in _l(expr.get("values"))]
        values = ",".join(sorted(raw))
        if (op in ("In", "NotIn")) != bool(raw):
            return "<invalid>"  # labels.NewRequirement rejects these
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return "<invalid>"
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def _containers(containers: Iterable[Any]) -> list[str]:
    """layoutContainerCells: comma-joined names and images."""
    items = [_d(c) for c in containers]
    return [",".join(_s(c.get("name")) for c in items), ",".join(_s(c.get("image")) for c in items)]
