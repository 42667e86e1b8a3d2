"""Secrets (kube: pkg/apis/core/v1/conversion.go Convert_v1_Secret_To_core_Secret,
pkg/apis/core/v1/defaults.go SetDefaults_Secret, pkg/registry/core/secret/strategy.go,
pkg/apis/core/validation/validation.go ValidateSecret / ValidateSecretUpdate).

What kube does while decoding a Secret, done here in PrepareForCreate / PrepareForUpdate (so on
create, update and every patch type, dry-run included):

* `data` values are []byte, so each must be base64 (Go's StdEncoding: padded, CR/LF ignored).
  One that is not fails the decoding: 400 BadRequest `Secret in version "v1" cannot be handled
  as a Secret: illegal base64 data at input byte N` (N as Go's CorruptInputError counts it).
  kube answers a PATCH whose result has bad base64 with 422 (field `patch`); watchproxy cannot
  tell a PATCH from a PUT in this hook and answers 400 to both.
* `stringData` is write-only: each value is folded into `data` (base64 of its UTF-8 bytes,
  overriding a `data` key of the same name) and `stringData` is never stored.
* `type` defaults to `Opaque`.

Validate is ValidateSecret without the ObjectMeta part (the store does that): keys of `data` are
config keys (`data[key]`), all values together at most 1 MiB, and the type's required keys.
ValidateUpdate adds: `type` is immutable, and so are `data` and `immutable` once `immutable` is
true.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, NoReturn

import orjson

from watchproxy.core.validation import config_key_errors, go_json_type, invalid_value
from watchproxy.registry.decoding import cannot_decode, unmarshal_type_error
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategy import JsonObject, Strategy, register

MAX_SECRET_SIZE = 1 * 1024 * 1024  # core.MaxSecretSize
OPAQUE = "Opaque"
SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_KEY = "kubernetes.io/service-account.name"
DOCKERCFG, DOCKERCFG_KEY = "kubernetes.io/dockercfg", ".dockercfg"
DOCKER_CONFIG_JSON, DOCKER_CONFIG_JSON_KEY = "kubernetes.io/dockerconfigjson", ".dockerconfigjson"
BASIC_AUTH, BASIC_AUTH_USERNAME, BASIC_AUTH_PASSWORD = (
    "kubernetes.io/basic-auth",
    "username",
    "password",
)
SSH_AUTH, SSH_AUTH_PRIVATE_KEY = "kubernetes.io/ssh-auth", "ssh-privatekey"
TLS, TLS_CERT, TLS_KEY = "kubernetes.io/tls", "tls.crt", "tls.key"

_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def base64_error_offset(text: bytes) -> int | None:
    """Where Go's base64.StdEncoding.Decode fails on `text` (its CorruptInputError), or None if
    it decodes. A port of encoding/base64 decodeQuantum: '=' padding required, '\\r' and '\\n'
    skipped anywhere, nothing after the padding."""
    if b"\r" not in text and b"\n" not in text:
        try:
            binascii.a2b_base64(text, strict_mode=True)
            return None
        except binascii.Error:
            pass
    si, n = 0, len(text)
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j  # a partial quantum: Go wants padding
            ch = text[si]
            si += 1
            if ch in _BASE64_ALPHABET:
                j += 1
                continue
            if ch in (0x0A, 0x0D):
                continue
            if ch != 0x3D:  # '='
                return si - 1
            if j in (0, 1):
                return si - 1  # padding too early
            if j == 2:  # "==" expected; the first '=' is consumed
                while si < n and text[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    return n
                if text[si] != 0x3D:
                    return si - 1
                si += 1
            while si < n and text[si] in (0x0A, 0x0D):
                si += 1
            return si if si < n else None  # anything after the padding is garbage
    return None


def _decoded(value: str) -> bytes:
    """A `data` value already checked by base64_error_offset."""
    return base64.b64decode(value.replace("\r", "").replace("\n", ""))


def decoded_size(value: str) -> int:
    """len(_decoded(value)) without decoding: 3 bytes per quantum of 4 characters (CR and LF
    skipped), less one per '=' (in valid base64 '=' is only the padding)."""
    chars = len(value) - value.count("\r") - value.count("\n")
    return chars // 4 * 3 - value.count("=")


def _secret_key_path(key: str) -> str:
    return f"data[{key}]"


def frozen_when_immutable(new: JsonObject, old: JsonObject, fields: tuple[str, ...]) -> list[Cause]:
    """ValidateSecretUpdate / ValidateConfigMapUpdate: once `immutable` is true, neither it nor
    `fields` may change (`Forbidden: field is immutable when `immutable` is set`)."""
    if old.get("immutable") is not True:
        return []
    frozen = "Forbidden: field is immutable when `immutable` is set"
    names = [] if new.get("immutable") is True else ["immutable"]
    names += [f for f in fields if (new.get(f) or {}) != (old.get(f) or {})]
    return [("FieldValueForbidden", name, frozen) for name in names]


@register("secrets")
class SecretStrategy(Strategy):
    kube_validation = True
    # -- decoding ------------------------------------------------------------------------------

    def _cannot_decode(self, detail: str) -> NoReturn:
        cannot_decode(self.resource.kind, self.resource.api_version, detail)

    def _type_error(self, value: Any, field: str, go_type: str) -> NoReturn:
        self._cannot_decode(unmarshal_type_error(value, "Secret", field, go_type))

    def _string_map(self, obj: JsonObject, field: str, go_type: str) -> dict[str, Any]:
        value = obj.get(field)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._type_error(value, field, f"map[string]{go_type}")
        for item in value.values():
            if item is not None and not isinstance(item, str):
                self._type_error(item, field, go_type)
        return value

    def _decode(self, obj: JsonObject) -> None:
        """Convert_v1_Secret_To_core_Secret and SetDefaults_Secret, on the JSON object."""
        data = self._string_map(obj, "data", "[]uint8")
        string_data = self._string_map(obj, "stringData", "string")
        for value in data.values():
            if value is None:
                continue
            offset = base64_error_offset(value.encode("utf-8", "surrogatepass"))
            if offset is not None:
                self._cannot_decode(f"illegal base64 data at input byte {offset}")
        kind = obj.get("type")
        if kind is not None and not isinstance(kind, str):
            self._type_error(kind, "type", "v1.SecretType")
        immutable = obj.get("immutable")
        if immutable is not None and not isinstance(immutable, bool):
            self._type_error(immutable, "immutable", "bool")
        if string_data:
            folded = dict(data)
            for key, text in string_data.items():
                folded[key] = base64.b64encode((text or "").encode()).decode()
            obj["data"] = folded
        obj.pop("stringData", None)
        if not kind:
            obj["type"] = OPAQUE

    def prepare_for_create(self, obj: JsonObject) -> None:
        super().prepare_for_create(obj)
        self._decode(obj)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        super().prepare_for_update(new, old, subresource)
        self._decode(new)

    # -- validation ----------------------------------------------------------------------------

    def validate(self, obj: JsonObject) -> list[Cause]:
        """ValidateSecret (ObjectMeta aside): config keys, 1 MiB in all, the type's keys."""
        data: dict[str, Any] = obj.get("data") or {}
        causes: list[Cause] = []
        total = 0
        for key, value in data.items():
            causes += [
                invalid_value(_secret_key_path(key), key, msg) for msg in config_key_errors(key)
            ]
            total += decoded_size(value) if value else 0
        if total > MAX_SECRET_SIZE:
            causes.append(
                (
                    "FieldValueTooLong",
                    "data",
                    f"Too long: may not be more than {MAX_SECRET_SIZE} bytes",
                )
            )
        causes += self._type_causes(obj, data)
        return causes

    def _type_causes(self, obj: JsonObject, data: dict[str, Any]) -> list[Cause]:
        kind = obj.get("type")

        def required(path: str) -> Cause:
            return ("FieldValueRequired", path, "Required value")

        if kind == SERVICE_ACCOUNT_TOKEN:
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if not annotations.get(SERVICE_ACCOUNT_NAME_KEY):
                return [required(f"metadata.annotations[{SERVICE_ACCOUNT_NAME_KEY}]")]
        elif kind in (DOCKERCFG, DOCKER_CONFIG_JSON):
            key = DOCKERCFG_KEY if kind == DOCKERCFG else DOCKER_CONFIG_JSON_KEY
            if key not in data:
                return [required(_secret_key_path(key))]
            problem = _json_object_problem(_decoded(data[key]) if data[key] else b"")
            if problem:
                return [
                    (
                        "FieldValueInvalid",
                        _secret_key_path(key),
                        f'Invalid value: "<secret contents redacted>": {problem}',
                    )
                ]
        elif kind == BASIC_AUTH:
            if BASIC_AUTH_USERNAME not in data and BASIC_AUTH_PASSWORD not in data:
                return [
                    required(_secret_key_path(BASIC_AUTH_USERNAME)),
                    required(_secret_key_path(BASIC_AUTH_PASSWORD)),
                ]
        elif kind == SSH_AUTH:
            if not data.get(SSH_AUTH_PRIVATE_KEY):
                return [required(_secret_key_path(SSH_AUTH_PRIVATE_KEY))]
        elif kind == TLS:
            return [required(_secret_key_path(k)) for k in (TLS_CERT, TLS_KEY) if k not in data]
        return []

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        """ValidateSecretUpdate: type immutable; data and immutable frozen once immutable."""
        causes: list[Cause] = []
        if new.get("type") != old.get("type"):
            causes.append(invalid_value("type", str(new.get("type") or ""), "field is immutable"))
        causes += frozen_when_immutable(new, old, ("data",))
        return causes + self.validate(new)


def _json_object_problem(raw: bytes) -> str:
    """Why `raw` is not a JSON object (json.Unmarshal into map[string]interface{}), or ""."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return str(exc)
    if isinstance(value, dict) or value is None:
        return ""
    return (
        f"json: cannot unmarshal {go_json_type(value)} into Go value of type "
        "map[string]interface {}"
    )
