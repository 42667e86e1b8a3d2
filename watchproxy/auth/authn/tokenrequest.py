"""TokenRequest (`serviceaccounts/NAME/token`, authentication.k8s.io/v1): kube's validation of
the request, the bound object it names, and the signer of bound ServiceAccount tokens
(pkg/registry/core/serviceaccount/storage/token.go, pkg/serviceaccount/jwt.go and claims.go).
Split from serviceaccount.py, which verifies the tokens this module issues.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watchproxy.auth.authn.errors import TokenRequestError
from watchproxy.auth.authn.serviceaccount import (
    _JWS,
    DEFAULT_EXPIRATION_SECONDS,
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    Cause,
    PublicKey,
    _meta,
    _uid,
    key_id,
    load_private_key,
    signing_algorithm,
)
from watchproxy.auth.settings import AuthenticationSettings
from watchproxy.auth.sources import JsonObject, ObjectSource
from watchproxy.auth.user import service_account_username
from watchproxy.core.validation import field_invalid, go_quote

# -- TokenRequest ----------------------------------------------------------------------------------


def validate_token_request(spec: Mapping[str, Any]) -> list[Cause]:
    """pkg/apis/authentication/validation ValidateTokenRequest on a decoded
    `authentication.k8s.io/v1` TokenRequest spec (expirationSeconds defaults to 3600): the causes
    of kube's 422 (`TokenRequest.authentication.k8s.io "" is invalid: ...`; kube names it "").

    kube's TokenRequest handler (storage/token.go) checks, in order: metadata.name/namespace
    against the URL (422, `check_token_request_metadata`), the ServiceAccount (404), this
    validation, then the bound object (`resolve_bound_object`)."""
    causes: list[Cause] = []
    seconds = spec.get("expirationSeconds")
    if seconds is None:
        seconds = DEFAULT_EXPIRATION_SECONDS
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        if seconds < MIN_EXPIRATION_SECONDS:
            causes.append(
                field_invalid(
                    "spec.expirationSeconds",
                    str(seconds),
                    "may not specify a duration less than 10 minutes",
                )
            )
        if seconds > MAX_EXPIRATION_SECONDS:
            causes.append(
                field_invalid(
                    "spec.expirationSeconds",
                    str(seconds),
                    "may not specify a duration larger than 2^32 seconds",
                )
            )
    return causes


def check_token_request_metadata(
    metadata: Mapping[str, Any], *, name: str, namespace: str
) -> list[Cause]:
    """storage/token.go: a name or namespace in the body must match the URL's (422 named after
    the ServiceAccount, one cause at a time as kube returns the first)."""
    for field, expected in (("name", name), ("namespace", namespace)):
        given = metadata.get(field) or ""
        if given and given != expected:
            return [
                field_invalid(
                    f"metadata.{field}",
                    go_quote(str(given)),
                    f"must match the service account {field} if specified",
                )
            ]
    return []


def _group_version(api_version: str) -> tuple[str, str] | None:
    """schema.ParseGroupVersion."""
    if not api_version:
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", api_version
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


_BOUND_KINDS = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}


def _path_segment_problem(name: str) -> str:
    """The registry's key functions (registry/generic/registry/store.go NamespaceKeyFunc,
    NoNamespaceKeyFunc) on a Get by name: empty or not a valid path segment is a 400."""
    if not name:
        return "Name parameter required."
    if name in (".", ".."):
        problems = [f"may not be '{name}'"]
    else:
        problems = [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    if problems:
        return f"Name parameter invalid: {go_quote(name)}: {';'.join(problems)}"
    return ""


def resolve_bound_object(
    spec: Mapping[str, Any], *, service_account: str, namespace: str, source: ObjectSource
) -> JsonObject | None:
    """The object `spec.boundObjectRef` names (with its `kind` set), None when there is no
    reference. Raises TokenRequestError as storage/token.go: 400 `cannot bind token to object of
    type G/V, Kind=K` (kinds other than core Pod, Secret, Node), 400 `Name parameter required.`
    (or `Name parameter invalid: ...`), 404 `pods "x" not found`, 400 for a pod of another
    ServiceAccount, 409 when the reference's uid (if any) differs from the object's."""
    ref = spec.get("boundObjectRef")
    if not isinstance(ref, dict):
        return None
    kind = str(ref.get("kind") or "")
    name = str(ref.get("name") or "")
    ref_uid = str(ref.get("uid") or "")
    gv = _group_version(str(ref.get("apiVersion") or ""))
    group, version = gv if gv is not None else ("", "")
    resource = _BOUND_KINDS.get(kind) if group == "" else None
    if resource is None:
        raise TokenRequestError(
            400, "BadRequest", f"cannot bind token to object of type {group}/{version}, Kind={kind}"
        )
    name_problem = _path_segment_problem(name)
    if name_problem:
        raise TokenRequestError(400, "BadRequest", name_problem)
    obj = source.get(resource, "" if kind == "Node" else namespace, name)
    if obj is None:
        raise TokenRequestError(
            404,
            "NotFound",
            f"{resource} {go_quote(name)} not found",
            {"name": name, "group": "", "kind": resource},
        )
    if kind == "Pod":
        spec_of_pod = obj.get("spec")
        pod_sa = spec_of_pod.get("serviceAccountName", "") if isinstance(spec_of_pod, dict) else ""
        if pod_sa != service_account:
            raise TokenRequestError(
                400,
                "BadRequest",
                f"cannot bind token for serviceaccount {go_quote(service_account)} to pod running"
                " with different serviceaccount name.",
            )
    if ref_uid and _uid(obj) != ref_uid:
        raise TokenRequestError(
            409,
            "Conflict",
            f"Operation cannot be fulfilled on {kind} {go_quote(name)}: the UID in the bound"
            f" object reference ({ref_uid}) does not match the UID in record. The object might"
            " have been deleted and then recreated",
            {"name": name, "group": "", "kind": kind},
        )
    return obj if obj.get("kind") == kind else {**obj, "kind": kind}


def _ref_claim(obj: JsonObject) -> dict[str, str]:
    """claims.go ref{Name, UID} with omitempty."""
    out: dict[str, str] = {}
    meta = _meta(obj)
    if meta.get("name"):
        out["name"] = str(meta["name"])
    if meta.get("uid"):
        out["uid"] = str(meta["uid"])
    return out


class TokenIssuer:
    """kube's TokenRequest signer: `--service-account-signing-key-file` and the first
    `--service-account-issuer` (jwt.go JWTTokenGenerator, claims.go Claims,
    storage/token.go Create).

    `api_audiences` are used when a request names none; `max_expiration_seconds` (0: no limit)
    shortens longer requests (`--service-account-max-token-expiration`); `source` finds the node
    of a bound pod. kube's `--service-account-extend-token-expiration` (pod-bound tokens of 3607 s
    made valid for a year with a `warnafter` claim) is not done: tokens expire when asked.
    """

    def __init__(
        self,
        signing_key_file: str | Path,
        issuer: str,
        *,
        api_audiences: Sequence[str] = (),
        max_expiration_seconds: int = 0,
        source: ObjectSource | None = None,
    ) -> None:
        self._key = load_private_key(signing_key_file)
        self.algorithm = signing_algorithm(self._key)
        self.public_key: PublicKey = self._key.public_key()
        self.key_id = key_id(self.public_key)
        self.issuer = issuer
        self._audiences = tuple(api_audiences)
        self._max = max_expiration_seconds
        self._source = source

    @property
    def default_audiences(self) -> tuple[str, ...]:
        """The audiences of a token whose request names none (the API audiences)."""
        return self._audiences

    @classmethod
    def from_settings(
        cls, settings: AuthenticationSettings, source: ObjectSource | None
    ) -> TokenIssuer | None:
        """None without a signing key file (kube then serves no TokenRequest)."""
        if not settings.service_account_signing_key_file or not settings.service_account_issuers:
            return None
        return cls(
            settings.service_account_signing_key_file,
            settings.service_account_issuers[0],
            api_audiences=settings.audiences,
            max_expiration_seconds=settings.service_account_max_token_expiration_seconds,
            source=source,
        )

    def expiration_for(self, requested: int) -> tuple[int, str | None]:
        """The expiration a request for `requested` seconds gets, with kube's warning when it
        was shortened to the maximum (`requested expiration of N seconds shortened to M
        seconds`)."""
        if self._max > 0 and requested > self._max:
            return self._max, (
                f"requested expiration of {requested} seconds shortened to {self._max} seconds"
            )
        return requested, None

    def issue(
        self,
        *,
        namespace: str,
        service_account: JsonObject,
        audiences: Sequence[str] = (),
        expiration_seconds: int = DEFAULT_EXPIRATION_SECONDS,
        bound_object: JsonObject | None = None,
        now: datetime | None = None,
    ) -> tuple[str, datetime]:
        """A signed token for `service_account` and its expiration time (status
        .expirationTimestamp: `now` + the possibly shortened expiration, as kube).

        Claims as kube writes them (keys sorted, as Go serializes the merged claims): aud (the
        request's audiences, else the API audiences), exp, iat, iss, jti (a uuid4), nbf, sub and
        `kubernetes.io` {namespace, serviceaccount{name, uid}, and pod, secret or node for a
        bound object}; a bound pod with spec.nodeName also gets `node` (name, and uid when the
        node is in the cache: kube embeds the bare name when the node is not found). Header:
        alg and kid, no typ. `bound_object` is what `resolve_bound_object` returned.
        """
        moment = now or datetime.now(UTC)
        seconds, _ = self.expiration_for(expiration_seconds)
        issued = int(moment.timestamp())
        sa_meta = _meta(service_account)
        sa_name = str(sa_meta.get("name", ""))
        private: dict[str, Any] = {"serviceaccount": _ref_claim(service_account)}
        if namespace:
            private["namespace"] = namespace
        if bound_object is not None:
            kind = bound_object.get("kind")
            if kind == "Pod":
                private["pod"] = _ref_claim(bound_object)
                pod_spec = bound_object.get("spec")
                node_name = pod_spec.get("nodeName") if isinstance(pod_spec, dict) else None
                if node_name:
                    node = self._source.get("nodes", "", node_name) if self._source else None
                    private["node"] = (
                        _ref_claim(node) if node is not None else {"name": str(node_name)}
                    )
            elif kind == "Secret":
                private["secret"] = _ref_claim(bound_object)
            elif kind == "Node":
                private["node"] = _ref_claim(bound_object)
            else:
                raise ValueError(f"cannot bind token to object of kind {kind!r}")
        claims: dict[str, Any] = {
            "exp": issued + seconds,
            "iat": issued,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": private,
            "nbf": issued,
            "sub": service_account_username(namespace, sa_name),
        }
        auds = list(audiences) or list(self._audiences)
        if auds:
            claims["aud"] = auds
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        token = _JWS.encode(
            payload.encode(),
            self._key,
            algorithm=self.algorithm,
            headers={"kid": self.key_id, "typ": None},
        )
        return token, moment + timedelta(seconds=seconds)
