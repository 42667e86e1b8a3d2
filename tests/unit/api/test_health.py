"""/healthz, /livez, /readyz answers as kube-apiserver's healthz.go builds them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from watchproxy.api.guard import PUBLIC_PATHS
from watchproxy.api.health import (
    ENDPOINT_CHECKS,
    Check,
    ShutdownState,
    check_answer,
    proxy_checks,
    root_answer,
)


def checks(**failing: str) -> dict[str, Check]:
    """Every check healthy but those named (informer_sync for informer-sync)."""

    def check(name: str) -> Check:
        return lambda: failing.get(name.replace("-", "_"))

    return {n: check(n) for names in ENDPOINT_CHECKS.values() for n in names}


def test_healthy_answers_plain_ok() -> None:
    for endpoint in ENDPOINT_CHECKS:
        assert root_answer(endpoint, checks(), []) == (200, "ok")


def test_verbose_lists_every_check() -> None:
    assert root_answer("readyz", checks(), [("verbose", "")]) == (
        200,
        "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]informer-sync ok\n[+]shutdown ok\n"
        "readyz check passed\n",
    )
    assert root_answer("livez", checks(), [("verbose", "1")]) == (
        200,
        "[+]ping ok\n[+]log ok\nlivez check passed\n",
    )


def test_a_failure_is_always_verbose_and_withholds_the_reason() -> None:
    status, body = root_answer("readyz", checks(shutdown="process is shutting down"), [])
    assert status == 503
    assert body == (
        "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]informer-sync ok\n"
        "[-]shutdown failed: reason withheld\nreadyz check failed\n"
    )
    # /livez has no shutdown check: the process stays alive while it drains.
    assert root_answer("livez", checks(shutdown="x"), []) == (200, "ok")
    # /healthz and /livez carry no etcd check / /healthz does.
    assert root_answer("healthz", checks(etcd="down"), [])[0] == 503
    assert root_answer("livez", checks(etcd="down"), []) == (200, "ok")


def test_exclude() -> None:
    status, body = root_answer(
        "readyz",
        checks(etcd="down"),
        [("exclude", "etcd"), ("exclude", "bogus"), ("verbose", "")],
    )
    assert status == 200
    assert "[+]etcd excluded: ok\n" in body
    assert 'warn: some health checks cannot be excluded: no matches for "bogus"\n' in body
    assert body.endswith("readyz check passed\n")
    assert root_answer("readyz", checks(etcd="down"), [("exclude", "etcd")]) == (200, "ok")


def test_one_check() -> None:
    assert check_answer("readyz", "shutdown", checks()) == (200, "ok")
    assert check_answer("readyz", "shutdown", checks(shutdown="x")) == (
        503,
        "internal server error: reason withheld\n",
    )
    assert check_answer("readyz", "bogus", checks()) is None
    assert check_answer("livez", "etcd", checks()) is None


@pytest.mark.parametrize(
    "path", [f"/{e}/{n}" for e, names in ENDPOINT_CHECKS.items() for n in names]
)
def test_every_check_path_is_public(path: str) -> None:
    assert path in PUBLIC_PATHS


def test_no_other_subpath_is_public() -> None:
    assert "/readyz/bogus" not in PUBLIC_PATHS
    assert "/debug/stats" not in PUBLIC_PATHS


def test_etcd_check_reason_carries_the_error() -> None:
    """The logged reason says what etcd answered, not always "unreachable"."""
    error = "Range failed: RESOURCE_EXHAUSTED Received message larger than max"
    proxy = SimpleNamespace(
        reflectors=[
            SimpleNamespace(shard=SimpleNamespace(name="a"), etcd_error=None),
            SimpleNamespace(shard=SimpleNamespace(name="b"), etcd_error=error),
        ],
        served={},
        all_shards=(),
    )
    reason = proxy_checks(cast(Any, proxy), ShutdownState())["etcd"]()
    assert reason == f"etcd failing for shard(s) b ({error})"
