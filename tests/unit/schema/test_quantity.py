"""Quantities as kube parses and stores them (schema/quantity.py; apimachinery quantity.go)."""

from __future__ import annotations

import pytest

from watchproxy.schema.builtin import load
from watchproxy.schema.gotypes import type_error
from watchproxy.schema.quantity import QuantityError, canonical_quantity


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0.5", "500m"),
        ("1.5", "1500m"),
        (1.5, "1500m"),
        (5, "5"),
        ("2000", "2k"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("0.5Ki", "512"),
        ("100Mi", "100Mi"),
        (1073741824, "1073741824"),
        ("1e3", "1e3"),
        ("0.0000000001", "1n"),
        ("0", "0"),
    ],
)
def test_canonical_form(given: str | int | float, stored: str) -> None:
    assert canonical_quantity(given) == stored


def test_parse_errors() -> None:
    with pytest.raises(QuantityError, match="quantities must match the regular expression"):
        canonical_quantity("abc")
    with pytest.raises(QuantityError, match="unable to parse quantity's suffix"):
        canonical_quantity("5Gim")


def test_a_pod_body_stores_canonical_strings() -> None:
    """The Python client refuses numbers where a quantity goes: kube never stores them."""
    defs = load().definitions
    resources = {"requests": {"cpu": 0.5, "memory": 1073741824}, "limits": {"memory": "1024Mi"}}
    pod = {"spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}}
    assert type_error(pod, defs["io.k8s.api.core.v1.Pod"], defs) is None
    assert resources == {
        "requests": {"cpu": "500m", "memory": "1073741824"},
        "limits": {"memory": "1Gi"},
    }
