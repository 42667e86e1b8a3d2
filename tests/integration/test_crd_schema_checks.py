"""A CRD's schema checked when it is written, and its defaults applied on read, through a real
`watchproxy serve` on real etcd (kube: apiextensions validation.go -- defaults validated
against the schema, CEL cost estimate, CEL compile errors -- and customresource_handler.go's
storage codec, which prunes and defaults objects decoded from etcd)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import make_namespace
from tests.integration.test_crd import wait_for

pytestmark = [pytest.mark.etcd]

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crd(plural: str, spec: dict[str, Any]) -> dict[str, Any]:
    kind = plural[:-1].capitalize()
    schema = {"type": "object", "properties": {"spec": {"type": "object", **spec}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.checks.example.com"},
        "spec": {
            "group": "checks.example.com",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def causes(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(c["reason"], c["field"]) for c in response.json()["details"]["causes"]]


def test_bad_defaults_costly_and_deep_rules_are_refused(api: httpx.Client) -> None:
    at = "spec.versions[0].schema.openAPIV3Schema.properties[spec]"
    bad = {"properties": {"s": {"type": "string", "default": 5}}}
    assert causes(api.post(CRDS, json=crd("baddefaults", bad))) == [
        ("FieldValueTypeInvalid", f"{at}.properties[s].default")
    ]
    rule = "self.s.replace('a', self.s).replace('a', self.s).size() > 0"
    costly = {"properties": {"s": {"type": "string"}}, "x-kubernetes-validations": [{"rule": rule}]}
    assert causes(api.post(CRDS, json=crd("costlies", costly))) == [
        ("FieldValueForbidden", f"{at}.x-kubernetes-validations[0].rule")
    ]
    deep = {"x-kubernetes-validations": [{"rule": "(" * 1000 + "true" + ")" * 1000}]}
    response = api.post(CRDS, json=crd("deeps", deep))
    assert causes(response) == [("FieldValueInvalid", f"{at}.x-kubernetes-validations[0].rule")]
    assert "expression recursion limit exceeded" in response.text


def test_a_default_added_to_the_schema_is_served_on_read(api: httpx.Client) -> None:
    make_namespace(api, "read-defaults")
    body = crd("readdefaults", {"properties": {"a": {"type": "string"}}})
    assert api.post(CRDS, json=body).status_code == 201, body
    objects = "/apis/checks.example.com/v1/namespaces/read-defaults/readdefaults"
    item = {"apiVersion": "checks.example.com/v1", "kind": "Readdefault", "spec": {"a": "x"}}
    item["metadata"] = {"name": "one"}
    wait_for(lambda: api.post(objects, json=item).status_code == 201, "the CR to be created")
    current = api.get(f"{CRDS}/readdefaults.checks.example.com").json()
    spec = current["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["d"] = {"type": "integer", "default": 42}
    put = api.put(f"{CRDS}/readdefaults.checks.example.com", json=current)
    assert put.status_code == 200, put.text

    def served_with_default() -> bool:
        got = api.get(f"{objects}/one").json()
        return bool(got.get("spec") == {"a": "x", "d": 42})

    wait_for(served_with_default, "GET to show the new default")
    assert [i["spec"] for i in api.get(objects).json()["items"]] == [{"a": "x", "d": 42}]
    api.delete(f"{CRDS}/readdefaults.checks.example.com")
