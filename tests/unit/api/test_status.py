"""Status bodies byte for byte: kube's field order (metav1.Status as encoding/json writes it), so
clients and people diffing against kube-apiserver see the same bytes."""

from __future__ import annotations

from watchproxy.api.status import ApiError, error_line, status_bytes
from watchproxy.core.errors import TooLargeResourceVersion


def test_too_large_resource_version_in_kubes_field_order() -> None:
    body = status_bytes(
        TooLargeResourceVersion("Timeout: Too large resource version", retry_after=1)
    )
    assert body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Timeout: Too large resource version","reason":"Timeout","details":'
        b'{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],'
        b'"retryAfterSeconds":1},"code":504}'
    )


def test_in_band_error_wraps_the_same_status() -> None:
    error = ApiError(410, "Expired", "too old resource version: 5 (9)")
    assert error_line(error) == b'{"type":"ERROR","object":' + status_bytes(error) + b"}\n"
    assert status_bytes(error) == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"too old resource version: 5 (9)","reason":"Expired","code":410}'
    )
