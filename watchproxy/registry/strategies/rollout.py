"""Rolling-update parameters of Deployments and DaemonSets (kube:
pkg/apis/apps/validation/validation.go ValidateRollingUpdateDeployment,
ValidateRollingUpdateDaemonSet, ValidatePositiveIntOrPercent, IsNotMoreThan100Percent;
validation.IsValidPercent). `path` is the rollingUpdate's field path; an IntOrString is shown as
its String() prints it (a number, or the string unquoted).
"""

from __future__ import annotations

from typing import Any

from watchproxy.core.validation import field_invalid, regex_error
from watchproxy.registry.errors import Cause

PERCENT_ERROR = regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'",
    "[0-9]+%",
    "1%",
    "93%",
)


def _percent(value: Any) -> int | None:
    """getPercentValue: the number of a valid "N%" string, else None."""
    if isinstance(value, str) and len(value) > 1 and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return None


def _value(value: Any) -> int:
    """getIntOrPercentValue (an invalid string counts as 0, as IntValue() parses it)."""
    percent = _percent(value)
    if percent is not None:
        return percent
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def positive_int_or_percent(path: str, value: Any) -> list[Cause]:
    """ValidatePositiveIntOrPercent: a valid percent string or an int >= 0."""
    if isinstance(value, str):
        return [] if _percent(value) is not None else [field_invalid(path, value, PERCENT_ERROR)]
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [field_invalid(path, str(value), "must be greater than or equal to 0")]
    return []


def _not_over_100(path: str, value: Any) -> list[Cause]:
    percent = _percent(value)
    if percent is not None and percent > 100:
        return [field_invalid(path, str(value), "must not be greater than 100%")]
    return []


def deployment_rolling_update_causes(path: str, rolling: Any) -> list[Cause]:
    """ValidateRollingUpdateDeployment (after defaulting: both fields are set)."""
    if not isinstance(rolling, dict):
        return []
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    causes = positive_int_or_percent(f"{path}.maxUnavailable", unavailable)
    causes += positive_int_or_percent(f"{path}.maxSurge", surge)
    if _value(unavailable) == 0 and _value(surge) == 0:
        causes.append(
            field_invalid(
                f"{path}.maxUnavailable", str(unavailable or 0), "may not be 0 when `maxSurge` is 0"
            )
        )
    return causes + _not_over_100(f"{path}.maxUnavailable", unavailable)


def daemonset_rolling_update_causes(path: str, rolling: Any) -> list[Cause]:
    """ValidateRollingUpdateDaemonSet: valid values, neither over 100%, exactly one non-zero."""
    if not isinstance(rolling, dict):
        return []
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    causes = positive_int_or_percent(f"{path}.maxUnavailable", unavailable)
    causes += positive_int_or_percent(f"{path}.maxSurge", surge)
    causes += _not_over_100(f"{path}.maxUnavailable", unavailable)
    causes += _not_over_100(f"{path}.maxSurge", surge)
    has_unavailable, has_surge = _value(unavailable) != 0, _value(surge) != 0
    if has_unavailable and has_surge:
        causes.append(
            field_invalid(
                f"{path}.maxSurge", str(surge), "may not be set when maxUnavailable is non-zero"
            )
        )
    elif not has_unavailable and not has_surge:
        causes.append(
            (
                "FieldValueRequired",
                f"{path}.maxUnavailable",
                "Required value: cannot be 0 when maxSurge is 0",
            )
        )
    return causes
