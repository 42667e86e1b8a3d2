"""POST, PUT, PATCH and DELETE: each write is one etcd transaction on the object's shard.

Writes go to etcd, not the cache: optimistic concurrency is a `mod_revision` compare in the same
transaction as the put, so a stale resourceVersion is a 409 exactly when etcd says so. Objects are
stored as kube-apiserver stores them with JSON media type: without `metadata.resourceVersion`,
which is the key's `mod_revision` when read back.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from watchproxy.api.http import Send, respond
from watchproxy.api.status import ApiError, bad_request, invalid, not_found
from watchproxy.api.target import Target
from watchproxy.core.objects import encode_object
from watchproxy.core.patch import APPLY_PATCH, SUPPORTED_PATCH_TYPES, PatchError, apply_patch
from watchproxy.core.rv import ForeignTokenError, ResourceVersionError, parse_plain
from watchproxy.etcd.client import EtcdError, KeyValue
from watchproxy.kubeproto.decode import MEDIA_TYPE as PROTOBUF_MEDIA_TYPE
from watchproxy.kubeproto.decode import decode_protobuf
from watchproxy.proxy import Proxy
from watchproxy.resources import TENANT_LABEL, ResourceType

JsonObject = dict[str, Any]
PATCH_RETRIES = 5
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver's SimpleNameGenerator


def _unavailable(exc: EtcdError) -> ApiError:
    return ApiError(503, "ServiceUnavailable", f"etcd shard unavailable: {exc}")


def decode_object(body: bytes, content_type: str) -> JsonObject:
    media = content_type.split(";")[0].strip().lower()
    if media == PROTOBUF_MEDIA_TYPE:
        # What kubectl's typed commands send (create namespace, configmap, secret, deployment...).
        try:
            return decode_protobuf(body)
        except ValueError as exc:
            raise bad_request(
                f"the body of the request could not be decoded as protobuf: {exc}"
            ) from exc
    if media not in ("", "application/json", "*/*"):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types "
            f'include: application/json, {PROTOBUF_MEDIA_TYPE} (got "{media}")',
        )
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body of the request could not be decoded as JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    return obj


def storage_key(
    proxy: Proxy, shard: int, resource: ResourceType, namespace: str, name: str
) -> bytes:
    prefix = proxy.shards[shard].resource_prefix(resource.storage_prefix)
    return prefix + (f"{namespace}/{name}" if resource.namespaced else name).encode()


def storage_value(obj: JsonObject) -> bytes:
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return orjson.dumps({**obj, "metadata": meta})


def served_bytes(obj: JsonObject, revision: int) -> bytes:
    return encode_object(obj, str(revision))[0]


def _check_type(resource: ResourceType, obj: JsonObject) -> None:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if api_version not in (None, "", resource.api_version):
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the "
            f"expected API version ({resource.api_version})"
        )
    if kind not in (None, "", resource.kind):
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
        )
    obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version
    if not isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {}


def _validate_name(resource: ResourceType, name: str) -> None:
    label_only = resource.plural in ("namespaces",) or resource.kind in ("Service",)
    pattern = _DNS1123_LABEL if label_only else _DNS1123_SUBDOMAIN
    limit = 63 if label_only else 253
    if not name or len(name) > limit or not pattern.match(name):
        kind_of = "RFC 1123 label" if label_only else "RFC 1123 subdomain"
        raise invalid(
            resource.kind,
            name,
            [
                (
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase {kind_of} must consist of lower '
                    "case alphanumeric characters, '-' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            ],
            resource.group,
        )


async def _get_kv(proxy: Proxy, shard: int, key: bytes) -> KeyValue | None:
    try:
        result = await proxy.shards[shard].client.range(key)
    except EtcdError as exc:
        raise _unavailable(exc) from exc
    return result.kvs[0] if result.kvs else None


async def locate(proxy: Proxy, target: Target) -> tuple[int, KeyValue] | None:
    """The shard holding the target object and its current etcd entry (linearizable reads)."""
    resource = target.resource
    tenancy = proxy.tenancy
    if resource.namespaced:
        shards = [tenancy.shard_of_namespace(target.namespace)]
    elif resource.plural == "namespaces" and not resource.group:
        shards = [tenancy.shard_of_namespace(target.name)]
    else:
        shards = list(range(tenancy.shard_count))
    found = await asyncio.gather(
        *(
            _get_kv(proxy, s, storage_key(proxy, s, resource, target.namespace, target.name))
            for s in shards
        )
    )
    for shard, kv in zip(shards, found, strict=True):
        if kv is not None:
            return shard, kv
    return None


async def _require_namespace(proxy: Proxy, namespace: str) -> None:
    ns_resource = proxy.registry.lookup("", "v1", "namespaces")
    assert ns_resource is not None
    shard = proxy.tenancy.shard_of_namespace(namespace)
    if await _get_kv(proxy, shard, storage_key(proxy, shard, ns_resource, "", namespace)) is None:
        raise ApiError(
            404,
            "NotFound",
            f'namespaces "{namespace}" not found',
            details={"name": namespace, "kind": "namespaces"},
        )


def _precondition(proxy: Proxy, shard: int, text: Any) -> int | None:
    """A client's resourceVersion precondition as this shard's revision (plain or token)."""
    if text in (None, ""):
        return None
    text = str(text)
    plain = parse_plain(text)
    if plain is not None:
        return plain
    try:
        return proxy.codec.decode(text)[shard]
    except (ResourceVersionError, ForeignTokenError) as exc:
        raise bad_request(f"invalid resourceVersion precondition: {exc}") from exc


def _conflict(resource: ResourceType, name: str) -> ApiError:
    qualified = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


# -- create ----------------------------------------------------------------------------------------


async def serve_create(
    proxy: Proxy, target: Target, body: bytes, content_type: str, send: Send
) -> None:
    resource = target.resource
    obj = decode_object(body, content_type)
    _check_type(resource, obj)
    meta = obj["metadata"]
    if resource.namespaced:
        body_ns = meta.get("namespace")
        if body_ns not in (None, "", target.namespace):
            raise bad_request(
                "the namespace of the provided object does not match the namespace "
                "sent on the request"
            )
        meta["namespace"] = target.namespace
    else:
        meta.pop("namespace", None)
    if not meta.get("name"):
        prefix = meta.get("generateName")
        if not prefix:
            raise invalid(
                resource.kind,
                "",
                [
                    (
                        "FieldValueRequired",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    )
                ],
                resource.group,
            )
        meta["name"] = str(prefix) + "".join(random.choices(_GENERATE_ALPHABET, k=5))
    name = str(meta["name"])
    _validate_name(resource, name)
    if resource.namespaced:
        await _require_namespace(proxy, target.namespace)
    shard = proxy.tenancy.shard_of_object(resource, obj)
    if not resource.namespaced and await locate(proxy, Target(resource, "", name, "")) is not None:
        raise _already_exists(resource, name)
    meta.pop("resourceVersion", None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["generation"] = 1
    if resource.reset_status_on_create is not None:
        obj["status"] = dict(resource.reset_status_on_create)
    if resource.plural == "namespaces" and not resource.group:
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
    key = storage_key(proxy, shard, resource, target.namespace, name)
    try:
        result = await proxy.shards[shard].client.create(key, storage_value(obj))
    except EtcdError as exc:
        raise _unavailable(exc) from exc
    if not result.succeeded:
        raise _already_exists(resource, name)
    await respond(send, 201, served_bytes(obj, result.header_revision))


def _already_exists(resource: ResourceType, name: str) -> ApiError:
    qualified = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified} "{name}" already exists',
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


# -- update and patch ------------------------------------------------------------------------------


def _merge_update(
    resource: ResourceType, target: Target, current: JsonObject, new: JsonObject
) -> JsonObject:
    """Carry what a client may not change, and split status from the main resource."""
    meta, cur_meta = new["metadata"], current.get("metadata") or {}
    for field in ("uid", "creationTimestamp", "namespace", "name", "generation"):
        if field in cur_meta:
            meta[field] = cur_meta[field]
        else:
            meta.pop(field, None)
    old_tenant = (cur_meta.get("labels") or {}).get(TENANT_LABEL)
    new_tenant = (meta.get("labels") or {}).get(TENANT_LABEL)
    if not resource.namespaced and old_tenant != new_tenant:
        raise invalid(
            resource.kind,
            target.name,
            [
                (
                    "FieldValueInvalid",
                    f"metadata.labels[{TENANT_LABEL}]",
                    "Invalid value: the tenant label is immutable: it decides the shard that "
                    "stores the object",
                )
            ],
            resource.group,
        )
    if resource.status_subresource:
        if target.subresource == "status":
            merged = dict(current)
            merged["metadata"] = {
                **cur_meta,
                **{k: v for k, v in meta.items() if k in ("labels", "annotations")},
            }
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            return merged
        if "status" in current:
            new["status"] = current["status"]
        else:
            new.pop("status", None)
    if new.get("spec") != current.get("spec"):
        meta["generation"] = int(cur_meta.get("generation", 1)) + 1
    return new


async def serve_update(
    proxy: Proxy, target: Target, body: bytes, content_type: str, send: Send
) -> None:
    resource = target.resource
    new = decode_object(body, content_type)
    _check_type(resource, new)
    body_name = new["metadata"].get("name")
    if body_name not in (None, "", target.name):
        raise bad_request(
            f"the name of the object ({body_name}) does not match the name on the "
            f"URL ({target.name})"
        )
    found = await locate(proxy, target)
    if found is None:
        raise not_found(resource.plural, target.name, resource.group)
    shard, kv = found
    wanted = _precondition(proxy, shard, new["metadata"].get("resourceVersion"))
    if wanted is not None and wanted != kv.mod_revision:
        raise _conflict(resource, target.name)
    current = orjson.loads(kv.value)
    merged = _merge_update(resource, target, current, new)
    await _commit_update(proxy, shard, kv, merged, resource, target, send)


async def _commit_update(
    proxy: Proxy,
    shard: int,
    kv: KeyValue,
    obj: JsonObject,
    resource: ResourceType,
    target: Target,
    send: Send,
) -> bool:
    """Write `obj` if the key is still at kv.mod_revision; False (nothing sent) on a race."""
    try:
        result = await proxy.shards[shard].client.update(
            kv.key, storage_value(obj), expected_mod_revision=kv.mod_revision
        )
    except EtcdError as exc:
        raise _unavailable(exc) from exc
    if not result.succeeded:
        if result.current is None:
            raise not_found(resource.plural, target.name, resource.group)
        raise _conflict(resource, target.name)
    await respond(send, 200, served_bytes(obj, result.header_revision))
    return True


async def serve_patch(
    proxy: Proxy, target: Target, body: bytes, content_type: str, send: Send
) -> None:
    resource = target.resource
    media = content_type.split(";")[0].strip().lower()
    if media not in SUPPORTED_PATCH_TYPES:
        supported = ", ".join(sorted(SUPPORTED_PATCH_TYPES))
        note = " (server-side apply is not supported by watchproxy)" if media == APPLY_PATCH else ""
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f'the media type "{media}" is not supported for patch{note}; supported: {supported}',
        )
    for attempt in range(PATCH_RETRIES):
        found = await locate(proxy, target)
        if found is None:
            raise not_found(resource.plural, target.name, resource.group)
        shard, kv = found
        current = orjson.loads(kv.value)
        current.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
        try:
            patched = apply_patch(current, body, media, kind=resource.kind)
        except PatchError as exc:
            # 500 is apimachinery's untyped error; it is still the client's patch at fault.
            if exc.code in (422, 500):
                raise invalid(
                    resource.kind,
                    target.name,
                    [("FieldValueInvalid", "", str(exc))],
                    resource.group,
                ) from exc
            raise ApiError(exc.code, exc.reason, str(exc)) from exc
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise invalid(
                resource.kind,
                target.name,
                [("FieldValueInvalid", "metadata", "Invalid value: must be an object")],
                resource.group,
            )
        wanted = _precondition(proxy, shard, patched["metadata"].get("resourceVersion"))
        explicit = wanted is not None and wanted != kv.mod_revision
        if explicit:
            raise _conflict(resource, target.name)
        _check_type(resource, patched)
        merged = _merge_update(resource, target, orjson.loads(kv.value), patched)
        try:
            await _commit_update(proxy, shard, kv, merged, resource, target, send)
            return
        except ApiError as exc:
            if exc.code != 409 or attempt == PATCH_RETRIES - 1:
                raise
            # Someone wrote in between: patches apply to the latest version, so retry.


# -- delete ----------------------------------------------------------------------------------------


async def serve_delete(
    proxy: Proxy, target: Target, body: bytes, content_type: str, send: Send
) -> None:
    resource = target.resource
    preconditions: JsonObject = {}
    if body.strip():
        # DeleteOptions, as JSON or (client-go in protobuf mode) protobuf.
        preconditions = decode_object(body, content_type).get("preconditions") or {}
        if not isinstance(preconditions, dict):
            raise bad_request("DeleteOptions.preconditions must be an object")
    for attempt in range(PATCH_RETRIES):
        found = await locate(proxy, target)
        if found is None:
            raise not_found(resource.plural, target.name, resource.group)
        shard, kv = found
        current = orjson.loads(kv.value)
        uid = (current.get("metadata") or {}).get("uid")
        if preconditions.get("uid") not in (None, "", uid):
            raise ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {uid}",
            )
        wanted = _precondition(proxy, shard, preconditions.get("resourceVersion"))
        if wanted is not None and wanted != kv.mod_revision:
            raise ApiError(
                409,
                "Conflict",
                f"Precondition failed: ResourceVersion in precondition: {wanted}, "
                f"ResourceVersion in object meta: {kv.mod_revision}",
            )
        try:
            result = await proxy.shards[shard].client.delete(
                kv.key, expected_mod_revision=kv.mod_revision
            )
        except EtcdError as exc:
            raise _unavailable(exc) from exc
        if result.succeeded:
            await respond(send, 200, served_bytes(current, kv.mod_revision))
            return
        if attempt == PATCH_RETRIES - 1:
            raise _conflict(resource, target.name)
