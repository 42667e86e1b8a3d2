"""Label and field selectors: parsing, apiserver error texts, matching, string forms.

Expected messages are literal copies of what apimachinery produces (``labels.Parse``,
``NewRequirement``, ``fields.ParseSelector``), not derived from the module under test.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from watchproxy.core.selectors import (
    FieldRequirement,
    FieldSelector,
    LabelRequirement,
    LabelSelector,
    SelectorError,
    escape_field_value,
)

# Literal apimachinery detail texts.
NAME_RE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
    "or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
DNS_RE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
TOO_MANY_SLASHES = (
    "a valid label key " + NAME_RE + " with an optional DNS subdomain prefix and '/' "
    "(e.g. 'example.com/MyName')"
)
UNABLE = "unable to parse requirement: "
BINARY_OPS = "in, notin, =, ==, !=, gt, lt"


def R(key: str, op: str, *values: str) -> LabelRequirement:
    return LabelRequirement(key, op, values)


# --------------------------------------------------------------------------- #
# Label selector parsing
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "canonical", "requirements"),
    [
        pytest.param("", "", (), id="empty"),
        pytest.param("   \t\n", "", (), id="only-whitespace"),
        pytest.param("x", "x", (R("x", "exists"),), id="exists"),
        pytest.param("\rx", "x", (R("x", "exists"),), id="exists-leading-cr"),
        pytest.param("!x", "!x", (R("x", "!"),), id="does-not-exist"),
        pytest.param("! x", "!x", (R("x", "!"),), id="does-not-exist-space"),
        pytest.param("x=a", "x=a", (R("x", "=", "a"),), id="equals"),
        pytest.param("x==a", "x==a", (R("x", "==", "a"),), id="double-equals"),
        pytest.param("x!=a", "x!=a", (R("x", "!=", "a"),), id="not-equals"),
        pytest.param("x = a", "x=a", (R("x", "=", "a"),), id="equals-spaced"),
        pytest.param("x=", "x=", (R("x", "=", ""),), id="equals-empty"),
        pytest.param("x= ", "x=", (R("x", "=", ""),), id="equals-empty-space"),
        pytest.param("x==", "x==", (R("x", "==", ""),), id="double-equals-empty"),
        pytest.param("x!=", "x!=", (R("x", "!=", ""),), id="not-equals-empty"),
        pytest.param("x=,z= ", "x=,z=", (R("x", "=", ""), R("z", "=", "")), id="two-empty-values"),
        pytest.param("x>1", "x>1", (R("x", "gt", "1"),), id="gt"),
        pytest.param("x<10", "x<10", (R("x", "lt", "10"),), id="lt"),
        pytest.param("x>1,z<5", "x>1,z<5", (R("x", "gt", "1"), R("z", "lt", "5")), id="gt-lt"),
        pytest.param("x in (a)", "x in (a)", (R("x", "in", "a"),), id="in-one"),
        pytest.param(
            "x in (b,a,b)", "x in (a,b)", (R("x", "in", "a", "b"),), id="in-sorted-deduped"
        ),
        pytest.param("x in ()", "x in ()", (R("x", "in", ""),), id="in-empty-parens"),
        pytest.param("x in (abc,)", "x in (,abc)", (R("x", "in", "", "abc"),), id="in-trailing"),
        pytest.param("x in (,abc)", "x in (,abc)", (R("x", "in", "", "abc"),), id="in-leading"),
        pytest.param(
            "x in (foo,,baz)",
            "x in (,baz,foo)",
            (R("x", "in", "", "baz", "foo"),),
            id="in-double-comma",
        ),
        pytest.param("x in (,)", "x in ()", (R("x", "in", ""),), id="in-only-comma"),
        pytest.param(
            "x  notin\t\t(abc,def)",
            "x notin (abc,def)",
            (R("x", "notin", "abc", "def"),),
            id="notin-tabs",
        ),
        pytest.param("x notin\n (abc)", "x notin (abc)", (R("x", "notin", "abc"),), id="notin-nl"),
        pytest.param("x in(a)", "x in (a)", (R("x", "in", "a"),), id="in-no-space-before-paren"),
        pytest.param(
            "x notin (abc,def),bar,z in (),w",
            "bar,w,x notin (abc,def),z in ()",
            (R("bar", "exists"), R("w", "exists"), R("x", "notin", "abc", "def"), R("z", "in", "")),
            id="mixed-sorted-by-key",
        ),
        pytest.param(
            "in in (in, notin)",
            "in in (in,notin)",
            (R("in", "in", "in", "notin"),),
            id="keywords-as-key-and-values",
        ),
        pytest.param("notin=in", "notin=in", (R("notin", "=", "in"),), id="keywords-exact"),
        pytest.param(
            "this-is-a-dns.domain.com/key-with-dash",
            "this-is-a-dns.domain.com/key-with-dash",
            (R("this-is-a-dns.domain.com/key-with-dash", "exists"),),
            id="prefixed-key",
        ),
        pytest.param(
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
            (R("0.1.2.domain/99", "notin", "10.10.100.1", "tick.tack.clock"),),
            id="prefixed-key-notin",
        ),
        pytest.param(
            "app.kubernetes.io/name=x_Y.z-1",
            "app.kubernetes.io/name=x_Y.z-1",
            (R("app.kubernetes.io/name", "=", "x_Y.z-1"),),
            id="value-charset",
        ),
        pytest.param(
            "x=a,x!=b", "x=a,x!=b", (R("x", "=", "a"), R("x", "!=", "b")), id="same-key-kept"
        ),
        pytest.param("a" * 63, "a" * 63, (R("a" * 63, "exists"),), id="name-63"),
        pytest.param(
            "a" * 253 + "/b", "a" * 253 + "/b", (R("a" * 253 + "/b", "exists"),), id="prefix-253"
        ),
        pytest.param("x=" + "v" * 63, "x=" + "v" * 63, (R("x", "=", "v" * 63),), id="value-63"),
        pytest.param("x>0009", "x>0009", (R("x", "gt", "0009"),), id="gt-leading-zeros"),
    ],
)
def test_label_parse(text: str, canonical: str, requirements: tuple[LabelRequirement, ...]) -> None:
    sel = LabelSelector.parse(text)
    assert sel.requirements == requirements
    assert str(sel) == canonical
    assert sel.is_empty == (not requirements)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Structural errors outside a requirement are not prefixed.
        pytest.param(
            ",x", "found ',', expected: !, identifier, or 'end of string'", id="lead-comma"
        ),
        pytest.param("=a", "found '=', expected: !, identifier, or 'end of string'", id="lead-op"),
        pytest.param(
            "(x)", "found '(', expected: !, identifier, or 'end of string'", id="lead-par"
        ),
        pytest.param("x,", "found '', expected: identifier after ','", id="trailing-comma"),
        pytest.param("x,,y", "found ',', expected: identifier after ','", id="double-comma"),
        pytest.param("x,=", "found '=', expected: identifier after ','", id="comma-op"),
        pytest.param("x=a b", "found 'b', expected: ',' or 'end of string'", id="two-values"),
        pytest.param(
            "x=a||y=b",
            UNABLE + 'values[0][x]: Invalid value: "a||y": ' + VALUE_RE,
            id="pipes-are-identifier-chars",
        ),
        pytest.param("x==a==b", "found '==', expected: ',' or 'end of string'", id="chained-eq"),
        pytest.param("!x=a", "found '=', expected: ',' or 'end of string'", id="not-with-value"),
        pytest.param("x in (a)b", "found 'b', expected: ',' or 'end of string'", id="after-paren"),
        # Inside a requirement: "unable to parse requirement: <inner>".
        pytest.param("x y", UNABLE + f"found 'y', expected: {BINARY_OPS}", id="missing-op"),
        pytest.param("x!y", UNABLE + f"found '!', expected: {BINARY_OPS}", id="bang-as-op"),
        pytest.param("x (a)", UNABLE + f"found '(', expected: {BINARY_OPS}", id="paren-as-op"),
        pytest.param("!", UNABLE + "found '', expected: identifier", id="bare-bang"),
        pytest.param("!!x", UNABLE + "found '!', expected: identifier", id="double-bang"),
        pytest.param(
            "!=a", "found '!=', expected: !, identifier, or 'end of string'", id="bang-eq-first"
        ),
        pytest.param("x===y", UNABLE + "found '=', expected: identifier", id="triple-eq"),
        pytest.param("x=!y", UNABLE + "found '!', expected: identifier", id="eq-bang"),
        pytest.param("x=(a)", UNABLE + "found '(', expected: identifier", id="eq-paren"),
        pytest.param("x>=1", UNABLE + "found '=', expected: identifier", id="gte-unsupported"),
        pytest.param("x in", UNABLE + "found '' expected: '('", id="in-eos"),
        pytest.param("x notin a", UNABLE + "found 'a' expected: '('", id="notin-no-paren"),
        pytest.param("x in (", UNABLE + "found '', expected: ',', ')' or identifier", id="open"),
        pytest.param("x in (=", UNABLE + "found '=', expected: ',', ')' or identifier", id="op"),
        pytest.param("x in (a", UNABLE + "found '', expected: ',' or ')'", id="unclosed"),
        pytest.param("x in (a b)", UNABLE + "found 'b', expected: ',' or ')'", id="space-sep"),
        pytest.param("x in (a,", UNABLE + "found '', expected: ',', or identifier", id="comma-eos"),
        pytest.param("x in (a,=)", UNABLE + "found '=', expected: ',', or identifier", id="op-val"),
        pytest.param(
            "x in ((a))", UNABLE + "found '(', expected: ',', ')' or identifier", id="nested"
        ),
        # Gt/Lt value checks (NewRequirement), then label value checks.
        pytest.param(
            "x<a",
            UNABLE + 'values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
            id="lt-not-int",
        ),
        pytest.param(
            "x>",
            UNABLE + 'values[0]: Invalid value: "": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
            id="gt-empty",
        ),
        pytest.param(
            "x>1_0",
            UNABLE + 'values[0]: Invalid value: "1_0": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
            id="gt-underscore",
        ),
        pytest.param(
            "x>9223372036854775808",
            UNABLE + 'values[0]: Invalid value: "9223372036854775808": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
            id="gt-int64-overflow",
        ),
        pytest.param(
            "x>-1",
            UNABLE + 'values[0][x]: Invalid value: "-1": ' + VALUE_RE,
            id="gt-negative-is-bad-label-value",
        ),
        pytest.param(
            "x>a-",
            UNABLE + "[values[0]: Invalid value: \"a-\": for 'Gt', 'Lt' operators, the value "
            'must be an integer, values[0][x]: Invalid value: "a-": ' + VALUE_RE + "]",
            id="gt-two-errors-aggregated",
        ),
        # Label value validation.
        pytest.param(
            "x=-a", UNABLE + 'values[0][x]: Invalid value: "-a": ' + VALUE_RE, id="value-dash"
        ),
        pytest.param(
            "x in (ok,b@d)",
            UNABLE + 'values[0][x]: Invalid value: "b@d": ' + VALUE_RE,
            id="in-bad-value-index-after-sort",
        ),
        pytest.param(
            "x in (z!,a.)",
            UNABLE + "found '!', expected: ',' or ')'",
            id="in-bang-inside",
        ),
        pytest.param(
            "x in (z-,a.)",
            UNABLE + '[values[0][x]: Invalid value: "a.": ' + VALUE_RE + ", "
            'values[1][x]: Invalid value: "z-": ' + VALUE_RE + "]",
            id="in-two-bad-values",
        ),
        pytest.param(
            "x=" + "v" * 64,
            UNABLE + 'values[0][x]: Invalid value: "' + "v" * 64 + '": '
            "must be no more than 63 bytes",
            id="value-too-long",
        ),
        pytest.param(
            "x=" + "v" * 63 + "-",
            UNABLE + 'values[0][x]: Invalid value: "' + "v" * 63 + '-": '
            "must be no more than 63 bytes; " + VALUE_RE,
            id="value-too-long-and-bad",
        ),
        # Label key validation (nil field path prints as "<nil>").
        pytest.param(
            "a/b/c", UNABLE + '<nil>: Invalid value: "a/b/c": ' + TOO_MANY_SLASHES, id="slashes"
        ),
        pytest.param(
            "/a", UNABLE + '<nil>: Invalid value: "/a": prefix part must be non-empty', id="no-pfx"
        ),
        pytest.param(
            "a/",
            UNABLE
            + '<nil>: Invalid value: "a/": name part must be non-empty; name part '
            + NAME_RE,
            id="no-name",
        ),
        pytest.param(
            "Example.com/a",
            UNABLE + '<nil>: Invalid value: "Example.com/a": prefix part ' + DNS_RE,
            id="prefix-uppercase",
        ),
        pytest.param(
            "-x/",
            UNABLE
            + '<nil>: Invalid value: "-x/": prefix part '
            + DNS_RE
            + "; name part must be non-empty; name part "
            + NAME_RE,
            id="key-three-errors",
        ),
        pytest.param(
            "a" * 254 + "/b",
            UNABLE + '<nil>: Invalid value: "' + "a" * 254 + '/b": '
            "prefix part must be no more than 253 bytes",
            id="prefix-too-long",
        ),
        pytest.param(
            "a" * 64,
            UNABLE + '<nil>: Invalid value: "' + "a" * 64 + '": '
            "name part must be no more than 63 bytes",
            id="name-too-long",
        ),
        pytest.param(
            "_x", UNABLE + '<nil>: Invalid value: "_x": name part ' + NAME_RE, id="name-underscore"
        ),
        pytest.param(
            "x.", UNABLE + '<nil>: Invalid value: "x.": name part ' + NAME_RE, id="name-dot-end"
        ),
        pytest.param(
            '"x', UNABLE + '<nil>: Invalid value: "\\"x": name part ' + NAME_RE, id="go-quote-dq"
        ),
        pytest.param(
            "a\\b",
            UNABLE + '<nil>: Invalid value: "a\\\\b": name part ' + NAME_RE,
            id="go-quote-backslash",
        ),
        pytest.param(
            "a\x01", UNABLE + '<nil>: Invalid value: "a\\x01": name part ' + NAME_RE, id="go-ctl"
        ),
        pytest.param(
            "é", UNABLE + '<nil>: Invalid value: "é": name part ' + NAME_RE, id="go-quote-utf8"
        ),
        pytest.param(
            "a\u00a0",
            UNABLE + '<nil>: Invalid value: "a\\u00a0": name part ' + NAME_RE,
            id="go-quote-nbsp",
        ),
        pytest.param(
            "é" * 32,
            UNABLE + '<nil>: Invalid value: "' + "é" * 32 + '": '
            "name part must be no more than 63 bytes; name part " + NAME_RE,
            id="length-in-utf8-bytes",
        ),
        # Go's lexer treats a NUL byte as end of input for the current token.
        pytest.param("a\x00b", UNABLE + f"found 'b', expected: {BINARY_OPS}", id="nul"),
    ],
)
def test_label_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        LabelSelector.parse(text)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("key", "operator", "values", "message"),
    [
        pytest.param(
            "x",
            "in",
            (),
            "values: Invalid value: []string{}: for 'in', 'notin' operators, "
            "values set can't be empty",
            id="in-empty",
        ),
        pytest.param(
            "x",
            "notin",
            (),
            "values: Invalid value: []string{}: for 'in', 'notin' operators, "
            "values set can't be empty",
            id="notin-empty",
        ),
        pytest.param(
            "x",
            "=",
            ("a", "b"),
            'values: Invalid value: []string{"a", "b"}: '
            "exact-match compatibility requires one single value",
            id="equals-two",
        ),
        pytest.param(
            "x",
            "exists",
            ("a",),
            'values: Invalid value: []string{"a"}: '
            "values set must be empty for exists and does not exist",
            id="exists-with-value",
        ),
        pytest.param(
            "x",
            "gt",
            ("1", "2"),
            'values: Invalid value: []string{"1", "2"}: '
            "for 'Gt', 'Lt' operators, exactly one value is required",
            id="gt-two",
        ),
        pytest.param(
            "x",
            "foo",
            (),
            'operator: Unsupported value: "foo": supported values: "in", "notin", "=", "==", '
            '"!=", "gt", "lt", "exists", "!"',
            id="bad-operator",
        ),
        pytest.param(
            "a b",
            "exists",
            (),
            'key: Invalid value: "a b": name part ' + NAME_RE,
            id="bad-key-path-is-key",
        ),
        pytest.param(
            "x",
            "in",
            ("-", "_"),
            '[values[0][x]: Invalid value: "-": ' + VALUE_RE + ", "
            'values[1][x]: Invalid value: "_": ' + VALUE_RE + "]",
            id="per-index-paths",
        ),
    ],
)
def test_label_requirement_new_errors(
    key: str, operator: str, values: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SelectorError) as info:
        LabelRequirement.new(key, operator, values)
    assert str(info.value) == message


def test_label_requirement_new_ok_keeps_given_order() -> None:
    assert LabelRequirement.new("x", "in", ["b", "a"]) == R("x", "in", "b", "a")
    assert str(LabelRequirement.new("x", "in", ["b", "a"])) == "x in (a,b)"
    assert LabelRequirement.new("k", "!") == R("k", "!")


# --------------------------------------------------------------------------- #
# Label matching
# --------------------------------------------------------------------------- #

LABELS = {"app": "web", "tier": "fe", "n": "5", "empty": "", "word": "v2"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        pytest.param("", {}, True, id="everything-empty-labels"),
        pytest.param("", LABELS, True, id="everything"),
        pytest.param("app", LABELS, True, id="exists-present"),
        pytest.param("nope", LABELS, False, id="exists-absent"),
        pytest.param("empty", LABELS, True, id="exists-empty-value"),
        pytest.param("!nope", LABELS, True, id="dne-absent"),
        pytest.param("!app", LABELS, False, id="dne-present"),
        pytest.param("app=web", LABELS, True, id="eq-match"),
        pytest.param("app==web", LABELS, True, id="deq-match"),
        pytest.param("app=db", LABELS, False, id="eq-mismatch"),
        pytest.param("nope=web", LABELS, False, id="eq-absent"),
        pytest.param("nope=", LABELS, False, id="eq-empty-absent"),
        pytest.param("empty=", LABELS, True, id="eq-empty-present"),
        pytest.param("app!=db", LABELS, True, id="neq-match"),
        pytest.param("app!=web", LABELS, False, id="neq-mismatch"),
        pytest.param("nope!=web", LABELS, True, id="neq-absent-matches"),
        pytest.param("empty!=", LABELS, False, id="neq-empty-present"),
        pytest.param("app in (db,web)", LABELS, True, id="in-match"),
        pytest.param("app in (db)", LABELS, False, id="in-mismatch"),
        pytest.param("nope in (a,b)", LABELS, False, id="in-absent"),
        pytest.param("nope in ()", LABELS, False, id="in-empty-value-absent"),
        pytest.param("empty in ()", LABELS, True, id="in-empty-value-present"),
        pytest.param("app notin (db,web)", LABELS, False, id="notin-mismatch"),
        pytest.param("app notin (db,x)", LABELS, True, id="notin-match"),
        pytest.param("nope notin (a,b)", LABELS, True, id="notin-absent-matches"),
        pytest.param("nope notin (a)", LABELS, True, id="notin-one-absent-matches"),
        pytest.param("x notin ()", {"y": ""}, True, id="notin-empty-absent"),
        pytest.param("n>4", LABELS, True, id="gt-true"),
        pytest.param("n>5", LABELS, False, id="gt-equal"),
        pytest.param("n<6", LABELS, True, id="lt-true"),
        pytest.param("n<5", LABELS, False, id="lt-equal"),
        pytest.param("nope>1", LABELS, False, id="gt-absent"),
        pytest.param("nope<1", LABELS, False, id="lt-absent"),
        pytest.param("word>1", LABELS, False, id="gt-non-integer-label"),
        pytest.param("empty<1", LABELS, False, id="lt-empty-label"),
        pytest.param("x>1", {"x": "+2"}, True, id="gt-label-with-plus-sign"),
        pytest.param("x<1", {"x": "-3"}, True, id="lt-negative-label"),
        pytest.param("x>0", {"x": "9223372036854775808"}, False, id="gt-label-overflow"),
        pytest.param("x<10", {"x": "09"}, True, id="lt-leading-zero-label"),
        pytest.param("app=web,tier=fe", LABELS, True, id="and-all-eq"),
        pytest.param("app=web,tier=be", LABELS, False, id="and-one-fails"),
        pytest.param("app=web,tier!=be,n>1,!nope", LABELS, True, id="and-mixed"),
        pytest.param("app=web,tier!=fe,n>1", LABELS, False, id="and-mixed-fails"),
        pytest.param("app=web,app=db", LABELS, False, id="contradiction"),
        pytest.param("notin=in", {"notin": "in"}, True, id="keyword-labels"),
    ],
)
def test_label_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    sel = LabelSelector.parse(text)
    assert sel.matches(labels) is expected
    assert sel.matches(MappingProxyType(labels)) is expected
    # The per-requirement path agrees with the compiled selector.
    assert all(r.matches(labels) for r in sel.requirements) is expected


def test_directly_constructed_requirements() -> None:
    sel = LabelSelector([R("b", "gt", "x"), R("a", "exists")])
    assert [r.key for r in sel.requirements] == ["a", "b"]
    # An unparseable gt/lt bound never matches, as upstream.
    assert not sel.matches({"a": "1", "b": "5"})
    assert not LabelSelector([R("a", "bogus")]).matches({"a": "1"})


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        pytest.param("a=1,b=2", "b", "2", id="equals"),
        pytest.param("a==1", "a", "1", id="double-equals"),
        pytest.param("a in (1)", "a", "1", id="in-single"),
        pytest.param("a in (1,2)", "a", None, id="in-multiple"),
        pytest.param("a!=1", "a", None, id="not-equals"),
        pytest.param("a", "a", None, id="exists"),
        pytest.param("a=1", "b", None, id="other-key"),
        pytest.param("", "a", None, id="empty"),
    ],
)
def test_label_exact_value(text: str, key: str, expected: str | None) -> None:
    assert LabelSelector.parse(text).exact_value(key) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x in (foo,,baz),y,z notin ()", id="mixed"),
        pytest.param("x=a,y==b,z!=c,!w,v>1,u<2", id="all-ops"),
        pytest.param("x notin (abc),y in (jkl,mno),z notin ()", id="sets"),
        pytest.param("x=,z=", id="empty-values"),
        pytest.param("in in (in,notin),notin=in", id="keywords"),
        pytest.param("a.b/c in (d,e),f", id="prefixed"),
    ],
)
def test_label_string_round_trip(text: str) -> None:
    sel = LabelSelector.parse(text)
    again = LabelSelector.parse(str(sel))
    assert again == sel
    assert str(again) == str(sel)
    assert hash(again) == hash(sel)


def test_label_deterministic_order_and_cache() -> None:
    assert str(LabelSelector.parse("x=a,a=x")) == str(LabelSelector.parse("a=x,x=a")) == "a=x,x=a"
    assert LabelSelector.parse("app=web") is LabelSelector.parse("app=web")
    assert repr(LabelSelector.parse("a in (b)")) == "LabelSelector('a in (b)')"
    assert LabelSelector.parse("") == LabelSelector()
    assert LabelSelector.parse("a") != FieldSelector.parse("a=b")


# --------------------------------------------------------------------------- #
# Field selectors
# --------------------------------------------------------------------------- #


def F(field: str, op: str, value: str) -> FieldRequirement:
    return FieldRequirement(field, op, value)


@pytest.mark.parametrize(
    ("text", "canonical", "requirements"),
    [
        pytest.param("", "", (), id="empty"),
        pytest.param(",", "", (), id="only-comma"),
        pytest.param("a=b", "a=b", (F("a", "=", "b"),), id="equals"),
        pytest.param("a==b", "a=b", (F("a", "=", "b"),), id="double-equals-normalised"),
        pytest.param("a!=b", "a!=b", (F("a", "!=", "b"),), id="not-equals"),
        pytest.param("a=", "a=", (F("a", "=", ""),), id="empty-value"),
        pytest.param("=b", "=b", (F("", "=", "b"),), id="empty-field-kept"),
        pytest.param("=", "", (), id="empty-field-and-value-dropped"),
        pytest.param("!=", "", (), id="empty-neq-dropped"),
        pytest.param(
            "metadata.name=x,metadata.namespace!=y,,",
            "metadata.name=x,metadata.namespace!=y",
            (F("metadata.name", "=", "x"), F("metadata.namespace", "!=", "y")),
            id="blank-terms-skipped",
        ),
        pytest.param(
            "z=1,a=2", "a=2,z=1", (F("a", "=", "2"), F("z", "=", "1")), id="sorted-by-term-text"
        ),
        pytest.param("a= b ", "a= b ", (F("a", "=", " b "),), id="whitespace-is-data"),
        pytest.param(
            "spec.nodeName=", "spec.nodeName=", (F("spec.nodeName", "=", ""),), id="unscheduled"
        ),
        pytest.param("a=b\\,c", "a=b\\,c", (F("a", "=", "b,c"),), id="escaped-comma"),
        pytest.param("a=b\\=c", "a=b\\=c", (F("a", "=", "b=c"),), id="escaped-equals"),
        pytest.param("a=b\\\\c", "a=b\\\\c", (F("a", "=", "b\\c"),), id="escaped-backslash"),
        pytest.param(
            "a=\\,,b!=\\=",
            "a=\\,,b!=\\=",
            (F("a", "=", ","), F("b", "!=", "=")),
            id="escapes-in-two-terms",
        ),
        pytest.param("a!b=c", "a!b=c", (F("a!b", "=", "c"),), id="bang-in-field"),
        pytest.param("a\\,b=c", "a\\,b=c", (F("a\\,b", "=", "c"),), id="field-not-unescaped"),
        # No escaping in the field name: the first '=' splits even after a backslash.
        pytest.param("a\\=b", "a\\=b", (F("a\\", "=", "b"),), id="field-backslash-eq"),
    ],
)
def test_field_parse(text: str, canonical: str, requirements: tuple[FieldRequirement, ...]) -> None:
    sel = FieldSelector.parse(text)
    assert sel.requirements == requirements
    assert str(sel) == canonical
    assert sel.is_empty == (not requirements)
    assert FieldSelector.parse(str(sel)) == sel


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("ab", "invalid selector: 'ab'; can't understand 'ab'", id="no-operator"),
        pytest.param(
            "a=b,cd", "invalid selector: 'a=b,cd'; can't understand 'cd'", id="second-term"
        ),
        pytest.param(
            "a<b", "invalid selector: 'a<b'; can't understand 'a<b'", id="unsupported-operator"
        ),
        pytest.param(
            "a=b=c", "invalid field selector: unescaped character in value: 61", id="unescaped-eq"
        ),
        pytest.param(
            "a==b=c", "invalid field selector: unescaped character in value: 61", id="deq-then-eq"
        ),
        pytest.param(
            "a!==b", "invalid field selector: unescaped character in value: 61", id="neq-then-eq"
        ),
        pytest.param(
            "a=b\\x", "invalid field selector: invalid escape sequence: \\x", id="bad-escape"
        ),
        pytest.param(
            "a=b\\", "invalid field selector: invalid escape sequence: \\", id="trailing-backslash"
        ),
        pytest.param(
            "a=b\\,c\\", "invalid field selector: invalid escape sequence: \\", id="trailing-2"
        ),
    ],
)
def test_field_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        FieldSelector.parse(text)
    assert str(info.value) == message


FIELDS = {"metadata.name": "pod-1", "metadata.namespace": "ns", "spec.nodeName": ""}


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        pytest.param("", {}, True, id="everything"),
        pytest.param("metadata.name=pod-1", FIELDS, True, id="eq-match"),
        pytest.param("metadata.name==pod-1", FIELDS, True, id="deq-match"),
        pytest.param("metadata.name=pod-2", FIELDS, False, id="eq-mismatch"),
        pytest.param("metadata.name!=pod-2", FIELDS, True, id="neq-match"),
        pytest.param("metadata.name!=pod-1", FIELDS, False, id="neq-mismatch"),
        pytest.param("spec.nodeName=", FIELDS, True, id="eq-empty-present"),
        pytest.param("status.phase=", FIELDS, True, id="eq-empty-missing-is-empty"),
        pytest.param("status.phase=Running", FIELDS, False, id="eq-missing"),
        pytest.param("status.phase!=Running", FIELDS, True, id="neq-missing"),
        pytest.param("status.phase!=", FIELDS, False, id="neq-empty-missing"),
        pytest.param("metadata.name=pod-1,metadata.namespace=ns", FIELDS, True, id="and-eq"),
        pytest.param("metadata.name=pod-1,metadata.namespace=x", FIELDS, False, id="and-eq-fail"),
        pytest.param("metadata.name=pod-1,spec.nodeName!=n1", FIELDS, True, id="and-mixed"),
        pytest.param("metadata.name=pod-1,spec.nodeName!=", FIELDS, False, id="and-mixed-fail"),
        pytest.param("a=x\\,y", {"a": "x,y"}, True, id="escaped-value-match"),
        pytest.param("a=x\\=y\\\\", {"a": "x=y\\"}, True, id="escaped-eq-backslash-match"),
    ],
)
def test_field_matches(text: str, fields: dict[str, str], expected: bool) -> None:
    sel = FieldSelector.parse(text)
    assert sel.matches(fields) is expected
    assert sel.matches(MappingProxyType(fields)) is expected
    assert all(r.matches(fields) for r in sel.requirements) is expected


def test_field_introspection() -> None:
    sel = FieldSelector.parse("metadata.namespace=ns,metadata.name!=x,spec.nodeName=n1")
    assert sel.exact_value("metadata.namespace") == "ns"
    assert sel.exact_value("spec.nodeName") == "n1"
    assert sel.exact_value("metadata.name") is None
    assert sel.exact_value("status.phase") is None
    assert sel.fields() == frozenset({"metadata.namespace", "metadata.name", "spec.nodeName"})

    rest = sel.without("metadata.namespace")
    assert str(rest) == "metadata.name!=x,spec.nodeName=n1"
    assert rest.matches({"metadata.name": "y", "spec.nodeName": "n1"})
    assert sel.without("status.phase") is sel
    assert (
        sel.without("metadata.name").without("metadata.namespace").without("spec.nodeName").is_empty
    )
    assert FieldSelector.parse("a=1,a=2").exact_value("a") == "1"
    assert FieldSelector.parse("metadata.name=a") is FieldSelector.parse("metadata.name=a")
    assert repr(FieldSelector.parse("a=b")) == "FieldSelector('a=b')"
    assert FieldSelector.parse("") == FieldSelector()


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("a,b", "a\\,b", id="comma"),
        pytest.param("a=b", "a\\=b", id="equals"),
        pytest.param("a\\b", "a\\\\b", id="backslash"),
        pytest.param("\\,=", "\\\\\\,\\=", id="all"),
    ],
)
def test_field_value_escaping_round_trips(raw: str, escaped: str) -> None:
    assert escape_field_value(raw) == escaped
    sel = FieldSelector.parse("f=" + escaped)
    assert sel.requirements == (F("f", "=", raw),)
    assert sel.matches({"f": raw})
