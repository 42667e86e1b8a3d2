"""HTTP of the `scale` and `eviction` subresources (the rules are registry/scale.py and
registry/eviction.py). `approval` (CertificateSigningRequests) is an ordinary PUT/PATCH of the
parent whose strategy keeps everything but the conditions (registry/strategies/certificates.py).
"""

from __future__ import annotations

import copy

import orjson

from watchproxy.api.applying import serve_scale_apply
from watchproxy.api.http import Send, respond
from watchproxy.api.status import ApiError, bad_request, invalid
from watchproxy.api.target import Target
from watchproxy.api.writes import decode_object
from watchproxy.core.patch import APPLY_PATCH, SUPPORTED_PATCH_TYPES, PatchError, apply_patch
from watchproxy.registry.eviction import evict
from watchproxy.registry.objects import JsonObject, Located
from watchproxy.registry.options import write_options
from watchproxy.registry.scale import BUILTIN, ScalePaths, apply_scale, read_scale, scale_causes
from watchproxy.registry.store import Store


def _paths(target: Target) -> ScalePaths:
    custom = target.resource.custom
    if custom is not None and custom.scale:
        return ScalePaths.of_crd(custom.scale)
    return BUILTIN


def _check_scale(target: Target, scale: JsonObject) -> None:
    causes = scale_causes(scale)
    if causes:
        raise invalid("Scale", target.name, causes, "autoscaling")


async def serve_scale(
    store: Store,
    target: Target,
    method: str,
    query: bytes,
    body: bytes,
    content_type: str,
    send: Send,
) -> None:
    """GET, PUT or PATCH of NAME/scale: an autoscaling/v1 Scale of the parent."""
    paths = _paths(target)
    resource = target.resource
    if method == "GET":
        current = await store.require(resource, target.namespace, target.name)
        await respond(send, 200, orjson.dumps(read_scale(current.obj, paths)))
        return
    if method == "PUT":
        options = write_options(query, "UpdateOptions")
        scale = decode_object(body, content_type)
        meta = scale.get("metadata")
        body_name = meta.get("name") if isinstance(meta, dict) else None
        if body_name not in (None, "", target.name):
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the "
                f"URL ({target.name})"
            )
        _check_scale(target, scale)

        def compute(current: Located) -> JsonObject:
            parent = copy.deepcopy(current.obj)
            apply_scale(parent, scale, paths)
            return parent

    elif method == "PATCH":
        media = content_type.split(";")[0].strip().lower()
        if media == APPLY_PATCH:
            # Server-side apply of a Scale (api/applying.py, kube's ScaleHandler).
            await serve_scale_apply(store, target, query, body, send, paths)
            return
        if media not in SUPPORTED_PATCH_TYPES:
            raise ApiError(
                415, "UnsupportedMediaType", f'the media type "{media}" is not supported'
            )
        options = write_options(query, "PatchOptions")

        def compute(current: Located) -> JsonObject:
            before = read_scale(current.obj, paths)
            injected = before["metadata"].get("resourceVersion")
            try:
                scale = apply_patch(before, body, media, kind="Scale")
            except PatchError as exc:
                raise ApiError(exc.code, exc.reason, str(exc)) from exc
            if not isinstance(scale, dict):
                raise bad_request("the patched Scale is not an object")
            meta = scale.get("metadata")
            if isinstance(meta, dict) and meta.get("resourceVersion") == injected:
                meta.pop("resourceVersion", None)  # ours, not the client's precondition
            _check_scale(target, scale)
            parent = copy.deepcopy(current.obj)
            apply_scale(parent, scale, paths)
            return parent

    else:
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    written = await store.update(
        resource,
        namespace=target.namespace,
        name=target.name,
        subresource="scale",
        compute=compute,
        options=options,
    )
    obj = dict(written.obj)
    obj["metadata"] = {**written.obj.get("metadata", {})}
    if written.revision is not None:
        obj["metadata"]["resourceVersion"] = str(written.revision)
    await respond(send, 200, orjson.dumps(read_scale(obj, paths)))


async def serve_eviction(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    """POST pods/NAME/eviction: 201 Success once the pod is deleted (or marked for graceful
    deletion)."""
    eviction = decode_object(body, content_type)
    await evict(store, target.resource, target.namespace, target.name, eviction)
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    await respond(send, 201, orjson.dumps(out))
