"""`watchproxy dev --insecure` as a test fixture, and kubectl pointed at it.

Shared by the kubectl tests (test_kubectl_typed.py, test_real_controllers.py): one throwaway
dev deployment (two etcd shards, the built-in controllers on) per test module.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from watchproxy.etcd.server import free_port


class Kubectl:
    """The machine's kubectl against `url`, with its own discovery cache directory."""

    def __init__(self, url: str, cache_dir: Path) -> None:
        binary = shutil.which("kubectl")
        assert binary is not None, "kubectl is not installed"
        self.base = [binary, "--server", url, "--cache-dir", str(cache_dir)]

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=60, input=stdin
        )

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))


@contextlib.contextmanager
def dev_server(workdir: Path) -> Iterator[str]:
    """Run `watchproxy dev --insecure --no-seed` under `workdir`; yield its URL once /readyz
    answers 200 (60 s at most); stop it (SIGINT, as Ctrl-C stops its etcds too) on exit."""
    port = free_port()
    log_path = workdir / "dev.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watchproxy",
                "dev",
                "--insecure",
                "--port",
                str(port),
                "--no-seed",
                "--data-dir",
                str(workdir / "data"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"watchproxy dev exited: {log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready: {log_path.read_text()[-3000:]}"
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def write_kubeconfig(path: Path, url: str, namespace: str = "default") -> Path:
    """A kubeconfig for clients that read one (kopf, the Python client, client-node)."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                # client-node 1.x refuses plain http unless TLS verification is "skipped".
                "clusters": [
                    {"name": "wp", "cluster": {"server": url, "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "anonymous", "user": {}}],
                "contexts": [
                    {
                        "name": "wp",
                        "context": {"cluster": "wp", "user": "anonymous", "namespace": namespace},
                    }
                ],
                "current-context": "wp",
            }
        )
    )
    return path
