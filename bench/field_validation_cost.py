"""Per-write CPU of fieldValidation (unknown and duplicate fields), in-process, no network:

    .venv/bin/python -m bench.field_validation_cost [--n 5000]

Prints microseconds per call, for a typical Pod (a ReplicaSet's, with the service-account
volume) and Deployment body, of: orjson's parse (every write pays it), the unknown-field walk
(schema/pruning.py, every write of a built-in type), the duplicate-field parse
(api/decoding.py json_duplicates, Strict and Warn only), and the whole Strict/Warn and Ignore
checks as api/writes.py runs them. Medians of 5 rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from watchproxy.api.decoding import check_body, json_duplicates
from watchproxy.resources import ResourceType
from watchproxy.schema.builtin import load
from watchproxy.schema.pruning import unknown_fields

CONTAINER: dict[str, Any] = {
    "name": "nginx",
    "image": "nginx:1.25",
    "imagePullPolicy": "IfNotPresent",
    "ports": [{"containerPort": 80, "protocol": "TCP"}],
    "env": [
        {"name": "A", "value": "1"},
        {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ],
    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}},
    "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10},
    "volumeMounts": [
        {"name": "data", "mountPath": "/data"},
        {"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
    ],
}
POD_SPEC: dict[str, Any] = {
    "containers": [CONTAINER],
    "volumes": [
        {"name": "data", "emptyDir": {}},
        {
            "name": "token",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt"}]}},
                ]
            },
        },
    ],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
    "restartPolicy": "Always",
    "serviceAccountName": "default",
}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-7d4b9c-abcde",
        "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "1"}
        ],
    },
    "spec": POD_SPEC,
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC},
    },
}


def rounds(n: int, body: bytes, step: Callable[[Any], object]) -> float:
    """Median microseconds per `step(fresh object)` over 5 rounds of `n`."""
    times = []
    for _ in range(5):
        objs = [orjson.loads(body) for _ in range(n)]  # fresh: the walk removes fields
        began = time.perf_counter()
        for obj in objs:
            step(obj)
        times.append((time.perf_counter() - began) / n * 1e6)
    return float(statistics.median(times))


def measure(obj: dict[str, Any], group: str, plural: str, n: int) -> dict[str, float]:
    builtin = load()
    kind = str(obj["kind"])
    resource = ResourceType(group, "v1", kind, plural, True, plural)
    schema = builtin.definitions[str(builtin.definition_name(group, "v1", kind))]
    body = orjson.dumps(obj)

    def strict(o: Any) -> object:
        return check_body(resource, "", o, body, "application/json", "Warn")

    def ignore(o: Any) -> object:
        return check_body(resource, "", o, body, "application/json", "Ignore")

    return {
        "orjson.loads": rounds(n, body, lambda _: orjson.loads(body)),
        "unknown_fields walk": rounds(
            n, body, lambda o: unknown_fields(o, schema, builtin.definitions, remove=True)
        ),
        "json_duplicates": rounds(n, body, lambda _: json_duplicates(body)),
        "Strict/Warn check": rounds(n, body, strict),
        "Ignore check": rounds(n, body, ignore),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.field_validation_cost", description=__doc__
    )
    parser.add_argument("--n", type=int, default=5000, help="calls per round")
    n = parser.parse_args(argv).n
    for obj, group, plural in ((POD, "", "pods"), (DEPLOYMENT, "apps", "deployments")):
        results = measure(obj, group, plural, n)
        print(f"{obj['kind']} ({len(orjson.dumps(obj))} bytes of JSON), microseconds per write:")
        for label, micros in results.items():
            print(f"  {label:22s} {micros:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
