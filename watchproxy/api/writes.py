"""POST, PUT, PATCH and DELETE (one object or a collection): decode the request, hand it to the
registry's generic store (watchproxy/registry), encode the answer.

Everything about what may be written -- dry-run, preconditions, finalizers, graceful deletion,
per-type rules -- lives in the registry; this module only speaks HTTP.
"""

from __future__ import annotations

from typing import Any

import orjson

from watchproxy.api.applying import reject_force, serve_apply
from watchproxy.api.decoding import (
    check_body,
    decode_json_object,
    decode_protobuf_object,
    patch_strict_errors,
)
from watchproxy.api.http import Send, respond
from watchproxy.api.params import IGNORE, field_validation, parse_list_options
from watchproxy.api.status import ApiError, bad_request, invalid, success_status
from watchproxy.api.target import Target
from watchproxy.api.warnings import warning_headers
from watchproxy.api.yaml_body import MEDIA_TYPE as YAML_MEDIA_TYPE
from watchproxy.api.yaml_body import decode_yaml_object
from watchproxy.core.json_limits import object_problems
from watchproxy.core.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    STRATEGIC_MERGE_PATCH,
    SUPPORTED_PATCH_TYPES,
    PatchError,
    apply_patch,
)
from watchproxy.kubeproto.decode import MEDIA_TYPE as PROTOBUF_MEDIA_TYPE
from watchproxy.registry.deleting import delete, delete_collection
from watchproxy.registry.field_validation import check_patched_fields
from watchproxy.registry.fieldmanager import validate_field_manager
from watchproxy.registry.objects import JsonObject, Located, Written, check_type, json_copy
from watchproxy.registry.options import delete_options, write_options
from watchproxy.registry.store import Store
from watchproxy.registry.strategy import strategy_for


def decode_object(body: bytes, content_type: str) -> JsonObject:
    """A request body as a JSON object: JSON, or the protobuf kubectl's typed commands send."""
    media = content_type.split(";")[0].strip().lower()
    if media == PROTOBUF_MEDIA_TYPE:
        return decode_protobuf_object(body)  # with the limits of JSON bodies: api/decoding.py
    if media == YAML_MEDIA_TYPE:
        return decode_yaml_object(body)  # converted to JSON as kube does: api/yaml_body.py
    if media not in ("", "application/json", "*/*"):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types "
            f'include: application/json, {YAML_MEDIA_TYPE}, {PROTOBUF_MEDIA_TYPE} (got "{media}")',
        )
    return decode_json_object(body)  # depth, int64 and UTF-8 rules: api/decoding.py


async def serve_create(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    options = write_options(query, "CreateOptions")
    validate_field_manager(options.field_manager, "CreateOptions")
    validation = field_validation(query, "CreateOptions")
    obj = decode_object(body, content_type)
    warnings = check_body(target.resource, "", obj, body, content_type, validation)
    written = await store.create(target.resource, target.namespace, obj, options)
    await respond(send, 201, written.body(target.resource), extra_headers=warning_headers(warnings))


async def serve_update(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    options = write_options(query, "UpdateOptions")
    validate_field_manager(options.field_manager, "UpdateOptions")
    validation = field_validation(query, "UpdateOptions")
    new = decode_object(body, content_type)
    warnings = check_body(target.resource, target.subresource, new, body, content_type, validation)
    check_type(target.resource, new)
    body_name = new["metadata"].get("name")
    if body_name not in (None, "", target.name):
        raise bad_request(
            f"the name of the object ({body_name}) does not match the name on the "
            f"URL ({target.name})"
        )
    body_namespace = new["metadata"].get("namespace")
    if target.resource.namespaced and body_namespace not in (None, "", target.namespace):
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )

    def compute(_: Located) -> JsonObject:
        return json_copy(new)

    written = await store.update(
        target.resource,
        namespace=target.namespace,
        name=target.name,
        subresource=target.subresource,
        compute=compute,
        options=options,
    )
    # Even when the update removed the object (its last finalizer gone): kube answers the
    # updated object (store.go deleteWithoutFinalizers), not a delete Status.
    await respond(send, 200, written.body(target.resource), extra_headers=warning_headers(warnings))


async def serve_patch(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    resource = target.resource
    media = content_type.split(";")[0].strip().lower()
    if media == APPLY_PATCH:
        await serve_apply(store, target, query, body, send)  # server-side apply: api/applying.py
        return
    # Custom resources have no Go struct to carry patch strategies: no strategic merge patch
    # (apiextensions-apiserver customresource_handler.go).
    allowed = SUPPORTED_PATCH_TYPES
    if resource.custom is not None:
        allowed = SUPPORTED_PATCH_TYPES - {STRATEGIC_MERGE_PATCH}
    if media not in allowed:
        supported = ", ".join(sorted(allowed | {APPLY_PATCH}))
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f'the media type "{media}" is not supported for patch; supported: {supported}',
        )
    options = write_options(query, "PatchOptions")
    reject_force(query)  # `force` is apply's alone (ValidatePatchOptions)
    validate_field_manager(options.field_manager, "PatchOptions")
    validation = field_validation(query, "PatchOptions")
    patch_errors = [] if validation == IGNORE else patch_strict_errors(body, media)
    smp_body = body if media == STRATEGIC_MERGE_PATCH else None
    warnings: list[str] = []  # deduplicated by warning_headers: a lost race computes again

    def compute(current: Located) -> JsonObject:
        injected = str(current.kv.mod_revision)
        patch = body
        if media == JSON_PATCH and b"/metadata/resourceVersion" in body:
            patch = _plain_resource_version_tests(store, current, body)
        try:
            # apply_patch copies what it patches: current.obj stays the update's old object.
            patched = apply_patch(current.obj, patch, media, kind=resource.kind)
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
        # The body obeyed core/json_limits.py, but the object it builds may not (JSON patch
        # `add` at a deep path): one too deep would reach orjson's ceiling and crash when served.
        problems = object_problems(patched)
        if problems:
            raise invalid(
                resource.kind,
                target.name,
                [("FieldValueInvalid", field, f"Invalid value: {msg}") for field, msg in problems],
                resource.group,
            )
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise invalid(
                resource.kind,
                target.name,
                [("FieldValueInvalid", "metadata", "Invalid value: must be an object")],
                resource.group,
            )
        warnings.extend(  # unknown fields: handlers/patch.go, on the patched object
            check_patched_fields(  # only what the patch changed (the rest was checked)
                resource,
                target.subresource,
                patched,
                validation,
                patch_errors,
                smp_body,
                current.obj,
            )
        )
        if patched["metadata"].get("resourceVersion") == injected:
            # Not a precondition: we put it there. A lost race re-applies the patch.
            del patched["metadata"]["resourceVersion"]
        _check_name(target, patched["metadata"])
        return patched

    written = await store.update(
        resource,
        namespace=target.namespace,
        name=target.name,
        subresource=target.subresource,
        compute=compute,
        options=options,
    )
    # as serve_update
    await respond(send, 200, written.body(target.resource), extra_headers=warning_headers(warnings))


def _plain_resource_version_tests(store: Store, current: Located, body: bytes) -> bytes:
    """A JSON patch's `test` of /metadata/resourceVersion against the object's own revision in
    whichever form the client saw it: a watch or LIST over several shards hands out composite
    tokens, a GET the plain revision (docs/resource-versions.md). kube has one form, so clients
    (kopf) test with what their watch gave them; a token naming this object's revision is
    rewritten to the plain number the patch is applied against. Anything else is left as sent
    (the test then fails as kube's would)."""
    try:
        ops = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body  # apply_patch answers the decode error
    if not isinstance(ops, list):
        return body
    plain = str(current.kv.mod_revision)
    changed = False
    for op in ops:
        if (
            isinstance(op, dict)
            and op.get("op") == "test"
            and op.get("path") == "/metadata/resourceVersion"
            and isinstance(op.get("value"), str)
            and op["value"] != plain
        ):
            try:
                revision = store.precondition(current.shard, op["value"])
            except ApiError:
                continue
            if revision == current.kv.mod_revision:
                op["value"] = plain
                changed = True
    return orjson.dumps(ops) if changed else body


def _check_name(target: Target, meta: JsonObject) -> None:
    """endpoints/handlers/rest.go checkName after a patch: the patched object keeps the URL's
    name and namespace (400 otherwise; nothing is written)."""
    name = meta.get("name")
    if name != target.name:
        shown = name if isinstance(name, str) else ""
        raise bad_request(
            f"the name of the object ({shown}) does not match the name on the URL ({target.name})"
        )
    namespace = meta.get("namespace")
    if target.namespace and namespace and namespace != target.namespace:
        raise bad_request(
            f"the namespace of the object ({namespace}) does not match the namespace on the "
            f"request ({target.namespace})"
        )


async def _answer_write(send: Send, target: Target, written: Written) -> None:
    if written.deleted:
        await respond(send, 200, _deleted_body(target, written))
    else:
        await respond(send, 200, written.body(target.resource))


def _deleted_body(target: Target, written: Written) -> bytes:
    """The deleted object for types that return it (pods, services), else a Success Status
    naming it (store.go finalizeDelete)."""
    resource = target.resource
    if strategy_for(resource).return_deleted_object:
        return written.body(target.resource)
    meta = written.obj.get("metadata") or {}
    return success_status(
        {
            "name": meta.get("name", ""),
            "group": resource.group,
            "kind": resource.plural,
            "uid": meta.get("uid", ""),
        }
    )


def _delete_body(body: bytes, content_type: str) -> dict[str, Any] | None:
    if not body.strip():
        return None
    return decode_object(body, content_type)  # DeleteOptions, JSON or protobuf


async def serve_delete(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    options = delete_options(query, _delete_body(body, content_type))
    written = await delete(store, target.resource, target.namespace, target.name, options)
    if not written.deleted and options.orphan_dependents is False:
        # handlers/delete.go: 202 when the object stays and orphanDependents=false was asked.
        await respond(send, 202, written.body(target.resource))
        return
    await _answer_write(send, target, written)


async def serve_delete_collection(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    """DELETE on a collection, narrowed by labelSelector/fieldSelector; answers the list of
    the objects deleted (or marked for deletion)."""
    resource = target.resource
    options = delete_options(query, _delete_body(body, content_type))
    selection = parse_list_options(query, resource)
    namespace = target.namespace or (selection.fields.exact_value("metadata.namespace") or "")

    def matches(obj: Any) -> bool:
        return bool(selection.labels.matches(obj.labels) and selection.fields.matches(obj.fields))

    items, revision = await delete_collection(
        store, resource, namespace=namespace, matches=matches, options=options
    )
    head = orjson.dumps(
        {
            "kind": resource.list_kind,
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": str(revision)},
            "items": [resource.served_form(item) for item in items],
        }
    )
    await respond(send, 200, head)


async def serve_binding(
    store: Store, target: Target, query: bytes, body: bytes, content_type: str, send: Send
) -> None:
    """POST pods/NAME/binding: assign the pod to a node (kube's BindingREST: only an unassigned
    pod, only to a Node; answers a 201 Success Status)."""
    options = write_options(query, "CreateOptions")
    binding = decode_object(body, content_type)
    bound_name = (binding.get("metadata") or {}).get("name")
    if bound_name not in (None, "", target.name):
        raise bad_request("name in URL does not match name in Binding object")
    node_target = binding.get("target") or {}
    if not isinstance(node_target, dict) or node_target.get("kind") not in (None, "", "Node"):
        raise invalid(
            "Binding",
            target.name,
            [
                (
                    "FieldValueNotSupported",
                    "target.kind",
                    'Unsupported value: must be empty or "Node"',
                )
            ],
        )
    node = node_target.get("name")
    if not isinstance(node, str) or not node:
        raise invalid(
            "Binding", target.name, [("FieldValueRequired", "target.name", "Required value")]
        )
    annotations = (binding.get("metadata") or {}).get("annotations") or {}

    def compute(current: Located) -> JsonObject:
        pod = json_copy(current.obj)
        spec = pod.setdefault("spec", {})
        if spec.get("nodeName"):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on pods/binding "{target.name}": pod '
                f'{target.name} is already assigned to node "{spec["nodeName"]}"',
                details={"name": target.name, "kind": "pods/binding"},
            )
        spec["nodeName"] = node
        if annotations:
            meta = pod["metadata"]
            meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
        status = pod.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        status["conditions"] = [*conditions, {"type": "PodScheduled", "status": "True"}]
        return pod

    await store.update(
        target.resource,
        namespace=target.namespace,
        name=target.name,
        subresource="binding",
        compute=compute,
        options=options,
    )
    body_out = orjson.dumps(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    )
    await respond(send, 201, body_out)
