"""PATCH with `Content-Type: application/apply-patch+yaml`: server-side apply over HTTP
(kube's endpoints/handlers/patch.go applyPatcher, with PatchOptions validation from
apimachinery pkg/apis/meta/v1/validation ValidatePatchOptions).

The body is YAML (JSON is YAML); the merge, ownership and conflicts are
watchproxy/registry/fieldmanager's. An apply to a missing object creates it (201).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson

from watchproxy.api.http import Send, respond
from watchproxy.api.params import field_validation
from watchproxy.api.status import ApiError, bad_request
from watchproxy.api.target import Target
from watchproxy.api.warnings import warning_headers
from watchproxy.api.yaml_body import DECODE_PREFIX, apply_patch_duplicates, decode_yaml_object
from watchproxy.registry import fieldmanager
from watchproxy.registry.errors import conflict
from watchproxy.registry.field_validation import check_body_fields
from watchproxy.registry.fieldmanager.apply import check_config
from watchproxy.registry.fieldmanager.scale import SCALE, apply_to_scale
from watchproxy.registry.fieldmanager.tracking import options_invalid
from watchproxy.registry.objects import JsonObject, Located
from watchproxy.registry.options import WriteOptions, write_options
from watchproxy.registry.scale import ScalePaths, read_scale
from watchproxy.registry.store import Store
from watchproxy.resources import ResourceType


def parse_force(query: bytes) -> bool | None:
    """The `force` option as kube converts PatchOptions from the query
    (runtime.Convert_Slice_string_To_Pointer_bool): None when absent; False for `0` or `false`
    in any case; True for anything else, the empty value and `maybe` included. Never raises."""
    values = [
        v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "force"
    ]
    if not values:
        return None
    return not (values[0] == "0" or values[0].lower() == "false")


def reject_force(query: bytes) -> None:
    """ValidatePatchOptions for the other patch types: `force` is apply's alone (422)."""
    if parse_force(query) is not None:
        raise options_invalid(
            "PatchOptions",
            "force",
            [("FieldValueForbidden", "Forbidden: may not be specified for non-apply patch")],
        )


def decode_apply_body(body: bytes) -> JsonObject:
    """The applied configuration: YAML (JSON is YAML) as kube converts it to JSON, with
    api/yaml_body.py's limits (aliasing, depth). Raises 400 `error decoding patch: ...`
    (handlers/patch.go applyPatcher; the detail is PyYAML's wording, not go-yaml's)."""
    if not body.strip():
        return {}  # kube decodes nothing into an empty object, refused later by its type
    try:
        return decode_yaml_object(body)
    except ApiError as exc:
        detail = str(exc).removeprefix(DECODE_PREFIX)
        raise bad_request(f"error decoding patch: {detail}") from None


def _check_name(target: Target, obj: JsonObject) -> None:
    """rest.go checkName on the applied result."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise bad_request(
            f"the name of the object ({target.name} based on URL) was undeterminable: "
            "name must be provided"
        )
    if name != target.name:
        raise bad_request(
            f"the name of the object ({name}) does not match the name on the URL ({target.name})"
        )
    namespace = meta.get("namespace")
    if target.namespace and namespace and namespace != target.namespace:
        raise bad_request(
            f"the namespace of the object ({namespace}) does not match the namespace on the "
            f"URL ({target.namespace})"
        )


def _apply_request(
    query: bytes, body: bytes, resource: ResourceType, subresource: str
) -> tuple[WriteOptions, bool, JsonObject, list[tuple[bytes, bytes]]]:
    """PatchOptions (ValidatePatchOptions: `fieldManager` required), then the configuration of
    a `resource` object, its duplicate keys (handlers/patch.go) and unknown fields, which never
    reach the object: Strict refuses them, Warn answers warnings. Returns the options, `force`,
    the configuration and the warning headers. Raises 400, 422."""
    options = write_options(query, "PatchOptions")
    force = bool(parse_force(query))
    if not options.field_manager:
        raise options_invalid(
            "PatchOptions",
            "fieldManager",
            [("FieldValueRequired", "Required value: is required for apply patch")],
        )
    fieldmanager.validate_field_manager(options.field_manager, "PatchOptions")
    validation = field_validation(query, "PatchOptions")
    config = decode_apply_body(body)
    check_config(resource, config)
    warnings = apply_patch_duplicates(body, validation)
    warnings += check_body_fields(resource, subresource, config, validation, {})
    return options, force, config, warning_headers(warnings)


async def serve_apply(store: Store, target: Target, query: bytes, body: bytes, send: Send) -> None:
    """Apply the body as `fieldManager` (required); `force=true` takes conflicting fields."""
    resource = target.resource
    options, force, config, headers = _apply_request(query, body, resource, target.subresource)
    manager = options.field_manager

    def compute(current: Located) -> JsonObject:
        applied = fieldmanager.apply(
            resource,
            current.obj,
            config,
            manager,
            force=force,
            subresource=target.subresource,
        )
        _check_name(target, applied.obj)
        return applied.obj

    for attempt in range(2):
        # Whether to create or update: the watch cache knows most objects; one it holds that
        # etcd no longer has makes the update's 404, and the second attempt asks etcd.
        found = store.cached(resource, target.namespace, target.name) if not attempt else None
        found = found or await store.locate(resource, target.namespace, target.name)
        if found is None and not target.subresource:
            applied = fieldmanager.apply(resource, None, config, manager, force=force)
            uid = (applied.obj.get("metadata") or {}).get("uid")
            if uid:
                raise conflict(
                    resource,
                    target.name,
                    f"uid mismatch: the provided object specified uid {uid}, and no existing "
                    "object was found",
                )
            _check_name(target, applied.obj)
            try:
                written = await store.create(
                    resource, target.namespace, applied.obj, options, fields_done=True
                )
            except ApiError as exc:
                if exc.reason == "AlreadyExists" and attempt == 0:
                    continue  # created meanwhile: apply to it
                raise
            await respond(send, 201, written.body(target.resource), extra_headers=headers)
            return
        try:
            written = await store.update(
                resource,
                namespace=target.namespace,
                name=target.name,
                subresource=target.subresource,
                compute=compute,
                options=options,
                track=False,
            )
        except ApiError as exc:
            if exc.code == 404 and attempt == 0 and not target.subresource:
                continue  # deleted meanwhile: create it
            raise
        await respond(send, 200, written.body(target.resource), extra_headers=headers)
        return


async def serve_scale_apply(
    store: Store, target: Target, query: bytes, body: bytes, send: Send, paths: ScalePaths
) -> None:
    """Apply an autoscaling/v1 Scale to NAME/scale: the Scale is applied as an object whose
    managers are the parent's managers of its replicas (fieldmanager/scale.py, kube's
    ScaleHandler), and writes the parent's replicas (registry/scale.py). 200 with the Scale;
    404 for a missing parent (a Scale is never created)."""
    resource = target.resource
    options, force, config, headers = _apply_request(query, body, SCALE, "")
    manager = options.field_manager

    def compute(current: Located) -> JsonObject:
        return apply_to_scale(resource, current.obj, config, manager, force=force, paths=paths)

    written = await store.update(
        resource,
        namespace=target.namespace,
        name=target.name,
        subresource="scale",
        compute=compute,
        options=options,
        track=False,
    )
    obj = {**written.obj, "metadata": dict(written.obj.get("metadata") or {})}
    if written.revision is not None:
        obj["metadata"]["resourceVersion"] = str(written.revision)
    await respond(send, 200, orjson.dumps(read_scale(obj, paths)), extra_headers=headers)
