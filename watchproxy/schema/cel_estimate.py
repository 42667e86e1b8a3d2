"""A static, worst-case cost estimate of a CEL rule, refusing at CRD write what kube refuses.

kube-apiserver estimates every rule's worst-case cost with cel-go's checker (checker/cost.go)
and its library costs (apiserver pkg/cel/library/cost.go `EstimateCallCost`), sizing values by
their schema (apiserver pkg/cel/common/schemas.go: a string without `maxLength` may be as long
as a request, 3 MiB; a list without `maxItems` as many items as fit in one), and refuses a rule
whose estimate passes `StaticEstimatedCostLimit` (10,000,000):

    spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule:
    Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying
    the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings
    are declared)

(apiextensions pkg/apis/apiextensions/validation/validation.go getCostErrorMessage).

This is a smaller estimator over celpy's parse tree, built to err low: what it refuses kube
refuses too (nested comprehensions over unbounded lists, chained `replace`s or concatenations
growing unbounded strings); near the limit it may accept what kube refuses. Left out: the
rule's cardinality (kube multiplies by how many times the rule can run -- maxItems of the
lists above it), the CRD-wide total (100,000,000), messageExpression costs, and the exact
cost of every function (unknown calls cost 1 plus their arguments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lark

from watchproxy.schema.cel_cost import REGEX_FACTOR, STRING_FACTOR

STATIC_COST_LIMIT = 10_000_000  # validation.go StaticEstimatedCostLimit
MAX_REQUEST_SIZE = 3 * 1024 * 1024  # apiserver pkg/apis/cel/config.go MaxRequestSizeBytes
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_SAME_SIZE = frozenset({"lowerAscii", "upperAscii", "trim", "substring"})
_TRAVERSING = frozenset({"contains", "startsWith", "endsWith", "indexOf", "lastIndexOf"})
JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Est:
    """Worst-case cost so far, and the value's size (length of a string/list/map; 1 else);
    `schema` types a value read from the object (member access, comprehension variables)."""

    cost: float
    size: float = 1
    schema: JsonObject | None = None


def _min_size(schema: Any) -> int:
    """The smallest JSON a value of `schema` serializes to (schemas.go estimateMinSizeJSON)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "boolean":
        return 4
    if kind in ("integer", "number"):
        return 1
    if kind == "string":
        return 2 + int(schema.get("minLength") or 0)
    return 2


def max_size(schema: JsonObject | None) -> float:
    """How long a value of `schema` can be (schemas.go estimateMax*PerRequest)."""
    if not isinstance(schema, dict):
        return 1
    kind = schema.get("type")
    if kind == "string" or schema.get("x-kubernetes-int-or-string"):
        if isinstance(schema.get("maxLength"), int):
            return float(schema["maxLength"])
        if schema.get("enum"):
            return float(max(len(str(v)) for v in schema["enum"]))
        return MAX_REQUEST_SIZE - 2
    if kind == "array":
        if isinstance(schema.get("maxItems"), int):
            return float(schema["maxItems"])
        return (MAX_REQUEST_SIZE - 2) // (_min_size(schema.get("items")) + 1)
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        if isinstance(schema.get("maxProperties"), int):
            return float(schema["maxProperties"])
        return (MAX_REQUEST_SIZE - 2) // (_min_size(schema["additionalProperties"]) + 6)
    return 1


def _child(schema: JsonObject | None, name: str) -> JsonObject | None:
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties")
    if isinstance(props, dict) and isinstance(props.get(name), dict):
        return dict(props[name])
    extra = schema.get("additionalProperties")
    return dict(extra) if isinstance(extra, dict) else None


def _items(schema: JsonObject | None) -> JsonObject | None:
    if isinstance(schema, dict) and isinstance(schema.get("items"), dict):
        return dict(schema["items"])
    return None


def _typed(schema: JsonObject | None, cost: float) -> Est:
    return Est(cost, max_size(schema), schema)


class _Estimator:
    def __init__(self, self_schema: JsonObject) -> None:
        self.scope: dict[str, JsonObject | None] = {"self": self_schema, "oldSelf": self_schema}

    def est(self, node: Any) -> Est:
        if isinstance(node, lark.Token):
            return Est(0, len(str(node)))
        kind = node.data
        kids = node.children
        if kind == "literal":
            return Est(0, max(len(str(kids[0])) - 2, 1))
        if kind == "ident":
            return _typed(self.scope.get(str(kids[0])), 1)
        if kind == "member_dot":
            target = self.est(kids[0])
            return _typed(_child(target.schema, str(kids[1])), target.cost + 1)
        if kind == "member_index":
            target, index = self.est(kids[0]), self.est(kids[1])
            items = _items(target.schema) or _child(target.schema, "")
            return _typed(items, target.cost + index.cost + 1)
        if kind == "member_dot_arg":
            return self.method(kids)
        if kind == "ident_arg":
            args = [self.est(a) for a in _args(kids[1] if len(kids) > 1 else None)]
            cost = sum(a.cost for a in args) + 1
            if str(kids[0]) == "size":
                return Est(cost)
            return Est(cost, max((a.size for a in args), default=1))
        parts = [self.est(k) for k in kids if isinstance(k, lark.Tree)]
        if len(parts) == 1:
            return parts[0]  # primary, a one-sided operator level, `(x)`: the value itself
        cost = sum(p.cost for p in parts)
        if kind in ("addition", "relation") and len(parts) == 2:
            op = kids[0].data if isinstance(kids[0], lark.Tree) else ""
            a, b = parts
            if op == "addition_add":
                return Est(cost + 1 + STRING_FACTOR * (a.size + b.size), a.size + b.size)
            if op == "relation_in":
                return Est(cost + 1 + b.size)
            return Est(cost + 1 + STRING_FACTOR * min(a.size, b.size))
        if kind == "expr" and len(parts) == 3:  # c ? a : b: one branch runs
            return Est(parts[0].cost + max(parts[1].cost, parts[2].cost), parts[1].size)
        if kind == "list_lit":
            return Est(cost + 10, len(parts))
        if kind == "map_lit":
            return Est(cost + 30, len(parts) // 2)
        return Est(cost, max((p.size for p in parts), default=1))

    def method(self, kids: list[Any]) -> Est:
        target = self.est(kids[0])
        name = str(kids[1])
        raw_args = _args(kids[2] if len(kids) > 2 else None)
        if name in _MACROS and len(raw_args) == 2 and isinstance(raw_args[0], lark.Tree):
            var = str(next(raw_args[0].scan_values(lambda v: isinstance(v, lark.Token))))
            saved = self.scope.get(var)
            self.scope[var] = _items(target.schema)
            body = self.est(raw_args[1])
            self.scope[var] = saved
            # cel-go's comprehension: the range, then per item the step and the condition
            # (at least two more nodes: the accumulator and the call around it).
            cost = target.cost + target.size * (body.cost + 2)
            size = target.size if name in ("map", "filter") else 1
            return Est(cost, size, {"type": "array", "items": {}} if size > 1 else None)
        args = [self.est(a) for a in raw_args]
        cost = target.cost + sum(a.cost for a in args) + 1
        size = target.size
        if name == "replace" and len(args) >= 2:
            # library/cost.go: the longest result replaces the shortest matches as often as
            # they fit with the longest replacement; cost 0.2 per receiver character.
            count = size + 1 if args[0].size == 0 else math.ceil(size / max(args[0].size, 1))
            grows = args[1].size > args[0].size
            result = count * args[1].size + size if grows else size
            return Est(cost + 2 * STRING_FACTOR * size, result)
        if name == "split":
            return Est(cost + 2 * STRING_FACTOR * size, size + 1)
        if name == "join":
            items = _items(target.schema)
            result = size * (max_size(items) if items is not None else 1)
            return Est(cost + STRING_FACTOR * result, result)
        if name == "matches" and args:
            str_cost = math.ceil(STRING_FACTOR * (1 + size))
            return Est(cost + str_cost * math.ceil(REGEX_FACTOR * args[0].size))
        if name in _SAME_SIZE:
            return Est(cost + STRING_FACTOR * size, size)
        if name in _TRAVERSING:
            return Est(cost + STRING_FACTOR * size)
        if name in ("isSorted", "sum", "min", "max"):
            return Est(cost + size)
        return Est(cost)


def _args(exprlist: Any) -> list[Any]:
    return list(exprlist.children) if isinstance(exprlist, lark.Tree) else []


def estimate(ast: lark.Tree[Any], self_schema: JsonObject) -> float:
    """The worst-case cost of a (flattened) rule evaluated on values of `self_schema`."""
    try:
        return _Estimator(self_schema).est(ast).cost
    except (RecursionError, StopIteration, ValueError, TypeError):
        return 0  # a shape this estimator does not know: left to the run-time limit


def cost_error(cost: float) -> str | None:
    """kube's Forbidden detail for a rule estimated at `cost`, None within the limit."""
    if cost <= STATIC_COST_LIMIT:
        return None
    factor = cost / STATIC_COST_LIMIT
    if factor > 100.0:
        shown = "more than 100x"
    elif factor < 1.5:
        shown = f"{factor:f}x"
    else:
        shown = f"{factor:.1f}x"
    return (
        f"estimated rule cost exceeds budget by factor of {shown} (try simplifying the rule, or "
        "adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are "
        "declared)"
    )
