"""Domain errors of the cache core; HTTP-agnostic. api/status.py maps them to Status bodies."""

from __future__ import annotations


class ProxyError(Exception):
    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ResourceExpired(ProxyError):
    code = 410
    reason = "Expired"


class TooLargeResourceVersion(ProxyError):
    code = 504
    reason = "Timeout"


class CacheNotReady(ProxyError):
    code = 429
    reason = "TooManyRequests"


class BackendUnavailable(ProxyError):
    code = 503
    reason = "ServiceUnavailable"
