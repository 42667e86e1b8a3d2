"""`x-kubernetes-validations`: CEL rules of a CRD schema, compiled once, evaluated per write.

kube-apiserver: apiextensions-apiserver pkg/apiserver/schema/cel/validation.go (Validator,
validateExpressions, fieldErrorForReason, evalMessageExpression, ValidFieldPath) and
compilation.go. What kube does and so this does:

* a rule runs on every non-null value its schema node describes, `self` bound to that value;
  a rule naming `oldSelf` (a transition rule) runs only on updates where the old object has a
  correlated value (same property, same map key, same list-type=map key), unless
  `optionalOldSelf: true`, when it also runs on creates with `oldSelf` an optional;
* a rule that is false (or not a bool) fails with `Invalid value: "<node type>": <message>`
  at the node's path (`<nil>` at the root) plus `fieldPath`; the message is the evaluated
  `messageExpression`, else `message`, else `failed rule: <rule>`; `reason` turns it into
  Forbidden / Required / Duplicate;
* an evaluation error is `<error> evaluating rule: <rule>`; running out of budget ends all
  rules of the object (`validation failed due to running out of cost budget, no further
  validation rules will be run`).

Run-time costs are cel_cost.py's, the CEL libraries cel_runtime.py's. compile_errors() (the
CRD's own validation) reports rules that do not compile, nest deeper than cel-go's parser
allows, or are estimated past kube's cost limit (cel_estimate.py); if a CRD with a rule that
does not compile exists anyway, objects get `rule compile error: ...`. No failure of the
interpreter fails the request: it is the rule's evaluation error.
"""

from __future__ import annotations

import functools
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from watchproxy.core.validation import go_quote
from watchproxy.schema.cel_cost import PER_CALL_LIMIT, RUNTIME_BUDGET
from watchproxy.schema.cel_estimate import cost_error, estimate
from watchproxy.schema.cel_runtime import (
    Budget,
    CelOptional,
    CostExceeded,
    Program,
    depth,
    error_text,
    flatten,
    undeclared,
    valid_field_path,
)
from watchproxy.schema.cel_values import to_cel

Cause = tuple[str, str, str]
JsonObject = dict[str, Any]

MAX_MESSAGE_BYTES = (
    5 * 1024
)  # apiserver/pkg/apis/cel/config.go MaxEvaluatedMessageExpressionSizeBytes
_ENV = celpy.Environment()
# cel-go's default parser recursion limit (parser/options.go maxRecursionDepth), here counted
# on celpy's flattened tree, which nests a little deeper than cel-go's for the same text.
MAX_RECURSION_DEPTH = 250
_OUT_OF_BUDGET = (
    "validation failed due to running out of cost budget, no further validation rules will be run"
)


class CompileError(Exception):
    """kube's `compilation failed: ERROR: <input>:line:col: ...`."""


class _Stop(Exception):
    """Control flow: the budget is spent, validation stops (its arg is the last cause)."""


@functools.lru_cache(maxsize=1024)
def compile_expression(text: str) -> tuple[Program, bool]:
    """(program, uses oldSelf); raises CompileError. Shared by every CRD using the text."""
    try:
        ast = _ENV.compile(text)
        too_deep = depth(ast) > MAX_RECURSION_DEPTH
    except RecursionError:
        too_deep = True
    except CELParseError as exc:
        line, column = getattr(exc, "line", None) or 1, getattr(exc, "column", None) or 1
        source = text.splitlines()[line - 1] if text.splitlines() else ""
        raise CompileError(
            f"ERROR: <input>:{line}:{column}: Syntax error: unexpected input\n"
            f" | {source}\n | {'.' * (column - 1)}^"
        ) from None
    if too_deep:
        # cel-go's parser refuses past its recursion limit (parser.go
        # checkAndIncrementRecursionDepth); celpy's recursive passes would overflow Python's.
        raise CompileError(
            f"ERROR: <input>:-1:0: expression recursion limit exceeded: {MAX_RECURSION_DEPTH}"
        )
    token = undeclared(ast)
    if token is not None:
        raise CompileError(
            f"ERROR: <input>:{token.line}:{token.column}: undeclared reference to "
            f"'{token}' (in container '')"
        )
    ast = flatten(ast)
    uses_old = any(
        n.data == "ident" and str(n.children[0]) == "oldSelf" for n in ast.iter_subtrees()
    )
    return Program(_ENV, ast), uses_old


class Rule:
    """One x-kubernetes-validations entry, compiled."""

    def __init__(self, raw: JsonObject, schema: JsonObject) -> None:
        self.raw = raw
        self.text = str(raw.get("rule") or "")
        self.message = str(raw.get("message") or "").strip()
        self.reason = raw.get("reason")
        self.optional_old_self = raw.get("optionalOldSelf") is True
        self.errors: list[tuple[str, str]] = []  # (field under the rule, detail)
        self.program: Program | None = None
        self.uses_old_self = False
        self.message_program: Program | None = None
        self.field_path = ""
        try:
            self.program, self.uses_old_self = compile_expression(self.text)
        except CompileError as exc:
            self.errors.append(("rule", f"compilation failed: {exc}"))
        expression = raw.get("messageExpression")
        if expression:
            try:
                self.message_program = compile_expression(str(expression))[0]
            except CompileError as exc:
                self.errors.append(
                    ("messageExpression", f"messageExpression compilation failed: {exc}")
                )
        if raw.get("fieldPath"):
            try:
                self.field_path = valid_field_path(str(raw["fieldPath"]), schema)
            except ValueError as exc:
                self.errors.append(("fieldPath", f"fieldPath must be a valid path: {exc}"))

    def shown(self) -> str:
        """ruleErrorString: the message if there is one, else the rule."""
        return self.message or self.text.strip()

    def go_value(self) -> str:
        """The ValidationRule as `%#v` prints it (pointers shown as nil or their value)."""
        nil_reason = "(*apiextensions.FieldValueErrorReason)(nil)"
        reason = f"&{go_quote(str(self.reason))}" if self.reason else nil_reason
        old = "&true" if self.optional_old_self else "(*bool)(nil)"
        fields = [
            f"Rule:{go_quote(self.text)}",
            f"Message:{go_quote(str(self.raw.get('message') or ''))}",
            f"MessageExpression:{go_quote(str(self.raw.get('messageExpression') or ''))}",
            f"Reason:{reason}",
            f"FieldPath:{go_quote(str(self.raw.get('fieldPath') or ''))}",
            f"OptionalOldSelf:{old}",
        ]
        return "apiextensions.ValidationRule{" + ", ".join(fields) + "}"


class Node:
    """The rules of one schema node and the nodes below it that have rules."""

    def __init__(self, schema: JsonObject, resource_root: bool) -> None:
        self.schema = schema
        self.resource_root = resource_root
        self.type_name = str(schema.get("type") or "")
        self.rules = [
            Rule(r, schema)
            for r in schema.get("x-kubernetes-validations") or ()
            if isinstance(r, dict)
        ]
        self.properties: dict[str, Node] = {}
        for key, sub in (schema.get("properties") or {}).items():
            node = compile_node(sub)
            if node is not None:
                self.properties[key] = node
        extra = schema.get("additionalProperties")
        self.additional = compile_node(extra) if isinstance(extra, dict) else None
        items = schema.get("items")
        self.items = compile_node(items) if isinstance(items, dict) else None
        self.uses_old_self = any(rule.uses_old_self for rule in self.rules)
        keys = schema.get("x-kubernetes-list-map-keys")
        self.map_keys = (
            list(keys) if schema.get("x-kubernetes-list-type") == "map" and keys else None
        )


def compile_node(schema: Any, resource_root: bool = False) -> Node | None:
    """The validator tree of `schema`, None when no rule is at or below it."""
    if not isinstance(schema, dict) or not _has_rules(schema):
        return None
    return Node(schema, resource_root or schema.get("x-kubernetes-embedded-resource") is True)


def _has_rules(schema: JsonObject) -> bool:
    if schema.get("x-kubernetes-validations"):
        return True
    subs = [
        *(schema.get("properties") or {}).values(),
        schema.get("additionalProperties"),
        schema.get("items"),
    ]
    return any(isinstance(s, dict) and _has_rules(s) for s in subs)


def compile_errors(node: Node | None, path: str) -> list[Cause]:
    """The causes the CRD's validation gives for rules that do not compile or whose estimated
    cost is past kube's limit (cel_estimate.py), at `<path>.x-kubernetes-validations[i].rule`
    (properties as `properties[name]`)."""
    if node is None:
        return []
    causes: list[Cause] = []
    for i, rule in enumerate(node.rules):
        too_costly = rule.program and cost_error(estimate(rule.program.ast, node.schema))
        if too_costly:
            field = f"{path}.x-kubernetes-validations[{i}].rule"
            causes.append(("FieldValueForbidden", field, f"Forbidden: {too_costly}"))
        for where, detail in rule.errors:
            field = f"{path}.x-kubernetes-validations[{i}].{where}"
            causes.append(
                ("FieldValueInvalid", field, f"Invalid value: {rule.go_value()}: {detail}")
            )
    for key, sub in node.properties.items():
        causes += compile_errors(sub, f"{path}.properties[{key}]")
    causes += compile_errors(node.additional, f"{path}.additionalProperties")
    causes += compile_errors(node.items, f"{path}.items")
    return causes


# -- evaluation ---------------------------------------------------------------------------------


class Evaluation:
    """One object's validation: the budget its rules share."""

    def __init__(self) -> None:
        self.left = RUNTIME_BUDGET
        self.causes: list[Cause] = []

    def run(
        self, program: Program, variables: dict[str, Any], rule: Rule, field: str, value: str
    ) -> Any:
        """Evaluate under the per-call and the per-object budget; raise _Stop with the cause
        kube gives when either runs out."""
        per_call = min(PER_CALL_LIMIT, self.left)
        budget = Budget(per_call)
        try:
            return program.evaluate(variables, budget)
        except CELEvalError:
            raise
        except RecursionError:
            # Deeper than the compile-time limit lets through (values nest too): an evaluation
            # error of the rule, never a failed request.
            raise CELEvalError("max recursion depth exceeded") from None
        except Exception as exc:  # celpy or a library function failing on odd input
            raise CELEvalError(f"{type(exc).__name__}: {exc}"[:200]) from None
        except CostExceeded:
            if per_call == PER_CALL_LIMIT:
                detail = (
                    "'operation cancelled: actual cost limit exceeded': no further validation "
                    f"rules will be run due to call cost exceeds limit for rule: {rule.shown()}"
                )
            else:
                detail = _OUT_OF_BUDGET
            raise _Stop(("FieldValueInvalid", field, f"Invalid value: {value}: {detail}")) from None
        finally:
            self.left -= per_call - max(budget.left, 0)


def _field(path: str) -> str:
    return path or "<nil>"


def _message(ev: Evaluation, rule: Rule, variables: dict[str, Any], field: str, value: str) -> str:
    """evalMessageExpression, falling back to the rule's message or `failed rule: <rule>`."""
    if rule.message_program is not None:
        try:
            text = ev.run(rule.message_program, variables, rule, field, value)
        except CELEvalError:
            text = None
        if isinstance(text, str):
            text = text.strip()
            if text and "\n" not in text and len(text.encode()) <= MAX_MESSAGE_BYTES:
                return text
    return rule.message or f"failed rule: {rule.text.strip()}"


def _failure(rule: Rule, field: str, type_name: str, detail: str) -> Cause:
    """fieldErrorForReason."""
    if rule.reason == "FieldValueForbidden":
        return ("FieldValueForbidden", field, f"Forbidden: {detail}")
    if rule.reason == "FieldValueRequired":
        return ("FieldValueRequired", field, f"Required value: {detail}")
    if rule.reason == "FieldValueDuplicate":
        return ("FieldValueDuplicate", field, f"Duplicate value: {go_quote(type_name)}")
    return ("FieldValueInvalid", field, f"Invalid value: {go_quote(type_name)}: {detail}")


def _rules(ev: Evaluation, node: Node, path: str, obj: Any, old: Any, same: bool) -> None:
    shown = go_quote(node.type_name)
    self_value = to_cel(obj, node.schema, node.resource_root)
    old_value = None
    if old is not None and node.uses_old_self:
        old_value = to_cel(old, node.schema, node.resource_root)
    for rule in node.rules:
        field = _field(path)
        if rule.program is None:
            detail = rule.errors[0][1] if rule.errors else "rule compile error"
            message = f"Invalid value: {shown}: rule compile error: {detail}"
            ev.causes.append(("FieldValueInvalid", field, message))
            continue
        if rule.uses_old_self and old is None and not rule.optional_old_self:
            continue  # a transition rule: only where an old value correlates
        variables: dict[str, Any] = {"self": self_value}
        if rule.uses_old_self:
            variables["oldSelf"] = CelOptional(old_value) if rule.optional_old_self else old_value
        try:
            result = ev.run(rule.program, variables, rule, field, shown)
        except CELEvalError as exc:
            text = error_text(exc)
            if text == "no such overload":
                detail = (
                    "'no such overload': call arguments did not match a supported operator, "
                    f"function or macro signature for rule: {rule.shown()}"
                )
            else:
                detail = f"{text} evaluating rule: {rule.shown()}"
            ev.causes.append(("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}"))
            continue
        if isinstance(result, celtypes.BoolType) and bool(result):
            continue
        if rule.field_path:
            field = f"{path}.{rule.field_path}" if path else rule.field_path
        detail = _message(ev, rule, variables, field, shown)
        if same and not rule.uses_old_self:
            continue  # ratcheted: this part did not change (kube warns instead)
        ev.causes.append(_failure(rule, field, node.type_name, detail))


def _old_items(node: Node, old: Any) -> dict[tuple[str, ...], Any]:
    """list-type=map items of the old list by their keys (makeMapList)."""
    if node.map_keys is None or not isinstance(old, list):
        return {}
    return {tuple(repr(i.get(k)) for k in node.map_keys): i for i in old if isinstance(i, dict)}


def _walk(ev: Evaluation, node: Node, path: str, obj: Any, old: Any, same: bool) -> None:
    """`same`: an ancestor equals its correlated old value (rule failures ratchet)."""
    if obj is None:
        return  # rules see non-null values only
    same = same or (old is not None and obj == old)
    if node.rules:
        _rules(ev, node, path, obj, old, same)
    if isinstance(obj, dict):
        old_map = old if isinstance(old, dict) else {}
        for key, value in obj.items():
            sub = node.properties.get(key)
            if sub is not None:
                _walk(ev, sub, f"{path}.{key}" if path else key, value, old_map.get(key), same)
            elif node.additional is not None and not node.schema.get("properties"):
                _walk(ev, node.additional, f"{path}[{key}]", value, old_map.get(key), same)
    elif isinstance(obj, list) and node.items is not None:
        olds = _old_items(node, old)
        for i, value in enumerate(obj):
            prior = None
            if olds and isinstance(value, dict):
                prior = olds.get(tuple(repr(value.get(k)) for k in node.map_keys or ()))
            _walk(ev, node.items, f"{path}[{i}]", value, prior, same)


def validate(node: Node | None, obj: Any, old: Any) -> list[Cause]:
    """Every rule's cause for `obj` (and `old` on updates), in walk order; when the budget runs
    out, the causes so far and the budget's, and no more (kube returns at that point)."""
    if node is None:
        return []
    ev = Evaluation()
    try:
        _walk(ev, node, "", obj, old, False)
    except _Stop as stop:
        ev.causes.append(stop.args[0])
    except RecursionError:
        # A value nested past Python's stack (request bodies stop at a depth of 250 first):
        # the rules' error, never a failed request.
        detail = 'Invalid value: "object": max recursion depth exceeded evaluating rules'
        ev.causes.append(("FieldValueInvalid", "<nil>", detail))
    return ev.causes
