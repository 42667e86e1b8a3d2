"""The review resources: answered from the request, never stored.

- authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`) and TokenReview;
- authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i`),
  SelfSubjectRulesReview (`kubectl auth can-i --list`), SubjectAccessReview and
  LocalSubjectAccessReview.

Shapes and validation messages are kube's (pkg/registry/authorization/*/rest.go,
pkg/apis/authorization/validation/validation.go, pkg/registry/authentication/*/storage.go).
Creating one is itself authorized like any create (RBAC: system:basic-user grants the self
reviews to every authenticated user).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy.api.http import Send, respond
from watchproxy.api.status import ApiError, invalid
from watchproxy.api.target import Target
from watchproxy.api.writes import decode_object
from watchproxy.auth.attributes import Attributes
from watchproxy.auth.user import UserInfo
from watchproxy.registry.decoding import TypedDecode

JsonObject = dict[str, Any]

# (allowed, denied, reason) for a user and the attributes of a question.
Decide = Callable[[Attributes, "str | None"], tuple[bool, bool, str]]
RulesFor = Callable[[UserInfo, str], JsonObject]
ReviewToken = Callable[[str, list[str]], Awaitable[tuple[UserInfo | None, list[str], str]]]


@dataclass(frozen=True)
class ReviewContext:
    """What the handlers need: the asking user, and the guard's decision functions."""

    user: UserInfo
    decide: Callable[[Attributes], tuple[bool, bool, str]]
    rules_for: RulesFor
    review_token: ReviewToken


def _answer(kind: str, group: str, obj: JsonObject, status: JsonObject) -> bytes:
    meta = dict(obj.get("metadata") or {})
    meta.setdefault("creationTimestamp", None)
    out: JsonObject = {
        "kind": kind,
        "apiVersion": f"{group}/v1",
        "metadata": meta,
        "spec": obj.get("spec") or {},
        "status": status,
    }
    return orjson.dumps(out)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _attributes(user: UserInfo, spec: JsonObject, kind: str, group: str) -> Attributes:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise invalid(
            kind,
            "",
            [
                (
                    "FieldValueInvalid",
                    "spec.resourceAttributes",
                    f"Invalid value: {_go_value(resource, non_resource)}: exactly one of "
                    "nonResourceAttributes or resourceAttributes must be specified",
                )
            ],
            group=group,
        )
    if non_resource is not None:
        if not isinstance(non_resource, dict):
            raise ApiError(400, "BadRequest", "spec.nonResourceAttributes: must be an object")
        return Attributes(
            user=user,
            verb=str(non_resource.get("verb") or ""),
            is_resource_request=False,
            path=str(non_resource.get("path") or ""),
        )
    if not isinstance(resource, dict):
        raise ApiError(400, "BadRequest", "spec.resourceAttributes: must be an object")
    return Attributes(
        user=user,
        verb=str(resource.get("verb") or ""),
        is_resource_request=True,
        namespace=str(resource.get("namespace") or ""),
        api_group=str(resource.get("group") or ""),
        api_version=str(resource.get("version") or ""),
        resource=str(resource.get("resource") or ""),
        subresource=str(resource.get("subresource") or ""),
        name=str(resource.get("name") or ""),
    )


def _go_value(resource: Any, non_resource: Any) -> str:
    # kube prints the two pointers; "null" when neither is set is what a user needs to see.
    if resource is None and non_resource is None:
        return "null"
    return "both set"


def _access_status(allowed: bool, denied: bool, reason: str) -> JsonObject:
    status: JsonObject = {"allowed": allowed}
    if denied:
        status["denied"] = True
    if reason:
        status["reason"] = reason
    return status


def _check_types(obj: JsonObject, kind: str, group: str) -> None:
    """kube's typed decode of the spec (registry/decoding.py): strings where the types have
    strings, string lists for groups and audiences, a map of string lists for extra."""
    decode = TypedDecode(kind, f"{group}/v1")
    spec = decode.mapping(obj, "spec", "spec", "v1.Spec")
    for field in ("user", "uid", "token", "namespace"):
        decode.string(spec, field, f"spec.{field}")
    for field in ("groups", "audiences"):
        decode.strings(spec, field, f"spec.{field}")
    extra = decode.mapping(spec, "extra", "spec.extra", "map[string]v1.ExtraValue")
    for key in extra:
        decode.strings(extra, key, "spec.extra")
    for field, names in (
        (
            "resourceAttributes",
            ("namespace", "verb", "group", "version", "resource", "subresource", "name"),
        ),
        ("nonResourceAttributes", ("path", "verb")),
    ):
        attributes = decode.mapping(
            spec, field, f"spec.{field}", f"v1.{field[0].upper()}{field[1:]}"
        )
        for name in names:
            decode.string(attributes, name, f"spec.{field}.{name}")


def _decode(body: bytes, content_type: str, kind: str, group: str) -> JsonObject:
    obj = decode_object(body, content_type)
    if obj.get("kind") not in (None, "", kind):
        raise ApiError(
            400,
            "BadRequest",
            f"the object provided is unrecognized (must be of type {kind}): kind "
            f"{obj.get('kind')!r} in the body",
        )
    _check_types(obj, kind, group)
    return obj


async def serve_review(
    ctx: ReviewContext, target: Target, body: bytes, content_type: str, send: Send
) -> None:
    """POST of a review resource; 201 with the filled status, as kube-apiserver answers."""
    resource = target.resource
    kind, group = resource.kind, resource.group
    obj = _decode(body, content_type, kind, group)
    spec: JsonObject = obj.get("spec") or {}
    if kind == "SelfSubjectReview":
        status: JsonObject = {"userInfo": ctx.user.to_json()}
        out = {
            "kind": kind,
            "apiVersion": f"{group}/v1",
            "metadata": {"creationTimestamp": None},
            "status": status,
        }
        await respond(send, 201, orjson.dumps(out))
        return
    if kind == "TokenReview":
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise invalid(kind, "", [("FieldValueRequired", "spec.token", "Required value")], group)
        user, audiences, error = await ctx.review_token(token, _strings(spec.get("audiences")))
        review: JsonObject = {"authenticated": user is not None}
        if user is not None:
            review["user"] = user.to_json()
            review["audiences"] = audiences
        elif error:
            review["error"] = error
        await respond(send, 201, _answer(kind, group, obj, review))
        return
    if kind == "SelfSubjectRulesReview":
        namespace = spec.get("namespace") or ""
        if not isinstance(namespace, str):
            raise ApiError(400, "BadRequest", "spec.namespace: must be a string")
        await respond(send, 201, _answer(kind, group, obj, ctx.rules_for(ctx.user, namespace)))
        return
    if kind == "SelfSubjectAccessReview":
        attrs = _attributes(ctx.user, spec, kind, group)
        await respond(send, 201, _answer(kind, group, obj, _access_status(*ctx.decide(attrs))))
        return
    # SubjectAccessReview / LocalSubjectAccessReview: about the user named in the spec.
    name = spec.get("user") or ""
    groups = tuple(_strings(spec.get("groups")))
    if not name and not groups:
        raise invalid(
            kind,
            "",
            [
                (
                    "FieldValueRequired",
                    "spec.user",
                    "Required value: at least one of user or group must be specified",
                )
            ],
            group,
        )
    extra_raw = spec.get("extra") if isinstance(spec.get("extra"), dict) else {}
    subject = UserInfo(
        str(name),
        str(spec.get("uid") or ""),
        groups,
        {str(k): tuple(_strings(v)) for k, v in (extra_raw or {}).items()},
    )
    attrs = _attributes(subject, spec, kind, group)
    if kind == "LocalSubjectAccessReview":
        if not attrs.is_resource_request or attrs.namespace != target.namespace:
            raise invalid(
                kind,
                "",
                [
                    (
                        "FieldValueInvalid",
                        "spec.resourceAttributes.namespace",
                        f"Invalid value: {orjson.dumps(attrs.namespace).decode()}: must match "
                        f"metadata.namespace",
                    )
                ],
                group,
            )
    await respond(send, 201, _answer(kind, group, obj, _access_status(*ctx.decide(attrs))))
