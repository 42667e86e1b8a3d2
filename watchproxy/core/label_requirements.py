"""Label requirements and how they match: apimachinery ``labels.Requirement`` (``NewRequirement``'s
validation, ``String``, ``Matches``) compiled into one closure per selector shape.

``LabelRequirement.new`` raises ``SelectorError`` with the apiserver's message
(pkg/labels/selector.go); matching is on the watch fan-out hot path, so a selector is compiled once
into a closure specialised for its shape (``app=x,tier=y`` scans a tuple of pairs, no call per
requirement). Pure; parsing is core/label_parser.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from watchproxy.core.selector_common import (
    SelectorError,
    _aggregate,
    _always_true,
    _invalid,
    _Matcher,
    _parse_int64,
)
from watchproxy.core.validation import (
    go_quote,
    go_string_slice,
    label_key_errors,
    label_value_errors,
)

EXISTS = "exists"
DOES_NOT_EXIST = "!"
IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
GREATER_THAN = "gt"
LESS_THAN = "lt"

# Order matters: it is the order apimachinery lists them in error messages.
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_UNARY_OPERATORS = (EXISTS, DOES_NOT_EXIST)
_VALID_OPERATORS = _BINARY_OPERATORS + _UNARY_OPERATORS

_OPERATOR_TEXT = {
    EQUALS: "=",
    DOUBLE_EQUALS: "==",
    NOT_EQUALS: "!=",
    IN: " in ",
    NOT_IN: " notin ",
    GREATER_THAN: ">",
    LESS_THAN: "<",
}


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """One clause of a label selector (apimachinery ``labels.Requirement``).

    The constructor does not validate, like a Go struct literal; use
    :meth:`new` for ``NewRequirement``'s checks.  Parsed requirements carry
    their values sorted and de-duplicated, as the apimachinery parser does.
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def new(cls, key: str, operator: str, values: Iterable[str] = ()) -> LabelRequirement:
        """Validated constructor, apimachinery ``labels.NewRequirement``."""
        vals = tuple(values)
        errors: list[str] = []
        key_errs = label_key_errors(key)
        if key_errs:
            errors.append(_invalid("key", go_quote(key), "; ".join(key_errs)))
        if operator in (IN, NOT_IN):
            if not vals:
                errors.append(
                    _invalid(
                        "values",
                        go_string_slice(vals),
                        "for 'in', 'notin' operators, values set can't be empty",
                    )
                )
        elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            if len(vals) != 1:
                errors.append(
                    _invalid(
                        "values",
                        go_string_slice(vals),
                        "exact-match compatibility requires one single value",
                    )
                )
        elif operator in (EXISTS, DOES_NOT_EXIST):
            if vals:
                errors.append(
                    _invalid(
                        "values",
                        go_string_slice(vals),
                        "values set must be empty for exists and does not exist",
                    )
                )
        elif operator in (GREATER_THAN, LESS_THAN):
            if len(vals) != 1:
                errors.append(
                    _invalid(
                        "values",
                        go_string_slice(vals),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    )
                )
            for i, v in enumerate(vals):
                if _parse_int64(v) is None:
                    errors.append(
                        _invalid(
                            f"values[{i}]",
                            go_quote(v),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        )
                    )
        else:
            supported = ", ".join(go_quote(o) for o in _VALID_OPERATORS)
            errors.append(
                f"operator: Unsupported value: {go_quote(operator)}: supported values: {supported}"
            )
        for i, v in enumerate(vals):
            value_errs = label_value_errors(v)
            if value_errs:
                errors.append(_invalid(f"values[{i}][{key}]", go_quote(v), "; ".join(value_errs)))
        if errors:
            raise SelectorError(_aggregate(errors))
        return cls(key, operator, vals)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return _compile_label_requirement(self)(labels)

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values
        text = values[0] if len(values) == 1 else ",".join(sorted(values))
        if op in (IN, NOT_IN):
            text = "(" + text + ")"
        return self.key + _OPERATOR_TEXT.get(op, "") + text


def _compile_label_requirement(req: LabelRequirement) -> _Matcher:
    """One closure per requirement, mirroring ``Requirement.Matches``."""
    key, op, values = req.key, req.operator, req.values
    if op in (IN, EQUALS, DOUBLE_EQUALS):
        if len(values) == 1:
            only = values[0]
            # `get` yields None for an absent key, which never equals a str.
            return lambda labels: labels.get(key) == only
        value_set = frozenset(values)

        def match_in(labels: Mapping[str, str]) -> bool:
            v = labels.get(key)
            return v is not None and v in value_set

        return match_in
    if op in (NOT_IN, NOT_EQUALS):
        if len(values) == 1:
            only = values[0]
            # An absent key (None) is "not equal": notin/!= match it, as upstream.
            return lambda labels: labels.get(key) != only
        value_set = frozenset(values)

        def match_not_in(labels: Mapping[str, str]) -> bool:
            v = labels.get(key)
            return v is None or v not in value_set

        return match_not_in
    if op == EXISTS:
        return lambda labels: key in labels
    if op == DOES_NOT_EXIST:
        return lambda labels: key not in labels
    if op in (GREATER_THAN, LESS_THAN):
        bound = _parse_int64(values[0]) if len(values) == 1 else None
        if bound is None:
            return lambda labels: False
        greater = op == GREATER_THAN

        def match_compare(labels: Mapping[str, str]) -> bool:
            v = labels.get(key)
            if v is None:
                return False
            n = _parse_int64(v)
            if n is None:
                return False
            return n > bound if greater else n < bound

        return match_compare
    return lambda labels: False


def _compile_label_selector(reqs: tuple[LabelRequirement, ...]) -> _Matcher:
    if not reqs:
        return _always_true
    if all(r.operator in (IN, EQUALS, DOUBLE_EQUALS) and len(r.values) == 1 for r in reqs):
        # The overwhelmingly common shape (`app=x,tier=y`): a tuple scan with
        # no per-requirement call.
        if len(reqs) == 1:
            return _compile_label_requirement(reqs[0])
        pairs = tuple((r.key, r.values[0]) for r in reqs)

        def match_equalities(labels: Mapping[str, str]) -> bool:
            get = labels.get
            for k, v in pairs:
                if get(k) != v:
                    return False
            return True

        return match_equalities
    matchers = tuple(_compile_label_requirement(r) for r in reqs)
    if len(matchers) == 1:
        return matchers[0]

    def match_all(labels: Mapping[str, str]) -> bool:
        for m in matchers:
            if not m(labels):
                return False
        return True

    return match_all
