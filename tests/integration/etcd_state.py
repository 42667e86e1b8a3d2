"""Everything an etcd holds, read with the real etcdctl: to prove a request changed nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from watchproxy.etcd.server import EtcdServer

ETCDCTL = str(Path(sys.executable).parent / "etcdctl")
# (store revision, key -> (mod_revision, value))
ShardState = tuple[int, dict[bytes, tuple[int, bytes]]]


def etcd_state(servers: list[EtcdServer]) -> list[ShardState]:
    """Each shard's store revision and every key with its mod_revision and value."""
    states = []
    for server in servers:
        done = subprocess.run(
            [ETCDCTL, "--endpoints", server.endpoint, "get", "", "--prefix", "-w", "json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        data = json.loads(done.stdout)
        kvs = {
            base64.b64decode(kv["key"]): (int(kv["mod_revision"]), base64.b64decode(kv["value"]))
            for kv in data.get("kvs", [])
        }
        states.append((int(data["header"]["revision"]), kvs))
    return states
