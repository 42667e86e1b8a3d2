"""resource.Quantity as kube-apiserver parses and re-encodes it (apimachinery
pkg/api/resource/quantity.go: ParseQuantity, CanonicalizeBytes, MarshalJSON).

A quantity in a body may be a JSON string or number; kube decodes it into a Quantity and
stores its canonical string: the number scaled to the largest suffix of its format that keeps
it an integer ("0.5" -> "500m", "1024Mi" -> "1Gi", 1536 -> "1536", "1.5Gi" -> "1536Mi"),
precision below nano rounded up. Clients read quantities as strings (the Python client refuses
numbers), so watchproxy stores the same canonical strings.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
NUMERIC_ERROR = "unable to parse numeric part of quantity"
SUFFIX_ERROR = "unable to parse quantity's suffix"

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_EXPONENT_RE = re.compile(r"^[eE]([-+]?[0-9]+)$")
# Exponents past this are kept as sent: 10**huge would be a denial of service.
_MAX_EXPONENT = 1000


class QuantityError(ValueError):
    """ParseQuantity's error; `str()` is kube's message."""


def _parse(text: str) -> tuple[Fraction, str]:
    """(value, format) with format "bin", "dec" or "exp"; raises QuantityError."""
    match = QUANTITY_RE.match(text.strip())
    if match is None:
        raise QuantityError(FORMAT_ERROR)
    number, suffix = match.groups()
    try:
        value = Fraction(Decimal(number))
    except (InvalidOperation, ValueError) as exc:
        raise QuantityError(NUMERIC_ERROR) from exc
    if suffix in _BINARY:
        return value * 2 ** _BINARY[suffix], "bin"
    if suffix in _DECIMAL:
        return value * Fraction(10) ** _DECIMAL[suffix], "dec"
    exponent = _EXPONENT_RE.match(suffix)
    if exponent is None:
        raise QuantityError(SUFFIX_ERROR)
    power = int(exponent.group(1))
    if abs(power) > _MAX_EXPONENT:
        raise OverflowError(text)
    return value * Fraction(10) ** power, "exp"


def quantity_error(text: str) -> str | None:
    """ParseQuantity's error message for `text`, or None when it parses."""
    try:
        _parse(text)
    except QuantityError as exc:
        return str(exc)
    except OverflowError:
        return None
    return None


# Both functions below are pure and called on every write of an object with quantities (decode,
# then validation): the same few strings ("100m", "128Mi") each time. Cached by value and type
# (1 and 1.0 are told apart); errors are raised again, never cached.
@functools.lru_cache(maxsize=4096, typed=True)
def canonical_quantity(value: str | int | float) -> str:
    """The string kube stores for a quantity given as `value` (a JSON string or number).
    Raises QuantityError (kube's message) when it does not parse; a value whose exponent is
    beyond 10^±1000 is returned as sent."""
    text = value if isinstance(value, str) else repr(value)
    try:
        amount, fmt = _parse(text)
    except OverflowError:
        return text.strip()
    # Precision below nano is rounded up (away from zero), as kube's AsCanonicalBytes does.
    scaled = amount * 10**9
    if scaled.denominator != 1:
        rounded = math.ceil(abs(scaled))
        amount = Fraction(rounded if scaled > 0 else -rounded, 10**9)
    if fmt == "bin" and amount.denominator == 1 and abs(amount) >= 1024:
        whole = int(amount)
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = 2 ** _BINARY[suffix]
            if whole % unit == 0:
                return f"{whole // unit}{suffix}"
    # DecimalSI (and a BinarySI value it cannot hold): the largest exponent, a multiple of 3,
    # that leaves an integer mantissa.
    if amount == 0:
        return "0"
    for power in range(18, -12, -3):
        mantissa = amount / Fraction(10) ** power
        if mantissa.denominator == 1:
            if fmt == "exp":
                return f"{int(mantissa)}e{power}" if power else str(int(mantissa))
            return f"{int(mantissa)}{_DECIMAL_SUFFIX[power]}"
    return str(amount)  # unreachable: nano precision always gives an integer mantissa


@functools.lru_cache(maxsize=4096)
def quantity_value(text: str) -> Fraction | None:
    """The exact value of the quantity `text` (for resource.Quantity.Cmp), or None when it
    does not parse or its exponent is beyond 10^±1000."""
    try:
        return _parse(text)[0]
    except (QuantityError, OverflowError):
        return None
