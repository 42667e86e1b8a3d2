"""`serve --workers 2`: two processes share the port; a watch resumes on the other worker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, base_config, make_namespace
from tests.integration.watching import watch
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd


@pytest.fixture()
def two_workers(etcd_pair: list[EtcdServer], tmp_path: Path) -> Iterator[ProxyProcess]:
    proxy = ProxyProcess(base_config([s.endpoint for s in etcd_pair]), tmp_path, "workers")
    proxy.extra_args = ["--workers", "2"]
    proxy.start()
    yield proxy
    proxy.stop()


def worker_pid(url: str) -> int:
    with httpx.Client(base_url=url, timeout=10) as fresh:  # a new connection each time
        pid: int = fresh.get("/debug/stats").json()["pid"]
        return pid


def test_connections_spread_and_watches_resume_across_workers(two_workers: ProxyProcess) -> None:
    pids = {worker_pid(two_workers.url) for _ in range(40)}
    assert len(pids) == 2, "SO_REUSEPORT should spread 40 connections over both workers"
    with httpx.Client(base_url=two_workers.url, timeout=30) as api:
        make_namespace(api, "acme-workers")
        base = "/api/v1/namespaces/acme-workers/configmaps"
        rv = api.get(base).json()["metadata"]["resourceVersion"]
        api.post(base, json={"metadata": {"name": "one"}})
        api.post(base, json={"metadata": {"name": "two"}})
    with httpx.Client(base_url=two_workers.url, timeout=30) as first:
        first_pid = first.get("/debug/stats").json()["pid"]
        with watch(first, base, resourceVersion=rv, timeoutSeconds="2") as w:
            one = w.take(1)[0]
    assert one["object"]["metadata"]["name"] == "one"
    for _ in range(50):
        with httpx.Client(base_url=two_workers.url, timeout=30) as other:
            if other.get("/debug/stats").json()["pid"] == first_pid:
                continue
            resume = one["object"]["metadata"]["resourceVersion"]
            with watch(other, base, resourceVersion=resume, timeoutSeconds="2") as w:
                rest = w.rest()
            break
    else:
        raise AssertionError("never reached the other worker")
    assert [e["object"]["metadata"]["name"] for e in rest if e["type"] != "BOOKMARK"] == ["two"]


def test_bad_worker_count(tmp_path: Path, etcd_pair: list[EtcdServer]) -> None:
    proxy = ProxyProcess(base_config([s.endpoint for s in etcd_pair]), tmp_path, "bad")
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "watchproxy",
            "serve",
            "--config",
            str(proxy.config_path),
            "--workers",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "watchproxy: --workers: must be at least 1"
