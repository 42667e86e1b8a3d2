"""Cluster-scoped names are unique across shards: a name claim, atomic in etcd.

A cluster-scoped object other than a Namespace lives on the shard its tenant label names, so two
replicas (or two requests) could create Node `n1` on two shards at once. Before the object is
written, its creator claims the name with a create-if-absent transaction on one etcd, the
*claim shard* (the default shard):

    {key_prefix}/watchproxy.io/claims/{resource}/{name} = {"shard": ..., "state": "pending"|"bound",
                                                           "since": <unix seconds>}

Create: claim (pending) -> check no other shard already holds the name -> write the object ->
mark the claim bound. Delete: delete the object -> delete the claim if it is bound to this shard.
Losing the claim race is a 409 AlreadyExists, like losing kube's create-if-absent.

Repair after a crash between steps, done by the next create of that name:
- pending claim, object present on its shard (crash after the object write): bind it; 409.
- pending claim older than PENDING_TTL, no object (crash before the write): delete it, retry.
- bound claim whose object is gone (crash between the two deletes): delete it, retry.
- no claim, but the object exists on some shard (pre-claim data, or a claim lost to the above):
  the post-claim check finds it, binds the claim to that shard; 409.
A pending claim younger than PENDING_TTL means a create is in flight: 409 until it finishes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from watchproxy.etcd.client import EtcdClient, KeyValue
from watchproxy.registry.errors import already_exists
from watchproxy.resources import ResourceType

# Longer than any create's etcd round trips; a crashed creator blocks the name this long.
PENDING_TTL = 30.0
ATTEMPTS = 4

Lookup = Callable[[int], Awaitable[KeyValue | None]]


@dataclass(frozen=True)
class Claim:
    key: bytes
    mod_revision: int
    shard_name: str


class NameClaims:
    """Owner: the Store. Concurrency: any request task; every step is one etcd transaction."""

    def __init__(self, *, client: EtcdClient, key_prefix: str, shard_names: tuple[str, ...]):
        self.client = client
        self.prefix = f"{key_prefix}/watchproxy.io/claims/"
        self.shard_names = shard_names

    def key(self, resource: ResourceType, name: str) -> bytes:
        return f"{self.prefix}{resource.key}/{name}".encode()

    async def acquire(self, resource: ResourceType, name: str, shard: int, lookup: Lookup) -> Claim:
        """Claim `name` for `shard`; `lookup(s)` reads the object on shard s (None if absent).
        Raises 409 AlreadyExists if the name is held by a live object or an in-flight create."""
        key = self.key(resource, name)
        mine = self.shard_names[shard]
        for _ in range(ATTEMPTS):
            value = orjson.dumps({"shard": mine, "state": "pending", "since": time.time()})
            result = await self.client.create(key, value)
            if result.succeeded:
                claim = Claim(key, result.header_revision, mine)
                await self._check_elsewhere(claim, resource, name, shard, lookup)
                return claim
            current = result.current
            if current is None:
                continue  # released in between: try again
            await self._resolve_held(current, resource, name, lookup)
        raise already_exists(resource, name)

    async def _check_elsewhere(
        self, claim: Claim, resource: ResourceType, name: str, shard: int, lookup: Lookup
    ) -> None:
        others = [s for s in range(len(self.shard_names)) if s != shard]
        found = await asyncio.gather(*(lookup(s) for s in others))
        for other, kv in zip(others, found, strict=True):
            if kv is not None:
                await self._write(claim.key, claim.mod_revision, self.shard_names[other], "bound")
                raise already_exists(resource, name)

    async def _resolve_held(
        self, current: KeyValue, resource: ResourceType, name: str, lookup: Lookup
    ) -> None:
        """The name is claimed: raise 409 if the claim is live, delete it if it is stale."""
        try:
            data = orjson.loads(current.value)
            holder = self.shard_names.index(str(data["shard"]))
            state, since = str(data["state"]), float(data["since"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            holder, state, since = -1, "broken", 0.0
        if holder >= 0 and await lookup(holder) is not None:
            if state == "pending":
                await self._write(
                    current.key, current.mod_revision, self.shard_names[holder], "bound"
                )
            raise already_exists(resource, name)
        if state == "pending" and time.time() - since < PENDING_TTL:
            raise already_exists(resource, name)
        await self.client.delete(current.key, expected_mod_revision=current.mod_revision)

    async def bind(self, claim: Claim) -> None:
        """The object is written: the claim is permanent until the object is deleted."""
        await self._write(claim.key, claim.mod_revision, claim.shard_name, "bound")

    async def release(self, claim: Claim) -> None:
        """The create failed before writing: give the name back."""
        await self.client.delete(claim.key, expected_mod_revision=claim.mod_revision)

    async def forget(self, resource: ResourceType, name: str, shard: int) -> None:
        """After the object on `shard` was deleted: drop its bound claim (if it is still ours)."""
        key = self.key(resource, name)
        result = await self.client.range(key)
        if not result.kvs:
            return
        kv = result.kvs[0]
        try:
            data = orjson.loads(kv.value)
        except orjson.JSONDecodeError:
            data = {}
        if data.get("shard") == self.shard_names[shard] and data.get("state") == "bound":
            await self.client.delete(key, expected_mod_revision=kv.mod_revision)

    async def _write(self, key: bytes, mod_revision: int, shard_name: str, state: str) -> None:
        value = orjson.dumps({"shard": shard_name, "state": state, "since": time.time()})
        await self.client.update(key, value, expected_mod_revision=mod_revision)
