"""`serve --workers N`: N independent processes sharing one port through SO_REUSEPORT.

Each worker is a whole watchproxy (its own reflectors, cache and watchers); the kernel spreads
incoming connections over them. A client whose watch lands on another worker resumes there from
its last resourceVersion, exactly as across replicas. The supervisor only starts the workers,
forwards SIGINT/SIGTERM to them and exits with the first failure.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from types import FrameType


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other processes may bind to the same address too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(config_path: str, workers: int, log_level: str, log_format: str | None = None) -> int:
    """Run `workers` copies of `serve --reuse-port` until a signal or a worker exits."""
    command = [
        sys.executable,
        "-m",
        "watchproxy",
        "serve",
        "--config",
        config_path,
        "--reuse-port",
        "--log-level",
        log_level,
        *(["--log-format", log_format] if log_format else []),
    ]
    children = [subprocess.Popen(command) for _ in range(workers)]
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = 0
    while any(child.poll() is None for child in children):
        for child in children:
            if child.poll() is not None and child.returncode != 0 and not stopping:
                code = child.returncode
                forward(signal.SIGTERM, None)
        time.sleep(0.2)
    return code
