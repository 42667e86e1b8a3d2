"""Server-side printing of admissionregistration.k8s.io/v1 Mutating/ValidatingWebhookConfiguration
(printMutatingWebhook/printValidatingWebhook in kubernetes/pkg/printers/internalversion/
printers.go) and apiregistration.k8s.io/v1 APIService (kube-aggregator's registry/apiservice
table convertor: Name, Service, Available, Age). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import JsonObject, _d, _l, _s, since
from watchproxy.api.printer_defs import AGE, NAME, Kinds, col


def _webhooks(config: JsonObject, now: float) -> list[Any]:
    meta = _d(config.get("metadata"))
    return [
        _s(meta.get("name")),
        len(_l(config.get("webhooks"))),
        since(meta.get("creationTimestamp"), now),
    ]


def _api_service(svc: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(svc.get("metadata")), _d(svc.get("spec"))
    service = spec.get("service")
    where = "Local"
    if isinstance(service, dict):
        where = f"{_s(service.get('namespace'))}/{_s(service.get('name'))}"
    available = "Unknown"
    for condition in map(_d, _l(_d(svc.get("status")).get("conditions"))):
        if condition.get("type") == "Available":
            status, reason = _s(condition.get("status")), _s(condition.get("reason"))
            available = f"{status} ({reason})" if status != "True" and reason else status
            break
    return [_s(meta.get("name")), where, available, since(meta.get("creationTimestamp"), now)]


_WEBHOOK_COLUMNS = (
    NAME,
    col(
        "Webhooks",
        "Webhooks indicates the number of webhooks registered in this configuration",
        "integer",
    ),
    AGE,
)
_A = "admissionregistration.k8s.io"

KINDS: Kinds = {
    (_A, "MutatingWebhookConfiguration"): (_WEBHOOK_COLUMNS, _webhooks),
    (_A, "ValidatingWebhookConfiguration"): (_WEBHOOK_COLUMNS, _webhooks),
    ("apiregistration.k8s.io", "APIService"): (
        (
            NAME,
            col("Service", "The reference to the service that hosts this API endpoint."),
            col("Available", "Whether this service is available."),
            AGE,
        ),
        _api_service,
    ),
}
