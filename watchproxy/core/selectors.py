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

Parts: core/selector_common.py (the error type, shared helpers), core/label_requirements.py
(requirements, validation, matching), core/label_parser.py (the label grammar),
core/field_selectors.py (field selectors); this module is the entry point callers import from.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from watchproxy.core.field_selectors import FieldRequirement, FieldSelector, escape_field_value
from watchproxy.core.label_parser import _LabelParser
from watchproxy.core.label_requirements import (
    DOES_NOT_EXIST,
    DOUBLE_EQUALS,
    EQUALS,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_EQUALS,
    NOT_IN,
    LabelRequirement,
    _compile_label_selector,
)
from watchproxy.core.selector_common import SelectorError, _Matcher

__all__ = [
    "DOES_NOT_EXIST",
    "DOUBLE_EQUALS",
    "EQUALS",
    "EXISTS",
    "GREATER_THAN",
    "IN",
    "LESS_THAN",
    "NOT_EQUALS",
    "NOT_IN",
    "FieldRequirement",
    "FieldSelector",
    "LabelRequirement",
    "LabelSelector",
    "SelectorError",
    "escape_field_value",
]


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
