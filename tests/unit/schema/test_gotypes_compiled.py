"""The compiled type check (schema/gotypes_compiled.py) decides as the reference walk
(gotypes.reference_type_error) does: on well-typed objects, and on thousands of objects with
one value replaced by one of another JSON type, every verdict and every canonicalized quantity
is the same."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from bench.field_validation_cost import CONTAINER, POD_SPEC
from watchproxy.schema.builtin import load
from watchproxy.schema.gotypes import reference_type_error, type_error
from watchproxy.schema.gotypes_compiled import compiled_for

DEFS = load().definitions
POD = "io.k8s.api.core.v1.Pod"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
CRD = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"

AT = "2026-01-01T00:00:00Z"
REPLACEMENTS: list[Any] = [
    "x", "100m", "1.5Gi", "bad quantity", 7, -(2**40), 2**40, 2**63, 1.5, True, False,
    None, [], [1, "a"], {}, {"a": 1}, {"name": "n"},
]  # fmt: skip


def objects() -> dict[str, dict[str, Any]]:
    status = {
        "phase": "Running",
        "podIP": "10.0.0.1",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": AT}],
        "containerStatuses": [
            {"name": "c", "ready": True, "restartCount": 1, "image": "i", "imageID": "",
             "state": {"running": {"startedAt": AT}}},
        ],
    }  # fmt: skip
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "labels": {"a": "b"},
            "managedFields": [{"manager": "m", "fieldsV1": {"f:x": {}}}],
        },
        "spec": copy.deepcopy(POD_SPEC),
        "status": status,
    }  # fmt: skip
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "a"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": copy.deepcopy(POD_SPEC)},
        },
    }
    crd = {
        "metadata": {"name": "things.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "things", "kind": "Thing"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "default": {}}},
                        }
                    },
                }
            ],
        },
    }  # fmt: skip
    return {POD: pod, DEPLOYMENT: deployment, CRD: crd}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside `value` (dict keys and list indices)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def replaced(obj: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = copy.deepcopy(new)
    return out


def verdicts(name: str, obj: dict[str, Any]) -> tuple[bool, Any, str | None, Any]:
    """(compiled fits, object after it, reference error, object after that)."""
    fast, slow = copy.deepcopy(obj), copy.deepcopy(obj)
    fits = compiled_for(DEFS).fits(fast, DEFS[name])
    error = reference_type_error(slow, DEFS[name], DEFS)
    return fits, fast, error, slow


@pytest.mark.parametrize("name", [POD, DEPLOYMENT, CRD])
def test_well_typed_objects_fit_and_quantities_are_canonical_alike(name: str) -> None:
    obj = objects()[name]
    fits, fast, error, slow = verdicts(name, obj)
    assert fits and error is None
    assert fast == slow
    assert type_error(copy.deepcopy(obj), DEFS[name], DEFS) is None


@pytest.mark.parametrize("name", [POD, DEPLOYMENT, CRD])
def test_every_one_value_change_gets_the_reference_verdict(name: str) -> None:
    obj = objects()[name]
    rng = random.Random(20261207)
    checked = misfits = 0
    for path in paths(obj):
        for new in rng.sample(REPLACEMENTS, 6):
            changed = replaced(obj, path, new)
            fits, fast, error, slow = verdicts(name, changed)
            assert fits == (error is None), (path, new, error)
            if fits:
                assert fast == slow, (path, new)
            else:
                misfits += 1
                assert type_error(copy.deepcopy(changed), DEFS[name], DEFS) == error
            checked += 1
    assert checked > 100 and misfits > 20  # the mutations did reach typed fields


def test_recursive_definitions_compile() -> None:
    """JSONSchemaProps refers to itself (properties of properties)."""
    crd = objects()[CRD]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    inner = {"type": "object", "properties": {"b": {"type": 5}}}
    schema["properties"]["spec"]["properties"] = {"a": inner}
    fits, _, error, _ = verdicts(CRD, crd)
    assert not fits and error is not None and "JSONSchemaProps" in error


def test_container_quantities_are_stored_canonical() -> None:
    pod = objects()[POD]
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 0.5, "memory": "1024Mi"}}
    assert type_error(pod, DEFS[POD], DEFS) is None
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}


_ = CONTAINER  # the body these objects extend (bench/field_validation_cost.py)


@pytest.mark.parametrize(
    ("when", "error"),
    [
        (AT, None),
        ("2026-01-01T00:00:00.123456+02:00", None),
        (None, None),
        ("garbage", 'parsing time "garbage" as "2006-01-02T15:04:05Z07:00"'),
        ("", 'parsing time "" as'),
        ("2026-13-01T00:00:00Z", 'parsing time "2026-13-01T00:00:00Z"'),
        ("2026-01-01 00:00:00Z", 'parsing time "2026-01-01 00:00:00Z"'),
    ],
)
def test_times_parse_as_metav1_time_does(when: Any, error: str | None) -> None:
    """metav1.Time's UnmarshalJSON is time.Parse(time.RFC3339, s): a malformed time in a
    status condition is the decode error kube answers, in both checks."""
    pod = objects()[POD]
    pod["status"]["conditions"][0]["lastTransitionTime"] = when
    schema = {"$ref": f"#/definitions/{POD}"}
    for check in (type_error, reference_type_error):
        found = check(pod, schema, DEFS)
        if error is None:
            assert found is None
        else:
            assert found is not None and error in found
