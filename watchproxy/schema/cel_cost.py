"""The run-time cost of a CEL evaluation, in kube's units, charged as it goes.

kube-apiserver bounds every expression at `PerCallLimit` (1,000,000) and all the rules of one
object at `RuntimeCELCostBudget` (10,000,000) (apiserver pkg/apis/cel/config.go). cel-go charges
about 1 per evaluated node plus, for what is proportional to data, the sizes involved
(cel-go interpreter/runtimecost.go; kube's library functions: apiserver pkg/cel/library/cost.go
`CallCost`), with `StringTraversalCostFactor` 0.1 and `RegexStringLengthCostFactor` 0.25:

* string/bytes `+` and list `+`: 0.1 * (size a + size b); `==`, `!=`, `<`...: 0.1 * the
  smaller size; `x in list`: the list's size; `contains`, `startsWith`, `endsWith`,
  `lowerAscii`, `upperAscii`, `trim`, `substring`, `charAt`, string `indexOf`: 0.1 * size;
  `replace`, `split`: 0.2 * the receiver's size; `join`: 0.2 * the result's size;
  `matches`: ceil(0.1 * (1 + size)) * ceil(0.25 * pattern size); `isSorted`, `sum`, `min`,
  `max`, list `indexOf`/`lastIndexOf`: the list's size.

Differences, on purpose: a visited node costs NODE_COST (100), not 1 -- celpy's tree
interpreter is about a hundred times slower per node than cel-go, so kube's 1,000,000 would be
seconds of CPU on the event loop; 100 keeps one expression near 10,000 nodes (~0.1 s) and one
object near 100,000 (~1 s). And a result that is built (`+`, `replace`, `join`) is also charged
0.1 * its size *before* it is built, so an expression that would allocate a huge string stops
with the budget exceeded instead of allocating it (cel-go charges after the call).

The budget in force is the one `metered()` installed (evaluation is synchronous: one at a time
per thread); functions call `charge()` and raise `CostExceeded` past it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celpy import celtypes

PER_CALL_LIMIT = 1_000_000  # apiserver pkg/apis/cel/config.go PerCallLimit
RUNTIME_BUDGET = 10_000_000  # apiserver pkg/apis/cel/config.go RuntimeCELCostBudget
NODE_COST = 100
STRING_FACTOR = 0.1  # cel-go common.StringTraversalCostFactor
REGEX_FACTOR = 0.25  # cel-go common.RegexStringLengthCostFactor


class CostExceeded(BaseException):
    """The budget ran out (a BaseException, so celpy's own `except`s let it by)."""


class Budget:
    """What is left of one expression's budget, in kube's cost units."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


_ACTIVE: list[Budget] = []


@contextmanager
def metered(budget: Budget) -> Iterator[None]:
    """Charge the functions called inside to `budget`."""
    _ACTIVE.append(budget)
    try:
        yield
    finally:
        _ACTIVE.pop()


def charge(units: float) -> None:
    """Take `units` (rounded up) from the budget in force; CostExceeded past it."""
    if not _ACTIVE:
        return
    budget = _ACTIVE[-1]
    budget.left -= math.ceil(units)
    if budget.left < 0:
        raise CostExceeded


def size(value: Any) -> int:
    """cel-go's actualSize: a string's, bytes', list's or map's length; 1 for anything else."""
    try:
        return len(value)
    except TypeError:
        return 1


def traversed(fn: Callable[..., Any], factor: float = STRING_FACTOR) -> Callable[..., Any]:
    """`fn` charged `factor` * its first argument's size."""

    def call(*args: Any) -> Any:
        charge(factor * size(args[0]) if args else 0)
        return fn(*args)

    return call


def added(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`_+_`: concatenations charged 0.1 * (a + b) for the traversal and as much again for the
    result, before it is built."""

    def call(a: Any, b: Any) -> Any:
        if isinstance(a, str | bytes | list) and isinstance(b, str | bytes | list):
            charge(2 * STRING_FACTOR * (len(a) + len(b)))
        return fn(a, b)

    return call


def compared(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`==`, `<`, ...: 0.1 * the smaller size."""

    def call(a: Any, b: Any) -> Any:
        charge(STRING_FACTOR * min(size(a), size(b)))
        return fn(a, b)

    return call


def contained(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`x in container`: the container's size."""

    def call(item: Any, container: Any) -> Any:
        charge(size(container) if isinstance(container, list) else 1)
        return fn(item, container)

    return call


def regex(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`matches`: the string's traversal times the pattern's size."""

    def call(text: Any, pattern: Any) -> Any:
        str_cost = math.ceil(STRING_FACTOR * (1 + size(text)))
        charge(str_cost * math.ceil(REGEX_FACTOR * size(pattern)))
        return fn(text, pattern)

    return call


def replace(s: Any, old: Any, new: Any, n: Any = -1) -> Any:
    """strings ext `replace`: 0.2 * the receiver (kube), then 0.1 * the result's length,
    computed and charged before the result is built."""
    s, old, new, limit = str(s), str(old), str(new), int(n)
    charge(2 * STRING_FACTOR * len(s))
    count = s.count(old) if old else len(s) + 1
    if limit >= 0:
        count = min(count, limit)
    charge(STRING_FACTOR * (len(s) + count * (len(new) - len(old))))
    return celtypes.StringType(s.replace(old, new, limit))


def join(items: Any, sep: Any = "") -> Any:
    """strings ext `join`: 0.2 * the result's length, charged before it is built."""
    parts = [str(item) for item in items]
    charge(len(parts) + 2 * STRING_FACTOR * (sum(map(len, parts)) + len(sep) * len(parts)))
    return celtypes.StringType(str(sep).join(parts))


def split(s: Any, sep: Any, n: Any = -1) -> Any:
    """strings ext `split`: 0.2 * the receiver."""
    charge(2 * STRING_FACTOR * size(s))
    count = int(n)
    parts = str(s).split(str(sep), count - 1) if count > 0 else str(s).split(str(sep))
    return celtypes.ListType([celtypes.StringType(p) for p in parts])
