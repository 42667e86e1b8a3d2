"""registry/strategies/secret.py: stringData folding, Go's base64 rules and ValidateSecret."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from watchproxy.api.status import ApiError
from watchproxy.core.validation import config_key_errors
from watchproxy.registry.strategies.secret import SecretStrategy, base64_error_offset
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import Registry

SECRETS = Registry().lookup("", "v1", "secrets")
assert SECRETS is not None
CONFIG_KEY_RE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def secret(**fields: Any) -> dict[str, Any]:
    return {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}, **fields}


def strategy() -> SecretStrategy:
    found = strategy_for(SECRETS)  # type: ignore[arg-type]
    assert isinstance(found, SecretStrategy)
    return found


# -- Go's base64.StdEncoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        (b"", None),
        (b"YQ==", None),
        (b"YWJj", None),
        (b"YWJj\r\nZGVm", None),  # CR and LF are skipped anywhere
        (b"YQ\n==\n", None),
        (b"admin", 4),  # the classic `illegal base64 data at input byte 4`
        (b"wombat", 4),
        (b"<foo>", 0),
        (b"YQ", 0),  # a partial quantum without padding: at its start
        (b"YQ=", 3),  # "==" expected, input ends: len(src)
        (b"YQ=x", 2),  # incorrect padding
        (b"Y===", 1),  # padding too early
        (b"=", 0),
        (b"YWJj ZGVm", 4),
        (b"YQ==YQ==", 4),  # garbage after the padding
        (b"YWJjZA=", 7),
        ("é".encode(), 0),
    ],
)
def test_base64_error_offsets_are_gos(text: bytes, offset: int | None) -> None:
    assert base64_error_offset(text) == offset


# -- decoding: base64, stringData, type ------------------------------------------------------------


def test_string_data_is_folded_into_data() -> None:
    obj = secret(
        data={"user": b64("me"), "password": b64("old")},
        stringData={"password": "hunter2", "note": "é", "empty": None},
    )
    strategy().prepare_for_create(obj)
    assert obj == secret(
        data={"user": b64("me"), "password": b64("hunter2"), "note": b64("é"), "empty": ""},
        type="Opaque",
    )


def test_string_data_is_folded_on_update_and_type_kept() -> None:
    old = secret(data={"k": b64("v")}, type="kubernetes.io/tls")
    new = secret(stringData={"k": "new"}, type="kubernetes.io/tls")
    strategy().prepare_for_update(new, old, "")
    assert new == secret(data={"k": b64("new")}, type="kubernetes.io/tls")


@pytest.mark.parametrize("create", [True, False])
def test_data_that_is_not_base64_is_a_decoding_error(create: bool) -> None:
    obj = secret(data={"good": b64("x"), "bad": "admin"}, stringData={"bad": "overrides"})
    with pytest.raises(ApiError) as caught:
        if create:
            strategy().prepare_for_create(obj)
        else:
            strategy().prepare_for_update(obj, secret(), "")
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"
    assert caught.value.message == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4'
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"data": []}, "array into Go struct field Secret.data of type map[string][]uint8"),
        ({"data": {"k": 1}}, "number into Go struct field Secret.data of type []uint8"),
        ({"stringData": {"k": True}}, "bool into Go struct field Secret.stringData of type string"),
        ({"type": 1}, "number into Go struct field Secret.type of type v1.SecretType"),
        ({"immutable": "yes"}, "string into Go struct field Secret.immutable of type bool"),
    ],
)
def test_wrong_types_are_decoding_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        strategy().prepare_for_create(secret(**fields))
    assert caught.value.code == 400
    assert caught.value.message == (
        f'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal {message}'
    )


# -- ValidateSecret --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "errors"),
    [
        ("ok.key_1-A", []),
        ("bad key", [CONFIG_KEY_RE]),
        ("", [CONFIG_KEY_RE]),
        (".", ["must not be '.'"]),
        ("..", ["must not be '..'"]),
        ("..x", ["must not start with '..'"]),
        ("k" * 254, ["must be no more than 253 characters"]),
    ],
)
def test_config_keys(key: str, errors: list[str]) -> None:
    assert config_key_errors(key) == errors


def test_validate_keys_size_and_type() -> None:
    s = strategy()
    assert s.validate(secret(type="Opaque", data={"a": b64("x")})) == []
    assert s.validate(secret(type="Opaque", data={"bad key": ""})) == [
        ("FieldValueInvalid", "data[bad key]", f'Invalid value: "bad key": {CONFIG_KEY_RE}')
    ]
    at_limit = {"a": b64(b"x" * (1024 * 1024 - 1)), "b": b64("y")}
    assert s.validate(secret(type="Opaque", data=at_limit)) == []
    over = {"a": b64(b"x" * (1024 * 1024)), "b": b64("y")}
    assert s.validate(secret(type="Opaque", data=over)) == [
        ("FieldValueTooLong", "data", "Too long: may not be more than 1048576 bytes")
    ]


def test_size_counts_the_decoded_bytes_of_wrapped_and_padded_values() -> None:
    """The size is computed from the base64 length: CR/LF skipped, padding taken off."""

    def wrapped(raw: bytes) -> str:
        text = b64(raw)
        return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\n"

    s, limit = strategy(), 1024 * 1024
    too_long = ("FieldValueTooLong", "data", "Too long: may not be more than 1048576 bytes")
    for tail in (1, 2, 3):  # "==", "=" and no padding
        fits = {"a": wrapped(b"x" * (limit - tail)), "b": wrapped(b"y" * tail)}
        assert s.validate(secret(type="Opaque", data=fits)) == []
        over = {"a": wrapped(b"x" * (limit - tail + 1)), "b": wrapped(b"y" * tail)}
        assert s.validate(secret(type="Opaque", data=over)) == [too_long]


def required(field: str) -> tuple[str, str, str]:
    return ("FieldValueRequired", field, "Required value")


@pytest.mark.parametrize(
    ("kind", "data", "annotations", "expected"),
    [
        ("kubernetes.io/tls", {}, {}, [required("data[tls.crt]"), required("data[tls.key]")]),
        ("kubernetes.io/tls", {"tls.crt": "", "tls.key": ""}, {}, []),
        (
            "kubernetes.io/basic-auth",
            {},
            {},
            [required("data[username]"), required("data[password]")],
        ),
        ("kubernetes.io/basic-auth", {"password": ""}, {}, []),
        ("kubernetes.io/ssh-auth", {"ssh-privatekey": ""}, {}, [required("data[ssh-privatekey]")]),
        (
            "kubernetes.io/service-account-token",
            {},
            {},
            [required("metadata.annotations[kubernetes.io/service-account.name]")],
        ),
        (
            "kubernetes.io/service-account-token",
            {},
            {"kubernetes.io/service-account.name": "default"},
            [],
        ),
        (
            "kubernetes.io/dockerconfigjson",
            {},
            {},
            [required("data[.dockerconfigjson]")],
        ),
        ("kubernetes.io/dockerconfigjson", {".dockerconfigjson": b64('{"auths":{}}')}, {}, []),
        (
            "kubernetes.io/dockercfg",
            {".dockercfg": b64("[]")},
            {},
            [
                (
                    "FieldValueInvalid",
                    "data[.dockercfg]",
                    'Invalid value: "<secret contents redacted>": json: cannot unmarshal array '
                    "into Go value of type map[string]interface {}",
                )
            ],
        ),
        ("example.com/custom", {}, {}, []),
    ],
)
def test_type_rules(
    kind: str, data: dict[str, str], annotations: dict[str, str], expected: list[Any]
) -> None:
    obj = secret(type=kind, data=data)
    obj["metadata"]["annotations"] = annotations
    assert strategy().validate(obj) == expected


def test_validate_update() -> None:
    s = strategy()
    old = secret(type="Opaque", data={"k": b64("v")})
    assert s.validate_update(secret(type="Opaque", data={"k": b64("w")}), old) == []
    assert s.validate_update(secret(type="kubernetes.io/ssh-auth", data={}), old) == [
        (
            "FieldValueInvalid",
            "type",
            'Invalid value: "kubernetes.io/ssh-auth": field is immutable',
        ),
        required("data[ssh-privatekey]"),
    ]
    frozen = secret(type="Opaque", data={"k": b64("v")}, immutable=True)
    assert (
        s.validate_update(secret(type="Opaque", data={"k": b64("v")}, immutable=True), frozen) == []
    )
    forbidden = "Forbidden: field is immutable when `immutable` is set"
    assert s.validate_update(secret(type="Opaque", data={"k": b64("w")}), frozen) == [
        ("FieldValueForbidden", "immutable", forbidden),
        ("FieldValueForbidden", "data", forbidden),
    ]
