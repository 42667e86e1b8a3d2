"""What cel.py needs of cel-python (celpy), values aside (cel_values.py): a step-bounded
evaluator, kube's extension functions, kube's wording of evaluation errors, and two parse-tree
passes (flatten: skip pass-through grammar levels; undeclared: the part of cel-go's checker
that catches unknown variables and functions when the CRD is written).

Bound: cel_cost.py charges kube's cost units as the evaluation goes (a visited node, and the
sizes of the strings and lists a function traverses or builds) against kube's per-expression
limit and per-object budget. `matches` runs on the Rust `regex` crate through jsonschema-rs
(linear time, like Go's RE2), so no pattern can stall the loop either.

Kube's CEL libraries present here: the standard macros and functions (celpy's), lists
(`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`), the strings extension's
`charAt`, `indexOf`, `lastIndexOf`, `lowerAscii`, `upperAscii`, `replace`,
`split`, `substring`, `trim`, `join`, and optionals for `optionalOldSelf` rules (`hasValue`,
`value`, `orValue`). Left out: regex (`find`, `findAll`: Python's backtracking engine would have to
extract the matches), quantity, url, ip and cidr, semver, format (`string.format`),
sets, math (`greatest`/`least`/...), base64 encoders, two-variable comprehensions, the optional
syntax (`?.`, `[?`, `optional.of`), authorizer, and type-checking (a rule naming a field the
schema lacks fails when evaluated, not when the CRD is written).
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any

import celpy
import celpy.evaluation
import jsonschema_rs
import lark
from celpy import celtypes
from celpy.evaluation import Activation, CELEvalError, Evaluator, base_functions

from watchproxy.schema import cel_cost
from watchproxy.schema.cel_cost import NODE_COST, Budget, CostExceeded, metered

__all__ = ["Budget", "CostExceeded"]

JsonObject = dict[str, Any]


class _Erased:
    """`X[...]` is Any: see _erase_runtime_generics."""

    def __getitem__(self, _: object) -> Any:
        return Any


def _erase_runtime_generics() -> None:
    """celpy's interpreter calls `cast(Tuple[List[Result], Result], ...)` and the like on every
    node it visits, and building those subscripted generics (typing's cache hashes every
    argument) is about a third of its evaluation time. cast() ignores its first argument, so
    the names only those casts use at run time are made cheap in celpy.evaluation's namespace.
    Its annotations were evaluated at import and its isinstance() checks use other names
    (Sequence, Mapping), so no behaviour changes (tests/unit/schema/test_cel.py)."""
    for name in ("Union", "Tuple", "List", "Dict", "Iterable"):
        setattr(celpy.evaluation, name, _Erased())


_erase_runtime_generics()


class _BoundedEvaluator(Evaluator):
    """celpy's tree interpreter, charging NODE_COST per visited node."""

    def __init__(self, ast: Any, activation: Activation, budget: Budget) -> None:
        super().__init__(ast, activation)
        self.budget = budget

    def sub_evaluator(self, ast: Any) -> Evaluator:
        return _BoundedEvaluator(ast, self.activation, self.budget)

    def _visit_tree(self, tree: Any) -> Any:
        # lark's Interpreter routes visit() and visit_children() through here: every node.
        budget = self.budget
        budget.left -= NODE_COST
        if budget.left < 0:
            raise CostExceeded
        return super()._visit_tree(tree)


class Program:
    """One compiled expression; evaluate() raises CELEvalError or CostExceeded."""

    def __init__(self, env: celpy.Environment, ast: Any) -> None:
        runner = env.program(ast, functions=FUNCTIONS)
        self.ast = ast
        # Built once: the evaluator clones it per evaluation (celpy would rebuild it, which
        # costs more than evaluating a short rule).
        self.activation = runner.new_activation()

    def evaluate(self, variables: dict[str, Any], budget: Budget) -> Any:
        with metered(budget):
            return _BoundedEvaluator(self.ast, self.activation, budget).evaluate(variables)


# -- kube's extension functions -----------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> jsonschema_rs.Validator:
    schema = {"type": "string", "pattern": pattern}
    return jsonschema_rs.validator_for(schema, pattern_options=jsonschema_rs.RegexOptions())


def _matches(text: Any, pattern: Any) -> Any:
    try:
        return celtypes.BoolType(_regex(str(pattern)).is_valid(str(text)))
    except (ValueError, jsonschema_rs.ValidationError) as exc:
        return CELEvalError(f"invalid regex: {exc}")


def _charge_traversal(container: Any) -> None:
    """A string is traversed at 0.1 per character, a list at 1 per item (library/cost.go)."""
    factor = cel_cost.STRING_FACTOR if isinstance(container, str) else 1
    cel_cost.charge(cel_cost.size(container) * factor)


def _is_sorted(items: Any) -> Any:
    cel_cost.charge(cel_cost.size(items))
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


def _index_of(container: Any, item: Any, *rest: Any) -> Any:
    _charge_traversal(container)
    if isinstance(container, str):
        return celtypes.IntType(container.find(item, *(int(r) for r in rest)))
    return celtypes.IntType(next((i for i, v in enumerate(container) if v == item), -1))


def _last_index_of(container: Any, item: Any) -> Any:
    _charge_traversal(container)
    if isinstance(container, str):
        return celtypes.IntType(container.rfind(item))
    found = [i for i, v in enumerate(container) if v == item]
    return celtypes.IntType(found[-1] if found else -1)


def _sum(items: Any) -> Any:
    cel_cost.charge(cel_cost.size(items))
    total: Any = celtypes.IntType(0)
    for i, item in enumerate(items):
        total = item if i == 0 else total + item
    return total


def _extreme(pick: Any) -> Any:
    def fn(items: Any) -> Any:
        cel_cost.charge(cel_cost.size(items))
        if not items:
            return CELEvalError("min/max of empty list")
        return pick(items)

    return fn


_COMPARISONS = ("_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_")


class CelOptional:
    """An optional value: only `optionalOldSelf` rules see one (their `oldSelf`)."""

    def __init__(self, value: Any) -> None:
        self.inner = value


def _value(opt: Any) -> Any:
    if opt.inner is None:
        return CELEvalError("optional.none() dereference")
    return opt.inner


_traversed = cel_cost.traversed
FUNCTIONS: dict[str, Any] = {
    "_+_": cel_cost.added(base_functions["_+_"]),
    **{op: cel_cost.compared(base_functions[op]) for op in _COMPARISONS},
    "_in_": cel_cost.contained(base_functions["_in_"]),
    "contains": _traversed(base_functions["contains"]),
    "startsWith": _traversed(base_functions["startsWith"]),
    "endsWith": _traversed(base_functions["endsWith"]),
    "matches": cel_cost.regex(_matches),
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _extreme(min),
    "max": _extreme(max),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "charAt": _traversed(lambda s, i: celtypes.StringType(s[int(i)] if int(i) < len(s) else "")),
    "lowerAscii": _traversed(lambda s: celtypes.StringType(s.lower())),
    "upperAscii": _traversed(lambda s: celtypes.StringType(s.upper())),
    "replace": cel_cost.replace,
    "split": cel_cost.split,
    "substring": _traversed(
        lambda s, a, b=None: celtypes.StringType(s[int(a) : None if b is None else int(b)])
    ),
    "trim": _traversed(lambda s: celtypes.StringType(s.strip())),
    "join": cel_cost.join,
    "hasValue": lambda opt: celtypes.BoolType(opt.inner is not None),
    "value": _value,
    "orValue": lambda opt, other: other if opt.inner is None else opt.inner,
}


def error_text(error: CELEvalError) -> str:
    """kube's (cel-go's) wording of an evaluation error, without celpy's internals."""
    text = str(error.args[0]) if error.args else "evaluation error"
    missing = re.match(r"no such member in mapping: '(.*)'$", text)
    if missing:
        return f"no such key: {missing.group(1)}"
    if text.startswith(("found no matching overload", "no such overload")):
        return "no such overload"
    words = {
        "modulus or divide by zero": "division by zero",
        "return error for overflow": "integer overflow",
        "invalid_argument": "index out of bounds",
    }
    return words.get(text, text.split(" (in activation", 1)[0].splitlines()[0][:200])


def valid_field_path(path: str, schema: JsonObject) -> str:
    """ValidFieldPath: `.a.b['c.d']` over properties / additionalProperties, as field.Path
    prints it (`a.b.c.d` children, `[key]` map keys). Raises ValueError."""
    out = ""
    node: Any = schema
    i = 0
    while i < len(path):
        if path[i] == ".":
            end = i + 1
            while end < len(path) and path[end] not in ".[":
                end += 1
            name, i = path[i + 1 : end], end
        elif path.startswith("['", i):
            end = path.find("']", i + 2)
            if end < 0:
                raise ValueError("unexpected end of JSON path")
            name, i = path[i + 2 : end], end + 2
        else:
            raise ValueError(f"expected [ or . but got: {path[i:]}")
        if not isinstance(node, dict):
            raise ValueError("does not refer to a valid field")
        if node.get("properties"):
            if name not in node["properties"]:
                raise ValueError("does not refer to a valid field")
            node = node["properties"][name]
            out = f"{out}.{name}" if out else name
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
            out += f"[{name}]"
        else:
            raise ValueError("does not refer to a valid field")
    return out


# -- parse trees -------------------------------------------------------------------------------

_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter", "dyn"})
_KNOWN_FUNCTIONS = frozenset(base_functions) | frozenset(FUNCTIONS) | _MACROS
_BINDING_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


# Grammar levels that, with one child, only pass their child's value up: `1` parses as ten nested
# nodes (expr > conditionalor > ... > member > primary > literal), and celpy's interpreter pays
# for each. Skipping them halves evaluation time and changes no result.
_PASS_THROUGH = frozenset(
    {
        "expr",
        "conditionalor",
        "conditionaland",
        "relation",
        "addition",
        "multiplication",
        "unary",
        "member",
    }
)


def flatten(tree: lark.Tree[Any]) -> lark.Tree[Any]:
    """`tree` without its pass-through levels (the new root; children replaced in place)."""
    while tree.data in _PASS_THROUGH and len(tree.children) == 1:
        child = tree.children[0]
        if not isinstance(child, lark.Tree):
            break
        tree = child
    tree.children = [flatten(c) if isinstance(c, lark.Tree) else c for c in tree.children]
    return tree


def _token(child: Any) -> lark.Token | None:
    return child if isinstance(child, lark.Token) else None


def undeclared(ast: lark.Tree[Any]) -> lark.Token | None:
    """The first identifier that is neither self/oldSelf nor a macro variable, or the first
    function kube would not know (cel-go's checker reports both when the CRD is written)."""
    bound = {"self", "oldSelf"}
    for node in ast.iter_subtrees():
        if node.data == "member_dot_arg" and str(node.children[1]) in _BINDING_MACROS:
            args = node.children[2]
            if isinstance(args, lark.Tree) and args.children:
                bound |= {str(t.children[0]) for t in args.children[0].find_data("ident")}
    for node in ast.iter_subtrees_topdown():  # type: ignore[no-untyped-call]
        if node.data == "ident" and str(node.children[0]) not in bound:
            return _token(node.children[0])
        if node.data == "ident_arg" and str(node.children[0]) not in _KNOWN_FUNCTIONS:
            return _token(node.children[0])
        if node.data == "member_dot_arg" and str(node.children[1]) not in _KNOWN_FUNCTIONS:
            return _token(node.children[1])
    return None


def depth(tree: lark.Tree[Any]) -> int:
    """How deeply `tree` nests, not counting pass-through levels (what flatten() keeps):
    iterative, so any tree celpy could parse can be measured."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        if not (node.data in _PASS_THROUGH and len(node.children) == 1):
            level += 1
            deepest = max(deepest, level)
        stack.extend((child, level) for child in node.children)
    return deepest
