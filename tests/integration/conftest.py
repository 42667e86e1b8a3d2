"""Real parts for integration tests: etcd processes on loopback and watchproxy processes
running the real CLI (uvicorn + uvloop + httptools) against them."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.integration.processes import stop_process
from watchproxy.etcd.server import EtcdServer, free_port


class ProxyProcess:
    """One `watchproxy serve` process on a free loopback port."""

    def __init__(self, config: dict[str, Any], workdir: Path, name: str = "proxy") -> None:
        self.port = free_port()
        # No shutdown delay unless the test asks for one: stopping stays quick.
        self.config = {"shutdown_delay_seconds": 0, **config, "listen": f"127.0.0.1:{self.port}"}
        self.config_path = workdir / f"{name}-{self.port}.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config))
        self.log_path = workdir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []
        self.log_level = "info"
        # With `tls:` in the config: https, verified against `ca_file` when the test sets it.
        self.ca_file: str | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.config.get("tls") else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        if self.ca_file:
            return ssl.create_default_context(cafile=self.ca_file)
        return not self.config.get("tls")

    def start(self) -> None:
        """Run `watchproxy serve` and wait (30 s at most) until its /readyz says 200."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watchproxy",
                "serve",
                "--config",
                str(self.config_path),
                "--log-level",
                self.log_level,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"watchproxy exited: {self.log_path.read_text()[-3000:]}")
            try:
                if self.ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"watchproxy not ready: {self.log_path.read_text()[-3000:]}")

    def ready(self) -> bool:
        """One readiness probe; may raise httpx.HTTPError while the server is coming up."""
        return httpx.get(self.url + "/readyz", timeout=1, verify=self.verify).status_code == 200

    def stop(self) -> None:
        stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text()


def base_config(endpoints: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "shards": [
            {"name": "shard-a", "endpoints": [endpoints[0]]},
            {"name": "shard-b", "endpoints": [endpoints[1]]},
        ],
        "tenants": [
            {"name": "acme", "shard": "shard-a", "namespaces": ["acme-*"]},
            {"name": "globex", "shard": "shard-b", "namespaces": ["globex-*", "gx"]},
        ],
        "default_shard": "shard-a",
        "bookmark_interval_seconds": 1,
        **extra,
    }


def quiet_config(endpoints: list[str], **extra: Any) -> dict[str, Any]:
    """base_config with the built-in controllers off: nothing but the tests writes to etcd."""
    return base_config(
        endpoints, controllers={"namespace": False, "garbage_collector": False}, **extra
    )


@dataclass
class Cluster:
    etcd: list[EtcdServer]
    proxy: ProxyProcess


@contextlib.contextmanager
def quiet_cluster(root: Path, setup: Callable[[httpx.Client], None]) -> Iterator[Cluster]:
    """Two etcd shards and one proxy (quiet_config) of the caller's own under `root`, after
    `setup(api)` ran against it; all stopped on exit."""
    with running_etcd_pair(root) as servers:
        proxy = ProxyProcess(quiet_config([s.endpoint for s in servers]), root)
        proxy.start()
        try:
            with httpx.Client(base_url=proxy.url, timeout=30) as api:
                setup(api)
            yield Cluster(servers, proxy)
        finally:
            proxy.stop()


@contextlib.contextmanager
def running_etcd_pair(root: Path) -> Iterator[list[EtcdServer]]:
    """Two single-member etcd clusters, shard-a and shard-b, stopped on exit."""
    servers = [EtcdServer(f"shard-{x}", root / f"shard-{x}") for x in "ab"]
    try:
        for server in servers:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def etcd_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[EtcdServer]]:
    with running_etcd_pair(tmp_path_factory.mktemp("etcd")) as servers:
        yield servers


@pytest.fixture(scope="session")
def proxy(
    etcd_pair: list[EtcdServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    p = ProxyProcess(base_config([s.endpoint for s in etcd_pair]), tmp_path_factory.mktemp("proxy"))
    p.start()
    yield p
    p.stop()


@pytest.fixture()
def api(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        yield client


def make_namespace(api: httpx.Client, name: str) -> None:
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code in (201, 409), r.text


def pod(name: str, node: str = "", labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
    }
