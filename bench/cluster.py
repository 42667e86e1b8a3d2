"""The processes a benchmark run owns: etcd shards, one watchproxy, etcd grpc-proxies.

Every process runs in its own session and is registered for an at-exit kill, so a crashed or
interrupted run leaves nothing behind. Only processes started here are ever signalled, by pid.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import yaml

from bench.model import SHARD_NAMES, TENANTS
from watchproxy.etcd.server import EtcdServer, find_etcd_binary, free_port

_children: dict[int, subprocess.Popen[bytes]] = {}


def exit_on_termination() -> None:
    """Make SIGTERM and SIGHUP end the run as Ctrl-C does: SystemExit unwinds the `finally`
    blocks and runs the at-exit kills. Their default action ends the interpreter without
    either, and the children, each in its own session, would outlive it (review finding:
    `timeout 20 make bench` left two etcds and a proxy running). Main thread only."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit)


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run_in_workdir(
    prefix: str, main: Callable[[Path], Coroutine[Any, Any, int]], *, keep: bool
) -> int:
    """A standalone bench's body: raise the file limit, run `main(workdir)` on uvloop in a fresh
    temporary directory, remove it afterwards unless `keep` (then say where it is)."""
    exit_on_termination()
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        import uvloop

        return int(uvloop.run(main(workdir)))
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work dir kept: {workdir}")


def _spawn(
    cmd: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    _children[proc.pid] = proc
    return proc


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if proc is None:
        return
    try:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
    finally:
        _children.pop(proc.pid, None)


@atexit.register
def _kill_children() -> None:
    for proc in list(_children.values()):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


class ProxyProcess:
    """`python -m watchproxy serve --config FILE` on a free loopback port."""

    def __init__(
        self,
        workdir: Path,
        endpoints: list[str],
        gc_log: bool = False,
        workers: int = 1,
        *,
        tree: Path | None = None,
        launcher: list[str] | None = None,
        serve_args: tuple[str, ...] = (),
        **settings: Any,
    ) -> None:
        """`workers` > 1 runs `serve --workers N`: N processes on one SO_REUSEPORT port (the
        harness sums CPU and RSS over the process tree). `tree` is the checkout whose
        watchproxy runs (default: this one; a `git worktree` of a baseline commit for A/B
        runs); `launcher` replaces `-m watchproxy` (a wrapper script by path, then its
        arguments); `serve_args` go after `serve --config FILE`."""
        self.port = free_port()
        self.workers = workers
        self.tree = tree
        self.launcher = launcher
        self.serve_args = serve_args
        config: dict[str, Any] = {
            "listen": f"127.0.0.1:{self.port}",
            "shutdown_delay_seconds": 0,
            "shards": [
                {"name": name, "endpoints": [ep]}
                for name, ep in zip(SHARD_NAMES, endpoints, strict=True)
            ],
            "tenants": [
                {"name": tenant, "shard": name, "namespaces": [f"{tenant}-*"]}
                for tenant, name in zip(TENANTS, SHARD_NAMES, strict=True)
            ],
            "default_shard": SHARD_NAMES[0],
            # The benchmarks measure the serving path; leader-election renewals and GC passes
            # would add writes and CPU that no peer pays.
            "controllers": {"namespace": False, "garbage_collector": False},
            **settings,
        }
        self.config_path = workdir / f"watchproxy-{self.port}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / f"watchproxy-{self.port}.log"
        self.gc_log = workdir / f"watchproxy-{self.port}.gc" if gc_log else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def readyz(self) -> int:
        """The status of GET /readyz (raises OSError while nothing listens)."""
        return http_get(self.url + "/readyz", timeout=2)[0]

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait for /readyz; returns the seconds it took."""
        started = time.monotonic()
        module = ["bench.gcwrap", str(self.gc_log)] if self.gc_log else ["watchproxy"]
        root = str(self.tree or Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        workers = ["--workers", str(self.workers)] if self.workers > 1 else []
        # -P: not the working directory first on sys.path, so PYTHONPATH's `root` decides which
        # checkout runs (a bench started from another checkout measures this one's code)
        start = self.launcher if self.launcher is not None else ["-m", *module]
        command = [sys.executable, "-P", *start, "serve", "--config", str(self.config_path)]
        self.proc = _spawn(
            [*command, *workers, *self.serve_args],
            self.log_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path},
        )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"watchproxy exited at start-up:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if self.readyz() == 200:
                    return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"watchproxy not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


class GrpcProxy:
    """`etcd grpc-proxy start` in front of one shard."""

    def __init__(self, workdir: Path, name: str, endpoint: str) -> None:
        self.name = name
        self.port = free_port()
        self.metrics_port = free_port()
        self.workdir = workdir / f"grpc-proxy-{name}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.target = endpoint.removeprefix("http://")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> None:
        self.proc = _spawn(
            [
                find_etcd_binary(),
                "grpc-proxy",
                "start",
                f"--endpoints={self.target}",
                f"--listen-addr=127.0.0.1:{self.port}",
                f"--advertise-client-url=127.0.0.1:{self.port}",
                f"--metrics-addr=http://127.0.0.1:{self.metrics_port}",
                f"--data-dir={self.workdir / 'data'}",
            ],
            self.workdir / "grpc-proxy.log",
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"grpc-proxy {self.name} exited at start-up")
            with contextlib.suppress(OSError):
                if http_get(self.metrics_url, timeout=2)[0] == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"grpc-proxy {self.name} not serving metrics after {timeout:.0f}s")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


class Cluster:
    """Two etcd shards, and on demand one watchproxy and one grpc-proxy per shard."""

    def __init__(self, workdir: Path, gc_log: bool = False) -> None:
        self.workdir = workdir
        self.gc_log = gc_log
        self.etcds = [
            EtcdServer(name, workdir / name, progress_notify_interval="1s") for name in SHARD_NAMES
        ]
        self.proxy: ProxyProcess | None = None
        self.grpc_proxies: list[GrpcProxy] = []

    @property
    def endpoints(self) -> list[str]:
        return [e.endpoint for e in self.etcds]

    @property
    def etcd_pids(self) -> list[int]:
        pids = [e.pid for e in self.etcds]
        return [p for p in pids if p is not None]

    def start_etcd(self) -> None:
        for etcd in self.etcds:
            etcd.start()

    def start_proxy(self, workers: int = 1, **settings: Any) -> float:
        self.stop_proxy()
        self.proxy = ProxyProcess(
            self.workdir, self.endpoints, self.gc_log, workers=workers, **settings
        )
        return self.proxy.start()

    def stop_proxy(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None

    def start_grpc_proxies(self) -> list[GrpcProxy]:
        if not self.grpc_proxies:
            self.grpc_proxies = [
                GrpcProxy(self.workdir, name, etcd.endpoint)
                for name, etcd in zip(SHARD_NAMES, self.etcds, strict=True)
            ]
            for gp in self.grpc_proxies:
                gp.start()
        return self.grpc_proxies

    def stop_grpc_proxies(self) -> None:
        for gp in self.grpc_proxies:
            gp.stop()
        self.grpc_proxies = []

    def close(self) -> None:
        self.stop_proxy()
        self.stop_grpc_proxies()
        for etcd in self.etcds:
            etcd.stop()
