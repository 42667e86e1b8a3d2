"""Go's printing of decoded JSON values, as kube-apiserver's field errors show them.

A custom resource is validated as `map[string]interface{}` in kube: integers are int64, other
numbers float64, objects `map[string]interface {}`, lists `[]interface {}`. apimachinery's
`field.Error.ErrorBody` (util/validation/field/errors.go) prints a bad value with `%v` for
int64/float64/bool, `%q` for strings, `"null"` for nil and `%#v` for anything else; `%v` of a
float64 is strconv's shortest `'g'` form (`1e+06`, `0.5`). `field.NotSupported` lists the
supported values `strconv.Quote`d, non-strings first marshalled with encoding/json.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import orjson

from watchproxy.core.validation import go_quote


def go_float(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64): the shortest digits, exponent form when the
    decimal exponent is below -4 or at least 6 (ftoa.go: "use precision 6 for this decision")."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    exp = point - 1
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{neg}{text}{'0' * (point - len(text))}"
    return f"{neg}{text[:point]}.{text[point:]}"


def go_number(value: int | float) -> str:
    """`%v` of an int64 or float64."""
    return str(value) if isinstance(value, int) else go_float(value)


def go_sharp_v(value: Any) -> str:
    """`%#v` of a decoded JSON value (inside an interface{})."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_number(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict):
        # fmt prints map keys sorted.
        inner = ", ".join(f"{go_quote(k)}:{go_sharp_v(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp_v(v) for v in value) + "}"
    return go_quote(str(value))


def go_bad_value(value: Any) -> str:
    """How field.ErrorBody prints a BadValue (nil is the string "null")."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_number(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_sharp_v(value)


def go_json(value: Any) -> str:
    """encoding/json.Marshal of a decoded value (maps with sorted keys, floats as Go writes
    them: integral ones without a fraction)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def enum_values(options: list[Any]) -> list[str]:
    """The `supported values` of kube's enum failure: strings as they are, anything else as
    its JSON (apiextensions validation.go kubeOpenAPIResultToFieldErrors)."""
    return [v if isinstance(v, str) else go_json(v) for v in options]
