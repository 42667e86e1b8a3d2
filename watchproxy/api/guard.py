"""The security filters of the handler chain, in kube-apiserver's order
(staging/src/k8s.io/apiserver/pkg/server/config.go DefaultBuildHandlerChain):
request info → authentication → audit → impersonation → authorization (tenant scope first,
then the configured modes) → handler.

`Guard.admit` runs them for one request and returns its `RequestAuth` (also set in the request
context for the write path), or raises the 401/403/400 `ApiError` the client gets. Failures
become kube's Status bodies in api/status.py like every other error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Final

from watchproxy.api.auth_sources import CacheObjectSource
from watchproxy.api.health import CHECK_NAMES
from watchproxy.api.http import Scope
from watchproxy.api.requestinfo import RequestInfo
from watchproxy.api.status import ApiError
from watchproxy.auth.attributes import Attributes, Decision
from watchproxy.auth.authn.chain import Authenticator, Outcome
from watchproxy.auth.authn.errors import StatusError
from watchproxy.auth.authn.impersonation import impersonate
from watchproxy.auth.authn.tokenrequest import TokenIssuer
from watchproxy.auth.authz.union import Authorizer, evaluation_error, forbidden_status
from watchproxy.auth.context import RequestAuth
from watchproxy.auth.tenants import ScopeRequest, TenantScope
from watchproxy.auth.user import (
    ALL_UNAUTHENTICATED,
    ANONYMOUS,
    SYSTEM_PRIVILEGED_GROUP,
    UserInfo,
    node_name,
)
from watchproxy.config import Settings
from watchproxy.core.validation import go_quote
from watchproxy.proxy import Proxy

# Served to every caller, authenticated or not, with or without anonymous authentication:
# kube's system:public-info-viewer paths (bootstrappolicy/policy.go). Probes from kubelets and
# load balancers carry no credentials.
PUBLIC_PATHS: Final = frozenset(
    {
        "/healthz",
        "/livez",
        "/readyz",
        "/version",
        "/version/",
        "/healthz/",
        "/livez/",
        "/readyz/",
    }
    # /healthz/etcd, /readyz/shutdown, ...: every check of api/health.py (kube keeps these
    # behind authorization; here a load balancer may probe one check, and the reasons of
    # failures are withheld from the answer).
    | {f"/{endpoint}/{name}" for endpoint in ("healthz", "livez", "readyz") for name in CHECK_NAMES}
)

# Without an `authentication` section (loopback only, config.py): every caller is this user.
OPEN_ADMIN: Final = UserInfo(ANONYMOUS, groups=(ALL_UNAUTHENTICATED, SYSTEM_PRIVILEGED_GROUP))

UNAUTHORIZED: Final = ApiError(401, "Unauthorized", "Unauthorized")


def _tls_cert(scope: Scope) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls")
    if not tls:
        return None
    der = tls.get("client_cert_der")
    return der if isinstance(der, bytes) and der else None


def attributes_of(user: UserInfo, info: RequestInfo) -> Attributes:
    return Attributes(
        user=user,
        verb=info.verb,
        is_resource_request=info.is_resource_request,
        path=info.path,
        namespace=info.namespace,
        api_group=info.api_group,
        api_version=info.api_version,
        resource=info.resource,
        subresource=info.subresource,
        name=info.name,
        field_requirements=info.field_requirements,
        label_requirements=info.label_requirements,
    )


class Refused(ApiError):
    """403 (or an impersonation 400) for an authenticated user: audit logs who was refused."""

    def __init__(
        self, error: ApiError, user: UserInfo, authenticated: UserInfo | None = None
    ) -> None:
        super().__init__(error.code, error.reason, str(error), details=error.details)
        self.user = user
        self.authenticated = authenticated


def forbidden(attrs: Attributes, reason: str) -> ApiError:
    body = forbidden_status(attrs, reason)
    details = body.get("details") or None
    return ApiError(403, "Forbidden", body["message"], details=details)


class Guard:
    """Authentication, impersonation, tenant scope and authorization for one proxy process.

    Owner: the app (built at lifespan start-up). Concurrency: `admit` runs concurrently for
    many requests; its parts only read the cache.
    """

    def __init__(self, settings: Settings, proxy: Proxy) -> None:
        security = settings.security
        self.enforced = not security.open_admin
        self.source = CacheObjectSource(proxy)
        self.authenticator: Authenticator | None = None
        self.issuer: TokenIssuer | None = None
        if security.authentication is not None:
            self.authenticator = Authenticator.from_settings(security.authentication, self.source)
            self.issuer = TokenIssuer.from_settings(security.authentication, self.source)
        modes = security.authorization.modes if self.enforced else ("AlwaysAllow",)
        self.authorizer = Authorizer(modes, self.source)
        self.tenants = TenantScope(settings.tenants, proxy.tenancy.tenant_of_namespace, self.source)
        self._namespaced = {(r.group, r.plural): r.namespaced for r in proxy.registry.all}

    async def aclose(self) -> None:
        if self.authenticator is not None:
            await self.authenticator.aclose()

    async def authenticate(self, scope: Scope, info: RequestInfo) -> UserInfo:
        """The request's user, or 401 Unauthorized (kube's body: reason and message
        `Unauthorized`)."""
        if self.authenticator is None:
            return OPEN_ADMIN
        authorization = None
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                authorization = value.decode("latin-1")
                break
        result = await self.authenticator.authenticate(
            client_cert_der=_tls_cert(scope), authorization=authorization
        )
        if result.user is not None:
            return result.user
        if result.outcome is Outcome.NO_CREDENTIALS and info.path in PUBLIC_PATHS:
            return UserInfo(ANONYMOUS, groups=(ALL_UNAUTHENTICATED,))
        raise UNAUTHORIZED

    async def impersonate(
        self, user: UserInfo, headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[UserInfo, UserInfo | None]:
        """(the user the request acts as, the authenticated user when impersonating)."""
        text = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        if not any(k.lower().startswith("impersonate-") for k, _ in text):
            return user, None
        try:
            result = await impersonate(user, text, self.authorizer.authorize)
        except StatusError as exc:
            raise ApiError(exc.code, exc.reason, exc.message, details=exc.details) from exc
        if result is None:
            return user, None
        tenant = self.tenant_of(user)
        if tenant is not None and self.tenant_of(result.user) != tenant:
            # A tenant identity acts only as identities of its own tenant: impersonating anyone
            # else (another tenant's ServiceAccount, a user of no tenant) would leave it.
            attrs = Attributes(
                user=user, verb="impersonate", is_resource_request=True, resource="users",
                name=result.user.name,
            )  # fmt: skip
            raise forbidden(
                attrs,
                f'watchproxy: {go_quote(result.user.name)} is not an identity of tenant "{tenant}"',
            )
        return result.user, user

    def tenant_of(self, user: UserInfo) -> str | None:
        return self.tenants.tenant_of(user) if self.enforced else None

    def decide(self, attrs: Attributes) -> tuple[bool, bool, str]:
        """(allowed, denied, reason) for `attrs`, as the request path decides: the tenant
        scope first, then the authorizer chain. Used by SubjectAccessReviews too."""
        tenant = self.tenant_of(attrs.user)
        if tenant is not None:
            refusal = self.tenants.refusal(tenant, self._scope_request(attrs))
            if refusal is not None:
                return False, True, f"watchproxy: {refusal}"
        if not attrs.is_resource_request and attrs.path in PUBLIC_PATHS and attrs.verb == "get":
            return True, False, ""
        verdict = self.authorizer.authorize(attrs)
        return (
            verdict.decision is Decision.ALLOW,
            verdict.decision is Decision.DENY,
            verdict.reason,
        )

    async def review_token(
        self, token: str, audiences: list[str]
    ) -> tuple[UserInfo | None, list[str], str]:
        """TokenReview: (user, audiences, error) through the same token chain as requests."""
        if self.authenticator is None:
            return None, [], "no token authenticators are configured"
        result = await self.authenticator.review_status(token, audiences)
        return result.user, list(result.audiences), result.error

    def rules_for(self, user: UserInfo, namespace: str) -> dict[str, Any]:
        """SelfSubjectRulesReview status (pkg/registry/authorization/selfsubjectrulesreview)."""
        found = self.authorizer.rules_for(user, namespace)
        tenant = self.tenant_of(user)
        if (
            tenant is not None
            and namespace
            and self.tenants.namespaces_of(tenant, [namespace]) != [namespace]
        ):
            # Outside its tenant nothing RBAC says applies: no resource rules.
            return {
                "resourceRules": [],
                "nonResourceRules": list(found.non_resource_rules),
                "incomplete": False,
                "evaluationError": (
                    f'watchproxy: namespace "{namespace}" is not in tenant "{tenant}"'
                ),
            }
        status: dict[str, Any] = {
            "resourceRules": list(found.resource_rules),
            "nonResourceRules": list(found.non_resource_rules),
            "incomplete": found.incomplete,
        }
        if found.errors:
            status["evaluationError"] = evaluation_error(found.errors)
        return status

    def _tenant_namespaces(self, attrs: Attributes) -> frozenset[str] | None:
        """A tenant-scoped identity's cluster-wide LIST or WATCH of a namespaced resource that
        RBAC does not allow at the cluster scope: the tenant's namespaces in which it is allowed
        (None when there is none, or the request is of another shape). The request is then
        served over those namespaces only -- what kube-apiserver cannot do. Decided once, at
        the start: a namespace created later does not join a running watch."""
        tenant = self.tenant_of(attrs.user)
        if (
            tenant is None
            or attrs.verb not in ("list", "watch")
            or attrs.namespace
            or not self._scope_request(attrs).namespaced
        ):
            return None
        allowed = frozenset(
            ns
            for ns in self.tenants.namespaces_of(tenant, self._namespace_names())
            if self.decide(dataclasses.replace(attrs, namespace=ns))[0]
        )
        return allowed or None

    def _namespace_names(self) -> list[str]:
        return [
            str((obj.get("metadata") or {}).get("name", ""))
            for obj in self.source.list("namespaces")
        ]

    def _scope_request(self, attrs: Attributes) -> ScopeRequest:
        return ScopeRequest(
            is_resource_request=attrs.is_resource_request,
            api_group=attrs.api_group,
            resource=attrs.resource,
            namespace=attrs.namespace,
            name=attrs.name,
            namespaced=self._namespaced.get((attrs.api_group, attrs.resource), False),
            verb=attrs.verb,
            path=attrs.path,
            node=node_name(attrs.user) or "",
        )

    async def admit(self, scope: Scope, info: RequestInfo) -> RequestAuth:
        """Run the chain for one request. Raises ApiError 401 (not authenticated), 400/403
        (impersonation), 403 Forbidden (tenant scope or authorizers), with kube's bodies."""
        user = await self.authenticate(scope, info)
        if not self.enforced:
            return RequestAuth(user=user, enforced=False)
        try:
            acting, original = await self.impersonate(user, scope.get("headers", ()))
        except ApiError as exc:
            raise Refused(exc, user) from exc
        attrs = attributes_of(acting, info)
        allowed, _, reason = self.decide(attrs)
        namespaces = None
        if not allowed:
            namespaces = self._tenant_namespaces(attrs)
            if not namespaces:
                refusal = forbidden(attrs, reason)
                raise Refused(refusal, acting, original) if original else Refused(refusal, user)
        return RequestAuth(
            reason=reason,
            namespaces=namespaces,
            user=acting,
            tenant=self.tenant_of(acting),
            authenticated=original,
            authorize=lambda a: self.decide(a)[0],
            verdict=self.authorizer.authorize,
            rbac=self.authorizer.rbac,
        )
