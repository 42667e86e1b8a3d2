"""Kubernetes label and field selectors, parsed and matched as kube-apiserver does.

This module owns the selector language of list/watch requests
(``?labelSelector=`` and ``?fieldSelector=``): parsing, validation with the
apiserver's exact error texts, canonical string forms and fast matching.  It is
pure and depends on the standard library (and core/validation.py) only.

The label grammar, lexer and validation are a line-by-line port of apimachinery
``pkg/labels/selector.go`` (``Parse``, ``Lexer``, ``NewRequirement``); the label
key/value checks of ``pkg/api/validate/content`` (formerly ``pkg/util/validation``)
are in ``core/validation.py``, shared with ObjectMeta validation.  Field selectors
port ``pkg/fields/selector.go`` (``ParseSelector`` with ``\\,`` ``\\=`` ``\\\\``
escapes).  Messages follow the current apimachinery sources: key errors say "a valid
label key" and length errors say "bytes" (releases before the ``content`` package
said "a qualified name" and "characters").

``str(SelectorError)`` is the message kube-apiserver puts in a 400 BadRequest
Status for the same input.  Matching is on the watch fan-out hot path, so every
selector is compiled once into a single closure specialised for its shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from watchproxy.core.validation import (
    INT64_MAX,
    INT64_MIN,
    go_quote,
    go_string_slice,
    label_key_errors,
    label_value_errors,
)

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelRequirement",
    "LabelSelector",
    "SelectorError",
    "escape_field_value",
]


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


# --------------------------------------------------------------------------- #
# Label requirements and selectors
# --------------------------------------------------------------------------- #

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


class LabelSelector:
    """A parsed label selector: the AND of its requirements, sorted by key."""

    __slots__ = ("_match", "requirements")

    requirements: tuple[LabelRequirement, ...]
    _match: _Matcher

    def __init__(self, requirements: Iterable[LabelRequirement] = ()) -> None:
        # Python's sort is stable; Go's sort.Sort is not guaranteed to be, but
        # for the short slices selectors have it is insertion sort, so equal
        # keys keep their input order in both.
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._match = _compile_label_selector(self.requirements)

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse like apimachinery ``labels.Parse``; ``""`` selects everything."""
        if cls is LabelSelector:
            return _parse_label_selector_cached(text)
        return cls(_LabelParser(text).parse())

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self._match(labels)

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def exact_value(self, key: str) -> str | None:
        """apimachinery ``RequiresExactMatch``: the single value ``key`` must equal, if any."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(self.requirements)


@functools.lru_cache(maxsize=512)
def _parse_label_selector_cached(text: str) -> LabelSelector:
    # Selectors are immutable, and watchers of one resource tend to repeat the
    # same few selectors, so sharing parsed (and compiled) ones is free.
    return LabelSelector(_LabelParser(text).parse())


# Lexer tokens (apimachinery labels.Token); 0 is ErrorToken as upstream.
_ERROR = 0
_EOS = 1
_CLOSED_PAR = 2
_COMMA = 3
_DOES_NOT_EXIST = 4
_DOUBLE_EQUALS = 5
_EQUALS = 6
_GREATER_THAN = 7
_IDENTIFIER = 8
_IN = 9
_LESS_THAN = 10
_NOT_EQUALS = 11
_NOT_IN = 12
_OPEN_PAR = 13

_STRING_TO_TOKEN = {
    ")": _CLOSED_PAR,
    ",": _COMMA,
    "!": _DOES_NOT_EXIST,
    "==": _DOUBLE_EQUALS,
    "=": _EQUALS,
    ">": _GREATER_THAN,
    "in": _IN,
    "<": _LESS_THAN,
    "!=": _NOT_EQUALS,
    "notin": _NOT_IN,
    "(": _OPEN_PAR,
}
_WHITESPACE = frozenset(" \t\r\n")
_SPECIAL = frozenset("=!(),><")
# Go's lexer reads bytes and uses 0 as its end-of-input sentinel, so a NUL in
# the input also ends a token / the input; we keep that quirk.
_NUL = "\0"


class _LabelLexer:
    """Port of apimachinery ``labels.Lexer`` (byte-oriented; every special
    character is ASCII, so working on code points is equivalent)."""

    __slots__ = ("pos", "s")

    def __init__(self, s: str) -> None:
        self.s = s
        self.pos = 0

    def _read(self) -> str:
        if self.pos < len(self.s):
            ch = self.s[self.pos]
            self.pos += 1
            return ch
        return _NUL

    def _scan_id_or_keyword(self) -> tuple[int, str]:
        s, pos = self.s, self.pos
        start, n = pos, len(s)
        end = n
        while pos < n:
            ch = s[pos]
            if ch == _NUL:
                # Go's read() consumed the NUL before seeing it as "end".
                end = pos
                pos += 1
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                end = pos
                break
            pos += 1
        self.pos = pos
        lit = s[start:end]
        return _STRING_TO_TOKEN.get(lit, _IDENTIFIER), lit

    def _scan_special_symbol(self) -> tuple[int, str]:
        last_tok, last_lit = _ERROR, ""
        buffer = ""
        while True:
            ch = self._read()
            if ch == _NUL:
                break
            if ch in _SPECIAL:
                buffer += ch
                tok = _STRING_TO_TOKEN.get(buffer)
                if tok is not None:
                    last_tok, last_lit = tok, buffer
                elif last_tok != _ERROR:
                    self.pos -= 1
                    break
            else:
                self.pos -= 1
                break
        if last_tok == _ERROR:
            return _ERROR, f"error expected: keyword found '{buffer}'"
        return last_tok, last_lit

    def lex(self) -> tuple[int, str]:
        ch = self._read()
        while ch in _WHITESPACE:
            ch = self._read()
        if ch == _NUL:
            return _EOS, ""
        self.pos -= 1
        if ch in _SPECIAL:
            return self._scan_special_symbol()
        return self._scan_id_or_keyword()


# Parser contexts: in the Values context the keywords `in`/`notin` are plain
# identifiers, so `in in (in)` is a valid selector.
_KEY_AND_OPERATOR = 0
_VALUES = 1


class _LabelParser:
    """Port of apimachinery ``labels.Parser`` (recursive descent over a
    pre-scanned token list)."""

    __slots__ = ("items", "position")

    def __init__(self, text: str) -> None:
        lexer = _LabelLexer(text)
        self.items: list[tuple[int, str]] = []
        while True:
            item = lexer.lex()
            self.items.append(item)
            if item[0] == _EOS:
                break
        self.position = 0

    def _lookahead(self, context: int) -> tuple[int, str]:
        # Clamped at the final EOS; upstream would index out of range, but no
        # grammar path reads past EOS.
        tok, lit = self.items[min(self.position, len(self.items) - 1)]
        if context == _VALUES and tok in (_IN, _NOT_IN):
            tok = _IDENTIFIER
        return tok, lit

    def _consume(self, context: int) -> tuple[int, str]:
        item = self._lookahead(context)
        self.position += 1
        return item

    def parse(self) -> list[LabelRequirement]:
        requirements: list[LabelRequirement] = []
        while True:
            tok, lit = self._lookahead(_VALUES)
            if tok in (_IDENTIFIER, _DOES_NOT_EXIST):
                try:
                    requirements.append(self._parse_requirement())
                except SelectorError as e:
                    raise SelectorError(f"unable to parse requirement: {e}") from None
                t, lit2 = self._consume(_VALUES)
                if t == _EOS:
                    return requirements
                if t == _COMMA:
                    t2, lit3 = self._lookahead(_VALUES)
                    if t2 not in (_IDENTIFIER, _DOES_NOT_EXIST):
                        raise SelectorError(f"found '{lit3}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return requirements
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def _parse_requirement(self) -> LabelRequirement:
        key, operator = self._parse_key_and_infer_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return LabelRequirement.new(key, operator, ())
        operator = self._parse_operator()
        if operator in (IN, NOT_IN):
            values = self._parse_values()
        else:
            values = self._parse_exact_value()
        # sets.String.List(): sorted and de-duplicated.
        return LabelRequirement.new(key, operator, sorted(values))

    def _parse_key_and_infer_operator(self) -> tuple[str, str]:
        operator = ""
        tok, lit = self._consume(_VALUES)
        if tok == _DOES_NOT_EXIST:
            operator = DOES_NOT_EXIST
            tok, lit = self._consume(_VALUES)
        if tok != _IDENTIFIER:
            raise SelectorError(f"found '{lit}', expected: identifier")
        key_errs = label_key_errors(lit)
        if key_errs:
            # Upstream validates with a nil field path, which prints as "<nil>".
            raise SelectorError(_invalid("<nil>", go_quote(lit), "; ".join(key_errs)))
        t, _ = self._lookahead(_VALUES)
        if t in (_EOS, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def _parse_operator(self) -> str:
        tok, lit = self._consume(_KEY_AND_OPERATOR)
        op = _TOKEN_TO_OPERATOR.get(tok)
        if op is None:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return op

    def _parse_values(self) -> set[str]:
        tok, lit = self._consume(_VALUES)
        if tok != _OPEN_PAR:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._lookahead(_VALUES)
        if tok in (_IDENTIFIER, _COMMA):
            values = self._parse_identifiers_list()
            tok, _ = self._consume(_VALUES)
            if tok != _CLOSED_PAR:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSED_PAR:  # "()" means the single empty value
            self._consume(_VALUES)
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def _parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self._consume(_VALUES)
            if tok == _IDENTIFIER:
                values.add(lit)
                tok2, lit2 = self._lookahead(_VALUES)
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSED_PAR:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                # Empty values around commas: "(,a)", "(a,)", "(a,,b)".
                if not values:
                    values.add("")
                tok2, _ = self._lookahead(_VALUES)
                if tok2 == _CLOSED_PAR:
                    values.add("")
                    return values
                if tok2 == _COMMA:
                    values.add("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def _parse_exact_value(self) -> set[str]:
        tok, _ = self._lookahead(_VALUES)
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self._consume(_VALUES)
        if tok == _IDENTIFIER:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


_TOKEN_TO_OPERATOR = {
    _IN: IN,
    _EQUALS: EQUALS,
    _DOUBLE_EQUALS: DOUBLE_EQUALS,
    _GREATER_THAN: GREATER_THAN,
    _LESS_THAN: LESS_THAN,
    _NOT_IN: NOT_IN,
    _NOT_EQUALS: NOT_EQUALS,
}


# --------------------------------------------------------------------------- #
# Field selectors (apimachinery pkg/fields/selector.go)
# --------------------------------------------------------------------------- #


def escape_field_value(value: str) -> str:
    """apimachinery ``fields.EscapeValue``: backslash-escape ``\\``, ``,`` and ``=``."""
    if "\\" not in value and "," not in value and "=" not in value:
        return value
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape_field_value(s: str) -> str:
    """apimachinery ``fields.UnescapeValue``."""
    if "\\" not in s and "," not in s and "=" not in s:
        return s
    out: list[str] = []
    in_slash = False
    for c in s:
        if in_slash:
            if c in "\\,=":
                out.append(c)
            else:
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            in_slash = False
            continue
        if c == "\\":
            in_slash = True
        elif c in ",=":
            # Upstream formats the rune with %v, i.e. as its code point number.
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_field_terms(selector: str) -> list[str]:
    """apimachinery ``splitTerms``: split on commas not escaped by a backslash."""
    if not selector:
        return []
    terms: list[str] = []
    start = 0
    in_slash = False
    for i, c in enumerate(selector):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


def _split_field_term(term: str) -> tuple[str, str, str] | None:
    """apimachinery ``splitTerm``: split at the first ``!=``, ``==`` or ``=``;
    the field name admits no escaping."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """One clause of a field selector; ``operator`` is ``"="`` or ``"!="``."""

    field: str
    operator: str
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return equal if self.operator == "=" else not equal

    def __str__(self) -> str:
        return self.field + self.operator + escape_field_value(self.value)


def _compile_field_selector(reqs: tuple[FieldRequirement, ...]) -> _Matcher:
    # A missing field compares as "" (upstream Fields.Get returns "").
    if not reqs:
        return _always_true
    if len(reqs) == 1:
        f, v = reqs[0].field, reqs[0].value
        if reqs[0].operator == "=":
            return lambda fields: fields.get(f, "") == v
        return lambda fields: fields.get(f, "") != v
    if all(r.operator == "=" for r in reqs):
        pairs = tuple((r.field, r.value) for r in reqs)

        def match_equalities(fields: Mapping[str, str]) -> bool:
            get = fields.get
            for f, v in pairs:
                if get(f, "") != v:
                    return False
            return True

        return match_equalities
    triples = tuple((r.field, r.value, r.operator == "=") for r in reqs)

    def match_all(fields: Mapping[str, str]) -> bool:
        get = fields.get
        for f, v, want_equal in triples:
            if (get(f, "") == v) is not want_equal:
                return False
        return True

    return match_all


class FieldSelector:
    """A parsed field selector: the AND of its requirements.

    Requirements keep apimachinery's order (terms sorted by their raw text);
    field names are not validated here, since which fields are selectable is a
    per-resource decision made by the caller.
    """

    __slots__ = ("_match", "requirements")

    requirements: tuple[FieldRequirement, ...]
    _match: _Matcher

    def __init__(self, requirements: Iterable[FieldRequirement] = ()) -> None:
        self.requirements = tuple(requirements)
        self._match = _compile_field_selector(self.requirements)

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse like apimachinery ``fields.ParseSelector``; ``""`` selects everything."""
        if cls is FieldSelector:
            return _parse_field_selector_cached(text)
        return cls(_parse_field_requirements(text))

    def matches(self, fields: Mapping[str, str]) -> bool:
        return self._match(fields)

    def exact_value(self, field: str) -> str | None:
        """The value ``field`` must equal (apimachinery ``RequiresExactMatch``), else None."""
        for r in self.requirements:
            if r.field == field and r.operator == "=":
                return r.value
        return None

    def fields(self) -> frozenset[str]:
        return frozenset(r.field for r in self.requirements)

    def without(self, field: str) -> FieldSelector:
        if all(r.field != field for r in self.requirements):
            return self
        return FieldSelector(r for r in self.requirements if r.field != field)

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSelector):
            return NotImplemented
        return self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(self.requirements)


def _parse_field_requirements(selector: str) -> list[FieldRequirement]:
    parts = sorted(_split_field_terms(selector))
    reqs: list[FieldRequirement] = []
    for part in parts:
        if not part:
            continue
        split = _split_field_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{selector}'; can't understand '{part}'")
        lhs, op, rhs = split
        value = _unescape_field_value(rhs)
        # Upstream runs an identity Transform after parsing, which drops terms
        # whose field and value are both empty (e.g. a bare "=").
        if not lhs and not value:
            continue
        reqs.append(FieldRequirement(lhs, "!=" if op == "!=" else "=", value))
    return reqs


@functools.lru_cache(maxsize=512)
def _parse_field_selector_cached(text: str) -> FieldSelector:
    return FieldSelector(_parse_field_requirements(text))
