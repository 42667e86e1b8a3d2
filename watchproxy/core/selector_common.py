"""What the label and field selector modules share: the error type, the compiled matcher shape and
apimachinery's error-text helpers (``field.Invalid``, ``ErrorList.ToAggregate``, Go's ParseInt).

Pure, standard library only; see core/selectors.py for the selector language as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from watchproxy.core.validation import INT64_MAX, INT64_MIN


class SelectorError(ValueError):
    """A selector failed to parse or validate; ``str(e)`` is the apiserver's message."""


_Matcher = Callable[[Mapping[str, str]], bool]


def _always_true(_: Mapping[str, str]) -> bool:
    return True


def _invalid(path: str, bad_value: str, detail: str) -> str:
    """``field.Invalid(path, value, detail).Error()`` with a string value."""
    return f"{path}: Invalid value: {bad_value}: {detail}"


def _aggregate(messages: list[str]) -> str:
    """``ErrorList.ToAggregate().Error()``: de-duplicated, bracketed when plural."""
    unique = list(dict.fromkeys(messages))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


_GO_INT = re.compile(r"[+-]?[0-9]+")


def _parse_int64(s: str) -> int | None:
    """Go ``strconv.ParseInt(s, 10, 64)``; None where Go returns an error."""
    if _GO_INT.fullmatch(s) is None:
        return None
    n = int(s)
    return n if INT64_MIN <= n <= INT64_MAX else None
