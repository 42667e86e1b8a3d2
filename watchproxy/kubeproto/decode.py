"""Kubernetes protobuf request bodies to the JSON objects kube-apiserver would make of them.

Owns `decode_protobuf`. kubectl's typed commands (`create namespace|configmap|secret|deployment|
service|serviceaccount|token|role|rolebinding|clusterrole|clusterrolebinding|job|cronjob|quota|
poddisruptionbudget|priorityclass|ingress`, `auth can-i`, also with `--list`, `auth whoami`,
`drain`'s Eviction, `certificate approve|deny`) and every client-go typed client (controllers,
kubelet) send `application/vnd.kubernetes.protobuf` bodies (`kubectl run`, `create -f`, `apply`
and `delete` send JSON). Such a body is the 4-byte magic `k8s\\x00` and a `runtime.Unknown` whose
`typeMeta` names the kind and whose `raw` is the typed message (k8s.io/apimachinery/pkg/runtime/
serializer/protobuf). The typed message is walked by descriptor and written the way encoding/json
writes the Go struct kube-apiserver decodes it into: the result is what the same client would have
sent as JSON (same keys, same order), so a protobuf create stores what the JSON create stores.

Why a walk by descriptor and not `MessageToDict`: the Go field semantics are not in the wire
format. Go clients (gogoproto) write every non-pointer field, zero or not (`generateName: ""`,
an empty `creationTimestamp`...), so presence only means something for pointer fields; and
whether a zero value is in the JSON depends on the field's `omitempty`. `_GO_FIELDS` carries that
knowledge, `_SPECIAL` the types with their own JSON form (`Time`, `MicroTime`, `Quantity`,
`IntOrString`, `ExtraValue`...), `_JSON_NAMES` the few fields whose JSON name is not their protobuf
name. Fields the schema does not know (a newer client) are dropped, as kube-apiserver drops them.
The schemas are trimmed copies of the upstream `generated.proto` files in `proto/`, compiled at
build time into `_generated/` (see hatch_build.py); a new kind needs its messages there, an entry
in `KINDS` and its Go facts in `_GO_FIELDS` (and `_JSON_NAMES`, `_SPECIAL` where they apply).

Parts: the Go facts are kubeproto/go_facts.py (KINDS, the merged tables; the tables themselves in
go_facts_core.py, go_facts_groups.py, go_facts_storage.py), the apimachinery types with their own
JSON form kubeproto/special.py; this module owns the envelope and the descriptor walk.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from watchproxy.kubeproto._generated import k8s_runtime_pb2 as runtime
from watchproxy.kubeproto.go_facts import _JSON_NAMES, _RULES, KINDS
from watchproxy.kubeproto.special import _SPECIAL, go_duration

__all__ = ["KINDS", "MAGIC", "MEDIA_TYPE", "JsonObject", "decode_protobuf", "go_duration"]

JsonObject = dict[str, Any]

MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
MAGIC: Final = b"k8s\x00"


def decode_protobuf(body: bytes) -> JsonObject:
    """Decode a `application/vnd.kubernetes.protobuf` body into its JSON object.

    The result starts with `kind` and `apiVersion` (from the envelope) and is what encoding/json
    writes for the Go object. Raises ValueError, with a message fit for a 400 response, for a
    body that is not a Kubernetes protobuf envelope, has a kind outside `KINDS`, or does not parse.
    """
    if not body.startswith(MAGIC):
        raise ValueError(
            f"the body is not a Kubernetes protobuf object: it does not start with {MAGIC!r}"
        )
    envelope = runtime.Unknown()
    try:
        envelope.ParseFromString(body[len(MAGIC) :])
    except DecodeError as exc:
        raise ValueError(
            f"the protobuf envelope (runtime.Unknown) could not be decoded: {exc}"
        ) from exc
    if envelope.contentEncoding:
        raise ValueError(f"unsupported protobuf content encoding {envelope.contentEncoding!r}")
    api_version: str = envelope.typeMeta.apiVersion
    kind: str = envelope.typeMeta.kind
    message_type = KINDS.get((api_version, kind))
    if message_type is None:
        raise ValueError(f"no protobuf schema for kind {kind!r} in apiVersion {api_version!r}")
    message = message_type()
    try:
        message.ParseFromString(envelope.raw)
    except DecodeError as exc:
        raise ValueError(f"the {kind} could not be decoded from protobuf: {exc}") from exc
    obj: JsonObject = {"kind": kind, "apiVersion": api_version}
    obj.update(_object(message))
    return obj


# -- messages --------------------------------------------------------------------------------------


def _object(message: Message) -> JsonObject:
    descriptor: Descriptor = message.DESCRIPTOR
    rules = _RULES.get(descriptor.full_name, {})
    out: JsonObject = {}
    for field in descriptor.fields:
        name: str = field.name
        flags = rules.get(name, "")
        key: str = _JSON_NAMES.get(field.full_name, name)
        if "I" in flags:
            out.update(_object(getattr(message, name)))
            continue
        if field.is_repeated:
            values = getattr(message, name)
            if values:
                out[key] = (
                    _map(field, values)
                    if _is_map(field)
                    else [_value(field, value) for value in values]
                )
            elif "K" in flags:
                out[key] = None  # a nil slice or map without omitempty
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if "S" in flags or message.HasField(name):
                out[key] = _value(field, getattr(message, name))
            elif "K" in flags:
                out[key] = None  # a nil pointer without omitempty
        elif "P" in flags:
            if message.HasField(name):
                out[key] = _value(field, getattr(message, name))
            elif "K" in flags:
                out[key] = None
        else:
            # A Go value field: whether the sender wrote it says nothing; only its value counts.
            value = getattr(message, name)
            if value or "K" in flags:
                out[key] = _value(field, value)
    return out


def _is_map(field: FieldDescriptor) -> bool:
    entry: Descriptor | None = field.message_type
    return entry is not None and bool(entry.GetOptions().map_entry)


def _map(field: FieldDescriptor, values: Any) -> JsonObject:
    value_field: FieldDescriptor = field.message_type.fields_by_name["value"]
    # encoding/json writes map keys sorted.
    return {key: _value(value_field, values[key]) for key in sorted(values)}


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        special = _SPECIAL.get(field.message_type.full_name)
        return special(value) if special is not None else _object(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")  # encoding/json's []byte
    return value
