"""The write path's own CPU, in process: the real `serve_create` and `serve_patch` handlers
(api/writes.py: decode, patch, fieldValidation, managedFields, prepare, validate, encode) over
a real Store whose etcd client is an in-memory fake, with no HTTP server, no gRPC and no ingest:

    .venv/bin/python bench/write_steps.py [--n 2000] [--rounds 5]

Run it with another checkout's code first on the path to measure that code (the script itself
only uses what both sides have): `cd /tmp/wt-base-h4 && PYTHONPATH=$PWD python
/work/main/bench/write_steps.py`. Prints µs of process CPU per create and per status merge patch,
the median of `--rounds` rounds. After each write the watch cache gets the new object outside
the timed part, as the reflector would (the current code reads it; older code ignores it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import orjson

from bench.managed_fields_cost import typical_pod
from watchproxy.api.app import parse_target
from watchproxy.api.writes import serve_create, serve_patch
from watchproxy.config import parse_settings
from watchproxy.core.objects import build_object
from watchproxy.etcd.client import KeyValue, RangeResult, TxnResult
from watchproxy.proxy import Proxy
from watchproxy.registry.store import Store

NS = "bench"


class FakeEtcd:
    """The three calls a create and a patch make, on a dict; revisions as etcd counts them."""

    def __init__(self) -> None:
        self.kvs: dict[bytes, KeyValue] = {}
        self.revision = 1

    async def range(self, key: bytes, range_end: bytes | None = None, **_: Any) -> RangeResult:
        kv = self.kvs.get(key)
        return RangeResult(
            kvs=[kv] if kv else [], more=False, count=1, header_revision=self.revision
        )

    async def create(self, key: bytes, value: bytes) -> TxnResult:
        if key in self.kvs:
            return TxnResult(False, self.revision, self.kvs[key])
        self.revision += 1
        self.kvs[key] = KeyValue(key, value, self.revision, self.revision, 1)
        return TxnResult(True, self.revision, self.kvs[key])

    async def update(self, key: bytes, value: bytes, *, expected_mod_revision: int) -> TxnResult:
        old = self.kvs.get(key)
        if old is None or old.mod_revision != expected_mod_revision:
            return TxnResult(False, self.revision, old)
        self.revision += 1
        self.kvs[key] = KeyValue(key, value, old.create_revision, self.revision, old.version + 1)
        return TxnResult(True, self.revision, self.kvs[key])


async def _sink(message: Any) -> None:
    if message["type"] == "http.response.start" and message["status"] >= 300:
        raise RuntimeError(f"status {message['status']}")


def status_body(i: int, rep: int) -> bytes:
    at = f"2026-01-01T00:00:{rep % 60:02d}Z"
    status = {
        "phase": "Running",
        "podIP": f"10.1.0.{i % 250}",
        "conditions": [
            {"type": kind, "status": "True", "lastTransitionTime": at}
            for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": rep, "image": "app:1", "imageID": "",
             "state": {"running": {"startedAt": at}}},
        ],
    }  # fmt: skip
    return json.dumps({"status": status}).encode()


async def run(n: int, rounds: int) -> dict[str, float]:
    proxy = Proxy(parse_settings({"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:9"]}]}))
    fake = FakeEtcd()
    proxy.shards[0].client = fake  # type: ignore[assignment]
    for served in proxy.served.values():
        served.cache.replace(0, [], 1)
    store = Store(proxy)
    namespaces = store.resource("namespaces")
    ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": NS, "uid": "u"}}
    ns["status"] = {"phase": "Active"}
    await fake.create(store.key(0, namespaces, "", NS), orjson.dumps(ns))
    pods = store.resource("pods")
    cache = proxy.cache_of(pods)

    def ingest(name: str) -> None:  # what the reflector would do, untimed
        kv = fake.kvs[store.key(0, pods, NS, name)]
        key = f"{NS}/{name}"
        cache.apply(0, key, build_object(pods, key, kv.value, kv.mod_revision), kv.mod_revision)

    collection = parse_target(proxy, f"/api/v1/namespaces/{NS}/pods")
    assert collection is not None
    results: dict[str, list[float]] = {"create": [], "status": []}
    for rnd in range(rounds):
        spent = 0.0
        for i in range(n):
            pod = typical_pod()
            pod["metadata"].update(name=f"p{rnd}-{i}", namespace=NS)
            body = orjson.dumps(pod)
            began = time.process_time()
            await serve_create(store, collection, b"", body, "application/json", _sink)
            spent += time.process_time() - began
            ingest(f"p{rnd}-{i}")
        results["create"].append(spent / n * 1e6)
        spent = 0.0
        for i in range(n):
            target = parse_target(proxy, f"/api/v1/namespaces/{NS}/pods/p{rnd}-{i}/status")
            assert target is not None
            body = status_body(i, rnd + 1)
            began = time.process_time()
            await serve_patch(store, target, b"", body, "application/merge-patch+json", _sink)
            spent += time.process_time() - began
            ingest(f"p{rnd}-{i}")
        results["status"].append(spent / n * 1e6)
    return {verb: statistics.median(values) for verb, values in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/write_steps.py", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="writes per verb and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for verb, micros in asyncio.run(run(args.n, args.rounds)).items():
        print(f"{verb:8s} {micros:8.1f} µs of CPU per request (median of {args.rounds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
