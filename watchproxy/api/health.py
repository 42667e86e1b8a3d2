"""`/healthz`, `/livez` and `/readyz` as kube-apiserver answers them
(staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go): plain `ok`; `?verbose` lists each
check (`[+]ping ok`, `[-]etcd failed: reason withheld`) and ends with `readyz check passed`;
`?exclude=NAME` (repeatable) skips a check; `/readyz/NAME` runs one check; an unknown check is a
404. Failures always answer the verbose list, ending `readyz check failed`.

Differences from kube: a failure is 503 (kube: 500), which load balancers read the same way and
which says "try another replica"; the per-check paths are public like the root ones
(api/guard.py PUBLIC_PATHS), so their failure reason is withheld too and written to the log
instead. `/livez` does not include `etcd`: an etcd outage is not cured by restarting the proxy
(its reflectors resume on their own), and restarting every replica at once would turn the
outage into a relist storm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

if TYPE_CHECKING:
    from watchproxy.proxy import Proxy

log = logging.getLogger("watchproxy.health")

# A check answers None when healthy, else the reason (for the log only).
Check = Callable[[], "str | None"]

# Every check name any endpoint serves (api/guard.py makes /<endpoint>/<name> public).
CHECK_NAMES: Final = ("ping", "log", "etcd", "informer-sync", "shutdown")
ENDPOINT_CHECKS: Final = {
    "livez": ("ping", "log"),
    "healthz": ("ping", "log", "etcd"),
    "readyz": ("ping", "log", "etcd", "informer-sync", "shutdown"),
}
# A failure: 503 (see the module docstring).
FAILED: Final = 503
_HEADERS: Final = {"X-Content-Type-Options": "nosniff"}
_TEXT: Final = "text/plain; charset=utf-8"


@dataclass
class ShutdownState:
    """Set on SIGTERM (serving/server.py) before anything else happens: /readyz fails at once."""

    requested: bool = False


def _ping() -> str | None:
    return None


def _log() -> str | None:
    """The log can still be written: no handler of the root logger has a closed stream."""
    for handler in logging.getLogger().handlers:
        stream = getattr(handler, "stream", None)
        if stream is not None and getattr(stream, "closed", False):
            return f"log handler {handler!r} has a closed stream"
    return None


def proxy_checks(proxy: Proxy, shutdown: ShutdownState) -> dict[str, Check]:
    """The checks of one process, by name."""

    def etcd() -> str | None:
        # The reflector's last error as etcd reported it: not always "unreachable" (a response
        # over the size limit, no leader, ...), and the log reader needs to tell these apart.
        failing = [
            f"{r.shard.name} ({r.etcd_error})" for r in proxy.reflectors if r.etcd_error is not None
        ]
        if failing:
            return "etcd failing for shard(s) " + ", ".join(failing)
        return None

    def informer_sync() -> str | None:
        behind = [
            key for key, served in proxy.served.items() if not served.cache.ready(proxy.all_shards)
        ]
        if behind:
            return f"caches not listed yet: {', '.join(map(str, behind[:5]))}"
        return None

    def shutting_down() -> str | None:
        return "process is shutting down" if shutdown.requested else None

    return {
        "ping": _ping,
        "log": _log,
        "etcd": etcd,
        "informer-sync": informer_sync,
        "shutdown": shutting_down,
    }


def _quoted(names: Iterable[str]) -> str:
    return ",".join(f'"{n}"' for n in names)


def root_answer(
    endpoint: str, checks: dict[str, Check], query: list[tuple[str, str]]
) -> tuple[int, str]:
    """(status, body) of `/<endpoint>` with `query` (healthz.go handleRootHealth)."""
    excluded = [v for k, v in query if k == "exclude"]
    unmatched = list(dict.fromkeys(excluded))
    lines: list[str] = []
    failed: list[str] = []
    details: list[str] = []
    for name in ENDPOINT_CHECKS[endpoint]:
        if name in unmatched:
            unmatched.remove(name)
            lines.append(f"[+]{name} excluded: ok\n")
            continue
        reason = checks[name]()
        if reason is None:
            lines.append(f"[+]{name} ok\n")
        else:
            # The endpoint is public: no reason in the answer, the log has it.
            lines.append(f"[-]{name} failed: reason withheld\n")
            details.append(f"[-]{name} failed: {reason}")
            failed.append(name)
    if unmatched:
        lines.append(
            f"warn: some health checks cannot be excluded: no matches for {_quoted(unmatched)}\n"
        )
    if failed:
        log.info("%s check failed: %s: %s", ",".join(failed), endpoint, "; ".join(details))
        return FAILED, "".join(lines) + f"{endpoint} check failed\n"
    if not any(k == "verbose" for k, _ in query):
        return 200, "ok"
    return 200, "".join(lines) + f"{endpoint} check passed\n"


def check_answer(endpoint: str, name: str, checks: dict[str, Check]) -> tuple[int, str] | None:
    """(status, body) of `/<endpoint>/<name>`; None for a check the endpoint does not have."""
    if name not in ENDPOINT_CHECKS[endpoint]:
        return None
    reason = checks[name]()
    if reason is None:
        return 200, "ok"
    log.info("%s check failed: %s: %s", name, endpoint, reason)
    return FAILED, "internal server error: reason withheld\n"


def add_health_routes(ops: FastAPI, checks: dict[str, Check]) -> None:
    """GET /healthz, /livez, /readyz and their /<check> paths on `ops`."""
    from starlette.exceptions import HTTPException

    def text(status: int, body: str) -> PlainTextResponse:
        return PlainTextResponse(body, status, headers=_HEADERS, media_type=_TEXT)

    def routes(endpoint: str) -> None:
        def root(request: Request) -> PlainTextResponse:
            return text(*root_answer(endpoint, checks, request.query_params.multi_items()))

        def one(check: str) -> PlainTextResponse:
            answer = check_answer(endpoint, check, checks)
            if answer is None:
                raise HTTPException(404)
            return text(*answer)

        ops.add_api_route(f"/{endpoint}", root, methods=["GET"], include_in_schema=False)
        ops.add_api_route(f"/{endpoint}/{{check}}", one, methods=["GET"], include_in_schema=False)

    for endpoint in ENDPOINT_CHECKS:
        routes(endpoint)
