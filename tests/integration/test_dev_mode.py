"""`watchproxy dev`: two local etcds, a seeded two-tenant demo, kubectl works, Ctrl-C stops all."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from watchproxy.etcd.server import free_port

pytestmark = [pytest.mark.etcd, pytest.mark.clients]


def etcd_pids_under(data_dir: Path) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-f", "--", f"--data-dir={data_dir}"], capture_output=True, text=True
    )
    return out.stdout.split()


def test_dev_mode_serves_the_demo_and_cleans_up(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "dev"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watchproxy",
            "dev",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        kubectl = shutil.which("kubectl")
        assert kubectl is not None
        out = subprocess.run(
            [
                kubectl,
                "--server",
                f"http://127.0.0.1:{port}",
                "--cache-dir",
                str(tmp_path / "kc"),
                "get",
                "pods",
                "-A",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        namespaces = {i["metadata"]["namespace"] for i in json.loads(out)["items"]}
        assert {"acme-web", "acme-db", "globex-prod", "gx"} <= namespaces
        assert len(etcd_pids_under(data_dir / "shard-a")) == 1
        assert len(etcd_pids_under(data_dir / "shard-b")) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert "kubectl --server" in output
    assert "Traceback" not in output
    assert etcd_pids_under(data_dir) == [], "Ctrl-C must stop every etcd the dev mode started"
