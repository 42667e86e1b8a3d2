"""WATCH semantics over real HTTP: event types, bookmarks, WatchList, timeouts, 410."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.conftest import make_namespace, pod
from tests.integration.watching import summary, watch

pytestmark = pytest.mark.etcd
MERGE = {"content-type": "application/merge-patch+json"}


def test_added_modified_deleted_in_order(api: httpx.Client) -> None:
    make_namespace(api, "acme-w1")
    base = "/api/v1/namespaces/acme-w1/pods"
    rv = api.get(base).json()["metadata"]["resourceVersion"]
    with watch(api, base, resourceVersion=rv) as w:
        api.post(base, json=pod("a"))
        api.patch(f"{base}/a", content=b'{"metadata":{"labels":{"x":"1"}}}', headers=MERGE)
        deleted = api.delete(f"{base}/a")
        assert deleted.status_code == 200
        events = w.take(3)
    assert summary(events) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3, "DELETED carries the deletion revision"


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
