"""Consistent reads are consistent, on etcd 3.5.1 too (issue 6, point 2).

A LIST/GET with no resourceVersion, or with `resourceVersion=N` (NotOlderThan, and the RV=N
default), answers a state and an RV not older than every revision committed in the involved
shards before the request arrived (or N); so does the `k8s.io/initial-events-end` bookmark of a
WatchList. The bundled etcd (3.5.1) answers *requested* progress notifications ahead of pending
events (etcd#15220), so none of this may rest on them: one etcd watch per shard carries every
write of the shard, and what events cannot prove is read from etcd (docs/decisions/0007).

Two set-ups: the session's proxy (etcd notifies progress every second, as kube-apiserver's
etcds are told to), and a "quiet" pair whose etcds notify every 10 minutes (etcd's default), where
only events or a read from etcd can prove freshness -- that makes the fallback deterministic.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, base_config, make_namespace
from tests.integration.watching import watch
from watchproxy.core.rv import TokenCodec
from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd
CODEC = TokenCodec(["shard-a", "shard-b"])
TRIES = 30
MERGE = {"content-type": "application/merge-patch+json"}
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"


def write_lease(api: httpx.Client, ns: str, name: str) -> int:
    """Create a Lease in `ns`; its revision (the shard's newest)."""
    r = api.post(LEASES.format(ns=ns), json={"metadata": {"name": name}, "spec": {}})
    assert r.status_code == 201, r.text
    return int(r.json()["metadata"]["resourceVersion"])


def list_rv(api: httpx.Client, path: str, **params: str) -> str:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    rv: str = r.json()["metadata"]["resourceVersion"]
    return rv


def end_bookmark(api: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    """The `k8s.io/initial-events-end` bookmark of a WatchList on `path` (or its ERROR)."""
    with watch(
        api,
        path,
        sendInitialEvents="true",
        allowWatchBookmarks="true",
        resourceVersionMatch="NotOlderThan",
        timeoutSeconds="10",
        **params,
    ) as w:
        events = w.until(
            lambda e: (
                e["type"] == "ERROR"
                or (
                    e["type"] == "BOOKMARK"
                    and "k8s.io/initial-events-end"
                    in e["object"]["metadata"].get("annotations", {})
                )
            )
        )
    return events[-1]


# -- the session's proxy: etcd 3.5.1 with a 1 s periodic progress notify -------------------------


@pytest.fixture(scope="module")
def acme_x(api: httpx.Client) -> str:
    for ns in ("acme-x", "globex-x"):
        make_namespace(api, ns)
    r = api.post(CONFIGMAPS.format(ns="acme-x"), json={"metadata": {"name": "probe"}})
    assert r.status_code in (201, 409), r.text
    return "acme-x"


@pytest.fixture(scope="module")
def api(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        yield client


def test_consistent_list_is_not_older_than_a_write_to_another_resource(
    api: httpx.Client, acme_x: str
) -> None:
    """The issue's reproduction: a Lease write, then at once a consistent LIST of ConfigMaps of
    the same shard. Before this change: RV 6932 after a Lease at 6939, 5 of 5 tries in the
    report; here 29 of 30 tries stale, e.g. (lease 4, list 3) ... (lease 33, list 24)."""
    seen = []
    for i in range(TRIES):
        lease = write_lease(api, acme_x, f"l-list-{i}")
        rv = int(list_rv(api, CONFIGMAPS.format(ns=acme_x)))
        seen.append((lease, rv))
    stale = [(lease, rv) for lease, rv in seen if rv < lease]
    assert not stale, f"(lease rv, list rv) with the list older than the write: {stale}"


@pytest.mark.parametrize("match", ["", "NotOlderThan"])
def test_list_at_n_is_not_older_than_n(api: httpx.Client, acme_x: str, match: str) -> None:
    params = {"resourceVersionMatch": match} if match else {}
    for i in range(TRIES):
        lease = write_lease(api, acme_x, f"l-n{match.lower()}-{i}")
        rv = int(list_rv(api, CONFIGMAPS.format(ns=acme_x), resourceVersion=str(lease), **params))
        assert rv >= lease, f"try {i}: RV {rv} answered for resourceVersion={lease}"


def test_merged_list_is_not_older_than_writes_on_every_shard(
    api: httpx.Client, acme_x: str
) -> None:
    for i in range(TRIES):
        on_a = write_lease(api, acme_x, f"l-merged-{i}")
        on_b = write_lease(api, "globex-x", f"l-merged-{i}")
        token = list_rv(api, "/api/v1/configmaps")
        vector = CODEC.decode(token)
        assert vector[0] >= on_a and vector[1] >= on_b, f"try {i}: {vector} after {(on_a, on_b)}"
        # The same with the token of those writes as resourceVersion (NotOlderThan).
        wanted = CODEC.encode((on_a, on_b))
        vector = CODEC.decode(list_rv(api, "/api/v1/configmaps", resourceVersion=wanted))
        assert vector[0] >= on_a and vector[1] >= on_b


def test_get_sees_the_write_that_came_before_it(api: httpx.Client, acme_x: str) -> None:
    probe = CONFIGMAPS.format(ns=acme_x) + "/probe"
    for i in range(TRIES):
        r = api.patch(probe, content=b'{"data":{"i":"%d"}}' % i, headers=MERGE)
        assert r.status_code == 200, r.text
        written = int(r.json()["metadata"]["resourceVersion"])
        got = api.get(probe).json()
        assert int(got["metadata"]["resourceVersion"]) == written and got["data"] == {"i": str(i)}
        lease = write_lease(api, acme_x, f"l-get-{i}")
        r = api.get(probe, params={"resourceVersion": str(lease)})
        assert r.status_code == 200 and r.json()["data"] == {"i": str(i)}


def test_watchlist_end_bookmark_is_not_older_than_the_write(api: httpx.Client, acme_x: str) -> None:
    for i in range(10):
        lease = write_lease(api, acme_x, f"l-wl-{i}")
        end = end_bookmark(api, CONFIGMAPS.format(ns=acme_x))
        assert end["type"] == "BOOKMARK", end
        assert int(end["object"]["metadata"]["resourceVersion"]) >= lease
        end = end_bookmark(api, CONFIGMAPS.format(ns=acme_x), resourceVersion=str(lease))
        assert int(end["object"]["metadata"]["resourceVersion"]) >= lease
        on_b = write_lease(api, "globex-x", f"l-wl-{i}")
        end = end_bookmark(api, "/api/v1/configmaps")
        vector = CODEC.decode(end["object"]["metadata"]["resourceVersion"])
        assert vector[0] >= lease and vector[1] >= on_b


def test_watchlist_after_a_write_outside_the_prefix_waits_for_periodic_progress(
    api: httpx.Client, acme_x: str, etcd_pair: list[EtcdServer]
) -> None:
    """No event will ever carry that revision; etcd's periodic notify (1 s here) proves it."""
    outside = asyncio.run(put_outside(etcd_pair[0].endpoint, b"/elsewhere/wl"))
    end = end_bookmark(api, CONFIGMAPS.format(ns=acme_x))
    assert end["type"] == "BOOKMARK", end
    assert int(end["object"]["metadata"]["resourceVersion"]) >= outside


# -- a quiet pair: etcd's default 10 min notify, so only events or etcd reads prove freshness -----


async def put_outside(endpoint: str, key: bytes) -> int:
    """Write a key the proxy does not watch; the shard's new revision."""
    async with EtcdClient([endpoint]) as client:
        return await client.put(key, b"x")


@pytest.fixture(scope="module")
def quiet_etcds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[EtcdServer]]:
    root = tmp_path_factory.mktemp("etcd-quiet")
    servers = [EtcdServer(f"quiet-{x}", root / x, progress_notify_interval="10m") for x in "ab"]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def quiet(quiet_etcds: list[EtcdServer], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # No controllers: their Lease renewals are writes, and this etcd pair must stay quiet.
    config = base_config(
        [s.endpoint for s in quiet_etcds],
        controllers={"namespace": False, "garbage_collector": False},
    )
    p = ProxyProcess(config, tmp_path_factory.mktemp("quiet"), "quiet")
    p.start()
    with httpx.Client(base_url=p.url, timeout=30) as client:
        for ns in ("acme-q", "globex-q"):
            make_namespace(client, ns)
        for i in range(3):
            body = {"metadata": {"name": f"c{i}", "labels": {"odd": str(i % 2)}}}
            assert client.post(CONFIGMAPS.format(ns="acme-q"), json=body).status_code == 201
        yield client
    p.stop()


def fallback_reads(api: httpx.Client) -> list[int]:
    return [int(s["fallback_reads"]) for s in api.get("/debug/stats").json()["shards"]]


def names(body: dict[str, Any]) -> list[str]:
    return [i["metadata"]["name"] for i in body["items"]]


def etcd_metric(endpoint: str, name: str) -> float:
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in etcd metrics")


def test_one_etcd_watch_per_shard(quiet: httpx.Client, quiet_etcds: list[EtcdServer]) -> None:
    """Ten served resources, one proxy: one etcd watcher (and one stream) per shard, not ten."""
    for server in quiet_etcds:
        assert etcd_metric(server.endpoint, "etcd_debugging_mvcc_watcher_total") == 1
        assert etcd_metric(server.endpoint, "etcd_debugging_mvcc_watch_stream_total") == 1
    stats = quiet.get("/debug/stats").json()
    assert [s["reflector"]["watch_prefix"] for s in stats["shards"]] == ["/registry/"] * 2
    assert all(s["reflector"]["relists"] == 1 for s in stats["shards"])


def test_quiet_shard_lease_then_list(quiet: httpx.Client) -> None:
    before = fallback_reads(quiet)
    for i in range(TRIES):
        lease = write_lease(quiet, "acme-q", f"l-{i}")
        assert int(list_rv(quiet, CONFIGMAPS.format(ns="acme-q"))) >= lease
        got = int(list_rv(quiet, CONFIGMAPS.format(ns="acme-q"), resourceVersion=str(lease)))
        assert got >= lease
    # The Lease's event arrived on the shard's one stream: no read from etcd was needed.
    assert fallback_reads(quiet) == before


def test_key_of_an_unserved_resource_advances_the_shard(
    quiet: httpx.Client, quiet_etcds: list[EtcdServer]
) -> None:
    """A key under the watched prefix that no served resource owns is skipped, but its
    revision still counts: a consistent LIST right after it needs no read from etcd."""
    before = fallback_reads(quiet)
    written = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/registry/widgets/acme-q/w"))
    assert int(list_rv(quiet, CONFIGMAPS.format(ns="acme-q"))) >= written
    assert fallback_reads(quiet) == before
    assert names(quiet.get(CONFIGMAPS.format(ns="acme-q")).json()) == ["c0", "c1", "c2"]


def test_list_after_a_write_outside_the_prefix_reads_etcd(
    quiet: httpx.Client, quiet_etcds: list[EtcdServer]
) -> None:
    """No event and no progress notification will prove that revision: the LIST is answered
    from etcd at it, with the cache's encoding and the same selectors."""
    path = CONFIGMAPS.format(ns="acme-q")
    cached = quiet.get(path, params={"resourceVersion": "0"}).json()
    before = fallback_reads(quiet)
    written = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/a"))
    started = time.monotonic()
    body = quiet.get(path).json()
    assert time.monotonic() - started < 2
    assert int(body["metadata"]["resourceVersion"]) >= written
    assert body["items"] == cached["items"]  # same bytes as the cache would serve
    assert fallback_reads(quiet)[0] > before[0]

    written = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/b"))
    body = quiet.get(path, params={"labelSelector": "odd=1"}).json()
    assert names(body) == ["c1"] and int(body["metadata"]["resourceVersion"]) >= written
    body = quiet.get(path, params={"fieldSelector": "metadata.name=c2"}).json()
    assert names(body) == ["c2"]

    # Pages: the first from etcd at the revision, the next ones exact at that revision.
    written = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/c"))
    first = quiet.get(path, params={"limit": "2"}).json()
    assert names(first) == ["c0", "c1"] and int(first["metadata"]["resourceVersion"]) >= written
    rest = quiet.get(path, params={"limit": "2", "continue": first["metadata"]["continue"]})
    assert rest.status_code == 200, rest.text
    assert names(rest.json()) == ["c2"]
    assert rest.json()["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_merged_list_and_get_after_a_write_outside_the_prefix(
    quiet: httpx.Client, quiet_etcds: list[EtcdServer]
) -> None:
    on_b = asyncio.run(put_outside(quiet_etcds[1].endpoint, b"/elsewhere/m"))
    body = quiet.get("/api/v1/configmaps").json()
    vector = CODEC.decode(body["metadata"]["resourceVersion"])
    assert vector[1] >= on_b
    assert names(body) == ["c0", "c1", "c2"]

    on_a = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/g"))
    r = quiet.get(CONFIGMAPS.format(ns="acme-q") + "/c1")
    assert r.status_code == 200 and r.json()["metadata"]["name"] == "c1"
    on_a = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/g"))
    r = quiet.get(CONFIGMAPS.format(ns="acme-q") + "/nope")
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"
    # A cluster-scoped object may live on any shard: every shard is read.
    asyncio.run(put_outside(quiet_etcds[1].endpoint, b"/elsewhere/n"))
    r = quiet.get("/api/v1/namespaces/acme-q")
    assert r.status_code == 200 and r.json()["metadata"]["name"] == "acme-q"
    # NotOlderThan a revision the cache has not seen: answered, not older.
    on_a = asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/h"))
    rv = list_rv(quiet, CONFIGMAPS.format(ns="acme-q"), resourceVersion=str(on_a))
    assert int(rv) >= on_a


def test_list_at_a_future_revision_times_out(quiet: httpx.Client) -> None:
    r = quiet.get(CONFIGMAPS.format(ns="acme-q"), params={"resourceVersion": "999999999"})
    assert r.status_code == 504, r.text
    assert r.json()["details"]["retryAfterSeconds"] == 1


def test_watchlist_that_cannot_be_proven_fresh_ends_with_an_in_band_504(
    quiet: httpx.Client, quiet_etcds: list[EtcdServer]
) -> None:
    """etcd 3.5.1, no periodic notify for 10 minutes, a revision no event will carry: the start
    cannot be proven fresh, so the WatchList answers the in-band 504 (never a stale bookmark)."""
    asyncio.run(put_outside(quiet_etcds[0].endpoint, b"/elsewhere/w"))
    end = end_bookmark(quiet, CONFIGMAPS.format(ns="acme-q"))
    assert end["type"] == "ERROR" and end["object"]["code"] == 504, end
    # Any write in the shard's prefix proves it again.
    lease = write_lease(quiet, "acme-q", "after-504")
    end = end_bookmark(quiet, CONFIGMAPS.format(ns="acme-q"))
    assert end["type"] == "BOOKMARK" and int(end["object"]["metadata"]["resourceVersion"]) >= lease
