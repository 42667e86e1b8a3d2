"""Apply's options and body (ValidatePatchOptions, ValidateFieldManager, the YAML decoding)."""

from __future__ import annotations

import pytest

from watchproxy.api.applying import decode_apply_body, parse_force, reject_force
from watchproxy.api.status import ApiError
from watchproxy.registry.fieldmanager import validate_field_manager


def test_field_manager_rules() -> None:
    validate_field_manager("kubectl-client-side-apply", "CreateOptions")
    with pytest.raises(ApiError) as caught:
        validate_field_manager("x" * 129, "PatchOptions")
    assert caught.value.code == 422
    assert str(caught.value) == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than '
        "128 bytes"
    )
    with pytest.raises(ApiError) as caught:
        validate_field_manager("a\x07b", "UpdateOptions")
    assert str(caught.value) == (
        'UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\ab": '
        "invalid character U+0007 (at position 1)"
    )


def test_force_is_for_apply_only() -> None:
    assert parse_force(b"force=true") is True
    assert parse_force(b"fieldManager=x") is None
    # Convert_Slice_string_To_Pointer_bool: only 0 and false (any case) are false.
    for value in (b"maybe", b"", b"1", b"TRUE", b"t"):
        assert parse_force(b"force=" + value) is True, value
    for value in (b"0", b"false", b"FaLsE"):
        assert parse_force(b"force=" + value) is False, value
    assert parse_force(b"force") is True
    with pytest.raises(ApiError) as caught:
        reject_force(b"force=false")
    assert str(caught.value) == (
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for '
        "non-apply patch"
    )


def test_apply_body_is_yaml_as_json_sees_it() -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\ndata:\n  when: 2024-01-01\n  1: one\n"
    assert decode_apply_body(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"when": "2024-01-01", "1": "one"},  # no timestamps; keys are strings
    }
    assert decode_apply_body(b'{"kind": "ConfigMap"}') == {"kind": "ConfigMap"}
    with pytest.raises(ApiError, match=r"error decoding patch: .*must be a JSON object"):
        decode_apply_body(b"- a\n")
    with pytest.raises(ApiError, match=r"error decoding patch: .*excessive aliasing"):
        laughs = [b"a: &a [x, x, x, x, x, x, x, x, x, x]"]
        laughs += [
            b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]"
            % ((98 + i, 98 + i) + (97 + i,) * 10)
            for i in range(8)
        ]
        decode_apply_body(b"\n".join(laughs) + b"\n")
    with pytest.raises(ApiError, match="error decoding patch"):
        decode_apply_body(b"a: [")
