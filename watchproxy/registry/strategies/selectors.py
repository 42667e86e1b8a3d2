"""metav1.LabelSelector in JSON: matching a label set (metav1.LabelSelectorAsSelector), its
validation (apimachinery pkg/apis/meta/v1/validation ValidateLabelSelector), and the Go `%#v`
kube prints it with in field errors."""

from __future__ import annotations

from typing import Any

from watchproxy.core.validation import (
    go_quote,
    label_key_errors,
    label_value_errors,
    not_supported,
)
from watchproxy.registry.errors import Cause

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def go_string_map(labels: Any) -> str:
    """Go's `%#v` of a map[string]string (fmt sorts the keys)."""
    if not isinstance(labels, dict):
        return "map[string]string(nil)"  # absent (or of a type the decoding refuses)
    body = ", ".join(f"{go_quote(str(k))}:{go_quote(str(labels[k]))}" for k in sorted(labels))
    return "map[string]string{" + body + "}"


def go_label_selector(selector: Any) -> str:
    """Go's `%#v` of a v1.LabelSelector (what field.Invalid prints for one)."""
    sel = selector if isinstance(selector, dict) else {}
    exprs = sel.get("matchExpressions") or []
    if exprs:
        parts = []
        for e in exprs if isinstance(exprs, list) else []:
            e = e if isinstance(e, dict) else {}
            values = e.get("values")
            shown = (
                "[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}"
                if isinstance(values, list) and values
                else "[]string(nil)"
            )
            parts.append(
                f"v1.LabelSelectorRequirement{{Key:{go_quote(str(e.get('key', '')))}, "
                f"Operator:{go_quote(str(e.get('operator', '')))}, Values:{shown}}}"
            )
        exprs_shown = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        exprs_shown = "[]v1.LabelSelectorRequirement(nil)"
    return (
        f"v1.LabelSelector{{MatchLabels:{go_string_map(sel.get('matchLabels'))}, "
        f"MatchExpressions:{exprs_shown}}}"
    )


def is_empty(selector: Any) -> bool:
    """No matchLabels and no matchExpressions: selects everything."""
    return not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    )


def matches(selector: Any, labels: Any) -> bool:
    """Whether `labels` satisfy the selector (an empty selector matches everything)."""
    if not isinstance(selector, dict):
        return True
    have = labels if isinstance(labels, dict) else {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if have.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            return False
        key, op = expr.get("key"), expr.get("operator")
        values = expr.get("values") or []
        if op == "In" and (key not in have or have[key] not in values):
            return False
        if op == "NotIn" and key in have and have[key] in values:
            return False
        if op == "Exists" and key not in have:
            return False
        if op == "DoesNotExist" and key in have:
            return False
    return True


def selector_causes(path: str, selector: Any) -> list[Cause]:
    """ValidateLabelSelector: valid label keys and values, known operators, values present
    for In/NotIn and absent for Exists/DoesNotExist."""
    if not isinstance(selector, dict):
        return []
    causes: list[Cause] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        where = f"{path}.matchLabels"
        causes += [(_invalid(where, str(key), m)) for m in label_key_errors(str(key))]
        causes += [(_invalid(where, str(value), m)) for m in label_value_errors(str(value))]
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        expr = expr if isinstance(expr, dict) else {}
        op, values = expr.get("operator"), expr.get("values") or []
        if op in ("In", "NotIn") and not values:
            causes.append(
                (
                    "FieldValueRequired",
                    f"{where}.values",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                )
            )
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(
                (
                    "FieldValueForbidden",
                    f"{where}.values",
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
        elif op not in OPERATORS:
            causes.append(not_supported(f"{where}.operator", str(op), OPERATORS))
        causes += [
            _invalid(f"{where}.key", str(expr.get("key", "")), m)
            for m in label_key_errors(str(expr.get("key", "")))
        ]
    return causes


def _invalid(path: str, value: str, message: str) -> Cause:
    return ("FieldValueInvalid", path, f"Invalid value: {go_quote(value)}: {message}")
