"""The one place errors become Kubernetes `Status` bodies: HTTP responses before a stream
starts, in-band ERROR events after it has.

Bodies are metav1.Status with kube's field order (kind, apiVersion, metadata, status, message,
reason, details, code). The answers about resourceVersion positions are kube's, word for word:

- too old, WATCH (in-band, HTTP 200): `too old resource version: N (M)`, M the oldest position a
  watch can start from (cacher/watch_cache_history.go `getAllEventsSinceLocked`);
- too old, LIST: `The resourceVersion for the provided list is too old.`; a continue token:
  the inconsistent-continue message with a fresh `metadata.continue` (storage/etcd3/errors.go);
- too new (GET/LIST, in-band for WatchList): 504 Timeout, `Timeout: Too large resource version:
  N, current: M`, cause ResourceVersionTooLarge, retryAfterSeconds 1 (storage/errors.go
  `NewTooLargeResourceVersionError`, apimachinery/pkg/api/errors/errors.go `NewTimeoutError`).
"""

from __future__ import annotations

from typing import Any

import orjson

from watchproxy.core.errors import ProxyError, ResourceExpired
from watchproxy.etcd.client import EtcdRequestTooLarge

# storage/errors.go: tooLargeResourceVersionCauseMsg, metav1.CauseTypeResourceVersionTooLarge.
# storage/etcd3/errors.go
LIST_EXPIRED = "The resourceVersion for the provided list is too old."
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


class ApiError(ProxyError):
    """An error with an explicit HTTP code and Status reason (client mistakes, conflicts...)."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
        list_meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code
        self.reason = reason
        self.details = details
        self.list_meta = list_meta  # the Status's `metadata` (e.g. a fresh `continue`)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def etcd_unavailable(exc: Exception) -> ApiError:
    """An etcd failure as a Status: 503 for a shard that cannot be read or written
    (storage/errors/storage.go), 413 RequestEntityTooLarge for an object etcd refuses by size
    (retrying cannot help, and the shard is fine)."""
    if isinstance(exc, EtcdRequestTooLarge):
        return ApiError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: the object is larger than the etcd shard accepts "
            "(etcdserver: request is too large)",
        )
    return ApiError(503, "ServiceUnavailable", f"etcd shard unavailable: {exc}")


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        404,
        "NotFound",
        f'{qualified} "{name}" not found',
        details={"name": name, "group": group, "kind": resource},
    )


def invalid(kind: str, name: str, causes: list[tuple[str, str, str]], group: str = "") -> ApiError:
    """422 Invalid; causes are (reason, field, message) as apimachinery's field errors."""
    text = ", ".join(f"{f}: {m}" for _, f, m in causes)
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(
        422,
        "Invalid",
        f'{qualified} "{name}" is invalid: {text}',
        details={
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [{"reason": r, "field": f, "message": m} for r, f, m in causes],
        },
    )


def too_old_resource_version(requested: str, oldest: str) -> ResourceExpired:
    """410 Expired for a watch that starts before the history: `requested` as the client gave
    it (plain) or as this view reads it, `oldest` the oldest position a watch can start from."""
    return ResourceExpired(f"too old resource version: {requested} ({oldest})")


def list_expired() -> ApiError:
    """410 Expired for a LIST at a resourceVersion no longer readable (etcd3/errors.go)."""
    return ApiError(410, "Expired", LIST_EXPIRED)


def continue_expired(token: str) -> ApiError:
    """410 Expired for a continue token no longer readable; `token` continues the same list
    at the latest state (etcd3/errors.go `handleCompactedErrorForPaging`)."""
    return ApiError(410, "Expired", CONTINUE_EXPIRED, list_meta={"continue": token})


def not_acceptable(message: str) -> ApiError:
    """406 NotAcceptable (endpoints/handlers/negotiation/errors.go, handlers/response.go)."""
    return ApiError(406, "NotAcceptable", message)


def status_body(error: ProxyError) -> dict[str, Any]:
    """metav1.Status for `error`: `{kind, apiVersion, metadata, status: Failure, message, reason,
    details?, code}`; details carry `causes` and `retryAfterSeconds` when set."""
    details = dict(error.details or {})
    if error.retry_after is not None:
        details["retryAfterSeconds"] = error.retry_after
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": dict(getattr(error, "list_meta", None) or {}),
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
    }
    if details:
        body["details"] = details
    body["code"] = error.code
    return body


def status_bytes(error: ProxyError) -> bytes:
    return orjson.dumps(status_body(error))


def error_line(error: ProxyError) -> bytes:
    """An in-band watch ERROR event carrying the Status."""
    return b'{"type":"ERROR","object":' + status_bytes(error) + b"}\n"


def expired_line(message: str) -> bytes:
    return error_line(ApiError(410, "Expired", message))


def success_status(details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
    }
    if details:
        body["details"] = details
    return orjson.dumps(body)
