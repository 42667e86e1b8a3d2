"""The request's identity, where the write path can read it: kube passes it in the request
context (`request.UserFrom(ctx)`); here a ContextVar set by the API edge for the request's task.

Registry strategies read it for the checks kube makes at admission or in RBAC storage:
NodeRestriction, RBAC escalation (`escalate`/`bind`), tenant-scoped creates.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.rbac import RBACAuthorizer
from watchproxy.auth.user import UserInfo


@dataclass(frozen=True, slots=True)
class RequestAuth:
    """Who is asking (after impersonation), for which tenant, and how to ask the authorizer
    further questions about the same user (`authorize(attrs) -> allowed`)."""

    user: UserInfo
    tenant: str | None = None
    # The authenticated user when `user` is impersonated (audit's user; `user` is
    # impersonatedUser there).
    authenticated: UserInfo | None = None
    authorize: Callable[[Attributes], bool] = field(default=lambda _attrs: True)
    # The authorizer chain's answer with its reason (RBAC's escalate/bind checks), and the RBAC
    # authorizer itself when RBAC is a configured mode (escalation checks hold rules against it).
    verdict: Callable[[Attributes], Verdict] = field(default=lambda _attrs: Verdict(Decision.ALLOW))
    rbac: RBACAuthorizer | None = None
    # The authorizer's reason for allowing the request (audit's authorization.k8s.io/reason).
    reason: str = ""
    # A tenant-scoped cluster-wide LIST/WATCH allowed in these namespaces only (guard.py).
    namespaces: frozenset[str] | None = None
    # False when no authentication is configured (loopback dev mode): every caller is admin.
    enforced: bool = True


current_request: ContextVar[RequestAuth | None] = ContextVar("current_request", default=None)


def request_auth() -> RequestAuth | None:
    """The current request's identity, or None outside a request (controllers, start-up)."""
    return current_request.get()
