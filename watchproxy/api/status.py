"""The one place errors become Kubernetes `Status` bodies: HTTP responses before a stream
starts, in-band ERROR events after it has."""

from __future__ import annotations

from typing import Any

import orjson

from watchproxy.core.errors import ProxyError


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
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code
        self.reason = reason
        self.details = details


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


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


def status_body(error: ProxyError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "code": error.code,
    }
    details = dict(getattr(error, "details", None) or {})
    if error.retry_after is not None:
        details["retryAfterSeconds"] = error.retry_after
    if details:
        body["details"] = details
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
