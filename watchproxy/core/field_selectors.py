"""Field selectors (``?fieldSelector=``): a port of apimachinery pkg/fields/selector.go
(``ParseSelector`` with the ``\\,`` ``\\=`` ``\\\\`` escapes, ``EscapeValue``/``UnescapeValue``,
``splitTerms``/``splitTerm``) and their compiled matchers.

``FieldSelector.parse`` raises ``SelectorError`` with the apiserver's message. Which fields a
resource can select on is the caller's decision (api/params.py), not this module's. Pure.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from watchproxy.core.selector_common import SelectorError, _always_true, _Matcher


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
