"""The kubelet's own Node: the tenant label is the administrators' (registry/admission.py)."""

from __future__ import annotations

import pytest

from watchproxy.registry.admission import _node_tenant_label_change


def node(tenant: str | None) -> dict[str, object]:
    labels = {"kubernetes.io/hostname": "n1"}
    if tenant is not None:
        labels["watchproxy.io/tenant"] = tenant
    return {"metadata": {"name": "n1", "labels": labels}}


@pytest.mark.parametrize(
    ("new", "old", "refused"),
    [
        pytest.param(node("acme"), None, True, id="register with a tenant label"),
        pytest.param(node(None), None, False, id="register shared"),
        pytest.param(node("globex"), node("acme"), True, id="move to another tenant"),
        pytest.param(node(None), node("acme"), True, id="drop the label"),
        pytest.param(node("acme"), node("acme"), False, id="status update keeps it"),
        pytest.param(None, node("acme"), False, id="delete"),
    ],
)
def test_a_kubelet_cannot_choose_its_tenant(
    new: dict[str, object] | None, old: dict[str, object] | None, refused: bool
) -> None:
    answer = _node_tenant_label_change(new, old)
    assert (answer is not None) == refused
    if refused:
        assert answer == "is not allowed to modify labels: watchproxy.io/tenant"
