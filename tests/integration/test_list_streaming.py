"""Big LISTs through a real `watchproxy serve` (uvicorn, HTTP/1.1) on real etcd: gzip for httpx,
the official Python client and kubectl, and bounded memory for clients that do not read
(api/streaming.py).

The objects are written straight into etcd in kube's layout (thousands of POSTs would take most
of the test's time); the proxy's reflector caches them like any other write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s

from tests.integration.conftest import Cluster, make_namespace, quiet_cluster
from watchproxy.etcd.client import EtcdClient

pytestmark = [pytest.mark.etcd, pytest.mark.clients]
KUBECTL = shutil.which("kubectl")

PODS_NS, PODS = "acme-stream", 3000  # ~1.6 KB each: a 5 MB list, 40x its gzip
BIG_NS, BIG, BIG_BYTES = "acme-big", 200, 200_000  # a 40 MB list of ConfigMaps
SLOW_READERS = 4


def pod_value(i: int) -> bytes:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"p{i:05d}",
                "namespace": PODS_NS,
                "uid": f"00000000-0000-0000-0000-{i:012d}",
                "labels": {"app": "stream", "idx": str(i % 10)},
                "annotations": {"note": "n" * 1000},
            },
            "spec": {"nodeName": f"node-{i % 50}", "containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running"},
        }
    ).encode()


def configmap_value(i: int) -> bytes:
    # Varied content, so gzip cannot shrink it to nothing: the slow-reader check is about the
    # bytes the proxy holds, compressed or not.
    data = "".join(f"{(i * 7919 + j * 104729) % 1000003:07d}" for j in range(BIG_BYTES // 7))
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm{i:04d}", "namespace": BIG_NS},
            "data": {"blob": data},
        }
    ).encode()


async def seed(endpoint: str) -> None:
    """The pods and ConfigMaps into shard-a's etcd (acme-* lives there)."""
    client = EtcdClient([endpoint], name="seed")
    try:
        sem = asyncio.Semaphore(32)

        async def put(key: str, value: bytes) -> None:
            async with sem:
                await client.put(key.encode(), value)

        await asyncio.gather(
            *(put(f"/registry/pods/{PODS_NS}/p{i:05d}", pod_value(i)) for i in range(PODS)),
            *(
                put(f"/registry/configmaps/{BIG_NS}/cm{i:04d}", configmap_value(i))
                for i in range(BIG)
            ),
        )
    finally:
        await client.close()


def wait_listed(api: httpx.Client, path: str, count: int) -> None:
    """Until the proxy's LIST of `path` has `count` items (its reflector caught up)."""
    for _ in range(600):
        r = api.get(path, params={"limit": 1})
        assert r.status_code == 200, r.text
        meta = r.json()["metadata"]
        if 1 + meta.get("remainingItemCount", 0) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path}: the proxy did not cache {count} objects")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    def setup(api: httpx.Client) -> None:
        make_namespace(api, PODS_NS)
        make_namespace(api, BIG_NS)

    with quiet_cluster(tmp_path_factory.mktemp("streaming"), setup) as c:
        asyncio.run(seed(c.etcd[0].endpoint))
        with httpx.Client(base_url=c.proxy.url, timeout=60) as api:
            wait_listed(api, f"/api/v1/namespaces/{PODS_NS}/pods", PODS)
            wait_listed(api, f"/api/v1/namespaces/{BIG_NS}/configmaps", BIG)
        yield c


def rss_bytes(cluster: Cluster) -> int:
    assert cluster.proxy.proc is not None
    status = Path(f"/proc/{cluster.proxy.proc.pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


def test_httpx_gets_a_gzipped_list_equal_to_the_plain_one(cluster: Cluster) -> None:
    path = f"/api/v1/namespaces/{PODS_NS}/pods"
    with httpx.Client(base_url=cluster.proxy.url, timeout=60) as api:
        plain = api.get(path, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200
        assert "content-encoding" not in plain.headers
        with api.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status_code == 200
            assert r.headers["content-encoding"] == "gzip"
            assert r.headers["vary"] == "Accept-Encoding"
            assert "content-length" not in r.headers  # streamed: chunked
            body = r.read()  # httpx decompresses
            on_the_wire = r.num_bytes_downloaded
    assert body == plain.content
    assert on_the_wire < len(body) // 5
    items = json.loads(body)["items"]
    assert [i["metadata"]["name"] for i in items] == [f"p{i:05d}" for i in range(PODS)]


def test_pages_of_a_gzipped_list_walk_every_item_once(cluster: Cluster) -> None:
    path = f"/api/v1/namespaces/{PODS_NS}/pods"
    names: list[str] = []
    with httpx.Client(base_url=cluster.proxy.url, timeout=60) as api:
        params: dict[str, Any] = {"limit": 1000}
        while True:
            r = api.get(path, params=params, headers={"Accept-Encoding": "gzip"})
            assert r.status_code == 200, r.text
            assert r.headers["content-encoding"] == "gzip"  # 1000 pods are over 128 KiB
            doc = r.json()
            names += [i["metadata"]["name"] for i in doc["items"]]
            token = doc["metadata"].get("continue")
            if not token:
                break
            assert doc["metadata"]["remainingItemCount"] == PODS - len(names)
            params = {"limit": 1000, "continue": token}
    assert names == [f"p{i:05d}" for i in range(PODS)]


def test_python_client_lists_gzipped(cluster: Cluster) -> None:
    config = k8s.Configuration(host=cluster.proxy.url)
    with k8s.ApiClient(config) as api_client:
        core = k8s.CoreV1Api(api_client)
        gz = {"Accept-Encoding": "gzip"}
        raw = core.list_namespaced_pod(PODS_NS, _headers=gz, _preload_content=False)
        assert raw.headers["Content-Encoding"] == "gzip"
        assert len(json.loads(raw.data)["items"]) == PODS  # urllib3 decompressed it
        listed = core.list_namespaced_pod(PODS_NS, _headers=gz)
        assert [p.metadata.name for p in listed.items] == [f"p{i:05d}" for i in range(PODS)]
        assert listed.items[7].spec.node_name == "node-7"


def test_kubectl_lists_with_its_gzip(cluster: Cluster, tmp_path: Path) -> None:
    """kubectl (client-go) asks for gzip itself and decompresses transparently: the Table of
    `get` in pages of 500, and a whole JSON list with --chunk-size=0."""
    assert KUBECTL is not None, "kubectl is part of the machine image"
    base = [KUBECTL, "--server", cluster.proxy.url, "--cache-dir", str(tmp_path / "cache")]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*base, *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    table = run("get", "pods", "-n", PODS_NS, "--no-headers")
    assert len(table.splitlines()) == PODS
    whole = json.loads(run("get", "configmaps", "-n", BIG_NS, "-o", "json", "--chunk-size=0"))
    assert [i["metadata"]["name"] for i in whole["items"]] == [f"cm{i:04d}" for i in range(BIG)]


def test_lists_that_are_not_read_do_not_hold_their_bodies(cluster: Cluster) -> None:
    """SLOW_READERS clients each LIST 40 MB (gzip or not) and read only the headers. The
    proxy streams chunk by chunk and waits for each to drain, so it holds a chunk and its
    transport's buffer per LIST, not the list: its RSS grows by much less than one list for
    all of them together (a whole-body encoder grows by a list each). Small requests are
    served meanwhile, and every body arrives complete once read."""
    path = f"/api/v1/namespaces/{BIG_NS}/configmaps"
    url = cluster.proxy.url
    with httpx.Client(base_url=url, timeout=60) as api:
        list_bytes = len(api.get(path, headers={"Accept-Encoding": "identity"}).content)
        assert list_bytes > 30_000_000
        # Steady state before the slow LISTs: the previous LIST's buffers have come and gone.
        for _ in range(3):
            api.get(path, params={"limit": 1})
        before = rss_bytes(cluster)
        with contextlib.ExitStack() as stack:
            responses = []
            for i in range(SLOW_READERS):
                client = stack.enter_context(httpx.Client(base_url=url, timeout=60))
                encoding = "gzip" if i % 2 else "identity"
                r = stack.enter_context(
                    client.stream("GET", path, headers={"Accept-Encoding": encoding})
                )
                assert r.status_code == 200
                responses.append(r)
            # Each server task is now blocked on its client's socket; by the time these
            # answer, the proxy has written all it will until the clients read.
            peak = before
            for _ in range(10):
                assert api.get("/readyz").status_code == 200
                assert api.get(path, params={"limit": 1}).status_code == 200
                peak = max(peak, rss_bytes(cluster))
            grown = peak - before
            assert grown < list_bytes, (
                f"RSS grew {grown / 1e6:.0f} MB with {SLOW_READERS} unread LISTs of"
                f" {list_bytes / 1e6:.0f} MB"
            )
            for r in responses:
                items = json.loads(r.read())["items"]
                assert len(items) == BIG
                assert items[-1]["metadata"]["name"] == f"cm{BIG - 1:04d}"
