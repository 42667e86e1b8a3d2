"""The string formats kube-apiserver validates in custom resources, as predicates.

Which formats count: apiextensions-apiserver pkg/apiserver/validation/formats.go
(supportedVersionedFormats; names compared without '-', so `date-time` is `datetime`); any
other format on a string, and every format on other types, is ignored ("stripped"). How each
is checked: kube-openapi pkg/validation/strfmt (default.go, date.go, time.go, duration.go,
bson.go, kubernetes-extensions.go) and the govalidator functions it calls. `quantity` is in
kube's list but not in strfmt's registry, so kube never checks it; neither do we.

Approximations (Go's parsers are not all reproducible in a few lines): `email` is
`local@domain` rather than net/mail's full RFC 5322 grammar, `hostname` treats every Unicode
letter or symbol as Go's `\\p{L}`/`\\p{S}`, `uri` is url.ParseRequestURI's "absolute URI or
absolute path, no spaces".
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable

Predicate = Callable[[str], bool]

_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID3 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID4 = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I
)
_UUID5 = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I
)
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_OCTET = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*"
_RGBCOLOR = re.compile(rf"^rgb\({_OCTET},{_OCTET},{_OCTET}\)$")
_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_BASE64 = re.compile(
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
)
_CREDITCARD = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01]"
    r"[0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])"
    r"[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$"
)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_URI_START = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*:|/)")
_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_GO_DURATION = re.compile(r"^[-+]?(([0-9]*(\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h))+$")
_WORD_DURATION = re.compile(r"((\d+)\s*([A-Za-zµ]+))")
_DURATION_UNITS = (
    ("ns", "nano"),
    ("us", "µs", "micro"),
    ("ms", "milli"),
    ("s", "sec"),
    ("m", "min"),
    ("h", "hr", "hour"),
    ("d", "day"),
    ("w", "wk", "week"),
)
_SHORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LONG_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_MAC = re.compile(
    r"^(([0-9a-fA-F]{2}[:-]){5}|([0-9a-fA-F]{2}[:-]){7}|([0-9a-fA-F]{2}[:-]){19})[0-9a-fA-F]{2}$"
    r"|^(([0-9a-fA-F]{4}\.){2}|([0-9a-fA-F]{4}\.){3}|([0-9a-fA-F]{4}\.){9})[0-9a-fA-F]{4}$"
)


def _is_date(s: str) -> bool:
    """time.Parse("2006-01-02", s)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return False
    try:
        datetime.date.fromisoformat(s)
    except ValueError:
        return False
    return True


def _is_datetime(s: str) -> bool:
    """strfmt.IsDateTime: a date, 't', a time (hh:mm:ss[.frac]) and a zone (z or ±hh:mm)."""
    if len(s) < 4:
        return False
    parts = s.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _TIME.search(parts[1])
    if m is None:
        return False
    return m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _is_duration(s: str) -> bool:
    """strfmt.ParseDuration: Go's time.ParseDuration, else `<int> <unit word>` groups."""
    if s in ("0", "+0", "-0") or _GO_DURATION.match(s):
        return True
    for match in _WORD_DURATION.finditer(s):
        unit = match.group(3).strip().lower()
        for variants in _DURATION_UNITS:
            for i, variant in enumerate(variants):
                if (i == len(variants) - 1 and unit.startswith(variant)) or variant == unit:
                    return True
    return False


def _strip_zeros(s: str) -> str:
    """netutils.ParseIPSloppy accepts leading zeros in IPv4 octets."""
    if ":" in s:
        return s
    return ".".join(p.lstrip("0") or "0" if p.isdigit() else p for p in s.split("."))


def _parse_ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(_strip_zeros(s))
    except ValueError:
        return None


def _is_ipv4(s: str) -> bool:
    return _parse_ip(s) is not None and "." in s


def _is_ipv6(s: str) -> bool:
    return _parse_ip(s) is not None and ":" in s


def _is_cidr(s: str) -> bool:
    address, slash, bits = s.partition("/")
    if not slash or not bits.isdigit() or _parse_ip(address) is None:
        return False
    return int(bits) <= (32 if "." in address and ":" not in address else 128)


def _isbn10(s: str) -> bool:
    s = s.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{9}[\dX]", s):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
    return total % 11 == 0


def _isbn13(s: str) -> bool:
    s = s.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{13}", s):
        return False
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s[:12]))
    return (10 - total % 10) % 10 == int(s[12])


def _luhn(s: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def _is_creditcard(s: str) -> bool:
    digits = re.sub(r"[^0-9]", "", s)
    return bool(_CREDITCARD.match(digits)) and _luhn(digits)


def _is_hostname(s: str) -> bool:
    if len(s) > 255 or not s:
        return False
    labels = s.split(".")
    if any(len(label) > 63 or not label for label in labels):
        return False
    if len(labels) == 1:
        return bool(re.fullmatch(r"[^\W_][^\W_-]*(-?[^\W_]+)*", labels[0]) or s.isalnum())
    last = labels[-1]
    ok_last = 2 <= len(last) <= 63 and all(c.isalpha() for c in last)
    return ok_last and all(re.fullmatch(r"[^\W_]([\w-]{0,61}[^\W_])?", label) for label in labels)


def _is_uri(s: str) -> bool:
    return bool(_URI_START.match(s)) and not any(c.isspace() for c in s)


# Format name without '-' -> predicate (formats.go's supportedVersionedFormats at 1.37).
KUBE_FORMATS: dict[str, Predicate] = {
    "bsonobjectid": lambda s: bool(_HEX24.match(s)),
    "uri": _is_uri,
    "email": lambda s: bool(_EMAIL.match(s)),
    "hostname": _is_hostname,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "cidr": _is_cidr,
    "mac": lambda s: bool(_MAC.match(s)),
    "uuid": lambda s: bool(_UUID.match(s)),
    "uuid3": lambda s: bool(_UUID3.match(s)),
    "uuid4": lambda s: bool(_UUID4.match(s)),
    "uuid5": lambda s: bool(_UUID5.match(s)),
    "isbn": lambda s: _isbn10(s) or _isbn13(s),
    "isbn10": _isbn10,
    "isbn13": _isbn13,
    "creditcard": _is_creditcard,
    "ssn": lambda s: bool(_SSN.match(s)),
    "hexcolor": lambda s: bool(_HEXCOLOR.match(s)),
    "rgbcolor": lambda s: bool(_RGBCOLOR.match(s)),
    "byte": lambda s: bool(_BASE64.match(s)),
    "password": lambda s: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_datetime,
    "k8sshortname": lambda s: len(s) <= 63 and bool(_SHORT_NAME.match(s)),
    "k8slongname": lambda s: len(s) <= 253 and bool(_LONG_NAME.match(s)),
}


def checked_format(schema_type: str | None, fmt: str) -> str | None:
    """The normalised name kube validates `fmt` under for a schema of `schema_type`, or None
    when kube strips it (StripUnsupportedFormatsPostProcessorForVersion)."""
    if schema_type not in (None, "string"):
        return None
    name = fmt.replace("-", "")
    return name if name in KUBE_FORMATS else None
