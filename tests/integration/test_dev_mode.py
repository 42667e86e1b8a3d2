"""`watchproxy dev`: two local etcds, a seeded two-tenant demo, kubectl works, Ctrl-C stops all.

`--insecure` is the anonymous plain-HTTP demo of before; the default serves HTTPS with the
credentials of watchproxy/devpki.py and a kubeconfig for them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.integration.processes import stop_process
from watchproxy.etcd.server import free_port

pytestmark = [pytest.mark.etcd, pytest.mark.clients]


def etcd_pids_under(data_dir: Path) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-f", "--", f"--data-dir={data_dir}"], capture_output=True, text=True
    )
    return out.stdout.split()


class DevProcess:
    """`watchproxy dev ARGS`, its output collected line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watchproxy", "dev", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            assert self.proc.poll() is None, f"watchproxy dev exited:\n{self.output[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output[-3000:]}")

    def stop(self) -> str:
        """Ctrl-C, as a user stops it; the whole output."""
        stop_process(self.proc, signal.SIGINT, grace_s=30)
        self._reader.join(10)
        return self.output


@contextmanager
def dev_process(*args: str) -> Iterator[DevProcess]:
    dev = DevProcess(*args)
    try:
        yield dev
    finally:
        dev.stop()


def wait_ready(url: str, verify: ssl.SSLContext | bool = True, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url}/readyz not 200 within {timeout} s"
        time.sleep(0.2)


def kubectl_pod_namespaces(
    *args: str, env: dict[str, str] | None = None, field_selector: str = ""
) -> set[str]:
    """Namespaces of `kubectl ARGS get pods -A` (with a field selector when given)."""
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    selector = ("--field-selector", field_selector) if field_selector else ()
    out = subprocess.run(
        [kubectl, *args, "get", "pods", "-A", *selector, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    ).stdout
    return {i["metadata"]["namespace"] for i in json.loads(out)["items"]}


def _check_demo_identities(
    port: int, pki: Path, cache: tuple[str, ...], env: dict[str, str], audit: Path
) -> None:
    """The demo's contexts are what the README says they are."""

    def kubectl(*args: str) -> str:
        out = subprocess.run(
            ["kubectl", *cache, *args], capture_output=True, text=True, timeout=60, env=env
        )
        return out.stdout.strip()

    alice = kubectl_pod_namespaces(*cache, "--context", "alice", env=env)
    assert alice == {"acme-web", "acme-db"}
    assert kubectl("--context", "alice", "auth", "can-i", "list", "secrets", "-n", "acme-web") == (
        "yes"
    )
    assert kubectl(
        "--context", "alice", "auth", "can-i", "list", "secrets", "-n", "globex-prod"
    ).startswith("no")
    whoami = json.loads(kubectl("auth", "whoami", "-o", "json"))
    assert whoami["status"]["userInfo"]["username"] == "admin"
    carol = json.loads(kubectl("--context", "carol-token", "auth", "whoami", "-o", "json"))
    assert carol["status"]["userInfo"]["username"] == "carol"
    node = kubectl_pod_namespaces(
        *cache, "--context", "node", env=env, field_selector="spec.nodeName=acme-node-1"
    )
    assert node and node <= {"acme-web", "acme-db"}
    ctx = ssl.create_default_context(cafile=pki / "ca.pem")
    r = httpx.get(f"https://127.0.0.1:{port}/api/v1/pods", verify=ctx)
    assert r.status_code == 401 and r.headers["audit-id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = (
            [json.loads(x) for x in audit.read_text().splitlines() if x] if audit.exists() else []
        )
        if any(e["user"].get("username") == "alice" for e in events) and any(
            e["user"] == {} and e["responseStatus"]["code"] == 401 for e in events
        ):
            return
        time.sleep(0.2)
    raise AssertionError("the audit log lacks alice's requests or the 401")


def test_insecure_dev_mode_serves_the_demo_and_cleans_up(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "dev"
    with dev_process("--insecure", "--port", str(port), "--data-dir", str(data_dir)) as dev:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        namespaces = kubectl_pod_namespaces("--server", url, "--cache-dir", str(tmp_path / "kc"))
        assert {"acme-web", "acme-db", "globex-prod", "gx"} <= namespaces
        assert len(etcd_pids_under(data_dir / "shard-a")) == 1
        assert len(etcd_pids_under(data_dir / "shard-b")) == 1
    output = dev.stop()
    assert "kubectl --server" in output
    assert "KUBECONFIG" not in output
    assert "Traceback" not in output
    assert not (data_dir / "pki").exists(), "--insecure makes no credentials"
    assert etcd_pids_under(data_dir) == [], "Ctrl-C must stop every etcd the dev mode started"


def test_secure_dev_mode_writes_credentials_and_keeps_them_across_restarts(
    tmp_path: Path,
) -> None:
    port = free_port()
    data_dir = tmp_path / "dev"
    pki = data_dir / "pki"
    args = ("--port", str(port), "--data-dir", str(data_dir))
    with dev_process(*args) as dev:
        line = dev.wait_for_line("export KUBECONFIG=")
        assert line.strip() == f"export KUBECONFIG={pki / 'kubeconfig'}"
        dev.wait_for_line("Ctrl-C stops")
        assert dev.proc.poll() is None
        assert f"serving the Kubernetes API on https://127.0.0.1:{port}" in dev.output
        assert "seeded" in dev.output
        for example in (
            "kubectl get pods -A",
            "kubectl --context alice get pods -A",
            "kubectl --context alice auth can-i list secrets -n globex-prod",
            "kubectl auth whoami",
        ):
            assert f"  {example} " in dev.output or f"  {example}\n" in dev.output, example
        for name in ("ca.pem", "server.pem", "server-key.pem", "sa.key", "sa.pub", "tokens.csv"):
            assert (pki / name).is_file(), name
        kubeconfig = yaml.safe_load((pki / "kubeconfig").read_text())
        assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{port}"
        assert kubeconfig["current-context"] == "admin"
        assert len(etcd_pids_under(data_dir / "shard-a")) == 1
        # HTTPS with the dev CA; the admin context (system:masters) sees every tenant.
        wait_ready(f"https://127.0.0.1:{port}", ssl.create_default_context(cafile=pki / "ca.pem"))
        env = {**os.environ, "KUBECONFIG": str(pki / "kubeconfig")}
        cache = ("--cache-dir", str(tmp_path / "kc"))
        assert {"acme-web", "globex-prod", "gx"} <= kubectl_pod_namespaces(*cache, env=env)
        _check_demo_identities(port, pki, cache, env, data_dir / "audit.log")
    output = dev.stop()
    assert "Traceback" not in output
    assert etcd_pids_under(data_dir) == []
    first = {p.name: p.read_bytes() for p in pki.iterdir() if p.name != "kubeconfig"}

    # A restart (another port) keeps the identities and the data: nothing re-issued, no re-seed.
    port2 = free_port()
    with dev_process("--port", str(port2), "--data-dir", str(data_dir)) as dev:
        dev.wait_for_line("Ctrl-C stops")
        assert "seeded" not in dev.output
        kubeconfig = yaml.safe_load((pki / "kubeconfig").read_text())
        assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{port2}"
    dev.stop()
    assert {p.name: p.read_bytes() for p in pki.iterdir() if p.name != "kubeconfig"} == first
    assert etcd_pids_under(data_dir) == []


# -- the first five minutes (issue 8) ----------------------------------------------------------


def _data_dir_of(dev: DevProcess) -> Path:
    line = dev.wait_for_line("(data in ")
    return Path(line.rsplit("(data in ", 1)[1].rstrip().rstrip(")"))


@pytest.mark.parametrize(
    "sig",
    # SIGQUIT (Ctrl-\\), SIGUSR1 and SIGALRM end a process by default: dev mode stops as on
    # SIGTERM rather than orphan its etcds.
    [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGALRM],
    ids=lambda sig: sig.name,
)
def test_every_stop_signal_stops_the_etcds_and_removes_the_temp_data(sig: signal.Signals) -> None:
    port = free_port()
    dev = DevProcess("--insecure", "--no-seed", "--shards", "3", "--port", str(port))
    try:
        data_dir = _data_dir_of(dev)
        dev.wait_for_line("Ctrl-C stops")
        assert f"{data_dir} is removed on exit" in dev.output
        wait_ready(f"http://127.0.0.1:{port}")
        assert len(etcd_pids_under(data_dir)) == 3
        dev.proc.send_signal(sig)
        assert dev.proc.wait(30) == 0
    finally:
        output = dev.stop()
    assert "Traceback" not in output
    assert etcd_pids_under(data_dir) == [], f"{sig.name} left etcd running"
    assert not data_dir.exists(), "the temporary data folder must be removed on exit"


def test_etcds_die_with_a_killed_dev_mode() -> None:
    """SIGKILL runs no handler: the etcds still go (PR_SET_PDEATHSIG); only the temporary
    folder stays behind."""
    port = free_port()
    dev = DevProcess("--insecure", "--no-seed", "--shards", "2", "--port", str(port))
    data_dir = _data_dir_of(dev)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        assert len(etcd_pids_under(data_dir)) == 2
        dev.proc.kill()
        dev.proc.wait(30)
        deadline = time.monotonic() + 20
        while etcd_pids_under(data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert etcd_pids_under(data_dir) == [], "etcd outlived a SIGKILLed dev mode"
    finally:
        dev.stop()
        for pid in etcd_pids_under(data_dir):
            os.kill(int(pid), signal.SIGKILL)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_data_dir_is_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "keep"
    port = free_port()
    with dev_process("--insecure", "--no-seed", "--port", str(port), "--data-dir", str(data_dir)):
        wait_ready(f"http://127.0.0.1:{port}")
    assert (data_dir / "shard-a").is_dir()


def test_a_taken_port_is_one_line_and_starts_nothing() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = set(
            subprocess.run(
                ["pgrep", "-f", "watchproxy-dev-"], capture_output=True, text=True
            ).stdout.split()
        )
        result = subprocess.run(
            [sys.executable, "-m", "watchproxy", "dev", "--insecure", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"watchproxy: cannot serve on 127.0.0.1:{port}: Address already in use"
    ]
    after = set(
        subprocess.run(
            ["pgrep", "-f", "watchproxy-dev-"], capture_output=True, text=True
        ).stdout.split()
    )
    assert after <= before, "no etcd may be started"


def test_version_and_help() -> None:
    from watchproxy import __version__

    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "watchproxy", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout

    assert run("--version").strip() == f"watchproxy {__version__}"
    for command, flags in {
        "dev": ["--port", "--insecure", "--shards", "--data-dir", "--no-seed", "--log-level"],
        "serve": ["--config", "--workers", "--log-level"],
    }.items():
        text = run(command, "--help")
        for flag in flags:
            line = next(x for x in text.splitlines() if x.strip().startswith(flag))
            rest = line.strip()[len(flag) :].strip()
            # The help is on the flag's line or the next one.
            assert rest or text.split(line, 1)[1].splitlines()[1].strip(), (command, flag)
