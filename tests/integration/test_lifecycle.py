"""Object lifecycle as kube-apiserver's generic store has it: finalizers, graceful pod deletion,
propagation policies, DELETE answers and preconditions, deletecollection, and the namespace's own
life (Terminating, NamespaceLifecycle admission, /finalize).

Sources: apiserver registry/generic/registry/store.go (Delete,
updateForGracefulDeletionAndFinalizers, ShouldDeleteDuringUpdate, deleteWithoutFinalizers,
finalizeDelete), registry/rest/delete.go (BeforeDelete), pkg/registry/core/pod/strategy.go
(CheckGracefulDelete) and pkg/registry/core/namespace/storage/storage.go.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, pod, quiet_config, running_etcd_pair
from tests.integration.watching import WatchStream, watch

pytestmark = pytest.mark.etcd

NS = "acme-life"
TENANT = "watchproxy.io/tenant"
MERGE = {"content-type": "application/merge-patch+json"}
PODS = f"/api/v1/namespaces/{NS}/pods"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """Own etcd shards and proxy, built-in controllers off: a terminating namespace stays
    exactly as the requests leave it."""
    root = tmp_path_factory.mktemp("lifecycle")
    with running_etcd_pair(root) as servers:
        p = ProxyProcess(quiet_config([s.endpoint for s in servers]), root)
        p.start()
        try:
            with httpx.Client(base_url=p.url) as api:
                assert api.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).is_success
            yield p
        finally:
            p.stop()


@pytest.fixture()
def api(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        yield client


@contextlib.contextmanager
def watching(api: httpx.Client, path: str, **params: Any) -> Iterator[WatchStream]:
    """A watch of `path` from now (the collection's current resourceVersion)."""
    rv = api.get(path, params=params).json()["metadata"]["resourceVersion"]
    with watch(api, path, resourceVersion=rv, **params) as stream:
        yield stream


def events(stream: WatchStream, n: int) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in stream.take(n)]


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def create(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(path, json=body)
    assert r.status_code == 201, r.text
    obj: dict[str, Any] = r.json()
    return obj


# -- finalizers -------------------------------------------------------------------------------


def test_finalizers_keep_an_object_until_the_last_one_is_removed(api: httpx.Client) -> None:
    path = f"{CONFIGMAPS}/fz"
    created = create(
        api, CONFIGMAPS, {"metadata": {"name": "fz", "finalizers": ["example.com/keep"]}}
    )
    with watching(api, CONFIGMAPS) as stream:
        r = api.delete(path)
        assert r.status_code == 200, r.text
        deleting = r.json()
        assert deleting["kind"] == "ConfigMap"
        meta = deleting["metadata"]
        assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
        assert meta["finalizers"] == ["example.com/keep"]
        event = stream.take(1)[0]
        assert event["type"] == "MODIFIED" and event["object"]["metadata"]["deletionTimestamp"]
        assert event["object"]["metadata"]["resourceVersion"] == meta["resourceVersion"]
        got = api.get(path)
        assert got.status_code == 200 and got.json()["metadata"]["deletionTimestamp"]
        # Deleting again changes nothing: same answer, nothing written.
        again = api.delete(path)
        assert again.status_code == 200
        assert again.json()["metadata"]["resourceVersion"] == meta["resourceVersion"]

        # No new finalizer once deletion has started (ValidateObjectMetaUpdate).
        r = api.patch(
            path,
            json={"metadata": {"finalizers": ["example.com/keep", "example.com/late"]}},
            headers=MERGE,
        )
        assert r.status_code == 422, r.text
        cause = r.json()["details"]["causes"][0]
        assert cause["field"] == "metadata.finalizers" and "example.com/late" in cause["message"]

        # Removing the last finalizer deletes it. Like kube (deleteWithoutFinalizers), the
        # update answers the updated object, not a Status.
        r = api.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "ConfigMap"
        assert r.json()["metadata"]["uid"] == created["metadata"]["uid"]
        assert not r.json()["metadata"].get("finalizers")
        # ...at the revision it was computed from (the deletion was the write).
        assert r.json()["metadata"]["resourceVersion"] == meta["resourceVersion"]
        assert events(stream, 1) == [("DELETED", "fz")]
    assert api.get(path).status_code == 404


# -- graceful deletion of pods ----------------------------------------------------------------


def graceful_pod(name: str, grace: int | None = None) -> dict[str, Any]:
    body = pod(name, node="node-1")
    if grace is not None:
        body["spec"]["terminationGracePeriodSeconds"] = grace
    return body


def test_graceful_pod_deletion(api: httpx.Client) -> None:
    create(api, PODS, graceful_pod("web-1"))
    path = f"{PODS}/web-1"
    with watching(api, PODS) as stream:
        before = datetime.now(UTC).replace(microsecond=0)
        r = api.delete(path)
        after = datetime.now(UTC)
        assert r.status_code == 200, r.text
        meta = r.json()["metadata"]
        assert meta["deletionGracePeriodSeconds"] == 30
        assert before + timedelta(seconds=30) <= parse_time(meta["deletionTimestamp"])
        assert parse_time(meta["deletionTimestamp"]) <= after + timedelta(seconds=30)
        assert meta["generation"] == 2  # the first graceful deletion bumps it (BeforeDelete)
        assert events(stream, 1) == [("MODIFIED", "web-1")]
        assert api.get(path).json()["metadata"]["deletionTimestamp"] == meta["deletionTimestamp"]

        # A longer (or equal) grace period changes nothing.
        for grace in ("60", "30"):
            r = api.delete(path, params={"gracePeriodSeconds": grace})
            assert r.status_code == 200
            assert r.json()["metadata"]["resourceVersion"] == meta["resourceVersion"]
            assert r.json()["metadata"]["deletionTimestamp"] == meta["deletionTimestamp"]
        # A shorter one moves the deadline earlier.
        r = api.delete(path, params={"gracePeriodSeconds": "10"})
        shorter = r.json()["metadata"]
        assert shorter["deletionGracePeriodSeconds"] == 10
        assert parse_time(shorter["deletionTimestamp"]) == parse_time(
            meta["deletionTimestamp"]
        ) - timedelta(seconds=20)
        assert events(stream, 1) == [("MODIFIED", "web-1")]

        # The kubelet's final delete: grace 0 removes it (after the update that records it).
        r = api.delete(path, params={"gracePeriodSeconds": "0"})
        assert r.status_code == 200, r.text
        final = stream.take(2)
        assert [e["type"] for e in final] == ["MODIFIED", "DELETED"]
        assert final[0]["object"]["metadata"]["deletionGracePeriodSeconds"] == 0
        # The answer carries the delete's revision: the DELETED event's resourceVersion.
        assert (
            r.json()["metadata"]["resourceVersion"]
            == final[1]["object"]["metadata"]["resourceVersion"]
        )
    assert api.get(path).status_code == 404


@pytest.mark.parametrize(
    ("spec_grace", "query_grace", "expected"),
    [(None, None, 30), (45, None, 45), (45, "7", 7), (None, "-5", 1)],
    ids=["default-30", "spec", "request", "negative-is-1"],
)
def test_grace_period_sources(
    api: httpx.Client, spec_grace: int | None, query_grace: str | None, expected: int
) -> None:
    name = f"grace-{spec_grace}-{query_grace}".replace("None", "n")
    create(api, PODS, graceful_pod(name, spec_grace))
    params = {"gracePeriodSeconds": query_grace} if query_grace else {}
    before = datetime.now(UTC).replace(microsecond=0)
    r = api.delete(f"{PODS}/{name}", params=params)
    after = datetime.now(UTC)
    meta = r.json()["metadata"]
    assert meta["deletionGracePeriodSeconds"] == expected
    deadline = parse_time(meta["deletionTimestamp"])
    assert before + timedelta(seconds=expected) <= deadline <= after + timedelta(seconds=expected)
    assert api.get(f"{PODS}/{name}").status_code == 200
    api.delete(f"{PODS}/{name}", params={"gracePeriodSeconds": "0"})


@pytest.mark.parametrize("phase", ["unbound", "Succeeded", "Failed"])
def test_unbound_and_finished_pods_go_at_once(api: httpx.Client, phase: str) -> None:
    name = f"at-once-{phase.lower()}"
    if phase == "unbound":
        create(api, PODS, pod(name))
    else:
        create(api, PODS, graceful_pod(name, 60))
        r = api.patch(f"{PODS}/{name}/status", json={"status": {"phase": phase}}, headers=MERGE)
        assert r.status_code == 200, r.text
    with watching(api, PODS) as stream:
        r = api.delete(f"{PODS}/{name}")
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "Pod"  # pods answer the deleted object
        assert r.json()["metadata"]["deletionGracePeriodSeconds"] == 0
        assert api.get(f"{PODS}/{name}").status_code == 404
        seen = stream.take(2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [
        ("MODIFIED", name),
        ("DELETED", name),
    ]
    assert (
        r.json()["metadata"]["resourceVersion"] == seen[1]["object"]["metadata"]["resourceVersion"]
    )


# -- propagation policy and the GC finalizers -------------------------------------------------


@pytest.mark.parametrize(
    ("params", "finalizers"),
    [
        ({"propagationPolicy": "Orphan"}, ["orphan"]),
        ({"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
        ({"orphanDependents": "true"}, ["orphan"]),
    ],
    ids=["orphan", "foreground", "orphanDependents"],
)
def test_propagation_policy_finalizers(
    api: httpx.Client, params: dict[str, str], finalizers: list[str]
) -> None:
    name = "gc-" + "-".join(params.values()).lower()
    path = f"{CONFIGMAPS}/{name}"
    create(api, CONFIGMAPS, {"metadata": {"name": name, "finalizers": ["example.com/keep"]}})
    r = api.delete(path, params=params)
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert meta["finalizers"] == ["example.com/keep", *finalizers]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
    # The other policy swaps the GC finalizer; Background clears it.
    other = "Foreground" if finalizers == ["orphan"] else "Orphan"
    swapped = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}[other]
    r = api.delete(path, params={"propagationPolicy": other})
    assert r.json()["metadata"]["finalizers"] == ["example.com/keep", swapped]
    r = api.delete(path, params={"propagationPolicy": "Background"})
    assert r.json()["metadata"]["finalizers"] == ["example.com/keep"]
    # A GC finalizer alone keeps the object too; Background then deletes it at once.
    create(api, CONFIGMAPS, {"metadata": {"name": f"{name}-solo"}})
    r = api.delete(f"{path}-solo", params=params)
    assert r.json()["metadata"]["finalizers"] == finalizers
    assert api.get(f"{path}-solo").status_code == 200
    r = api.delete(f"{path}-solo", params={"propagationPolicy": "Background"})
    assert r.status_code == 200 and r.json()["kind"] == "Status"
    assert api.get(f"{path}-solo").status_code == 404
    api.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)


def test_orphan_dependents_false_on_a_kept_object_is_accepted(api: httpx.Client) -> None:
    """handlers/delete.go answers 202 when the object stays and orphanDependents=false was
    asked (it drops the orphan finalizer, adds none); 200 once it is really deleted."""
    path = f"{CONFIGMAPS}/gc-cascade"
    create(api, CONFIGMAPS, {"metadata": {"name": "gc-cascade", "finalizers": ["orphan", "x/y"]}})
    r = api.delete(path, params={"orphanDependents": "false"})
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == "ConfigMap" and r.json()["metadata"]["finalizers"] == ["x/y"]
    assert api.delete(path).status_code == 200  # no orphanDependents: 200
    api.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)
    create(api, CONFIGMAPS, {"metadata": {"name": "gc-cascade"}})
    r = api.delete(path, params={"orphanDependents": "false"})
    assert r.status_code == 200 and r.json()["kind"] == "Status"


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        (
            {"propagationPolicy": "Sideways"},
            None,
            'propagationPolicy: Unsupported value: "Sideways": supported values: '
            '"Foreground", "Background", "Orphan", "nil"',
        ),
        (
            {},
            {"propagationPolicy": "Orphan", "orphanDependents": False},
            'propagationPolicy: Invalid value: "Orphan": orphanDependents and '
            "deletionPropagation cannot be both set",
        ),
    ],
    ids=["unknown-policy", "both-set"],
)
def test_invalid_delete_options(
    api: httpx.Client, params: dict[str, str], body: dict[str, Any] | None, message: str
) -> None:
    name = f"bad-options-{len(message)}"
    create(api, CONFIGMAPS, {"metadata": {"name": name}})
    r = api.request("DELETE", f"{CONFIGMAPS}/{name}", params=params, json=body)
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "DeleteOptions"
    assert status["details"]["group"] == "meta.k8s.io"
    assert status["message"] == f'DeleteOptions.meta.k8s.io "" is invalid: {message}'
    assert api.delete(f"{CONFIGMAPS}/{name}").status_code == 200


# -- DELETE answers and preconditions ---------------------------------------------------------


def test_configmap_delete_answers_a_success_status(api: httpx.Client) -> None:
    created = create(api, CONFIGMAPS, {"metadata": {"name": "plain"}})
    r = api.delete(f"{CONFIGMAPS}/plain")
    assert r.status_code == 200
    status = r.json()
    assert status["kind"] == "Status" and status["status"] == "Success"
    details = status["details"]
    assert (details["name"], details["kind"], details["uid"]) == (
        "plain",
        "configmaps",
        created["metadata"]["uid"],
    )


def test_delete_preconditions(api: httpx.Client) -> None:
    created = create(api, CONFIGMAPS, {"metadata": {"name": "pre"}})
    uid, rv = created["metadata"]["uid"], created["metadata"]["resourceVersion"]
    path = f"{CONFIGMAPS}/pre"
    r = api.request("DELETE", path, json={"preconditions": {"uid": "not-the-uid"}})
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    # rest.BeforeDelete's message; the resource it names is the object's kind.
    assert r.json()["message"] == (
        f'Operation cannot be fulfilled on ConfigMap "pre": the UID in the precondition '
        f"(not-the-uid) does not match the UID in record ({uid}). The object might have been "
        "deleted and then recreated"
    )
    assert r.json()["details"]["name"] == "pre" and r.json()["details"]["kind"] == "ConfigMap"
    r = api.request("DELETE", path, json={"preconditions": {"resourceVersion": "1"}})
    assert r.status_code == 409
    assert r.json()["message"] == (
        f'Operation cannot be fulfilled on ConfigMap "pre": the ResourceVersion in the '
        f"precondition (1) does not match the ResourceVersion in record ({rv}). The object "
        "might have been modified"
    )
    assert api.get(path).status_code == 200
    r = api.request("DELETE", path, json={"preconditions": {"uid": uid, "resourceVersion": rv}})
    assert r.status_code == 200, r.text
    assert api.get(path).status_code == 404


# -- deletecollection -------------------------------------------------------------------------


def names(items: list[dict[str, Any]]) -> list[str]:
    return sorted(i["metadata"]["name"] for i in items)


def test_deletecollection_namespaced(api: httpx.Client) -> None:
    for name, app in (("dc-a", "x"), ("dc-b", "x"), ("dc-c", "x"), ("dc-d", "y")):
        create(api, CONFIGMAPS, {"metadata": {"name": name, "labels": {"app": app}}})
    with watching(api, CONFIGMAPS) as stream:
        r = api.delete(
            CONFIGMAPS, params={"labelSelector": "app=x", "fieldSelector": "metadata.name!=dc-b"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "ConfigMapList"
        assert names(r.json()["items"]) == ["dc-a", "dc-c"]
        assert sorted(events(stream, 2)) == [("DELETED", "dc-a"), ("DELETED", "dc-c")]
    left = api.get(CONFIGMAPS, params={"labelSelector": "app in (x,y)"}).json()["items"]
    assert names(left) == ["dc-b", "dc-d"]


def test_deletecollection_cluster_scoped_across_shards(api: httpx.Client) -> None:
    nodes = {"dc-n1": "acme", "dc-n2": "globex", "dc-n3": None, "dc-n4": "globex"}
    for name, tenant in nodes.items():
        labels = {"pool": "dc"} | ({TENANT: tenant} if tenant else {})
        create(api, "/api/v1/nodes", {"metadata": {"name": name, "labels": labels}})
    with watching(api, "/api/v1/nodes", labelSelector="pool=dc") as stream:
        r = api.delete(
            "/api/v1/nodes",
            params={"labelSelector": "pool=dc", "fieldSelector": "metadata.name!=dc-n4"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "NodeList"
        assert names(r.json()["items"]) == ["dc-n1", "dc-n2", "dc-n3"]
        assert sorted(events(stream, 3)) == [
            ("DELETED", "dc-n1"),
            ("DELETED", "dc-n2"),
            ("DELETED", "dc-n3"),
        ]
    left = api.get("/api/v1/nodes", params={"labelSelector": "pool=dc"}).json()["items"]
    assert names(left) == ["dc-n4"]
    # The names were released on both shards: each may now be created on the other one.
    for name, tenant in (("dc-n1", "globex"), ("dc-n2", "acme"), ("dc-n3", "globex")):
        node = {"metadata": {"name": name, "labels": {TENANT: tenant}}}
        assert api.post("/api/v1/nodes", json=node).status_code == 201, name


# -- namespaces -------------------------------------------------------------------------------


def test_namespace_lifecycle(api: httpx.Client) -> None:
    name = "acme-ending"
    path = f"/api/v1/namespaces/{name}"
    created = create(api, "/api/v1/namespaces", {"metadata": {"name": name}})
    assert created["spec"]["finalizers"] == ["kubernetes"]
    assert created["status"]["phase"] == "Active"
    create(api, f"{path}/configmaps", {"metadata": {"name": "inside"}})
    with watching(api, "/api/v1/namespaces") as stream:
        r = api.delete(path)
        assert r.status_code == 200, r.text
        ns = r.json()
        assert ns["kind"] == "Namespace"
        assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
        assert "deletionGracePeriodSeconds" not in ns["metadata"]
        assert events(stream, 1) == [("MODIFIED", name)]
        assert api.get(path).json()["status"]["phase"] == "Terminating"
        assert api.get(f"{path}/configmaps/inside").status_code == 200

        # NamespaceLifecycle admission: no new content.
        for kind, body in (("pods", pod("late")), ("configmaps", {"metadata": {"name": "late"}})):
            r = api.post(f"{path}/{kind}", json=body)
            assert r.status_code == 403, r.text
            status = r.json()
            assert status["reason"] == "Forbidden"
            assert "because it is being terminated" in status["message"]
            causes = status["details"]["causes"]
            assert [(c["reason"], c["field"]) for c in causes] == [
                ("NamespaceTerminating", "metadata.namespace")
            ]
        # Preconditions are checked by namespace storage's own Delete, in its words.
        r = api.request("DELETE", path, json={"preconditions": {"uid": "not-the-uid"}})
        assert r.status_code == 409, r.text
        assert r.json()["message"] == (
            f'Operation cannot be fulfilled on namespaces "{name}": Precondition failed: UID in '
            f"precondition: not-the-uid, UID in object meta: {ns['metadata']['uid']}"
        )
        # Deleting again while spec.finalizers remain: answered, nothing written.
        again = api.delete(path)
        assert again.status_code == 200
        assert again.json()["metadata"]["resourceVersion"] == ns["metadata"]["resourceVersion"]

        # The namespace controller's last step: finalize with no finalizers left. kube removes
        # the namespace right there (ShouldDeleteNamespaceDuringUpdate); the PUT answers it.
        finalized = dict(ns, spec={"finalizers": []})
        r = api.put(f"{path}/finalize", json=finalized)
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "Namespace" and r.json()["spec"]["finalizers"] == []
        assert events(stream, 1) == [("DELETED", name)]
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404


def test_namespace_removed_by_delete_answers_the_namespace(api: httpx.Client) -> None:
    """A namespace finalized before its deletion: the first DELETE marks it Terminating, the
    second removes it and answers the Namespace (its store has ReturnDeletedObject)."""
    name = "acme-prefinalized"
    path = f"/api/v1/namespaces/{name}"
    created = create(api, "/api/v1/namespaces", {"metadata": {"name": name}})
    r = api.put(f"{path}/finalize", json=dict(created, spec={"finalizers": []}))
    assert r.status_code == 200 and r.json()["spec"]["finalizers"] == []
    assert api.get(path).json()["status"]["phase"] == "Active"  # not deleting: it stays
    r = api.delete(path)
    assert r.status_code == 200 and r.json()["status"]["phase"] == "Terminating"
    assert api.get(path).status_code == 200
    r = api.delete(path)
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "Namespace" and r.json()["metadata"]["name"] == name
    assert api.get(path).status_code == 404


def test_namespace_held_by_a_metadata_finalizer(api: httpx.Client) -> None:
    """/finalize empties spec.finalizers; a metadata finalizer still holds the namespace, and
    removing it removes the namespace (the update answers the Namespace)."""
    name = "acme-held"
    path = f"/api/v1/namespaces/{name}"
    create(api, "/api/v1/namespaces", {"metadata": {"name": name, "finalizers": ["x.io/hold"]}})
    ns = api.delete(path).json()
    r = api.put(f"{path}/finalize", json=dict(ns, spec={"finalizers": []}))
    assert r.status_code == 200, r.text
    assert api.get(path).json()["metadata"]["finalizers"] == ["x.io/hold"]
    with watching(api, "/api/v1/namespaces") as stream:
        r = api.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "Namespace"
        assert events(stream, 1) == [("DELETED", name)]
    assert api.get(path).status_code == 404


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_immortal_namespaces_cannot_be_deleted(api: httpx.Client, name: str) -> None:
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code in (
        201,
        409,
    )
    for query in ("", "?dryRun=All"):
        r = api.delete(f"/api/v1/namespaces/{name}{query}")
        assert r.status_code == 403, r.text
        assert (
            r.json()["message"]
            == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
    ns = api.get(f"/api/v1/namespaces/{name}").json()
    assert ns["status"]["phase"] == "Active" and "deletionTimestamp" not in ns["metadata"]


def test_namespaces_have_no_deletecollection(api: httpx.Client) -> None:
    """kube's namespace storage has no DeleteCollection: 405, and nothing starts terminating
    (it once terminated every namespace sorted before `default`, then answered 403)."""
    for name in ("aaa-coll", "zzz-coll"):
        create(api, "/api/v1/namespaces", {"metadata": {"name": name, "labels": {"coll": "1"}}})
    for query in ("", "?labelSelector=coll%3D1", "?dryRun=All"):
        r = api.delete(f"/api/v1/namespaces{query}")
        assert r.status_code == 405 and r.json()["reason"] == "MethodNotAllowed", r.text
    for name in ("aaa-coll", "zzz-coll", NS):
        ns = api.get(f"/api/v1/namespaces/{name}").json()
        assert ns["status"]["phase"] == "Active" and "deletionTimestamp" not in ns["metadata"]
    verbs = {
        r["name"]: r["verbs"]
        for r in api.get("/api/v1").json()["resources"]
        if "/" not in r["name"]
    }
    assert "deletecollection" not in verbs["namespaces"]
    assert "deletecollection" in verbs["configmaps"] and "deletecollection" in verbs["pods"]


def test_grace_periods_beyond_int64_are_400_and_any_int64_is_served(api: httpx.Client) -> None:
    create(api, PODS, pod("huge-grace", node="node-1"))
    create(api, CONFIGMAPS, {"metadata": {"name": "huge-grace"}})
    for path in (f"{PODS}/huge-grace", f"{CONFIGMAPS}/huge-grace"):
        r = api.delete(f"{path}?gracePeriodSeconds=99999999999999999999")
        assert r.status_code == 400 and r.json()["reason"] == "BadRequest", r.text
        assert api.get(path).status_code == 200  # nothing deleted
    r = api.request("DELETE", f"{PODS}/huge-grace", json={"gracePeriodSeconds": 300000000000})
    assert r.status_code == 200, r.text  # a valid int64: a (very) graceful deletion
    assert r.json()["metadata"]["deletionTimestamp"] > "2100"
    r = api.delete(f"{PODS}/huge-grace?gracePeriodSeconds=0")
    assert r.status_code == 200 and api.get(f"{PODS}/huge-grace").status_code == 404


def test_empty_metadata_maps_are_not_stored(api: httpx.Client) -> None:
    """ObjectMeta's maps are omitempty in kube: `kubectl diff` of an unchanged object is empty."""
    body = {"metadata": {"name": "empty-maps", "labels": {}, "annotations": {}, "finalizers": []}}
    created = create(api, CONFIGMAPS, body)
    assert not {"labels", "annotations", "finalizers"} & set(created["metadata"])
    r = api.patch(f"{CONFIGMAPS}/empty-maps", json={"metadata": {"annotations": {}}}, headers=MERGE)
    assert r.status_code == 200 and "annotations" not in r.json()["metadata"]
    assert r.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_subresources_are_discovered_and_serve_only_their_verbs(api: httpx.Client) -> None:
    listed = {r["name"]: r for r in api.get("/api/v1").json()["resources"] if "/" in r["name"]}
    assert listed["pods/binding"]["kind"] == "Binding" and listed["pods/binding"]["verbs"] == [
        "create"
    ]
    assert listed["namespaces/finalize"]["verbs"] == ["update"]
    assert listed["namespaces/status"]["verbs"] == ["get", "patch", "update"]
    assert api.get(f"/api/v1/namespaces/{NS}/finalize").status_code == 405
    assert api.patch(f"/api/v1/namespaces/{NS}/finalize", json={}, headers=MERGE).status_code == 405
    assert api.get(f"/api/v1/namespaces/{NS}/status").json()["metadata"]["name"] == NS
    create(api, PODS, pod("sub-verbs"))
    assert api.put(f"{PODS}/sub-verbs/binding", json={}).status_code == 405
    assert api.post(f"{PODS}/sub-verbs/status", json={}).status_code == 405
