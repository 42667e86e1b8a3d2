"""Tests for api/printers_admission.py: the webhook configurations' printers in kube's
printers.go and kube-aggregator's APIService table (Name, Service, Available, Age).
"""

from __future__ import annotations

from watchproxy.api.printers_admission import KINDS

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"


def test_webhook_configurations_count_webhooks() -> None:
    obj = {"metadata": {"name": "hooks", "creationTimestamp": CREATED}, "webhooks": [{}, {}]}
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        columns, printer = KINDS[("admissionregistration.k8s.io", kind)]
        assert [(c["name"], c["type"]) for c in columns] == [
            ("Name", "string"), ("Webhooks", "integer"), ("Age", "string")
        ]  # fmt: skip
        assert printer(obj, T0) == ["hooks", 2, "60m"]


def test_api_service() -> None:
    columns, printer = KINDS[("apiregistration.k8s.io", "APIService")]
    assert [c["name"] for c in columns] == ["Name", "Service", "Available", "Age"]
    local = {
        "metadata": {"name": "v1.apps", "creationTimestamp": CREATED},
        "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]},
    }
    assert printer(local, T0) == ["v1.apps", "Local", "True", "60m"]
    remote = {
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
        "status": {"conditions": [
            {"type": "Available", "status": "False", "reason": "MissingEndpoints"}]},
    }  # fmt: skip
    assert printer(remote, T0)[1:3] == ["kube-system/metrics-server", "False (MissingEndpoints)"]
    assert printer({}, T0)[2] == "Unknown"
