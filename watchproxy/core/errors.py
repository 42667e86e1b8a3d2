"""Domain errors of the cache core; HTTP-agnostic. api/status.py maps them to Status bodies."""

from __future__ import annotations

from typing import Any


class ProxyError(Exception):
    """`details`: the Status details this error carries besides retryAfterSeconds (name, kind,
    causes...), or None."""

    code = 500
    reason = "InternalError"
    details: dict[str, Any] | None = None

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ResourceExpired(ProxyError):
    code = 410
    reason = "Expired"


class TooLargeResourceVersion(ProxyError):
    """storage.NewTooLargeResourceVersionError: client-go checks the cause to retry the list."""

    code = 504
    reason = "Timeout"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.details = {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ]
        }


class CacheNotReady(ProxyError):
    code = 429
    reason = "TooManyRequests"


class BackendUnavailable(ProxyError):
    code = 503
    reason = "ServiceUnavailable"
