"""Bad input is refused as kube-apiserver refuses it (issue 6, point 7): a Status with kube's
code, reason and message, nothing stored (etcd read directly before and after) and no traceback
in the log of the `watchproxy serve` process.

Covers: JSON nested too deep, integers beyond int64, invalid UTF-8 and lone surrogates (any
request body: create, update, the three patch types, DeleteOptions); ObjectMeta rules (labels,
annotations, finalizers, generateName, ownerReferences); '.', '..' and their percent-encodings as
a namespace or name in the path; Secrets' stringData and base64 data.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Cluster, pod, quiet_cluster
from tests.integration.etcd_state import etcd_state
from tests.kube_messages import KEY_NAME_RE, NOT_STANDARD, SUBDOMAIN_RE, VALUE_RE
from watchproxy.core.json_limits import MAX_DEPTH
from watchproxy.kubeproto._generated import k8s_core_v1_pb2 as core_v1
from watchproxy.kubeproto._generated import k8s_runtime_pb2 as runtime
from watchproxy.kubeproto.decode import MAGIC
from watchproxy.kubeproto.decode import MEDIA_TYPE as PROTOBUF

pytestmark = pytest.mark.etcd

NS = "acme-bad"
PODS = f"/api/v1/namespaces/{NS}/pods"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"
VICTIM = f"{PODS}/victim"
# A ControllerRevision's `data` is a RawExtension, which takes any JSON: the place for deep or
# extreme values to be stored (a Pod drops fields it does not know: registry/field_validation.py).
REVISIONS = f"/apis/apps/v1/namespaces/{NS}/controllerrevisions"
REVISION = f"{REVISIONS}/victim"
SECRET = f"{SECRETS}/victim"
MERGE = {"content-type": "application/merge-patch+json"}
STRATEGIC = {"content-type": "application/strategic-merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}
JSON = {"content-type": "application/json"}
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
DEPTH_MESSAGE = f"exceeded max depth of {MAX_DEPTH}"
DECODE_PREFIX = "the body of the request could not be decoded as JSON: "
BIG = "100000000000000000000000000000000"


def _populate(api: httpx.Client) -> None:
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
    assert r.status_code == 201, r.text
    assert api.post(PODS, json=pod("victim", labels={"app": "v"})).status_code == 201
    revision = {"metadata": {"name": "victim"}, "revision": 1, "data": {}}
    assert api.post(REVISIONS, json=revision).status_code == 201
    secret = {"metadata": {"name": "victim"}, "data": {"k": _b64("v")}}
    assert api.post(SECRETS, json=secret).status_code == 201


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two etcd shards and a proxy of this module's own (its log holds only these tests)."""
    with quiet_cluster(tmp_path_factory.mktemp("bad-input"), _populate) as cluster:
        yield cluster


@pytest.fixture()
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.proxy.url, timeout=30) as client:
        yield client


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def etcd_value(cluster: Cluster, key: bytes) -> dict[str, Any]:
    """An object as stored on shard-a (tenant acme), decoded."""
    for _, kvs in etcd_state(cluster.etcd)[:1]:
        return dict(json.loads(kvs[key][1]))
    raise AssertionError(key)


@contextlib.contextmanager
def nothing_changes(cluster: Cluster) -> Iterator[None]:
    """Around a refused request: etcd is exactly as before, the proxy logged no crash."""
    before = etcd_state(cluster.etcd)
    log_start = len(cluster.proxy.log())
    yield
    assert etcd_state(cluster.etcd) == before
    assert_no_crash(cluster, log_start)


def assert_no_crash(cluster: Cluster, log_start: int = 0) -> None:
    logged = cluster.proxy.log()[log_start:]
    assert "Traceback" not in logged and "internal error" not in logged, logged[-3000:]


def status(r: httpx.Response | tuple[int, bytes], code: int, reason: str) -> dict[str, Any]:
    """The response is a Failure Status with this code and reason; its body."""
    got, raw = (r.status_code, r.content) if isinstance(r, httpx.Response) else r
    assert got == code, raw[:2000]
    body: dict[str, Any] = json.loads(raw)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1", body
    assert body["status"] == "Failure" and body["code"] == code and body["reason"] == reason
    return body


def causes(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["reason"], c["field"], c["message"]) for c in body["details"]["causes"]]


def nested(depth: int) -> str:
    """A JSON value of exactly `depth` nested objects."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def pod_body(value: str, name: str = "bad") -> bytes:
    """A pod whose spec.x is `value` (raw JSON): the body nests 2 levels more than `value`."""
    head = f'{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"x":'
    return (head + value + "}}").encode()


def revision_body(value: str, name: str) -> bytes:
    """A ControllerRevision whose data.x is `value` (raw JSON), nested as pod_body nests it."""
    head = f'{{"metadata":{{"name":"{name}"}},"revision":1,"data":{{"x":'
    return (head + value + "}}").encode()


# -- JSON nested too deep ------------------------------------------------------------------------

TOO_DEEP = [MAX_DEPTH + 1, 255, 500, 1023, 1024, 1025, 20000]


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_deep_create_is_400(api: httpx.Client, cluster: Cluster, depth: int) -> None:
    with nothing_changes(cluster):
        r = api.post(PODS, content=pod_body(nested(depth - 2)), headers=JSON)
    assert status(r, 400, "BadRequest")["message"] == DECODE_PREFIX + DEPTH_MESSAGE


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_deep_update_is_400(api: httpx.Client, cluster: Cluster, depth: int) -> None:
    with nothing_changes(cluster):
        r = api.put(VICTIM, content=pod_body(nested(depth - 2), "victim"), headers=JSON)
    assert status(r, 400, "BadRequest")["message"] == DECODE_PREFIX + DEPTH_MESSAGE


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_deep_delete_options_is_400(api: httpx.Client, cluster: Cluster, depth: int) -> None:
    body = f'{{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{nested(depth - 1)}}}'
    with nothing_changes(cluster):
        r = api.request("DELETE", VICTIM, content=body.encode(), headers=JSON)
    assert status(r, 400, "BadRequest")["message"] == DECODE_PREFIX + DEPTH_MESSAGE
    assert api.get(VICTIM).status_code == 200


# 3,000 and 20,000 are deeper than the interpreter's stack: the strict-field check (duplicate
# fields, for Strict and Warn, kubectl's default being Strict) parsed them first and answered
# 500 (review finding).
PATCH_DEPTHS = [255, 500, 1023, 3000, 20000]
VALIDATIONS = ["", "?fieldValidation=Strict", "?fieldValidation=Ignore"]


@pytest.mark.parametrize("validation", VALIDATIONS, ids=["default", "strict", "ignore"])
@pytest.mark.parametrize("depth", PATCH_DEPTHS)
@pytest.mark.parametrize("headers", [MERGE, STRATEGIC], ids=["merge", "strategic"])
def test_deep_merge_patch_is_400(
    api: httpx.Client, cluster: Cluster, depth: int, headers: dict[str, str], validation: str
) -> None:
    body = '{"spec":{"x":' + nested(depth - 2) + "}}"
    with nothing_changes(cluster):
        r = api.patch(VICTIM + validation, content=body.encode(), headers=headers)
    assert DEPTH_MESSAGE in status(r, 400, "BadRequest")["message"]


@pytest.mark.parametrize("validation", VALIDATIONS, ids=["default", "strict", "ignore"])
@pytest.mark.parametrize("depth", PATCH_DEPTHS)
def test_deep_json_patch_is_400(
    api: httpx.Client, cluster: Cluster, depth: int, validation: str
) -> None:
    body = '[{"op":"add","path":"/spec/x","value":' + nested(depth - 2) + "}]"
    with nothing_changes(cluster):
        r = api.patch(VICTIM + validation, content=body.encode(), headers=JSON_PATCH)
    assert DEPTH_MESSAGE in status(r, 400, "BadRequest")["message"]


@pytest.mark.parametrize("depth", [3000, 20000])
def test_deep_status_patch_is_400(api: httpx.Client, cluster: Cluster, depth: int) -> None:
    body = '{"status":{"x":' + nested(depth - 2) + "}}"
    with nothing_changes(cluster):
        r = api.patch(
            VICTIM + "/status?fieldValidation=Strict", content=body.encode(), headers=MERGE
        )
    assert DEPTH_MESSAGE in status(r, 400, "BadRequest")["message"]


def test_a_patch_that_builds_a_too_deep_object_is_422(api: httpx.Client, cluster: Cluster) -> None:
    """Each JSON patch body is shallow, but the object they build is not: the stored-object
    limit refuses the second one, which would otherwise reach orjson's 254 and crash."""
    first = [{"op": "add", "path": "/data/deep", "value": json.loads(nested(200))}]
    assert api.patch(REVISION, json=first, headers=JSON_PATCH).status_code == 200
    path = "/data/deep" + "/a" * 199
    second = [{"op": "add", "path": path + "/b", "value": json.loads(nested(100))}]
    try:
        with nothing_changes(cluster):
            r = api.patch(REVISION, json=second, headers=JSON_PATCH)
        body = status(r, 422, "Invalid")
        assert causes(body) == [("FieldValueInvalid", "data", f"Invalid value: {DEPTH_MESSAGE}")], (
            body
        )
    finally:
        undo = [{"op": "remove", "path": "/data/deep"}]
        assert api.patch(REVISION, json=undo, headers=JSON_PATCH).status_code == 200


def test_a_protobuf_body_holding_too_deep_json_is_400(api: httpx.Client, cluster: Cluster) -> None:
    """FieldsV1 (managedFields) carries raw JSON: nested too deep it is refused like a JSON body,
    not stored to crash the proxy when written to etcd or served."""
    cm = core_v1.ConfigMap()
    cm.metadata.name = "deep"
    entry = cm.metadata.managedFields.add(manager="m", operation="Update", apiVersion="v1")
    entry.fieldsType = "FieldsV1"
    entry.fieldsV1.Raw = nested(MAX_DEPTH).encode()
    unknown = runtime.Unknown()
    unknown.typeMeta.apiVersion, unknown.typeMeta.kind = "v1", "ConfigMap"
    unknown.raw = cm.SerializeToString()
    body = MAGIC + unknown.SerializeToString()
    with nothing_changes(cluster):
        r = api.post(
            f"/api/v1/namespaces/{NS}/configmaps", content=body, headers={"content-type": PROTOBUF}
        )
    assert status(r, 400, "BadRequest")["message"] == (
        "the body of the request could not be decoded as protobuf: metadata: " + DEPTH_MESSAGE
    )


def test_the_deepest_accepted_object_is_served_everywhere(
    api: httpx.Client, cluster: Cluster
) -> None:
    """MAX_DEPTH leaves room for the deepest wrapper an object is served in (a Table row)."""
    log_start = len(cluster.proxy.log())
    r = api.post(REVISIONS, content=revision_body(nested(MAX_DEPTH - 2), "deepest"), headers=JSON)
    assert r.status_code == 201, r.text
    try:
        assert api.get(f"{REVISIONS}/deepest").status_code == 200
        assert api.get(REVISIONS).status_code == 200
        for path in (f"{REVISIONS}/deepest", REVISIONS):
            table = api.get(path, params={"includeObject": "Object"}, headers={"accept": TABLE})
            assert table.status_code == 200 and table.json()["kind"] == "Table", table.text
        with api.stream("GET", REVISIONS, params={"watch": "1", "timeoutSeconds": "1"}) as w:
            assert w.status_code == 200
            assert any(b'"deepest"' in line for line in w.iter_bytes())
    finally:
        assert api.delete(f"{REVISIONS}/deepest").status_code == 200
    assert_no_crash(cluster, log_start)


# -- integers beyond int64 -------------------------------------------------------------------------


def int_message(literal: str) -> str:
    return DECODE_PREFIX + f"json: cannot unmarshal number {literal} into Go value of type int64"


@pytest.mark.parametrize(
    "literal", [BIG, "9223372036854775808", "-9223372036854775809", "18446744073709551616"]
)
def test_big_integer_create_is_400(api: httpx.Client, cluster: Cluster, literal: str) -> None:
    with nothing_changes(cluster):
        r = api.post(PODS, content=pod_body(literal), headers=JSON)
    assert status(r, 400, "BadRequest")["message"] == int_message(literal)


def test_int64_extremes_are_stored_exactly(api: httpx.Client, cluster: Cluster) -> None:
    value = "[9223372036854775807,-9223372036854775808,1e+32,12345678901234567890.5]"
    r = api.post(REVISIONS, content=revision_body(value, "extremes"), headers=JSON)
    assert r.status_code == 201, r.text
    try:
        stored = etcd_value(cluster, f"/registry/controllerrevisions/{NS}/extremes".encode())
        assert stored["data"]["x"] == [2**63 - 1, -(2**63), 1e32, 12345678901234567890.5]
    finally:
        api.delete(f"{REVISIONS}/extremes")


def test_big_integer_update_is_400(api: httpx.Client, cluster: Cluster) -> None:
    with nothing_changes(cluster):
        r = api.put(VICTIM, content=pod_body(BIG, "victim"), headers=JSON)
    assert status(r, 400, "BadRequest")["message"] == int_message(BIG)


def test_big_integer_delete_options_is_400(api: httpx.Client, cluster: Cluster) -> None:
    body = b'{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":' + BIG.encode() + b"}"
    with nothing_changes(cluster):
        r = api.request("DELETE", VICTIM, content=body, headers=JSON)
    assert status(r, 400, "BadRequest")["message"] == int_message(BIG)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (MERGE, '{"spec":{"x":' + BIG + "}}"),
        (STRATEGIC, '{"spec":{"x":' + BIG + "}}"),
        (JSON_PATCH, '[{"op":"add","path":"/spec/x","value":' + BIG + "}]"),
    ],
    ids=["merge", "strategic", "json"],
)
def test_big_integer_patch_is_400(
    api: httpx.Client, cluster: Cluster, headers: dict[str, str], body: str
) -> None:
    with nothing_changes(cluster):
        r = api.patch(VICTIM, content=body.encode(), headers=headers)
    assert BIG in status(r, 400, "BadRequest")["message"]


# -- invalid UTF-8, lone surrogates ----------------------------------------------------------------

BAD_STRINGS = {
    "invalid-utf8": b'"\xff\xfe"',
    "encoded-surrogate": b'"\xed\xa0\x80"',
    "lone-high-escape": b'"\\ud800"',
    "lone-low-escape": b'"\\udc00"',
}


@pytest.mark.parametrize("raw", BAD_STRINGS.values(), ids=BAD_STRINGS.keys())
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_bad_strings_are_400(api: httpx.Client, cluster: Cluster, raw: bytes, method: str) -> None:
    path = PODS if method == "POST" else VICTIM
    name = b"bad" if method == "POST" else b"victim"
    body = b'{"metadata":{"name":"' + name + b'","annotations":{"a":' + raw + b"}}}"
    with nothing_changes(cluster):
        r = api.request(method, path, content=body, headers=JSON)
    assert status(r, 400, "BadRequest")["message"].startswith(DECODE_PREFIX)


@pytest.mark.parametrize("raw", BAD_STRINGS.values(), ids=BAD_STRINGS.keys())
@pytest.mark.parametrize("headers", [MERGE, STRATEGIC], ids=["merge", "strategic"])
def test_bad_strings_in_patches_are_400(
    api: httpx.Client, cluster: Cluster, raw: bytes, headers: dict[str, str]
) -> None:
    with nothing_changes(cluster):
        r = api.patch(
            VICTIM, content=b'{"metadata":{"annotations":{"a":' + raw + b"}}}", headers=headers
        )
    status(r, 400, "BadRequest")


def test_surrogate_pairs_are_fine(api: httpx.Client) -> None:
    body = (
        b'{"metadata":{"name":"emoji","annotations":{"a":"\\ud83d\\ude00"}},'
        b'"spec":{"containers":[{"name":"c","image":"busybox"}]}}'
    )
    r = api.post(PODS, content=body, headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["annotations"] == {"a": "\U0001f600"}
    api.delete(f"{PODS}/emoji")


# -- ObjectMeta ------------------------------------------------------------------------------------


def bad_pod(**meta: Any) -> dict[str, Any]:
    body = pod("bad")
    body["metadata"] = {"name": "bad", **meta}
    return body


def test_labels_are_validated_one_cause_per_rule(api: httpx.Client, cluster: Cluster) -> None:
    labels = {"bad key!": "ok", "ok": "bad value!", "v": "x" * 64, "example.com/": "ok"}
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(labels=labels))
    body = status(r, 422, "Invalid")
    assert body["details"]["name"] == "bad" and body["details"]["kind"] == "Pod"
    assert causes(body) == [
        ("FieldValueInvalid", "metadata.labels", f'Invalid value: "bad key!": {KEY_NAME_RE}'),
        ("FieldValueInvalid", "metadata.labels", f'Invalid value: "bad value!": {VALUE_RE}'),
        (
            "FieldValueInvalid",
            "metadata.labels",
            f'Invalid value: "{"x" * 64}": must be no more than 63 bytes',
        ),
        (
            "FieldValueInvalid",
            "metadata.labels",
            'Invalid value: "example.com/": name part must be non-empty',
        ),
        ("FieldValueInvalid", "metadata.labels", f'Invalid value: "example.com/": {KEY_NAME_RE}'),
    ]
    assert body["message"].startswith('Pod "bad" is invalid: metadata.labels: Invalid value: ')


def test_qualified_label_keys_and_empty_values_are_fine(api: httpx.Client) -> None:
    labels = {"example.com/Name_1": "", "a" * 63: "v" * 63, f"{'p' * 253}/n": "x"}
    r = api.post(PODS, json=bad_pod(labels=labels))
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["labels"] == labels
    api.delete(f"{PODS}/bad")


def test_label_key_prefix_is_a_dns_subdomain(api: httpx.Client, cluster: Cluster) -> None:
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(labels={f"{'p' * 254}/n": "x", "Bad.Prefix/n": "x"}))
    long_key, bad_prefix = f"{'p' * 254}/n", "Bad.Prefix/n"
    assert causes(status(r, 422, "Invalid")) == [
        (
            "FieldValueInvalid",
            "metadata.labels",
            f'Invalid value: "{long_key}": prefix part must be no more than 253 bytes',
        ),
        (
            "FieldValueInvalid",
            "metadata.labels",
            f'Invalid value: "{bad_prefix}": prefix part {SUBDOMAIN_RE}',
        ),
    ]


def test_annotations_size_is_256_kib(api: httpx.Client, cluster: Cluster) -> None:
    fits = {"a": "x" * (256 * 1024 - 1)}
    r = api.post(PODS, json=bad_pod(annotations=fits))
    assert r.status_code == 201, r.text
    api.delete(f"{PODS}/bad")
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(annotations={"a": "x" * (256 * 1024)}))
    assert causes(status(r, 422, "Invalid")) == [
        ("FieldValueTooLong", "metadata.annotations", "Too long: may not be more than 262144 bytes")
    ]


def test_annotation_keys_are_qualified_names_in_any_case(
    api: httpx.Client, cluster: Cluster
) -> None:
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(annotations={"Example.COM/Key": "1", "bad key": "2"}))
    assert causes(status(r, 422, "Invalid")) == [
        ("FieldValueInvalid", "metadata.annotations", f'Invalid value: "bad key": {KEY_NAME_RE}')
    ]


def test_finalizers_are_validated(api: httpx.Client, cluster: Cluster) -> None:
    finalizers = ["Bad Name", "foo", "example.com/ok", "kubernetes"]
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(finalizers=finalizers))
    assert causes(status(r, 422, "Invalid")) == [
        ("FieldValueInvalid", "metadata.finalizers", f'Invalid value: "Bad Name": {KEY_NAME_RE}'),
        (
            "FieldValueInvalid",
            "metadata.finalizers[0]",
            f'Invalid value: "Bad Name": {NOT_STANDARD}',
        ),
        ("FieldValueInvalid", "metadata.finalizers[1]", f'Invalid value: "foo": {NOT_STANDARD}'),
    ]


def test_generate_name_is_validated(api: httpx.Client, cluster: Cluster) -> None:
    body = pod("")
    body["metadata"] = {"generateName": "Bad_"}
    with nothing_changes(cluster):
        r = api.post(PODS, json=body)
    found = causes(status(r, 422, "Invalid"))
    assert found[0] == (
        "FieldValueInvalid",
        "metadata.generateName",
        f'Invalid value: "Bad_": {SUBDOMAIN_RE}',
    )
    assert [c[1] for c in found] == ["metadata.generateName", "metadata.name"]
    body["metadata"] = {"generateName": "good-"}
    r = api.post(PODS, json=body)
    assert r.status_code == 201 and r.json()["metadata"]["name"].startswith("good-")
    api.delete(f"{PODS}/{r.json()['metadata']['name']}")


def test_owner_references_basics(api: httpx.Client, cluster: Cluster) -> None:
    refs = [{"apiVersion": "apps/", "kind": "", "name": "", "uid": ""}]
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(ownerReferences=refs))
    assert causes(status(r, 422, "Invalid")) == [
        (
            "FieldValueInvalid",
            "metadata.ownerReferences.apiVersion",
            'Invalid value: "apps/": version must not be empty',
        ),
        (
            "FieldValueInvalid",
            "metadata.ownerReferences.kind",
            'Invalid value: "": must not be empty',
        ),
        (
            "FieldValueInvalid",
            "metadata.ownerReferences.name",
            'Invalid value: "": must not be empty',
        ),
        (
            "FieldValueInvalid",
            "metadata.ownerReferences.uid",
            'Invalid value: "": must not be empty',
        ),
    ]


def test_metadata_of_the_wrong_type_is_400(api: httpx.Client, cluster: Cluster) -> None:
    with nothing_changes(cluster):
        r = api.post(PODS, json=bad_pod(labels={"a": 1}))
    assert status(r, 400, "BadRequest")["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go '
        "struct field ObjectMeta.metadata.labels of type string"
    )


def test_a_name_that_is_not_a_string_is_400(api: httpx.Client, cluster: Cluster) -> None:
    body = pod("")
    body["metadata"] = {"name": 12345}
    with nothing_changes(cluster):
        r = api.post(PODS, json=body)
    assert status(r, 400, "BadRequest")["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go '
        "struct field ObjectMeta.metadata.name of type string"
    )


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("PUT", JSON, None),
        ("PATCH", MERGE, {"metadata": {"labels": {"bad key!": "x"}}}),
        ("PATCH", STRATEGIC, {"metadata": {"labels": {"bad key!": "x"}}}),
        ("PATCH", JSON_PATCH, [{"op": "add", "path": "/metadata/labels/bad key!", "value": "x"}]),
    ],
    ids=["put", "merge", "strategic", "json"],
)
def test_labels_are_validated_on_update(
    api: httpx.Client, cluster: Cluster, method: str, headers: dict[str, str], body: Any
) -> None:
    if body is None:
        body = api.get(VICTIM).json()
        body["metadata"]["labels"]["bad key!"] = "x"
    with nothing_changes(cluster):
        r = api.request(method, VICTIM, content=json.dumps(body).encode(), headers=headers)
    assert causes(status(r, 422, "Invalid")) == [
        ("FieldValueInvalid", "metadata.labels", f'Invalid value: "bad key!": {KEY_NAME_RE}')
    ]


# -- '.' and '..' in the path ---------------------------------------------------------------------

DOT_SEGMENTS = ["..", ".", "%2e%2e", "%2E%2E", "%2e", ".%2e", "%2e."]


def raw_request(cluster: Cluster, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """A request with the path exactly as given (httpx would remove the dot segments)."""
    conn = http.client.HTTPConnection("127.0.0.1", cluster.proxy.port, timeout=10)
    try:
        headers = {
            "content-type": "application/merge-patch+json"
            if method == "PATCH"
            else JSON["content-type"]
        }
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def dot_requests(segment: str) -> list[tuple[str, str, bytes]]:
    secret = json.dumps({"metadata": {"name": "x"}, "data": {}}).encode()
    named = json.dumps({"metadata": {"name": segment}}).encode()
    return [
        ("GET", f"/api/v1/namespaces/{segment}/secrets", b""),  # LIST
        ("GET", f"/api/v1/namespaces/{segment}/secrets?watch=1&timeoutSeconds=1", b""),
        ("GET", f"/api/v1/watch/namespaces/{segment}/secrets?timeoutSeconds=1", b""),
        ("GET", f"/api/v1/namespaces/{segment}/secrets/victim", b""),
        ("POST", f"/api/v1/namespaces/{segment}/secrets", secret),
        ("DELETE", f"/api/v1/namespaces/{segment}/secrets", b""),  # DELETE collection
        ("GET", f"{SECRETS}/{segment}", b""),
        ("GET", f"{SECRETS}?watch=1&fieldSelector=metadata.name%3D{segment}&timeoutSeconds=1", b""),
        ("GET", f"/api/v1/watch/namespaces/{NS}/secrets/{segment}?timeoutSeconds=1", b""),
        ("PUT", f"{SECRETS}/{segment}", named),
        ("PATCH", f"{SECRETS}/{segment}", b"{}"),
        ("DELETE", f"{SECRETS}/{segment}", b""),
        ("GET", f"/api/v1/namespaces/{segment}", b""),
        ("DELETE", f"/api/v1/namespaces/{segment}", b""),
    ]


@pytest.mark.parametrize("segment", DOT_SEGMENTS)
def test_dot_segments_in_the_path_are_refused(cluster: Cluster, segment: str) -> None:
    with nothing_changes(cluster):
        for method, path, body in dot_requests(segment):
            got = raw_request(cluster, method, path, body)
            if "fieldSelector" in path:
                # A selector value is not a path segment: an empty watch, not a Secret.
                assert got[0] == 200 and b'"victim"' not in got[1], (method, path, got)
                continue
            if got[0] == 404:
                status(got, 404, "NotFound")
                continue
            message = status(got, 400, "BadRequest")["message"]
            assert message in (
                'namespace may not be ".."',
                'name may not be ".."',
                'namespace may not be "."',
                'name may not be "."',
            ), (method, path)
            assert b"SecretList" not in got[1]


# -- Secrets ---------------------------------------------------------------------------------------


def test_string_data_is_folded_into_data_and_never_stored(
    api: httpx.Client, cluster: Cluster
) -> None:
    body = {
        "metadata": {"name": "folded"},
        "data": {"user": _b64("me"), "password": _b64("old")},
        "stringData": {"password": "hunter2", "note": "é"},
    }
    r = api.post(SECRETS, json=body)
    assert r.status_code == 201, r.text
    want = {"user": _b64("me"), "password": _b64("hunter2"), "note": _b64("é")}
    try:
        served = r.json()
        assert served["data"] == want and "stringData" not in served
        assert served["type"] == "Opaque"
        stored = etcd_value(cluster, f"/registry/secrets/{NS}/folded".encode())
        assert stored["data"] == want and "stringData" not in stored
        assert api.get(f"{SECRETS}/folded").json()["data"] == want
    finally:
        api.delete(f"{SECRETS}/folded")


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("PUT", JSON, None),
        ("PATCH", MERGE, {"stringData": {"k": "patched"}}),
        ("PATCH", STRATEGIC, {"stringData": {"k": "patched"}}),
        ("PATCH", JSON_PATCH, [{"op": "add", "path": "/stringData", "value": {"k": "patched"}}]),
    ],
    ids=["put", "merge", "strategic", "json"],
)
def test_string_data_is_folded_on_update(
    api: httpx.Client, cluster: Cluster, method: str, headers: dict[str, str], body: Any
) -> None:
    name = f"upd-{method}-{headers['content-type'].split('/')[1]}".lower().replace("+", "")
    assert api.post(SECRETS, json={"metadata": {"name": name}, "data": {"k": _b64("v")}}).is_success
    if body is None:
        body = api.get(f"{SECRETS}/{name}").json()
        body["stringData"] = {"k": "patched"}
    try:
        r = api.request(
            method, f"{SECRETS}/{name}", content=json.dumps(body).encode(), headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"k": _b64("patched")} and "stringData" not in r.json()
        stored = etcd_value(cluster, f"/registry/secrets/{NS}/{name}".encode())
        assert stored["data"] == {"k": _b64("patched")} and "stringData" not in stored
    finally:
        api.delete(f"{SECRETS}/{name}")


def base64_message(offset: int) -> str:
    return (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input '
        f"byte {offset}"
    )


@pytest.mark.parametrize(
    ("value", "offset"), [("admin", 4), ("<foo>", 0), ("wombat", 4), ("YQ==YQ==", 4)]
)
def test_data_that_is_not_base64_is_400(
    api: httpx.Client, cluster: Cluster, value: str, offset: int
) -> None:
    with nothing_changes(cluster):
        r = api.post(SECRETS, json={"metadata": {"name": "b64"}, "data": {"k": value}})
    assert status(r, 400, "BadRequest")["message"] == base64_message(offset)


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("PUT", JSON, {"metadata": {"name": "victim"}, "data": {"k": "admin"}}),
        ("PATCH", MERGE, {"data": {"k": "admin"}}),
        ("PATCH", STRATEGIC, {"data": {"k": "admin"}}),
        ("PATCH", JSON_PATCH, [{"op": "replace", "path": "/data/k", "value": "admin"}]),
    ],
    ids=["put", "merge", "strategic", "json"],
)
def test_data_that_is_not_base64_is_refused_on_update(
    api: httpx.Client, cluster: Cluster, method: str, headers: dict[str, str], body: Any
) -> None:
    with nothing_changes(cluster):
        r = api.request(method, SECRET, content=json.dumps(body).encode(), headers=headers)
    assert status(r, 400, "BadRequest")["message"] == base64_message(4)


def test_secret_keys_and_type_are_validated(api: httpx.Client, cluster: Cluster) -> None:
    body = {"metadata": {"name": "keys"}, "type": "kubernetes.io/tls", "data": {"bad key": ""}}
    with nothing_changes(cluster):
        r = api.post(SECRETS, json=body)
    assert causes(status(r, 422, "Invalid")) == [
        (
            "FieldValueInvalid",
            "data[bad key]",
            'Invalid value: "bad key": a valid config key must consist of alphanumeric '
            "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
            "regex used for validation is '[-._a-zA-Z0-9]+')",
        ),
        ("FieldValueRequired", "data[tls.crt]", "Required value"),
        ("FieldValueRequired", "data[tls.key]", "Required value"),
    ]


def test_secret_type_is_immutable(api: httpx.Client, cluster: Cluster) -> None:
    with nothing_changes(cluster):
        r = api.patch(SECRET, json={"type": "kubernetes.io/basic-auth"}, headers=MERGE)
    assert causes(status(r, 422, "Invalid")) == [
        (
            "FieldValueInvalid",
            "type",
            'Invalid value: "kubernetes.io/basic-auth": field is immutable',
        ),
        ("FieldValueRequired", "data[username]", "Required value"),
        ("FieldValueRequired", "data[password]", "Required value"),
    ]


def test_secret_size_is_one_mib(api: httpx.Client, cluster: Cluster) -> None:
    big = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
    with nothing_changes(cluster):
        r = api.post(SECRETS, json={"metadata": {"name": "huge"}, "data": {"k": big}})
    assert causes(status(r, 422, "Invalid")) == [
        ("FieldValueTooLong", "data", "Too long: may not be more than 1048576 bytes")
    ]
