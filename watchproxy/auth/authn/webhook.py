"""The TokenReview webhook (`--authentication-token-webhook-*`), with kube's result cache.

Sources: apiserver/plugin/pkg/authenticator/token/webhook/webhook.go (request, audiences,
answer), apiserver/pkg/authentication/token/cache/cached_token_authenticator.go (cache) and
pkg/kubeapiserver/authenticator/config.go (`tokencache.New(webhook, false, ttl, ttl)`).

Cache, as kube's: keyed by an HMAC-SHA256 (random per-process key) of the token and the
requested audiences, so tokens are not kept in memory; answers of the webhook are kept
`cache_ttl_seconds`, the authenticated ones *and* the refusals (kube passes the same TTL for
success and failure; `failure_ttl_seconds` may shorten the latter); errors (transport, timeout,
non-2xx, unreadable answer, `status.error` without `authenticated`) are not cached (kube's
cacheErrs=false), so the next request asks again. Concurrent requests for the same uncached key
share one call (kube's singleflight group); a caller that is cancelled does not cancel it.

Not done: kube retries a failed call with exponential backoff (DefaultAuthWebhookRetryBackoff:
500 ms, factor 1.5, 5 steps); here one call is made per miss and an error refuses the token.
Only `authentication.k8s.io/v1` is spoken.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import ssl
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from watchproxy.auth.authn.errors import AuthenticationError, TokenResponse
from watchproxy.auth.settings import WebhookSettings
from watchproxy.auth.user import UserInfo

log = logging.getLogger(__name__)

# cached_token_authenticator.go: a 32k-entry cache is "a 2x safety margin" for 5k nodes.
DEFAULT_MAX_ENTRIES = 32 * 1024


@dataclass(frozen=True, slots=True)
class _Record:
    response: TokenResponse | None
    error: str | None = None


class _Malformed(ValueError):
    pass


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Malformed(f"{where}: must be a list of strings")
    return tuple(value)


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{where}: must be a string")
    return value


def _user(value: Any) -> UserInfo:
    """status.user (authentication.k8s.io/v1 UserInfo)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _Malformed("status.user: must be an object")
    extra_in = value.get("extra")
    extra: dict[str, tuple[str, ...]] = {}
    if extra_in is not None:
        if not isinstance(extra_in, dict):
            raise _Malformed("status.user.extra: must be an object")
        for key, values in extra_in.items():
            extra[key] = _strings(values, f"status.user.extra[{key}]")
    return UserInfo(
        _string(value.get("username"), "status.user.username"),
        _string(value.get("uid"), "status.user.uid"),
        _strings(value.get("groups"), "status.user.groups"),
        extra,
    )


def _ssl_context(settings: WebhookSettings) -> ssl.SSLContext:
    """The webhook's CA (`ca_file`, else the system's) and our client certificate, if any."""
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.cert_file:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    return context


class WebhookTokenAuthenticator:
    """Asks a TokenReview webhook who a token belongs to, through kube's cache.

    `api_audiences` are kube's implicit audiences: a webhook answer without status.audiences is
    taken to be for them. `clock` (monotonic seconds) and `transport` (an httpx transport) are
    for tests. Close with `aclose()`.
    """

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        api_audiences: Sequence[str] = (),
        failure_ttl_seconds: float | None = None,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = settings.url
        self._implicit = tuple(api_audiences)
        self._success_ttl = settings.cache_ttl_seconds
        self._failure_ttl = (
            settings.cache_ttl_seconds if failure_ttl_seconds is None else failure_ttl_seconds
        )
        self._max_entries = max_entries
        self._clock = clock
        self._hmac_key = os.urandom(32)
        self._cache: dict[bytes, tuple[float, _Record]] = {}
        self._inflight: dict[bytes, asyncio.Task[_Record]] = {}
        verify: ssl.SSLContext | bool = (
            _ssl_context(settings) if settings.url.startswith("https:") else True
        )
        self._client = httpx.AsyncClient(
            verify=verify, timeout=settings.timeout_seconds, transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def authenticate(self, token: str, audiences: Sequence[str] = ()) -> UserInfo | None:
        """The user the webhook says `token` is, or None (refused, or the webhook failed)."""
        try:
            response = await self.authenticate_token(token, audiences)
        except AuthenticationError:
            return None
        return None if response is None else response.user

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResponse | None:
        """webhook.go AuthenticateToken behind the cache. `audiences`: what the request is for;
        None or empty: not audience-limited (kube's context without audiences). None when the
        webhook refuses; AuthenticationError when the webhook failed or answered `status.error`.
        """
        auds = tuple(audiences) if audiences else None
        key = self._key(token, auds)
        entry = self._cache.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                return self._answer(entry[1])
            del self._cache[key]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(key, token, auds))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return self._answer(await asyncio.shield(task))

    def cached_entries(self) -> int:
        """How many answers the cache holds (expired ones included until looked up)."""
        return len(self._cache)

    @staticmethod
    def _answer(record: _Record) -> TokenResponse | None:
        if record.error is not None:
            raise AuthenticationError(record.error)
        return record.response

    def _forget(self, key: bytes, task: asyncio.Task[_Record]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]

    def _key(self, token: str, audiences: tuple[str, ...] | None) -> bytes:
        """cached_token_authenticator.go keyFunc: length-prefixed token and audiences."""
        mac = hmac.new(self._hmac_key, digestmod=hashlib.sha256)
        raw = token.encode()
        mac.update(struct.pack(">I", len(raw)) + raw)
        auds = audiences or ()
        mac.update(struct.pack(">I", len(auds)))
        for aud in auds:
            data = aud.encode()
            mac.update(struct.pack(">I", len(data)) + data)
        return mac.digest()

    async def _fetch(self, key: bytes, token: str, audiences: tuple[str, ...] | None) -> _Record:
        record = await self._review(token, audiences)
        if record.error is None:
            ttl = self._success_ttl if record.response is not None else self._failure_ttl
            if ttl > 0:
                self._store(key, record, ttl)
        return record

    def _store(self, key: bytes, record: _Record, ttl: float) -> None:
        now = self._clock()
        if len(self._cache) >= self._max_entries:
            for stale in [k for k, (expires, _) in self._cache.items() if expires <= now]:
                del self._cache[stale]
            while len(self._cache) >= self._max_entries:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = (now + ttl, record)

    async def _review(self, token: str, audiences: tuple[str, ...] | None) -> _Record:
        spec: dict[str, Any] = {"token": token}
        if audiences:
            spec["audiences"] = list(audiences)
        body = orjson.dumps(
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "metadata": {"creationTimestamp": None},
                "spec": spec,
                "status": {"user": {}},
            }
        )
        try:
            reply = await self._client.post(
                self.url,
                content=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except (httpx.HTTPError, OSError) as exc:
            # OSError: an ssl.SSLError (a TLS 1.3 alert after the handshake) can escape httpx.
            return self._failed(f"Post {self.url}: {type(exc).__name__}: {exc}")
        if not 200 <= reply.status_code < 300:
            return self._failed(
                f"Post {self.url}: the server responded with the status code {reply.status_code}"
            )
        try:
            return self._parse(orjson.loads(reply.content), audiences)
        except (orjson.JSONDecodeError, _Malformed) as exc:
            return self._failed(f"Post {self.url}: unreadable TokenReview: {exc}")

    def _failed(self, message: str) -> _Record:
        # Never the token: the messages name the URL and what went wrong.
        log.warning("Failed to make webhook authenticator request: %s", message)
        return _Record(None, message)

    def _parse(self, data: Any, audiences: tuple[str, ...] | None) -> _Record:
        if not isinstance(data, dict):
            raise _Malformed("not an object")
        status = data.get("status")
        if status is None:
            status = {}
        if not isinstance(status, dict):
            raise _Malformed("status: must be an object")
        authenticated = status.get("authenticated", False)
        if not isinstance(authenticated, bool):
            raise _Malformed("status.authenticated: must be true or false")
        got = _strings(status.get("audiences"), "status.audiences")
        error = _string(status.get("error"), "status.error")
        user = _user(status.get("user"))
        auds: tuple[str, ...] = ()
        if audiences is not None:
            accepted = got or self._implicit
            auds = tuple(a for a in audiences if a in accepted)
            if not auds:
                return _Record(None)
        if not authenticated:
            if error:
                log.info("TokenReview webhook refused a token: %s", error)
                return _Record(None, error)
            return _Record(None)
        return _Record(TokenResponse(user, auds))
