"""API Priority and Fairness through a real `watchproxy serve` (open-admin mode: callers are
classified as the anonymous user they are, in `global-default`).

The level is made tiny (1 seat, one queue of 2) so a request that holds its seat -- a POST whose
body never comes -- makes the next ones queue, then be rejected: `queue-full` at once for the
third, `time-out` after `queue_wait_limit_seconds` for the queued ones.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import ProxyProcess, quiet_config, running_etcd_pair
from tests.integration.watching import watch

LEVEL = {"name": "global-default", "nominal_concurrency_shares": 20, "queues": 1, "hand_size": 1,
         "queue_length_limit": 2}  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    root: Path = tmp_path_factory.mktemp("flow")
    with running_etcd_pair(root) as servers:
        # 12 seats in all: global-default gets ceil(12 x 20 / 245) = 1.
        flow = {"server_concurrency_limit": 12, "queue_wait_limit_seconds": 1.5,
                "priority_levels": [LEVEL]}  # fmt: skip
        proxy = ProxyProcess(quiet_config([s.endpoint for s in servers], flow_control=flow), root)
        proxy.start()
        try:
            yield proxy
        finally:
            proxy.stop()


@contextlib.contextmanager
def seat_holder(proxy: ProxyProcess) -> Iterator[socket.socket]:
    """A POST admitted at global-default whose body never arrives: it holds its one seat until
    the socket sends the body (or closes)."""
    sock = socket.create_connection(("127.0.0.1", proxy.port))
    sock.sendall(
        b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )
    try:
        yield sock
    finally:
        sock.close()


def flow_samples(api: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics (exempt, as the probes: /debug/stats would queue at the full level itself)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(api.get("/metrics").text)
        for s in f.samples
    }


GD = (("flow_schema", "global-default"), ("priority_level", "global-default"))


def seat_taken(api: httpx.Client) -> bool:
    seats = flow_samples(api).get(("apiserver_flowcontrol_current_executing_seats", GD), 0.0)
    return seats == 1


def queued(api: httpx.Client) -> float:
    return flow_samples(api).get(("apiserver_flowcontrol_current_inqueue_requests", GD), 0.0)


def wait_for(check: object, what: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_full_level_queues_then_answers_429_with_retry_after(tiny: ProxyProcess) -> None:
    with httpx.Client(base_url=tiny.url, timeout=30) as api, seat_holder(tiny):
        wait_for(lambda: seat_taken(api), "the held seat")
        results: dict[int, httpx.Response] = {}

        def get(i: int) -> None:
            with httpx.Client(base_url=tiny.url, timeout=30) as client:
                results[i] = client.get("/api/v1/namespaces/default/configmaps")

        waiters = [threading.Thread(target=get, args=(i,)) for i in range(2)]
        for thread in waiters:
            thread.start()
        wait_for(lambda: queued(api) == 2, "two queued requests")
        full = api.get("/api/v1/namespaces/default/configmaps")
        # The probes are exempt: the replica stays ready while its levels are full.
        assert api.get("/readyz").status_code == 200
        for thread in waiters:
            thread.join(20)
    assert full.status_code == 429
    assert full.headers["retry-after"].isdigit()
    body = full.json()
    assert body["kind"] == "Status" and body["reason"] == "TooManyRequests"
    assert body["message"] == "Too many requests, please try again later."
    assert body["details"]["retryAfterSeconds"] == int(full.headers["retry-after"])
    assert full.headers["x-kubernetes-pf-flowschema-uid"]
    assert full.headers["x-kubernetes-pf-prioritylevel-uid"]
    assert [results[i].status_code for i in range(2)] == [429, 429]
    with httpx.Client(base_url=tiny.url, timeout=30) as api:
        wait_for(lambda: not seat_taken(api), "the seat to be freed")
        ok = api.get("/api/v1/namespaces/default/configmaps")
        assert ok.status_code == 200
        assert (
            ok.headers["x-kubernetes-pf-prioritylevel-uid"]
            == (full.headers["x-kubernetes-pf-prioritylevel-uid"])
        )
        stats = api.get("/debug/stats").json()["flow_control"]
        rejected = stats["requests"]["global-default/global-default"]["rejected"]
        assert rejected["queue-full"] >= 1 and rejected["time-out"] >= 2
        samples = flow_samples(api)
    key = ("apiserver_flowcontrol_rejected_requests_total", (*GD, ("reason", "time-out")))
    assert samples[key] >= 2
    assert (
        samples[
            ("apiserver_flowcontrol_nominal_limit_seats", (("priority_level", "global-default"),))
        ]
        == 1
    )
    # The access log (info) has one line per request, the 429s with their status.
    lines = [line for line in tiny.log().splitlines() if "watchproxy.access" in line]
    assert any(
        'URI="/api/v1/namespaces/default/configmaps"' in x and "resp=429" in x for x in lines
    )


def test_a_watch_holds_its_seat_only_until_it_starts(tiny: ProxyProcess) -> None:
    with httpx.Client(base_url=tiny.url, timeout=30) as api:
        wait_for(lambda: not seat_taken(api), "a free seat")
        with watch(api, "/api/v1/namespaces/default/configmaps", timeoutSeconds=30):
            # The watch is running; the level's one seat is free again for a LIST.
            wait_for(lambda: not seat_taken(api), "the watch to give its seat back")
            assert api.get("/api/v1/namespaces/default/configmaps").status_code == 200


def test_a_queued_request_whose_client_leaves_is_dropped(tiny: ProxyProcess) -> None:
    """A GET queued behind the held seat, whose client then hangs up, leaves its queue at once
    (reason `cancelled`), not after the 1.5 s wait limit, and is never executed."""
    with httpx.Client(base_url=tiny.url, timeout=30) as api, seat_holder(tiny):
        wait_for(lambda: seat_taken(api), "the held seat")
        before = flow_samples(api)
        with socket.create_connection(("127.0.0.1", tiny.port)) as ghost:
            ghost.sendall(b"GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: queued(api) == 1, "the ghost request queued")
        wait_for(lambda: queued(api) == 0, "the ghost to leave its queue")
        after = flow_samples(api)
    key = ("apiserver_flowcontrol_rejected_requests_total", (*GD, ("reason", "cancelled")))
    assert after.get(key, 0) - before.get(key, 0) == 1
    timed_out = ("apiserver_flowcontrol_rejected_requests_total", (*GD, ("reason", "time-out")))
    assert after.get(timed_out, 0) == before.get(timed_out, 0)
