"""Per-write CPU of the custom resource schema engine (watchproxy/schema/structural.py),
in-process, no network:

    .venv/bin/python -m bench.crd_validation [--n 2000] [--rounds 5]

One realistic custom resource (about 40 fields: a spec of scalars, enums, nested objects, a
labels-like map, a list-type=map list of 10 items; a status), written as kube writes it:
prune -> default -> validate. Prints microseconds per object, medians of `--rounds` rounds of
`--n` objects each, for:

* the schema alone (jsonschema-rs) and the same schema with 3 CEL rules (one on the spec, one
  over the 10 items, one on each item: 12 evaluations per object);
* the same pipeline with the pure-Python `jsonschema` package validating the same converted
  schema instead of jsonschema-rs, as the baseline;
* the steps on their own (prune, default, schema validation, CEL).

Objects are deep-copied before each round (prune and default mutate them); the copies are not
timed. Results also go to bench/results/crd-validation-<time>.json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; a bench-only baseline

from bench.runinfo import machine_info, run_header, save_results
from watchproxy.schema.structural import CustomResourceSchema
from watchproxy.schema.validation import to_json_schema

JsonObject = dict[str, Any]

RULES = [
    {
        "rule": "self.replicas <= self.maxReplicas",
        "message": "replicas must not exceed maxReplicas",
    },
    {"rule": "self.ports.all(p, p.port > 0 && p.port < 65536)", "message": "bad port"},
]
ITEM_RULE = [{"rule": "self.name.size() <= 15 && self.protocol != ''"}]

STR = {"type": "string", "maxLength": 253}
INT = {"type": "integer", "minimum": 0}


def crd_schema(with_cel: bool) -> JsonObject:
    """A typical operator CRD version schema."""
    item: JsonObject = {
        "type": "object",
        "required": ["name", "port"],
        "properties": {
            "name": STR,
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"], "default": "TCP"},
            "appProtocol": STR,
        },
    }
    if with_cel:
        item["x-kubernetes-validations"] = ITEM_RULE
    spec: JsonObject = {
        "type": "object",
        "required": ["image", "replicas"],
        "properties": {
            "image": {"type": "string", "pattern": "^[a-z0-9./:-]+$"},
            "imagePullPolicy": {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]},
            "replicas": INT,
            "maxReplicas": {"type": "integer", "default": 10},
            "paused": {"type": "boolean", "default": False},
            "serviceAccountName": STR,
            "priorityClassName": STR,
            "schedulerName": {"type": "string", "default": "default-scheduler"},
            "revisionHistoryLimit": {"type": "integer", "default": 10},
            "minReadySeconds": INT,
            "labels": {"type": "object", "additionalProperties": STR},
            "resources": {
                "type": "object",
                "properties": {
                    "cpu": {"x-kubernetes-int-or-string": True},
                    "memory": {"x-kubernetes-int-or-string": True},
                    "ephemeralStorage": {"x-kubernetes-int-or-string": True},
                },
            },
            "strategy": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["RollingUpdate", "Recreate"]},
                    "maxSurge": {"x-kubernetes-int-or-string": True},
                    "maxUnavailable": {"x-kubernetes-int-or-string": True},
                },
            },
            "probe": {
                "type": "object",
                "properties": {
                    "path": STR,
                    "port": INT,
                    "periodSeconds": {"type": "integer", "default": 10},
                    "timeoutSeconds": {"type": "integer", "default": 1},
                    "failureThreshold": {"type": "integer", "default": 3},
                },
            },
            "ports": {
                "type": "array",
                "maxItems": 64,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": item,
            },
            "env": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": STR, "value": STR}},
            },
        },
    }
    if with_cel:
        spec["x-kubernetes-validations"] = RULES
    status = {
        "type": "object",
        "properties": {
            "readyReplicas": INT,
            "observedGeneration": INT,
            "phase": STR,
            "conditions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"type": STR, "status": STR, "reason": STR},
                },
            },
        },
    }
    return {"type": "object", "properties": {"spec": spec, "status": status}}


def custom_resource() -> JsonObject:
    return {
        "apiVersion": "apps.example.com/v1",
        "kind": "WebApp",
        "metadata": {"name": "shop", "namespace": "team-a", "labels": {"app": "shop"}},
        "spec": {
            "image": "registry.example.com/shop:1.2.3",
            "imagePullPolicy": "IfNotPresent",
            "replicas": 3,
            "serviceAccountName": "shop",
            "priorityClassName": "high",
            "minReadySeconds": 5,
            "labels": {"tier": "web", "team": "a", "env": "prod"},
            "resources": {"cpu": "500m", "memory": "512Mi", "ephemeralStorage": 1024},
            "strategy": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": 1},
            "probe": {"path": "/healthz", "port": 8080},
            "ports": [
                {"name": f"port-{i}", "port": 8000 + i, "appProtocol": "http"} for i in range(10)
            ],
            "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
        },
        "status": {"readyReplicas": 3, "observedGeneration": 4, "phase": "Running"},
    }


class PurePythonSchema(CustomResourceSchema):
    """The same engine, validating with the `jsonschema` package (pure Python): the baseline."""

    def __init__(self, openapi_v3_schema: JsonObject) -> None:
        super().__init__(openapi_v3_schema)
        self._py = jsonschema.Draft7Validator(to_json_schema(openapi_v3_schema))

    def validate(self, obj: JsonObject, old: JsonObject | None) -> list[tuple[str, str, str]]:
        # Valid objects only in this bench: the error mapping never runs in either variant.
        errors = list(self._py.iter_errors(obj))
        return [("FieldValueInvalid", "", e.message) for e in errors]


def per_object(step: Callable[[JsonObject], object], n: int, rounds: int) -> float:
    """Median over rounds of microseconds per call of step(copy of the CR)."""
    times = []
    for _ in range(rounds):
        objects = [custom_resource() for _ in range(n)]
        began = time.perf_counter()
        for obj in objects:
            step(obj)
        times.append((time.perf_counter() - began) / n * 1e6)
    return float(statistics.median(times))


def write_path(schema: CustomResourceSchema) -> Callable[[JsonObject], object]:
    def step(obj: JsonObject) -> object:
        schema.prune(obj)
        schema.default(obj)
        causes = schema.validate(obj, None)
        assert not causes, causes
        return causes

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crd_validation", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="objects per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.monotonic()
    info = machine_info()
    plain, with_cel = (
        CustomResourceSchema(crd_schema(False)),
        CustomResourceSchema(crd_schema(True)),
    )
    baseline = PurePythonSchema(crd_schema(False))
    prepared = custom_resource()
    plain.prune(prepared)
    plain.default(prepared)

    def only(fn: Callable[[JsonObject], object]) -> Callable[[JsonObject], object]:
        return lambda _obj: fn(prepared)

    n, rounds = args.n, args.rounds
    few = max(n // 10, 50)  # the slow variants run fewer objects per round

    def prune_and_default(obj: JsonObject) -> None:
        plain.prune(obj)
        plain.default(obj)

    prune_us = per_object(plain.prune, n, rounds)
    schema_us = per_object(only(lambda o: plain.validate(o, None)), n, rounds)
    figures = {
        "jsonschema_rs_no_cel_us": per_object(write_path(plain), n, rounds),
        "jsonschema_rs_3_cel_rules_us": per_object(write_path(with_cel), few, rounds),
        "pure_python_jsonschema_no_cel_us": per_object(write_path(baseline), few, rounds),
        "prune_us": prune_us,
        "default_us": per_object(prune_and_default, n, rounds) - prune_us,
        "schema_validate_rs_us": schema_us,
        "schema_validate_pure_python_us": per_object(
            only(lambda o: baseline.validate(o, None)), few, rounds
        ),
        "cel_only_us": per_object(only(lambda o: with_cel.validate(o, None)), few, rounds)
        - schema_us,
    }
    rows = [
        ("prune + default + validate, jsonschema-rs, no CEL", "jsonschema_rs_no_cel_us"),
        ("prune + default + validate, jsonschema-rs, 3 CEL rules", "jsonschema_rs_3_cel_rules_us"),
        ("prune + default + validate, pure-Python jsonschema", "pure_python_jsonschema_no_cel_us"),
        ("  prune", "prune_us"),
        ("  default", "default_us"),
        ("  schema validation, jsonschema-rs", "schema_validate_rs_us"),
        ("  schema validation, pure-Python jsonschema", "schema_validate_pure_python_us"),
        ("  the 3 CEL rules (12 evaluations)", "cel_only_us"),
    ]
    print(run_header(info, started))
    fields = count_fields(custom_resource())
    print(f"a CR of {fields} fields with a list of 10 items; us per object, medians of {rounds}")
    for label, key in rows:
        print(f"  {label:<58} {figures[key]:9.1f}")
    path = save_results("crd-validation", {"machine": info, "args": vars(args), "figures": figures})
    print(f"results: {path}")
    return 0


def count_fields(value: Any) -> int:
    """Leaf values and objects, excluding list items' repeats beyond the first."""
    if isinstance(value, dict):
        return sum(1 + count_fields(v) for v in value.values())
    if isinstance(value, list):
        return count_fields(value[0]) if value else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
