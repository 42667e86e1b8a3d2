"""haproxy (Debian's package) in front of watchproxy replicas on loopback: its config and a
process handle.

Shared by tests/integration/test_rollout_haproxy.py and the distributed load run
(loadtests/distributed.py), so both put the same load balancer in front of the replicas.
`scripts/ensure-haproxy.sh` (run by `make install`, `make test` and `make load`) installs it.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from tests.integration.processes import stop_process

# Health checks every 200 ms, 2 failures to leave and 2 successes to come back: a replica that
# got SIGTERM fails /readyz at once and is out of rotation within about 0.5 s, well inside the
# replicas' shutdown_delay_seconds (1-2 s in the test), so no new request reaches a listener
# that is about to close. A SIGKILLed replica refuses connections at once; haproxy retries those
# on another server (`retries` + `redispatch`) until the checks take it out.
CHECK_INTER_MS: Final = 200
CHECK_FALL: Final = 2
CHECK_RISE: Final = 2

INSTALL_HINT: Final = (
    "run `make install` (scripts/ensure-haproxy.sh installs Debian's haproxy package) "
    "or `apt-get install haproxy`"
)


def find_haproxy() -> str:
    """Path of the haproxy executable: the venv's bin dir first (where ensure-haproxy.sh puts an
    unpacked copy when it has no root), then PATH, then /usr/sbin (not on a non-root PATH)."""
    candidates = [
        str(Path(sys.executable).parent / "haproxy"),
        shutil.which("haproxy") or "",
        "/usr/sbin/haproxy",
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(f"haproxy not found (venv bin, PATH, /usr/sbin): {INSTALL_HINT}")


def haproxy_config(
    *,
    listen_port: int,
    servers: Sequence[tuple[str, int]],
    stats_socket: Path | None = None,
    watch_seconds: float = 60.0,
) -> str:
    """haproxy.cfg for `servers` (name, loopback port) behind 127.0.0.1:`listen_port`.

    `watch_seconds` is the longest watch a client will hold (timeoutSeconds plus jitter): the
    client and server inactivity timeouts are set above it, so the balancer never cuts a quiet
    watch before the proxy ends it (kube's clients would see that as a broken stream).
    """
    idle = max(60, int(watch_seconds * 2))
    lines = [
        "global",
        # Foreground (-db) under the caller, logging to stdout: no syslog, no daemon, no chroot.
        "    log stdout format raw local0 info",
        # Enough for the load run's watchers; more would need a file limit above 2 x maxconn.
        "    maxconn 4096",
    ]
    if stats_socket is not None:
        lines.append(f"    stats socket {stats_socket} mode 600 level admin")
    lines += [
        "",
        "defaults",
        "    mode http",
        "    log global",
        # Only abnormal requests and server state changes are logged (502s, broken streams).
        "    option httplog",
        "    option dontlog-normal",
        "    timeout connect 2s",
        f"    timeout client {idle}s",
        f"    timeout server {idle}s",
        # Upgraded connections (HTTP/1.1 Upgrade) only; watches are chunked responses and use
        # the client/server timeouts above.
        f"    timeout tunnel {max(3600, idle)}s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        "    timeout queue 5s",
        "    timeout check 1s",
        # Send each chunk of a watch at once. Without this haproxy flags partial chunked
        # payloads MSG_MORE and the kernel holds them back: measured on loopback, watch events
        # through haproxy came 120 ms later at the median and up to 210 ms (0.1 ms direct).
        "    option http-no-delay",
        # A connection refused by a dead replica is retried on another one.
        "    retries 3",
        "    option redispatch 1",
        "",
        "frontend api",
        f"    bind 127.0.0.1:{listen_port}",
        "    default_backend replicas",
        "",
        "backend replicas",
        # Watches are long-lived: least connections spreads them, where round robin would
        # count a 30-minute watch the same as a 2 ms GET.
        "    balance leastconn",
        "    option httpchk GET /readyz",
        "    http-check expect status 200",
        # Which replica answered: tests and load runs count watches per replica with it.
        "    http-response set-header X-Served-By %[srv_name]",
        f"    default-server check inter {CHECK_INTER_MS}ms fall {CHECK_FALL} rise {CHECK_RISE}",
    ]
    lines += [f"    server {name} 127.0.0.1:{port}" for name, port in servers]
    return "\n".join(lines) + "\n"


class Haproxy:
    """One haproxy process (foreground, own session) with a stats socket to read server states."""

    def __init__(
        self,
        workdir: Path,
        *,
        listen_port: int,
        servers: Sequence[tuple[str, int]],
        watch_seconds: float = 60.0,
    ) -> None:
        self.binary = find_haproxy()
        self.listen_port = listen_port
        self.servers = list(servers)
        self.stats_socket = workdir / "haproxy.sock"
        self.config_path = workdir / "haproxy.cfg"
        self.config_path.write_text(
            haproxy_config(
                listen_port=listen_port,
                servers=servers,
                stats_socket=self.stats_socket,
                watch_seconds=watch_seconds,
            )
        )
        self.log_path = workdir / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen_port}"

    def start(self) -> None:
        """Check the config, start haproxy and wait (20 s at most) until every server is UP."""
        check = subprocess.run(
            [self.binary, "-c", "-f", str(self.config_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c: {self.config_path}: {check.stdout}{check.stderr}")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-db", "-f", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_states({name: "UP" for name, _ in self.servers}, timeout=20)

    def stats(self) -> list[dict[str, str]]:
        """haproxy's `show stat` row of each server of the backend (status, scur, stot, ...)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats_socket))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        text = b"".join(chunks).decode().lstrip("# ")
        return [
            row
            for row in csv.DictReader(text.splitlines())
            if row.get("pxname") == "replicas" and row["svname"] not in ("BACKEND", "FRONTEND")
        ]

    def server_states(self) -> dict[str, str]:
        """Server name -> haproxy's status (UP, DOWN, "UP 1/2", "DOWN 1/2", MAINT, ...)."""
        return {row["svname"]: row["status"] for row in self.stats()}

    def wait_states(self, want: dict[str, str], *, timeout: float) -> None:
        """Wait until each named server has the wanted status; RuntimeError after `timeout`
        (a bound against hangs, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log()[-3000:]}")
            try:
                states = self.server_states()
            except OSError:
                states = {}  # the stats socket is not there yet
            if all(states.get(name) == status for name, status in want.items()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"haproxy servers {states}, wanted {want}: {self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM is haproxy's hard stop: it closes every connection at once."""
        stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
