"""Health endpoints and the graceful rollout of one `watchproxy serve` process.

On SIGTERM /readyz fails at once (its `shutdown` check) while the listener keeps serving for
`shutdown_delay_seconds`; then the listener closes, open watches get a last bookmark and end,
and the process exits 0 with no traceback (issue 8, "Graceful rollout")."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.integration.conftest import ProxyProcess, make_namespace, quiet_config
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd

NS = "acme-shutdown"


def test_probes_answer_plain_ok_and_verbose_lists(api: httpx.Client) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        r = api.get(path)
        assert (r.status_code, r.text) == (200, "ok"), path
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.headers["x-content-type-options"] == "nosniff"
    r = api.get("/readyz", params={"verbose": ""})
    assert r.status_code == 200
    assert r.text == (
        "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]informer-sync ok\n[+]shutdown ok\n"
        "readyz check passed\n"
    )
    assert api.get("/livez?verbose").text == "[+]ping ok\n[+]log ok\nlivez check passed\n"
    r = api.get("/healthz?verbose&exclude=etcd&exclude=nope")
    assert "[+]etcd excluded: ok\n" in r.text
    assert 'no matches for "nope"' in r.text
    for path in ("/readyz/shutdown", "/readyz/etcd", "/readyz/informer-sync", "/livez/ping"):
        r = api.get(path)
        assert (r.status_code, r.text) == (200, "ok"), path
    for path in ("/readyz/nope", "/livez/etcd", "/livez/shutdown"):
        r = api.get(path)
        assert r.status_code == 404, path
        assert r.json()["reason"] == "NotFound"


def _watch_in_background(url: str, events: list[dict[str, Any]], ended: threading.Event) -> None:
    try:
        params = {"watch": "1", "allowWatchBookmarks": "true", "resourceVersion": "0"}
        with httpx.stream(
            "GET", f"{url}/api/v1/namespaces/{NS}/configmaps", params=params, timeout=30
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line:
                    events.append(orjson.loads(line))
    except httpx.HTTPError as exc:
        events.append({"type": "CLIENT-ERROR", "object": repr(exc)})
    finally:
        ended.set()


def test_sigterm_fails_readyz_keeps_serving_for_the_delay_then_ends_watches(
    etcd_pair: list[EtcdServer], tmp_path: Path
) -> None:
    proxy = ProxyProcess(
        quiet_config([s.endpoint for s in etcd_pair], shutdown_delay_seconds=1.5), tmp_path
    )
    proxy.start()
    try:
        with httpx.Client(base_url=proxy.url, timeout=10) as api:
            make_namespace(api, NS)
            created = api.post(
                f"/api/v1/namespaces/{NS}/configmaps", json={"metadata": {"name": "before"}}
            )
            assert created.status_code == 201, created.text
            events: list[dict[str, Any]] = []
            ended = threading.Event()
            watcher = threading.Thread(
                target=_watch_in_background, args=(proxy.url, events, ended), daemon=True
            )
            watcher.start()
            deadline = time.monotonic() + 10
            while not events and time.monotonic() < deadline:
                time.sleep(0.05)
            assert events and events[0]["type"] == "ADDED"

            assert proxy.proc is not None
            signalled = time.monotonic()
            proxy.proc.send_signal(signal.SIGTERM)
            # /readyz fails at once...
            while True:
                r = api.get("/readyz")
                if r.status_code == 503:
                    break
                assert time.monotonic() - signalled < 0.5, "readyz still 200 after SIGTERM"
                time.sleep(0.02)
            assert r.text.endswith("[-]shutdown failed: reason withheld\nreadyz check failed\n")
            assert api.get("/readyz/shutdown").status_code == 503
            # ...while the process keeps serving: reads, writes, liveness, new connections.
            assert api.get("/livez").status_code == 200
            assert api.get(f"/api/v1/namespaces/{NS}/configmaps/before").status_code == 200
            with httpx.Client(base_url=proxy.url, timeout=5) as fresh:
                r = fresh.post(
                    f"/api/v1/namespaces/{NS}/configmaps", json={"metadata": {"name": "during"}}
                )
                assert r.status_code == 201, r.text
            assert not ended.is_set(), "the watch ended before the delay"
            assert time.monotonic() - signalled < 1.5, "the checks above took too long"

            # After the delay: the watch gets its last bookmark and ends; the process exits 0.
            assert ended.wait(10), "the watch did not end"
            assert time.monotonic() - signalled >= 1.4
            assert [e["type"] for e in events if e["type"] != "BOOKMARK"] == ["ADDED", "ADDED"]
            assert events[-1]["type"] == "BOOKMARK", events[-1]
            assert proxy.proc.wait(10) == 0
    finally:
        proxy.stop()
    log = proxy.log()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_other_stop_signals_exit_cleanly(
    etcd_pair: list[EtcdServer], tmp_path: Path, sig: signal.Signals
) -> None:
    proxy = ProxyProcess(quiet_config([s.endpoint for s in etcd_pair]), tmp_path)
    proxy.start()
    try:
        assert proxy.proc is not None
        proxy.proc.send_signal(sig)
        assert proxy.proc.wait(10) == 0
    finally:
        proxy.stop()
    assert "Traceback" not in proxy.log()
