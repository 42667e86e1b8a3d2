"""kube-apiserver's value rules and the Go formatting of its messages; pure (standard library).

Shared by the selector parser (core/selectors.py), ObjectMeta validation (registry/meta.py) and
the per-type rules (registry/strategies/). Sources (apimachinery):

* pkg/api/validate/content and pkg/util/validation/validation.go: IsLabelKey (a.k.a.
  IsQualifiedName), IsLabelValue, IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label,
  IsConfigMapKey, RegexError, MaxLenError. Messages follow the current sources: label key errors
  say "a valid label key" and their length errors "bytes" (Go's len); the name rules of
  pkg/api/validation/generic.go still say "characters";
* Go's fmt and strconv: `%q` (go_quote), `%#v` of a []string (go_string_slice), `len(string)`
  (byte_len), and encoding/json's name of a JSON type in its UnmarshalTypeError (go_json_type).

The scanners are hand-written instead of `re`: Go's RE2 is linear-time, Python's backtracking
engine on the nested DNS pattern is not, and these inputs come straight from requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# -- Go formatting -------------------------------------------------------------------------------

_GO_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            # Python's isprintable() and Go's unicode.IsPrint agree: L, M, N, P,
            # S categories plus ASCII space.
            out.append(ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif 0xDC80 <= cp <= 0xDCFF:
            # A surrogateescape'd undecodable byte: Go sees the raw byte and
            # prints it as \xNN.
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def go_string_slice(values: Iterable[str]) -> str:
    """Go's ``%#v`` of a ``[]string``."""
    return "[]string{" + ", ".join(go_quote(v) for v in values) + "}"


def byte_len(s: str) -> int:
    """Go's ``len(string)``: UTF-8 bytes, not characters."""
    if s.isascii():
        return len(s)
    try:
        return len(s.encode("utf-8"))
    except UnicodeEncodeError:
        # Lone surrogates: surrogateescape'd bytes count as the one raw byte
        # Go would have seen; anything else as its 3-byte encoding.
        return sum(
            1 if 0xDC80 <= ord(c) <= 0xDCFF else len(c.encode("utf-8", "surrogatepass")) for c in s
        )


def go_json_type(value: Any) -> str:
    """encoding/json's name for the JSON type of a decoded value, as its errors print it
    (`json: cannot unmarshal number into Go struct field ...`)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "null" if value is None else "number"


# -- causes --------------------------------------------------------------------------------------


def field_invalid(field: str, shown: str, detail: str) -> tuple[str, str, str]:
    """field.Invalid(field, value, detail) as a cause (reason, field, message); `shown` is the
    value as Go prints it."""
    return ("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def invalid_value(field: str, value: str, detail: str) -> tuple[str, str, str]:
    """field.Invalid of a string value (printed with %q)."""
    return field_invalid(field, go_quote(value), detail)


def not_supported(field: str, value: str, supported: Iterable[str]) -> tuple[str, str, str]:
    """field.NotSupported(field, value, supported) of a string value as a cause: the value and
    each supported value printed with %q."""
    values = ", ".join(go_quote(v) for v in supported)
    return (
        "FieldValueNotSupported",
        field,
        f"Unsupported value: {go_quote(value)}: supported values: {values}",
    )


# -- value rules ---------------------------------------------------------------------------------

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LABEL_INNER = _ALNUM | frozenset("-_.")
_DNS_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyz")
_DNS_ALNUM = _DNS_ALPHA | frozenset("0123456789")
_DNS_INNER = _DNS_ALNUM | frozenset("-")
_CONFIG_KEY_CHARS = _LABEL_INNER

_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_KEY_MAX = 63
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"
_LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MAX = 63
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MAX = 253
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_MAX = 63
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery ``RegexError`` (the doubled space in "',  or '" is upstream's)."""
    if not examples:
        return msg + " (regex used for validation is '" + fmt + "')"
    msg += " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += "'" + example + "', "
    return msg + "regex used for validation is '" + fmt + "')"


def _max_bytes_error(length: int) -> str:
    """content.MaxLenError: label keys and values count bytes."""
    return f"must be no more than {length} bytes"


def _max_chars_error(length: int) -> str:
    """util/validation MaxLenError: names and config keys count characters."""
    return f"must be no more than {length} characters"


_EMPTY_ERROR = "must be non-empty"
_KEY_NAME_REGEX_ERROR = regex_error(_LABEL_KEY_ERR, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
_KEY_TOO_MANY_SLASHES_ERROR = (
    "a valid label key "
    + _KEY_NAME_REGEX_ERROR
    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
)
_VALUE_REGEX_ERROR = regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
_DNS1123_SUBDOMAIN_ERROR = regex_error(
    _DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"
)
_DNS1123_LABEL_ERROR = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    _DNS1123_LABEL_FMT,
    "my-name",
    "123-abc",
)
_DNS1035_LABEL_ERROR = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character",
    _DNS1035_LABEL_FMT,
    "my-name",
    "abc-123",
)
_CONFIG_KEY_ERROR = regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    _CONFIG_KEY_FMT,
    "key.name",
    "KEY_NAME",
    "key-name",
)


def _is_label_name(s: str) -> bool:
    """``^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`` in linear time."""
    if not s or s[0] not in _ALNUM or s[-1] not in _ALNUM:
        return False
    inner = _LABEL_INNER
    return all(c in inner for c in s[1:-1])


def _is_dns_label(s: str, first: frozenset[str] = _DNS_ALNUM) -> bool:
    """``^[first]([-a-z0-9]*[a-z0-9])?$`` in linear time."""
    if not s or s[0] not in first or s[-1] not in _DNS_ALNUM:
        return False
    inner = _DNS_INNER
    return all(c in inner for c in s[1:-1])


def is_dns1123_subdomain(s: str) -> bool:
    """The format of IsDNS1123Subdomain (DNS-1123 labels joined by '.'), length aside."""
    return all(_is_dns_label(part) for part in s.split("."))


def label_key_errors(key: str) -> list[str]:
    """apimachinery ``content.IsLabelKey`` (a.k.a. ``IsQualifiedName``)."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + _EMPTY_ERROR)
        else:
            if byte_len(prefix) > _DNS1123_SUBDOMAIN_MAX:
                errs.append("prefix part " + _max_bytes_error(_DNS1123_SUBDOMAIN_MAX))
            if not is_dns1123_subdomain(prefix):
                errs.append("prefix part " + _DNS1123_SUBDOMAIN_ERROR)
    else:
        return [_KEY_TOO_MANY_SLASHES_ERROR]
    if not name:
        errs.append("name part " + _EMPTY_ERROR)
    elif byte_len(name) > _LABEL_KEY_MAX:
        errs.append("name part " + _max_bytes_error(_LABEL_KEY_MAX))
    if not _is_label_name(name):
        errs.append("name part " + _KEY_NAME_REGEX_ERROR)
    return errs


def label_value_errors(value: str) -> list[str]:
    """apimachinery ``content.IsLabelValue``."""
    errs: list[str] = []
    if byte_len(value) > _LABEL_VALUE_MAX:
        errs.append(_max_bytes_error(_LABEL_VALUE_MAX))
    if value and not _is_label_name(value):
        errs.append(_VALUE_REGEX_ERROR)
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    """IsDNS1123Subdomain (the name rule of most built-in types)."""
    errs = [_max_chars_error(_DNS1123_SUBDOMAIN_MAX)] if len(value) > _DNS1123_SUBDOMAIN_MAX else []
    if not is_dns1123_subdomain(value):
        errs.append(_DNS1123_SUBDOMAIN_ERROR)
    return errs


def dns1123_label_errors(value: str) -> list[str]:
    """IsDNS1123Label (namespace names)."""
    errs = [_max_chars_error(_DNS_LABEL_MAX)] if len(value) > _DNS_LABEL_MAX else []
    if not _is_dns_label(value):
        # A valid subdomain that is not a label: the length is checked, so it has dots.
        errs.append(
            "must not contain dots" if is_dns1123_subdomain(value) else _DNS1123_LABEL_ERROR
        )
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    """IsDNS1035Label (service names)."""
    errs = [_max_chars_error(_DNS_LABEL_MAX)] if len(value) > _DNS_LABEL_MAX else []
    if not _is_dns_label(value, _DNS_ALPHA):
        errs.append(_DNS1035_LABEL_ERROR)
    return errs


def config_key_errors(key: str) -> list[str]:
    """util/validation IsConfigMapKey: at most 253 characters, `[-._a-zA-Z0-9]+`, and not
    '.', '..' or starting with '..'."""
    errs = [_max_chars_error(253)] if len(key) > 253 else []
    if not key or any(c not in _CONFIG_KEY_CHARS for c in key):
        errs.append(_CONFIG_KEY_ERROR)
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs
