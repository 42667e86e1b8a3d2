"""Connection hygiene of a real `watchproxy serve` process (the serving units test the protocol
classes; this checks the settings reach them through the config file and the CLI): slowloris
and silent connections are closed with 408, oversized header lists get 431, and connections
past `max_connections` get a clean 503 Status instead of an empty reply."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ProxyProcess, quiet_config, running_etcd_pair

TIMEOUT_S = 2


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    root: Path = tmp_path_factory.mktemp("hygiene")
    with running_etcd_pair(root) as servers:
        config = quiet_config(
            [s.endpoint for s in servers],
            header_read_timeout_seconds=TIMEOUT_S,
            max_header_count=50,
            max_header_bytes=16384,
            max_connections=30,
        )
        proxy = ProxyProcess(config, root)
        proxy.start()
        try:
            yield proxy
        finally:
            proxy.stop()


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (10 s at most: a server that never closes fails)."""
    sock.settimeout(10)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status(response: bytes) -> int:
    return int(response.split(b"\r\n", 1)[0].split()[1])


def test_slowloris_and_silent_connections_are_closed(strict: ProxyProcess) -> None:
    with socket.create_connection(("127.0.0.1", strict.port)) as slow:
        slow.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        response = read_all(slow)
    assert status(response) == 408
    with socket.create_connection(("127.0.0.1", strict.port)) as silent:
        data = read_all(silent)  # returns only because the server closed it
    assert data == b"" or status(data) == 408


def test_oversized_header_lists_get_431(strict: ProxyProcess) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    big = b"X-Big: " + b"a" * 20000 + b"\r\n"
    for extra in (many, big):
        with socket.create_connection(("127.0.0.1", strict.port)) as sock:
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
            assert status(read_all(sock)) == 431


def test_connections_past_the_cap_get_a_503_status(strict: ProxyProcess) -> None:
    held = [socket.create_connection(("127.0.0.1", strict.port)) for _ in range(30)]
    try:
        with socket.create_connection(("127.0.0.1", strict.port)) as extra:
            extra.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            response = read_all(extra)
    finally:
        for sock in held:
            sock.close()
    assert status(response) == 503
    body = json.loads(response.partition(b"\r\n\r\n")[2])
    assert body["kind"] == "Status" and body["code"] == 503
    # Once they are gone (the server notices the closes), it takes connections again.
    deadline = time.monotonic() + 10
    while True:
        with socket.create_connection(("127.0.0.1", strict.port)) as sock:
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            code = status(read_all(sock))
        if code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert code == 200
