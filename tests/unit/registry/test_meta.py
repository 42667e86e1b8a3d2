"""registry/meta.py: ObjectMeta rules with kube's fields and messages (objectmeta.go,
meta/v1/validation, util/validation, pkg/apis/core/validation)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kube_messages import KEY_NAME_RE, NOT_STANDARD, SUBDOMAIN_RE, VALUE_RE
from watchproxy.api.status import ApiError
from watchproxy.core.json_limits import MAX_DEPTH
from watchproxy.registry.meta import name_causes, validate_object_meta, validate_object_meta_update
from watchproxy.resources import Registry, ResourceType

REGISTRY = Registry()


def resource(plural: str, group: str = "", version: str = "v1") -> ResourceType:
    found = REGISTRY.lookup(group, version, plural)
    assert found is not None
    return found


PODS = resource("pods")
LABEL_RE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_RE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
TOO_MANY_SLASHES = (
    "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
    "subdomain prefix and '/' (e.g. 'example.com/MyName')"
)


def pod(**meta: Any) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", **meta}}


def invalid(field: str, value: str, message: str) -> tuple[str, str, str]:
    return ("FieldValueInvalid", field, f"Invalid value: {value}: {message}")


# -- names -----------------------------------------------------------------------------------------


def test_names_follow_each_types_rule() -> None:
    assert name_causes(PODS, "ok.name-1") == []
    assert name_causes(PODS, "Bad_Name") == [invalid("metadata.name", '"Bad_Name"', SUBDOMAIN_RE)]
    assert name_causes(PODS, "a" * 254) == [
        invalid("metadata.name", f'"{"a" * 254}"', "must be no more than 253 characters")
    ]
    assert name_causes(PODS, "-" + "a" * 253) == [
        invalid("metadata.name", f'"-{"a" * 253}"', "must be no more than 253 characters"),
        invalid("metadata.name", f'"-{"a" * 253}"', SUBDOMAIN_RE),
    ]
    namespaces = resource("namespaces")
    assert name_causes(namespaces, "a.b") == [
        invalid("metadata.name", '"a.b"', "must not contain dots")
    ]
    assert name_causes(namespaces, "A") == [invalid("metadata.name", '"A"', LABEL_RE)]
    services = resource("services")
    assert name_causes(services, "1abc") == [invalid("metadata.name", '"1abc"', DNS1035_RE)]
    assert name_causes(resource("nodes"), "node-1.example.com") == []


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_fail_the_name_rule(name: str) -> None:
    assert name_causes(PODS, name) == [invalid("metadata.name", f'"{name}"', SUBDOMAIN_RE)]


@pytest.mark.timeout(5)
def test_name_scan_is_linear() -> None:
    # A backtracking regex takes minutes on this; the scanner is instant.
    assert len(name_causes(PODS, "a" * 50_000 + "!")) == 2


# -- generateName ----------------------------------------------------------------------------------


def test_generate_name_is_validated_with_the_trailing_dash_masked() -> None:
    assert validate_object_meta(PODS, pod(name="web-abcde", generateName="web-")) == []
    # maskTrailingDash drops two characters: "a-" -> "a" is still valid, so is "-" -> "a".
    assert validate_object_meta(PODS, pod(name="a-xyzab", generateName="a-")) == []
    assert validate_object_meta(PODS, pod(name="bad_xyzab", generateName="Bad_")) == [
        invalid("metadata.generateName", '"Bad_"', SUBDOMAIN_RE),
        invalid("metadata.name", '"bad_xyzab"', SUBDOMAIN_RE),
    ]


# -- labels ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app": "web", "example.com/Name_1.x": "", "a" * 63: "v" * 63}, []),
        ({"bad key": "v"}, [invalid("metadata.labels", '"bad key"', KEY_NAME_RE)]),
        ({"k": "bad value"}, [invalid("metadata.labels", '"bad value"', VALUE_RE)]),
        (
            {"k": "v" * 64},
            [invalid("metadata.labels", f'"{"v" * 64}"', "must be no more than 63 bytes")],
        ),
        (
            {"a" * 64: "v"},
            [
                invalid(
                    "metadata.labels", f'"{"a" * 64}"', "name part must be no more than 63 bytes"
                )
            ],
        ),
        ({"a/b/c": "v"}, [invalid("metadata.labels", '"a/b/c"', TOO_MANY_SLASHES)]),
        (
            {"/n": "v"},
            [invalid("metadata.labels", '"/n"', "prefix part must be non-empty")],
        ),
        (
            {"Example.com/n": "v"},
            [invalid("metadata.labels", '"Example.com/n"', "prefix part " + SUBDOMAIN_RE)],
        ),
        (
            {f"{'p' * 254}/n": "v"},
            [
                invalid(
                    "metadata.labels",
                    f'"{"p" * 254}/n"',
                    "prefix part must be no more than 253 bytes",
                )
            ],
        ),
        (
            {"k": "é"},
            [invalid("metadata.labels", '"é"', VALUE_RE)],
        ),
        (
            {"bad key": "bad value"},
            [
                invalid("metadata.labels", '"bad key"', KEY_NAME_RE),
                invalid("metadata.labels", '"bad value"', VALUE_RE),
            ],
        ),
    ],
    ids=[
        "valid",
        "key",
        "value",
        "value-length",
        "key-length",
        "slashes",
        "empty-prefix",
        "prefix-case",
        "prefix-length",
        "non-ascii",
        "both",
    ],
)
def test_labels(labels: dict[str, str], expected: list[Any]) -> None:
    assert validate_object_meta(PODS, pod(labels=labels)) == expected
    old = pod()
    assert validate_object_meta_update(pod(labels=labels), old) == expected


def test_null_label_values_are_empty_strings() -> None:
    obj = pod(labels={"a": None}, annotations={"b": None})
    assert validate_object_meta(PODS, obj) == []
    assert obj["metadata"]["labels"] == {"a": ""}
    assert obj["metadata"]["annotations"] == {"b": ""}


# -- annotations -----------------------------------------------------------------------------------


def test_annotation_keys_are_qualified_names_in_lower_case() -> None:
    assert validate_object_meta(PODS, pod(annotations={"Example.COM/Some_Key": "x"})) == []
    assert validate_object_meta(PODS, pod(annotations={"bad key": "x"})) == [
        invalid("metadata.annotations", '"bad key"', KEY_NAME_RE)
    ]


def test_annotations_total_at_most_256_kib_in_bytes() -> None:
    limit = 256 * 1024
    assert validate_object_meta(PODS, pod(annotations={"k": "x" * (limit - 1)})) == []
    too_long = (
        "FieldValueTooLong",
        "metadata.annotations",
        f"Too long: may not be more than {limit} bytes",
    )
    assert validate_object_meta(PODS, pod(annotations={"k": "x" * limit})) == [too_long]
    # Two bytes per 'é': measured in UTF-8 bytes, as Go's len() does.
    assert validate_object_meta(PODS, pod(annotations={"k": "é" * (limit // 2)})) == [too_long]
    assert validate_object_meta_update(pod(annotations={"k": "x" * limit}), pod()) == [too_long]


# -- finalizers ------------------------------------------------------------------------------------


def test_finalizers_on_create() -> None:
    ok = ["kubernetes", "orphan", "example.com/cleanup", "foregroundDeletion"][:3]
    assert validate_object_meta(PODS, pod(finalizers=ok)) == []
    assert validate_object_meta(
        PODS, pod(finalizers=["Bad Name", "foo", "example.com/Bad Name"])
    ) == [
        invalid("metadata.finalizers", '"Bad Name"', KEY_NAME_RE),
        invalid("metadata.finalizers", '"example.com/Bad Name"', KEY_NAME_RE),
        invalid("metadata.finalizers[0]", '"Bad Name"', NOT_STANDARD),
        invalid("metadata.finalizers[1]", '"foo"', NOT_STANDARD),
    ]
    both = ["orphan", "foregroundDeletion"]
    assert validate_object_meta(PODS, pod(finalizers=both)) == [
        invalid(
            "metadata.finalizers",
            '[]string{"orphan", "foregroundDeletion"}',
            "finalizer orphan and foregroundDeletion cannot be both set",
        )
    ]


def test_finalizers_on_update_only_need_a_standard_or_qualified_name() -> None:
    # core ValidateObjectMetaUpdate re-checks only validateKubeFinalizerName.
    new = pod(finalizers=["foo", "example.com/Bad Name", "kubernetes"])
    assert validate_object_meta_update(new, pod()) == [
        invalid("metadata.finalizers[0]", '"foo"', NOT_STANDARD)
    ]


def test_no_new_finalizers_once_deleting() -> None:
    old = pod(deletionTimestamp="2024-01-01T00:00:00Z", finalizers=["example.com/a"])
    new = pod(finalizers=["example.com/z", "example.com/a", "example.com/b"])
    assert validate_object_meta_update(new, old) == [
        (
            "FieldValueForbidden",
            "metadata.finalizers",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new "
            'finalizers []string{"example.com/b", "example.com/z"}',
        )
    ]


# -- ownerReferences -------------------------------------------------------------------------------


def owner(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", **fields}


def test_owner_references() -> None:
    assert validate_object_meta(PODS, pod(ownerReferences=[owner(), owner(name="b")])) == []
    assert validate_object_meta(PODS, pod(ownerReferences=[{}])) == [
        invalid("metadata.ownerReferences.apiVersion", '""', "version must not be empty"),
        invalid("metadata.ownerReferences.kind", '""', "must not be empty"),
        invalid("metadata.ownerReferences.name", '""', "must not be empty"),
        invalid("metadata.ownerReferences.uid", '""', "must not be empty"),
    ]
    assert validate_object_meta(PODS, pod(ownerReferences=[owner(apiVersion="a/b/c")])) == [
        invalid("metadata.ownerReferences.apiVersion", '"a/b/c"', "version must not be empty")
    ]
    event = owner(apiVersion="v1", kind="Event", name="e", uid="u", controller=True)
    assert validate_object_meta(PODS, pod(ownerReferences=[event])) == [
        invalid(
            "metadata.ownerReferences",
            "&OwnerReference{Kind:Event,Name:e,UID:u,APIVersion:v1,Controller:*true,"
            "BlockOwnerDeletion:nil,}",
            "/v1, Kind=Event is disallowed from being an owner",
        )
    ]
    two = [owner(controller=True), owner(name="b", uid="u2", controller=True)]
    (cause,) = validate_object_meta(PODS, pod(ownerReferences=two))
    assert cause[:2] == ("FieldValueInvalid", "metadata.ownerReferences")
    assert cause[2].endswith(
        'Only one reference can have Controller set to true. Found "true" in references for '
        "ReplicaSet/rs and ReplicaSet/b"
    )
    assert validate_object_meta_update(pod(ownerReferences=[{}]), pod())[0][1] == (
        "metadata.ownerReferences.apiVersion"
    )


# -- wrong JSON types: kube's decoding errors (400) ------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (
            {"name": 12345},
            "number into Go struct field ObjectMeta.metadata.name of type string",
        ),
        (
            {"namespace": ["a"]},
            "array into Go struct field ObjectMeta.metadata.namespace of type string",
        ),
        (
            {"labels": {"a": 1}},
            "number into Go struct field ObjectMeta.metadata.labels of type string",
        ),
        (
            {"labels": "a"},
            "string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
        ),
        (
            {"annotations": {"a": True}},
            "bool into Go struct field ObjectMeta.metadata.annotations of type string",
        ),
        (
            {"finalizers": "a"},
            "string into Go struct field ObjectMeta.metadata.finalizers of type []string",
        ),
        (
            {"finalizers": [{}]},
            "object into Go struct field ObjectMeta.metadata.finalizers of type string",
        ),
        (
            {"generateName": 5},
            "number into Go struct field ObjectMeta.metadata.generateName of type string",
        ),
        (
            {"ownerReferences": {}},
            "object into Go struct field ObjectMeta.metadata.ownerReferences of type "
            "[]v1.OwnerReference",
        ),
        (
            {"ownerReferences": [{"name": 1}]},
            "number into Go struct field OwnerReference.metadata.ownerReferences.name of "
            "type string",
        ),
        (
            {"ownerReferences": [{"controller": "yes"}]},
            "string into Go struct field OwnerReference.metadata.ownerReferences.controller "
            "of type bool",
        ),
    ],
)
def test_wrong_types_are_decoding_errors(meta: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        validate_object_meta(PODS, pod(**meta))
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"
    assert caught.value.message == (
        f'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal {message}'
    )
    with pytest.raises(ApiError):
        validate_object_meta_update(pod(**meta), pod())


def test_decoding_error_names_the_group_version_kind() -> None:
    deployments = resource("deployments", "apps")
    obj = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "d", "labels": []}}
    with pytest.raises(ApiError) as caught:
        validate_object_meta(deployments, obj)
    assert caught.value.message.startswith(
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
        "array into Go struct field ObjectMeta.metadata.labels of type map[string]string"
    )


# -- the stored-object limits ----------------------------------------------------------------------


def chain(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_the_stored_object_limits_are_not_checked_here() -> None:
    """A request body obeys them once decoded; a patched object is checked by api/writes.py
    (core/json_limits.py object_problems, tested in tests/unit/api/test_decoding.py)."""
    assert validate_object_meta(PODS, {**pod(), "spec": chain(MAX_DEPTH)}) == []
    assert validate_object_meta_update({**pod(), "spec": {"x": [2**64]}}, pod()) == []


def test_every_bad_field_is_one_cause() -> None:
    obj = pod(
        name="Bad",
        labels={"bad key": "v"},
        annotations={"bad key": "v"},
        finalizers=["foo"],
        ownerReferences=[owner(kind="")],
    )
    assert [field for _, field, _ in validate_object_meta(PODS, obj)] == [
        "metadata.name",
        "metadata.labels",
        "metadata.annotations",
        "metadata.ownerReferences.kind",
        "metadata.finalizers[0]",
    ]
