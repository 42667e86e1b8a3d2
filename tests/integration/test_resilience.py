"""Nothing lost: resume on another replica with a composite token after 1,000 mixed writes,
the history window and compaction answered with 410 and a working relist, etcd restarts."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    ProxyProcess,
    base_config,
    make_namespace,
    running_etcd_pair,
)
from tests.integration.watching import watch
from watchproxy.core.rv import TokenCodec
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd
CODEC = TokenCodec(["shard-a", "shard-b"])
# Writes made while the proxy is frozen: ~45 MB, more than etcd's per-watch buffers and the
# loopback socket and HTTP/2 windows hold, so etcd must give up on the frozen watch.
FROZEN_WRITES = 1500
SHARD_OF = {"acme-r1": 0, "acme-r2": 0, "globex-r1": 1, "gx": 1}


@pytest.fixture(scope="module")
def etcds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[EtcdServer]]:
    with running_etcd_pair(tmp_path_factory.mktemp("etcd-resilience")) as servers:
        yield servers


@pytest.fixture(scope="module")
def replicas(
    etcds: list[EtcdServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ProxyProcess]]:
    workdir = tmp_path_factory.mktemp("replicas")
    config = base_config([s.endpoint for s in etcds], history_size=5000)
    procs = [ProxyProcess(config, workdir, name) for name in ("r1", "r2")]
    for p in procs:
        p.start()
    yield procs
    for p in procs:
        p.stop()


def mixed_writes(url: str, count: int, seed: int) -> list[tuple[int, str, str]]:
    """`count` creates/updates/deletes of configmaps over 4 namespaces on 2 shards.

    Returns (shard, type, namespace/name) in the order issued (one writer: per-shard order).
    """
    rng = random.Random(seed)
    live: dict[str, set[str]] = {ns: set() for ns in SHARD_OF}
    issued: list[tuple[int, str, str]] = []
    with httpx.Client(base_url=url, timeout=30) as api:
        for i in range(count):
            ns = rng.choice(list(SHARD_OF))
            names = live[ns]
            roll = rng.random()
            if names and roll < 0.25:
                name = rng.choice(sorted(names))
                assert api.delete(f"/api/v1/namespaces/{ns}/configmaps/{name}").status_code == 200
                names.discard(name)
                kind = "DELETED"
            elif names and roll < 0.6:
                name = rng.choice(sorted(names))
                r = api.patch(
                    f"/api/v1/namespaces/{ns}/configmaps/{name}",
                    content=b'{"data":{"i":"%d"}}' % i,
                    headers={"content-type": "application/merge-patch+json"},
                )
                assert r.status_code == 200, r.text
                kind = "MODIFIED"
            else:
                name = f"cm-{i}"
                r = api.post(
                    f"/api/v1/namespaces/{ns}/configmaps",
                    json={"metadata": {"name": name}, "data": {"i": str(i)}},
                )
                assert r.status_code == 201, r.text
                names.add(name)
                kind = "ADDED"
            issued.append((SHARD_OF[ns], kind, f"{ns}/{name}"))
    return issued


def check_sequence(events: list[dict[str, Any]], issued: list[tuple[int, str, str]]) -> None:
    """Per shard: the same events, in the same order, exactly once, with rising revisions."""
    got: dict[int, list[tuple[str, str]]] = {0: [], 1: []}
    last = [0, 0]
    for e in events:
        meta = e["object"]["metadata"]
        shard = SHARD_OF[meta["namespace"]]
        vector = CODEC.decode(meta["resourceVersion"])
        assert vector[shard] > last[shard], "revisions must rise within a shard"
        last = [max(a, b) for a, b in zip(last, vector, strict=True)]
        got[shard].append((e["type"], f"{meta['namespace']}/{meta['name']}"))
    for shard in (0, 1):
        want = [(kind, key) for s, kind, key in issued if s == shard]
        assert got[shard] == want, f"shard {shard}: sequence differs"


def test_resume_on_another_replica_after_1000_mixed_writes(replicas: list[ProxyProcess]) -> None:
    r1, r2 = replicas
    with httpx.Client(base_url=r1.url, timeout=30) as api:
        for ns in SHARD_OF:
            make_namespace(api, ns)
        start = api.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"]
    issued: list[tuple[int, str, str]] = []
    writer = threading.Thread(target=lambda: issued.extend(mixed_writes(r1.url, 1000, seed=7)))
    received: list[dict[str, Any]] = []
    with httpx.Client(base_url=r1.url, timeout=30) as api:
        with watch(api, "/api/v1/configmaps", resourceVersion=start) as w:
            writer.start()
            received += w.take(400)
    token = received[-1]["object"]["metadata"]["resourceVersion"]
    with httpx.Client(base_url=r2.url, timeout=30) as api:
        with watch(api, "/api/v1/configmaps", resourceVersion=token) as w:
            writer.join()
            received += w.take(len(issued) - len(received))
    assert len(issued) == 1000
    check_sequence(received, issued)


def test_watch_behind_the_history_window_gets_410_then_relists(
    etcds: list[EtcdServer], tmp_path: Path
) -> None:
    small = ProxyProcess(
        base_config([s.endpoint for s in etcds], history_size=50), tmp_path, "small"
    )
    small.start()
    try:
        with httpx.Client(base_url=small.url, timeout=30) as api:
            make_namespace(api, "acme-h")
            old = api.get("/api/v1/namespaces/acme-h/configmaps").json()["metadata"][
                "resourceVersion"
            ]
            revisions = []
            for i in range(80):
                r = api.post(
                    "/api/v1/namespaces/acme-h/configmaps", json={"metadata": {"name": f"c{i}"}}
                )
                revisions.append(r.json()["metadata"]["resourceVersion"])
            # As kube's cacher: HTTP 200, then one in-band ERROR (410 Expired) and the end.
            # 80 events, 50 kept: the oldest position to resume from is the 30th write.
            with watch(api, "/api/v1/namespaces/acme-h/configmaps", resourceVersion=old) as w:
                events = w.rest()
            assert events == [
                {
                    "type": "ERROR",
                    "object": {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Failure",
                        "message": f"too old resource version: {old} ({revisions[29]})",
                        "reason": "Expired",
                        "code": 410,
                    },
                }
            ]
            relisted = api.get("/api/v1/namespaces/acme-h/configmaps").json()
            assert len(relisted["items"]) == 80
            with watch(
                api,
                "/api/v1/namespaces/acme-h/configmaps",
                resourceVersion=relisted["metadata"]["resourceVersion"],
            ) as w:
                api.post("/api/v1/namespaces/acme-h/configmaps", json={"metadata": {"name": "new"}})
                assert w.take(1)[0]["object"]["metadata"]["name"] == "new"
    finally:
        small.stop()


def test_compaction_past_the_cache_relists_and_tells_watchers(
    etcds: list[EtcdServer], tmp_path: Path
) -> None:
    """The proxy is frozen (SIGSTOP) while etcd takes writes and is compacted past them; when it
    resumes, its etcd watch is compacted away: the reflector relists, open watches get an
    in-band 410, and a relist + watch sees the new state."""
    import asyncio

    from watchproxy.etcd.client import EtcdClient

    p = ProxyProcess(base_config([s.endpoint for s in etcds]), tmp_path, "compact")
    p.start()
    try:
        with httpx.Client(base_url=p.url, timeout=30) as api:
            make_namespace(api, "acme-cp")
            base = "/api/v1/namespaces/acme-cp/configmaps"
            rv = api.get(base).json()["metadata"]["resourceVersion"]
            with watch(api, base, resourceVersion=rv, read_timeout=30) as w:
                assert p.proc is not None
                os.kill(p.proc.pid, signal.SIGSTOP)
                try:
                    asyncio.run(_write_and_compact(EtcdClient([etcds[0].endpoint])))
                finally:
                    os.kill(p.proc.pid, signal.SIGCONT)
                events = w.until(lambda e: e["type"] == "ERROR", limit=5000)
            assert events[-1]["object"]["code"] == 410
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                r = api.get(base)
                if r.status_code == 200 and len(r.json()["items"]) == FROZEN_WRITES:
                    break
                time.sleep(0.2)
            assert len(r.json()["items"]) == FROZEN_WRITES
            assert "relisting" in p.log()
    finally:
        p.stop()


async def _write_and_compact(client: Any) -> None:
    # Enough data that etcd cannot hand it all to the frozen proxy's stream, so its watch falls
    # behind and is cancelled by the compaction.
    value = (
        b'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"%s","namespace":"acme-cp"},'
        b'"data":{"pad":"' + b"x" * 30000 + b'"}}'
    )
    revision = 0
    for i in range(FROZEN_WRITES):
        revision = await client.put(
            b"/registry/configmaps/acme-cp/big-%d" % i, value % b"big-%d" % i
        )
    await client.compact(revision)
    await client.close()


def test_etcd_restart_is_survived_without_loss(
    replicas: list[ProxyProcess], etcds: list[EtcdServer]
) -> None:
    r1 = replicas[0]
    with httpx.Client(base_url=r1.url, timeout=30) as api:
        make_namespace(api, "gx")
        base = "/api/v1/namespaces/gx/secrets"
        rv = api.get(base).json()["metadata"]["resourceVersion"]
        with watch(api, base, resourceVersion=rv, read_timeout=60) as w:
            for i in range(5):
                assert api.post(base, json={"metadata": {"name": f"before-{i}"}}).status_code == 201
            etcds[1].kill()
            r = api.post(base, json={"metadata": {"name": "while-down"}})
            assert r.status_code == 503 and r.json()["kind"] == "Status"
            etcds[1].start()
            for i in range(5):
                for _ in range(50):
                    r = api.post(base, json={"metadata": {"name": f"after-{i}"}})
                    if r.status_code == 201:
                        break
                    time.sleep(0.2)
                assert r.status_code == 201, r.text
            events = w.take(10)
    names = [e["object"]["metadata"]["name"] for e in events]
    assert names == [f"before-{i}" for i in range(5)] + [f"after-{i}" for i in range(5)]
    assert all(e["type"] == "ADDED" for e in events)
