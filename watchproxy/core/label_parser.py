"""The label selector grammar: a line-by-line port of apimachinery ``labels.Lexer`` and
``labels.Parser`` (pkg/labels/selector.go ``Parse``).

``_LabelParser(text).parse()`` returns the requirements in input order, each built with
``LabelRequirement.new``; every failure is a ``SelectorError`` whose text is the apiserver's.
Pure; core/selectors.py wraps it in ``LabelSelector.parse``.
"""

from __future__ import annotations

from watchproxy.core.label_requirements import (
    _BINARY_OPERATORS,
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
)
from watchproxy.core.selector_common import SelectorError, _invalid
from watchproxy.core.validation import go_quote, label_key_errors

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
