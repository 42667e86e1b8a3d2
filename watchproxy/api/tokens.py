"""TokenRequest: `POST .../serviceaccounts/NAME/token` (authentication.k8s.io/v1), issuing a
bound ServiceAccount token signed with `service_account_signing_key_file`, as kubelets ask for
their pods' projected tokens (pkg/registry/core/serviceaccount/storage/token.go).

Order of checks, as kube's: metadata against the URL (422), the ServiceAccount (404), the spec
(422), the bound object (400/404/409), NodeRestriction for nodes (403), then the token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from watchproxy.api.http import Send, respond
from watchproxy.api.status import ApiError, invalid, not_found
from watchproxy.api.target import Target
from watchproxy.api.writes import decode_object
from watchproxy.auth.authn.errors import StatusError
from watchproxy.auth.authn.serviceaccount import DEFAULT_EXPIRATION_SECONDS
from watchproxy.auth.authn.tokenrequest import (
    TokenIssuer,
    check_token_request_metadata,
    resolve_bound_object,
    validate_token_request,
)
from watchproxy.auth.authz.node import node_identity
from watchproxy.auth.authz.noderestriction import node_may_request_token
from watchproxy.auth.authz.rbac import ReferenceNotFound
from watchproxy.auth.context import RequestAuth
from watchproxy.auth.sources import ObjectSource
from watchproxy.auth.tenants import TENANT_LABEL
from watchproxy.registry.decoding import TypedDecode

GROUP = "authentication.k8s.io"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def serve_token_request(
    issuer: TokenIssuer | None,
    source: ObjectSource,
    auth: RequestAuth,
    target: Target,
    body: bytes,
    content_type: str,
    send: Send,
) -> None:
    """201 with `status.token` and `status.expirationTimestamp`; a shortened expiration is
    announced in a `Warning` header, as kube does."""
    namespace, name = target.namespace, target.name
    if issuer is None:
        raise ApiError(
            404,
            "NotFound",
            "the server could not find the requested resource (TokenRequest needs "
            "authentication.service_account_signing_key_file)",
        )
    request = decode_object(body, content_type)
    if request.get("kind") not in (None, "", "TokenRequest"):
        raise ApiError(
            400,
            "BadRequest",
            f"the object provided is unrecognized (must be of type TokenRequest): kind "
            f"{request.get('kind')!r} in the body",
        )
    causes = check_token_request_metadata(
        request.get("metadata") or {}, name=name, namespace=namespace
    )
    if causes:
        raise invalid("TokenRequest", name, causes, GROUP)
    sa = source.get("serviceaccounts", namespace, name)
    if sa is None:
        raise not_found("serviceaccounts", name)
    spec = _typed_spec(request)
    causes = validate_token_request(spec)
    if causes:
        raise invalid("TokenRequest", "", causes, GROUP)
    _hide_other_tenants_node(spec, auth, source)
    try:
        bound = resolve_bound_object(spec, service_account=name, namespace=namespace, source=source)
    except StatusError as exc:
        raise ApiError(exc.code, exc.reason, exc.message, details=exc.details) from exc
    node, is_node = node_identity(auth.user)
    if is_node and auth.enforced:
        try:
            refusal = node_may_request_token(
                node, request, bound if _kind(bound) == "Pod" else None
            )
        except ReferenceNotFound as exc:
            raise not_found(exc.resource, exc.name, exc.group) from exc
        if refusal is not None:
            raise ApiError(
                403,
                "Forbidden",
                f'serviceaccounts "{name}" is forbidden: {refusal}',
                details={"name": name, "group": "", "kind": "serviceaccounts"},
            )
    seconds, warning = issuer.expiration_for(
        int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION_SECONDS)
    )
    audiences = [a for a in spec.get("audiences") or [] if isinstance(a, str)]
    token, expiration = issuer.issue(
        namespace=namespace,
        service_account=sa,
        audiences=audiences,
        expiration_seconds=seconds,
        bound_object=bound,
    )
    spec["expirationSeconds"] = seconds
    spec["audiences"] = audiences or list(issuer.default_audiences)
    answer = {
        "kind": "TokenRequest",
        "apiVersion": f"{GROUP}/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": _rfc3339(expiration)},
    }
    extra = [(b"warning", f'299 - "{warning}"'.encode())] if warning else None
    await respond(send, 201, orjson.dumps(answer), extra_headers=extra)


def _typed_spec(request: dict[str, Any]) -> dict[str, Any]:
    """The spec as kube's typed decode leaves it, or its 400 (registry/decoding.py)."""
    decode = TypedDecode("TokenRequest", f"{GROUP}/v1")
    spec = decode.mapping(request, "spec", "spec", "v1.TokenRequestSpec")
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int) or not -(2**63) <= seconds < 2**63
    ):
        decode.wrong(seconds, "spec.expirationSeconds", "int64")
    decode.strings(spec, "audiences", "spec.audiences")
    ref = decode.mapping(spec, "boundObjectRef", "spec.boundObjectRef", "v1.BoundObjectReference")
    for field in ("kind", "apiVersion", "name", "uid"):
        decode.string(ref, field, f"spec.boundObjectRef.{field}")
    return dict(spec)


def _hide_other_tenants_node(spec: dict[str, Any], auth: RequestAuth, source: ObjectSource) -> None:
    """For a tenant identity, a Node of another tenant (or of none) is not found: no uid in a
    token, no 409 telling it exists."""
    ref = spec.get("boundObjectRef") or {}
    if auth.tenant is None or ref.get("kind") != "Node":
        return
    name = str(ref.get("name") or "")
    node = source.get("nodes", "", name)
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    if labels.get(TENANT_LABEL) != auth.tenant:
        raise not_found("nodes", name)


def _kind(obj: dict[str, Any] | None) -> str:
    return str((obj or {}).get("kind") or "")
