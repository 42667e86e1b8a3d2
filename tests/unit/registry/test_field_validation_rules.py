"""fieldValidation: the query parameter (api/params.py), duplicate fields (api/decoding.py),
unknown fields by mode (registry/decoding.py) and the Warning headers (api/warnings.py), with
kube's words (endpoints/handlers/create.go, update.go, patch.go, rest.go)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from watchproxy.api import decoding
from watchproxy.api.decoding import check_body, json_duplicates, patch_strict_errors
from watchproxy.api.params import field_validation
from watchproxy.api.status import ApiError
from watchproxy.api.warnings import warning_headers
from watchproxy.api.yaml_body import apply_patch_duplicates, decode_yaml_object, yaml_duplicates
from watchproxy.registry.field_validation import (
    check_body_fields,
    check_patched_fields,
    go_json,
    go_value,
)
from watchproxy.resources import CustomResourceInfo, ResourceType
from watchproxy.schema.goformat import go_float

PODS = ResourceType("", "v1", "Pod", "pods", True, "pods", status_subresource=True)
DEPLOYMENTS = ResourceType("apps", "v1", "Deployment", "deployments", True, "apps/deployments")
WIDGETS = ResourceType(
    "example.com",
    "v1",
    "Widget",
    "widgets",
    True,
    "example.com/widgets",
    custom=CustomResourceInfo(
        crd_name="widgets.example.com",
        storage_version="v1",
        schema={
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {"size": {"type": "integer"}, "b": {"type": "string"}},
                }
            },
        },
    ),
)

TYPO_POD = (
    b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"foo":1,'
    b'"containers":[{"name":"c","image":"i","imagePullPolicyy":"Always"}],'
    b'"nodeName":"a","nodeName":"b"}}'
)


def check(
    resource: ResourceType, body: bytes, mode: str, media: str = "application/json"
) -> tuple[list[str], dict[str, Any]]:
    obj = decode_yaml_object(body) if media == "application/yaml" else orjson.loads(body)
    return check_body(resource, "", obj, body, media, mode), obj


# -- the query parameter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        (b"", "Warn"),
        (b"fieldValidation=", "Warn"),
        (b"fieldValidation=Strict", "Strict"),
        (b"dryRun=All&fieldValidation=Ignore", "Ignore"),
        (b"fieldValidation=Warn&fieldValidation=bogus", "Warn"),
    ],
)
def test_field_validation_values(query: bytes, mode: str) -> None:
    assert field_validation(query, "CreateOptions") == mode


def test_an_unknown_field_validation_is_kubes_422() -> None:
    with pytest.raises(ApiError) as caught:
        field_validation(b"fieldValidation=strict", "PatchOptions")
    error = caught.value
    assert (error.code, error.reason) == (422, "Invalid")
    message = 'Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"'
    assert str(error) == f'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: {message}'
    assert error.details == {
        "group": "meta.k8s.io",
        "kind": "PatchOptions",
        "causes": [
            {"reason": "FieldValueNotSupported", "message": message, "field": "fieldValidation"}
        ],
    }


# -- create and update bodies --------------------------------------------------------------------


def test_strict_is_a_400_naming_every_field_in_document_order() -> None:
    with pytest.raises(ApiError) as caught:
        check(PODS, TYPO_POD, "Strict")
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert str(caught.value) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.foo", unknown field "spec.containers[0].imagePullPolicyy", '
        'duplicate field "spec.nodeName"'
    )


def test_warn_answers_the_warnings_and_drops_the_fields() -> None:
    warnings, obj = check(PODS, TYPO_POD, "Warn")
    assert warnings == [
        'unknown field "spec.foo"',
        'unknown field "spec.containers[0].imagePullPolicyy"',
        'duplicate field "spec.nodeName"',
    ]
    assert obj["spec"] == {"containers": [{"name": "c", "image": "i"}], "nodeName": "b"}


def test_ignore_drops_silently_and_never_parses_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_parse(body: bytes) -> dict[str, list[str]]:
        raise AssertionError("parsed twice")

    monkeypatch.setattr(decoding, "json_duplicates", no_second_parse)
    warnings, obj = check(PODS, TYPO_POD, "Ignore")
    assert warnings == []
    assert obj["spec"] == {"containers": [{"name": "c", "image": "i"}], "nodeName": "b"}
    # Protobuf bodies cannot repeat a field: never parsed as JSON either.
    assert (
        check_body(PODS, "", {}, b"k8s\x00", "application/vnd.kubernetes.protobuf", "Strict") == []
    )


def test_a_clean_body_has_no_warnings() -> None:
    body = orjson.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 2}})
    assert check(DEPLOYMENTS, body, "Strict") == ([], orjson.loads(body))


def test_duplicates_only_where_kube_decodes() -> None:
    body = (
        b'{"metadata":{"labels":{"a":"1","a":"2"}},"spec":{"containers":[],"bogus":{"x":1,"x":2}}}'
    )
    warnings, obj = check(PODS, body, "Warn")
    # The unknown field's insides are skipped by the decoder: no duplicate reported there.
    assert warnings == ['duplicate field "metadata.labels.a"', 'unknown field "spec.bogus"']
    assert obj["metadata"]["labels"] == {"a": "2"}  # the last one wins


def test_json_duplicates_paths() -> None:
    body = b'{"a":1,"a":2,"l":[{"k":1},{"k":1,"k":2,"k":3}],"m":{"n":{"o":1,"o":1}}}'
    assert json_duplicates(body) == {"": ["a"], "l[1]": ["k"], "m.n": ["o"]}
    assert json_duplicates(b'{"a":1}') == {} and json_duplicates(b"[") == {}


def test_custom_resources_duplicates_first_then_metadata_then_pruned_sorted() -> None:
    body = (
        b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","zz":1},'
        b'"spec":{"z":1,"size":1,"a":2,"size":2},"status":{}}'
    )
    with pytest.raises(ApiError) as caught:
        check(WIDGETS, body, "Strict")
    assert str(caught.value) == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
        'duplicate field "spec.size", unknown field "metadata.zz", unknown field "spec.a", '
        'unknown field "spec.z", unknown field "status"'
    )
    warnings, obj = check(WIDGETS, body, "Ignore")
    assert warnings == []
    assert obj == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 2},
    }


def test_subresources_with_another_kind_use_the_bodys_definition() -> None:
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 1, "x": 1}}
    warnings = check_body_fields(DEPLOYMENTS, "scale", scale, "Warn", {})
    assert warnings == ['unknown field "spec.x"']
    status = {"status": {"phase": "Running", "nope": 1}}
    assert check_body_fields(PODS, "status", status, "Warn", {}) == ['unknown field "status.nope"']


# -- patches -------------------------------------------------------------------------------------


def patched_pod() -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "p", "resourceVersion": "5"},
        "spec": {"zeta": 1, "containers": [{"name": "c", "alpha": "<&>"}]},
    }


def test_strict_patch_is_kubes_422_with_the_patched_object_sorted() -> None:
    patch_errors = patch_strict_errors(b'{"spec":{"a":1,"a":2}}', "application/merge-patch+json")
    assert patch_errors == ['duplicate field "spec.a"']
    with pytest.raises(ApiError) as caught:
        check_patched_fields(PODS, "", patched_pod(), "Strict", patch_errors, None)
    error = caught.value
    shown = go_json(patched_pod())
    assert shown.startswith('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p",')
    assert '"alpha":"\\u003c\\u0026\\u003e"' in shown
    detail = (
        'strict decoding error: duplicate field "spec.a", unknown field '
        '"spec.containers[0].alpha", unknown field "spec.zeta"'
    )
    assert (error.code, error.reason) == (422, "Invalid")
    message = error.details["causes"][0]["message"]  # type: ignore[index]
    assert message.endswith(f": {detail}") and message.startswith('Invalid value: "{\\"api')
    assert str(error) == f' "" is invalid: patch: {message}'
    assert error.details["causes"][0]["field"] == "patch"  # type: ignore[index]


def test_warn_patch_warns_and_prunes() -> None:
    obj = patched_pod()
    warnings = check_patched_fields(PODS, "", obj, "Warn", ['duplicate field "x"'], None)
    assert warnings == [
        'duplicate field "x"',
        'unknown field "spec.containers[0].alpha"',
        'unknown field "spec.zeta"',
    ]
    assert obj["spec"] == {"containers": [{"name": "c"}]}
    obj = patched_pod()
    assert check_patched_fields(PODS, "", obj, "Ignore", [], None) == []
    assert obj["spec"] == {"containers": [{"name": "c"}]}


def test_strategic_merge_patch_shows_gos_map_and_sorts() -> None:
    body = b'{"spec":{"zeta":1,"containers":[{"name":"c","alpha":"<&>"}],"r":1.5,"n":null}}'
    with pytest.raises(ApiError) as caught:
        check_patched_fields(PODS, "", patched_pod(), "Strict", [], body)
    message = caught.value.details["causes"][0]["message"]  # type: ignore[index]
    assert message == (
        'Invalid value: "map[spec:map[containers:[map[alpha:<&> name:c]] n:<nil> r:1.5 '
        'zeta:1]]": strict decoding error: unknown field "spec.containers[0].alpha", '
        'unknown field "spec.zeta"'
    )


def test_json_patch_operations_are_checked_too() -> None:
    body = b'[{"op":"add","path":"/a","value":{"x":1,"x":2},"foo":1},{"op":"remove","path":"/b"}]'
    assert patch_strict_errors(body, "application/json-patch+json") == [
        'json patch duplicate field "[0].value.x"',
        'json patch unknown field "[0].foo"',
    ]
    assert patch_strict_errors(b"not json", "application/json-patch+json") == []
    assert patch_strict_errors(b'{"op":"add"}', "application/json-patch+json") == []


# -- Go formatting and the Warning header --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [  # schema/goformat.py's, as the strategic merge patch's %+v prints them
        (1.0, "1"),
        (1.5, "1.5"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (0.0, "0"),
    ],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


def test_go_value() -> None:
    assert go_value({"b": [1, "x", True], "a": None}) == "map[a:<nil> b:[1 x true]]"


def test_warning_headers() -> None:
    headers = warning_headers(['unknown field "spec.foo"', 'unknown field "spec.foo"', "", "a\tb"])
    assert headers == [(b"warning", b'299 - "unknown field \\"spec.foo\\""')]
    many = [f"w{i} " + "x" * 300 for i in range(20)]  # 6 KB: over kube's 4096 runes
    cut = warning_headers(many)
    # 13 fit whole; the 14th starts truncating: all 14 again at 256 runes, then 2 more to 4096.
    assert len(cut) == 16
    assert all(len(value) == len(b'299 - ""') + 256 for _, value in cut)


# -- YAML (server-side apply's body) -------------------------------------------------------------

APPLY_BODY = b"""apiVersion: apps/v1
kind: Deployment
spec:
  replicas: 1
  replicas: 2
  template:
    spec:
      containers:
      - name: a
        name: b
  3: x
  3: y
"""


def test_yaml_duplicates_in_document_order_as_go_yaml_words_them() -> None:
    assert yaml_duplicates(APPLY_BODY) == [
        'line 5: key "replicas" already set in map',
        'line 10: key "name" already set in map',
        "line 12: key 3 already set in map",
    ]
    assert yaml_duplicates(b"a: [b") == [] and yaml_duplicates(b"a: 1\nb: 1\n") == []


def test_apply_patch_duplicates_by_mode() -> None:
    assert apply_patch_duplicates(APPLY_BODY, "Ignore") == []
    assert (
        apply_patch_duplicates(APPLY_BODY, "Warn")[0] == 'line 5: key "replicas" already set in map'
    )
    with pytest.raises(ApiError) as caught:
        apply_patch_duplicates(APPLY_BODY, "Strict")
    assert caught.value.code == 400
    assert str(caught.value).startswith(
        "error strict decoding patch: error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 5: key "replicas" already set in map\n  line 10: key "name"'
    )


YAML_POD = b"""apiVersion: v1
kind: Pod
metadata:
  name: y
  annotations: {at: 2024-01-01T00:00:00Z}
spec:
  restartPolicy: Never
  restartPolicy: Always
  bogus: 1
  containers:
  - name: c
    image: i
"""


def test_a_yaml_body_is_kubes_json_and_its_duplicates_come_first() -> None:
    with pytest.raises(ApiError) as caught:
        check(PODS, YAML_POD, "Strict", "application/yaml")
    assert str(caught.value) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: error '
        "converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 8: key "restartPolicy" already set in map, unknown field "spec.bogus"'
    )
    warnings, obj = check(PODS, YAML_POD, "Warn", "application/yaml")
    assert warnings == [
        'line 8: key "restartPolicy" already set in map',
        'unknown field "spec.bogus"',
    ]
    # go-yaml v2 (YAML 1.1): timestamps stay strings.
    assert obj["metadata"]["annotations"] == {"at": "2024-01-01T00:00:00Z"}
    assert obj["spec"]["restartPolicy"] == "Always" and "bogus" not in obj["spec"]


@pytest.mark.parametrize("mode", ["Strict", "Warn", "Ignore"])
def test_a_yaml_bool_where_a_string_goes_is_the_typed_decodes_400(mode: str) -> None:
    """go-yaml v2 (YAML 1.1) makes `yes` true (and the key `on` "true"): an annotation must be a
    string, and a type error trumps strict errors in every mode (handlers/create.go)."""
    body = YAML_POD.replace(b"{at: 2024-01-01T00:00:00Z}", b"{k: yes, on: 1}")
    with pytest.raises(ApiError) as caught:
        check(PODS, body, mode, "application/yaml")
    assert str(caught.value) == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into Go'
        " struct field ObjectMeta.metadata.annotations of type string"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"a: [b", "the body of the request could not be decoded as YAML: "),
        (b"- 1\n- 2\n", "the body of the request must be a JSON object"),
        (b"a: .inf\n", "the body of the request could not be decoded as YAML: json: unsupported"),
        (b"a: &x [*x]\n", "the body of the request could not be decoded as YAML: yaml: anchor"),
        (
            b"a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            "the body of the request could not be decoded as YAML: yaml: document contains "
            "excessive aliasing",
        ),
        (b"a: " + b"[" * 300 + b"]" * 300, "the body of the request could not be decoded as YAML"),
    ],
)
def test_bad_yaml_bodies_are_400(body: bytes, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_yaml_object(body)
    assert caught.value.code == 400 and str(caught.value).startswith(message), str(caught.value)
