"""WATCH semantics over real HTTP: event types, bookmarks, WatchList, timeouts, 410."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import make_namespace, pod
from tests.integration.watching import summary, watch
from watchproxy.core.rv import TokenCodec

pytestmark = pytest.mark.etcd
MERGE = {"content-type": "application/merge-patch+json"}
CODEC = TokenCodec(["shard-a", "shard-b"])


def test_added_modified_deleted_in_order(api: httpx.Client) -> None:
    make_namespace(api, "acme-w1")
    base = "/api/v1/namespaces/acme-w1/pods"
    rv = api.get(base).json()["metadata"]["resourceVersion"]
    with watch(api, base, resourceVersion=rv) as w:
        api.post(base, json=pod("a"))
        api.patch(f"{base}/a", content=b'{"metadata":{"labels":{"x":"1"}}}', headers=MERGE)
        deleted = api.delete(f"{base}/a")
        assert deleted.status_code == 200
        events = w.take(4)
    # An unscheduled pod is deleted at once, after the update that marks it (deletionTimestamp,
    # grace 0), as kube's store does.
    assert summary(events) == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
    ]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4, "DELETED carries the deletion revision"


def test_selector_entry_and_exit(api: httpx.Client) -> None:
    make_namespace(api, "acme-w2")
    base = "/api/v1/namespaces/acme-w2/pods"
    api.post(base, json=pod("a", labels={"app": "db"}))
    rv = api.get(base).json()["metadata"]["resourceVersion"]
    with watch(api, base, resourceVersion=rv, labelSelector="app=web") as w:
        api.patch(f"{base}/a", content=b'{"metadata":{"labels":{"app":"web"}}}', headers=MERGE)
        api.patch(f"{base}/a", content=b'{"metadata":{"labels":{"app":"db"}}}', headers=MERGE)
        assert summary(w.take(2)) == [("ADDED", "a"), ("DELETED", "a")]


def test_single_object_watch(api: httpx.Client) -> None:
    make_namespace(api, "acme-w3")
    base = "/api/v1/namespaces/acme-w3/configmaps"
    for name in ("one", "two"):
        api.post(base, json={"metadata": {"name": name}, "data": {"k": "v"}})
    with watch(api, f"{base}/two") as w:
        first = w.take(1)
        api.patch(f"{base}/one", content=b'{"data":{"k":"1"}}', headers=MERGE)
        api.patch(f"{base}/two", content=b'{"data":{"k":"2"}}', headers=MERGE)
        second = w.take(1)
    assert summary(first) == [("ADDED", "two")]
    assert summary(second) == [("MODIFIED", "two")]
    assert second[0]["object"]["data"] == {"k": "2"}


def test_watchlist_initial_events_then_end_bookmark(api: httpx.Client) -> None:
    make_namespace(api, "globex-w4")
    base = "/api/v1/namespaces/globex-w4/pods"
    for i in range(3):
        api.post(base, json=pod(f"p{i}"))
    with watch(
        api,
        base,
        sendInitialEvents="true",
        allowWatchBookmarks="true",
        resourceVersionMatch="NotOlderThan",
    ) as w:
        events = w.take(4, skip_bookmarks=False)
        api.post(base, json=pod("late"))
        late = w.take(1)
    assert summary(events[:3]) == [("ADDED", "p0"), ("ADDED", "p1"), ("ADDED", "p2")]
    assert events[3]["type"] == "BOOKMARK"
    annotations = events[3]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}
    assert events[3]["object"]["kind"] == "Pod"
    assert summary(late) == [("ADDED", "late")]


def test_periodic_bookmarks(api: httpx.Client) -> None:
    make_namespace(api, "acme-w5")
    base = "/api/v1/namespaces/acme-w5/pods"
    rv = api.get(base).json()["metadata"]["resourceVersion"]
    with watch(api, base, resourceVersion=rv, allowWatchBookmarks="true") as w:
        event = w.next()
    assert event["type"] == "BOOKMARK"
    assert int(event["object"]["metadata"]["resourceVersion"]) >= int(rv)


def test_timeout_seconds_ends_the_stream(api: httpx.Client) -> None:
    make_namespace(api, "acme-w6")
    started = time.monotonic()
    with watch(
        api,
        "/api/v1/namespaces/acme-w6/pods",
        timeoutSeconds="1",
        resourceVersion=api.get("/api/v1/namespaces/acme-w6/pods").json()["metadata"][
            "resourceVersion"
        ],
    ) as w:
        assert w.rest() == []
    assert time.monotonic() - started < 10


def test_watch_spellings_of_true(api: httpx.Client) -> None:
    make_namespace(api, "acme-w7")
    for spelling in ("True", "1", "t", "TRUE"):
        with watch(api, "/api/v1/namespaces/acme-w7/pods", watch=spelling, timeoutSeconds="1") as w:
            assert w.rest() == []


def test_merged_watch_across_shards_carries_tokens(api: httpx.Client) -> None:
    make_namespace(api, "acme-w8")
    make_namespace(api, "globex-w8")
    listed = api.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"]
    with watch(api, "/api/v1/configmaps", resourceVersion=listed) as w:
        api.post("/api/v1/namespaces/acme-w8/configmaps", json={"metadata": {"name": "a"}})
        api.post("/api/v1/namespaces/globex-w8/configmaps", json={"metadata": {"name": "b"}})
        events = w.take(2)
    assert {e["object"]["metadata"]["namespace"] for e in events} == {"acme-w8", "globex-w8"}
    tokens = [e["object"]["metadata"]["resourceVersion"] for e in events]
    assert all(not t.isdigit() for t in tokens)
    # Resuming from the first event's token yields exactly the second event.
    with watch(api, "/api/v1/configmaps", resourceVersion=tokens[0]) as w:
        again = w.take(1)
    assert again[0]["object"]["metadata"]["name"] == events[1]["object"]["metadata"]["name"]


def test_kubelet_watch_gets_only_its_node(api: httpx.Client) -> None:
    api.post(
        "/api/v1/nodes",
        json={"metadata": {"name": "kw-node-1", "labels": {"watchproxy.io/tenant": "acme"}}},
    )
    make_namespace(api, "acme-w9")
    base = "/api/v1/namespaces/acme-w9/pods"
    with watch(
        api,
        "/api/v1/pods",
        fieldSelector="spec.nodeName=kw-node-1",
        sendInitialEvents="false",
        resourceVersionMatch="NotOlderThan",
        resourceVersion=api.get(base).json()["metadata"]["resourceVersion"],
    ) as w:
        api.post(base, json=pod("elsewhere", node="kw-node-2"))
        api.post(base, json=pod("mine", node="kw-node-1"))
        events = w.take(1)
    assert summary(events) == [("ADDED", "mine")]
    assert events[0]["object"]["metadata"]["resourceVersion"].isdigit()


def test_client_disconnect_frees_the_watcher(api: httpx.Client, proxy: object) -> None:
    make_namespace(api, "acme-w10")
    base = "/api/v1/namespaces/acme-w10/secrets"

    def watchers() -> int:
        stats = api.get("/debug/stats").json()["resources"]["secrets"]
        return int(stats["watchers"])

    before = watchers()
    with httpx.Client(base_url=proxy.url, timeout=30) as other:  # type: ignore[attr-defined]
        with watch(other, base, resourceVersion="0"):
            assert watchers() == before + 1
    deadline = time.monotonic() + 10
    while watchers() != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert watchers() == before, "an idle watch whose client left must be closed"


# -- every resourceVersion a client reads works as kube-apiserver's would ----------------------


def label(api: httpx.Client, path: str, value: str) -> int:
    """Set label m=value; the object's new revision."""
    r = api.patch(
        path, content=b'{"metadata":{"labels":{"m":"%s"}}}' % value.encode(), headers=MERGE
    )
    assert r.status_code == 200, r.text
    return int(r.json()["metadata"]["resourceVersion"])


def labels_of(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["labels"].get("m", "")) for e in events]


@pytest.mark.parametrize("tenant", ["globex", None], ids=["labelled-node", "default-shard-node"])
def test_get_node_then_watch_it_by_name_from_its_rv(api: httpx.Client, tenant: str | None) -> None:
    """`kubectl get node X -w`: GET (a plain revision, nodes span shards), then a watch with
    `fieldSelector=metadata.name=X` from it -- pinned to the shard holding X, so the plain
    revision is that shard's: no replay before it, no gap after it."""
    name = f"rv-node-{tenant or 'default'}"
    labels = {"watchproxy.io/tenant": tenant} if tenant else {}
    r = api.post("/api/v1/nodes", json={"metadata": {"name": name, "labels": labels}})
    assert r.status_code == 201, r.text
    path = f"/api/v1/nodes/{name}"
    label(api, path, "1")
    got = api.get(path).json()
    rv = got["metadata"]["resourceVersion"]
    assert rv.isdigit()
    label(api, path, "2")
    label(api, path, "3")
    with watch(
        api, "/api/v1/nodes", fieldSelector=f"metadata.name={name}", resourceVersion=rv
    ) as w:
        replayed = w.take(2)
        label(api, path, "4")
        live = w.take(1)
    assert labels_of(replayed + live) == [("MODIFIED", "2"), ("MODIFIED", "3"), ("MODIFIED", "4")]
    assert all(e["object"]["metadata"]["resourceVersion"].isdigit() for e in replayed + live)


def test_merged_list_item_rv_starts_a_watch_by_name(api: httpx.Client) -> None:
    """An item of a merged LIST keeps its own revision; a watch of that object by name starts
    from it (and it stays a valid update precondition)."""
    name = "rv-node-listed"
    r = api.post(
        "/api/v1/nodes",
        json={"metadata": {"name": name, "labels": {"watchproxy.io/tenant": "globex"}}},
    )
    assert r.status_code == 201, r.text
    listed = api.get("/api/v1/nodes").json()
    assert not listed["metadata"]["resourceVersion"].isdigit(), "merged: a composite token"
    item = next(i for i in listed["items"] if i["metadata"]["name"] == name)
    rv = item["metadata"]["resourceVersion"]
    label(api, f"/api/v1/nodes/{name}", "1")
    with watch(
        api, "/api/v1/nodes", fieldSelector=f"metadata.name={name}", resourceVersion=rv
    ) as w:
        assert labels_of(w.take(1)) == [("MODIFIED", "1")]
    stale = {**item, "metadata": {**item["metadata"], "resourceVersion": rv}}
    assert api.put(f"/api/v1/nodes/{name}", json=stale).status_code == 409


def test_namespace_by_field_selector_is_its_tenants_shard(api: httpx.Client) -> None:
    make_namespace(api, "globex-rvns")
    path = "/api/v1/namespaces/globex-rvns"
    rv = api.get(path).json()["metadata"]["resourceVersion"]
    label(api, path, "1")
    with watch(
        api, "/api/v1/namespaces", fieldSelector="metadata.name=globex-rvns", resourceVersion=rv
    ) as w:
        event = w.take(1)
    assert labels_of(event) == [("MODIFIED", "1")]
    assert event[0]["object"]["metadata"]["resourceVersion"].isdigit(), "single-shard: plain"
    # The same request as a LIST is single-shard too: a plain revision.
    listed = api.get("/api/v1/namespaces", params={"fieldSelector": "metadata.name=globex-rvns"})
    assert listed.json()["metadata"]["resourceVersion"].isdigit()


def test_merged_watchlist_initial_events_work_as_preconditions_and_positions(
    api: httpx.Client,
) -> None:
    """client-go >= 1.35 informers start with a WatchList. On a merged view each initial event's
    resourceVersion carries the snapshot (to resume from) and the object's own revision (so a
    PUT of the unchanged object is not a conflict)."""
    make_namespace(api, "acme-wlp")
    make_namespace(api, "globex-wlp")
    a = "/api/v1/namespaces/acme-wlp/configmaps"
    b = "/api/v1/namespaces/globex-wlp/configmaps"
    api.post(a, json={"metadata": {"name": "one"}, "data": {"k": "v"}})
    api.post(b, json={"metadata": {"name": "two"}, "data": {"k": "v"}})
    # A later write on one's shard: the snapshot's entry for that shard is newer than one.
    api.post(a, json={"metadata": {"name": "later"}})
    with watch(
        api,
        "/api/v1/configmaps",
        sendInitialEvents="true",
        allowWatchBookmarks="true",
        resourceVersionMatch="NotOlderThan",
    ) as w:
        initial = w.until(
            lambda e: (
                e["type"] == "BOOKMARK"
                and "k8s.io/initial-events-end" in e["object"]["metadata"].get("annotations", {})
            )
        )
    mine = {
        e["object"]["metadata"]["name"]: e["object"]
        for e in initial
        if e["type"] == "ADDED"
        and e["object"]["metadata"]["namespace"] in ("acme-wlp", "globex-wlp")
    }
    one = mine["one"]
    token = one["metadata"]["resourceVersion"]
    snapshot = initial[-1]["object"]["metadata"]["resourceVersion"]
    assert not token.isdigit() and CODEC.decode(token) == CODEC.decode(snapshot)
    own = int(api.get(f"{a}/one").json()["metadata"]["resourceVersion"])
    assert CODEC.decode(token)[0] > own
    assert CODEC.object_revision(token, 0) == own
    # A PUT of the object as read, precondition included, succeeds.
    one["data"] = {"k": "changed"}
    r = api.put(f"{a}/one", json=one)
    assert r.status_code == 200, r.text
    # The same token, now stale, conflicts.
    assert api.put(f"{a}/one", json=one).status_code == 409
    label(api, f"{b}/two", "1")
    # Resuming the merged watch from an initial event: what happened after the snapshot, only.
    with watch(api, "/api/v1/configmaps", resourceVersion=token) as w:
        after = w.take(2)
    assert summary(after) == [("MODIFIED", "one"), ("MODIFIED", "two")]
    # A single-shard watch reads the token at its shard's entry: the same position.
    with watch(api, a, resourceVersion=token) as w:
        assert summary(w.take(1)) == [("MODIFIED", "one")]
