"""The authorizer chain of `--authorization-mode` and kube's 403 answers.

`Authorizer` is staging/src/k8s.io/apiserver/pkg/authorization/union/union.go over the chain
kube-apiserver builds (pkg/kubeapiserver/authorizer): first the privileged-group authorizer
(authorizerfactory.NewPrivilegedGroups("system:masters"): its members are always allowed), then
one authorizer per mode in order: AlwaysAllow (allow), AlwaysDeny (NO_OPINION, reason
"Everything is forbidden."), Node, RBAC.  The first ALLOW or DENY ends the chain; otherwise the
answer is NO_OPINION with every reason joined by newlines, and the request is forbidden (kube's
WithAuthorization filter refuses anything that is not ALLOW).

`forbidden_message` / `forbidden_status` are the filter's refusal
(staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go Forbidden and
forbiddenMessage, wrapped by apimachinery's errors.NewForbidden).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.node import NodeAuthorizer
from watchproxy.auth.authz.rbac import RBACAuthorizer, RulesFor, aggregate_errors
from watchproxy.auth.authz.rules import request_name
from watchproxy.auth.sources import ObjectSource
from watchproxy.auth.user import SYSTEM_PRIVILEGED_GROUP, UserInfo
from watchproxy.core.validation import go_quote

MODES: Final = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC")
ALWAYS_DENY_REASON: Final = "Everything is forbidden."


class ModeAuthorizer(Protocol):
    def authorize(self, attrs: Attributes) -> Verdict: ...

    def rules_for(self, user: UserInfo, namespace: str) -> RulesFor: ...


class AlwaysAllow:
    """authorizerfactory alwaysAllowAuthorizer."""

    def authorize(self, attrs: Attributes) -> Verdict:
        return Verdict(Decision.ALLOW)

    def rules_for(self, user: UserInfo, namespace: str) -> RulesFor:
        return RulesFor(
            [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            False,
            [],
        )


class AlwaysDeny:
    """authorizerfactory alwaysDenyAuthorizer: no opinion, and the reason says why."""

    def authorize(self, attrs: Attributes) -> Verdict:
        return Verdict(Decision.NO_OPINION, ALWAYS_DENY_REASON)

    def rules_for(self, user: UserInfo, namespace: str) -> RulesFor:
        return RulesFor([], [], False, [])


class Authorizer:
    """The union of the privileged-group authorizer and the `modes` (settings.AUTHORIZATION_MODES
    names), in order.  `rbac` and `node` are the mode authorizers when configured (the RBAC
    write paths need `rbac` for their escalation checks)."""

    def __init__(self, modes: Sequence[str], source: ObjectSource) -> None:
        self.rbac: RBACAuthorizer | None = None
        self.node: NodeAuthorizer | None = None
        chain: list[ModeAuthorizer] = []
        for mode in modes:
            if mode == "AlwaysAllow":
                chain.append(AlwaysAllow())
            elif mode == "AlwaysDeny":
                chain.append(AlwaysDeny())
            elif mode == "Node":
                self.node = NodeAuthorizer(source)
                chain.append(self.node)
            elif mode == "RBAC":
                self.rbac = RBACAuthorizer(source)
                chain.append(self.rbac)
            else:
                raise ValueError(f"unknown authorization mode {mode!r} (one of {', '.join(MODES)})")
        self._chain: tuple[ModeAuthorizer, ...] = tuple(chain)

    def authorize(self, attrs: Attributes) -> Verdict:
        """unionAuthzHandler.Authorize, with kube's privileged-group authorizer first."""
        if SYSTEM_PRIVILEGED_GROUP in attrs.user.groups:
            return Verdict(Decision.ALLOW)
        reasons: list[str] = []
        for authorizer in self._chain:
            verdict = authorizer.authorize(attrs)
            if verdict.decision is not Decision.NO_OPINION:
                return verdict
            if verdict.reason:
                reasons.append(verdict.reason)
        return Verdict(Decision.NO_OPINION, "\n".join(reasons))

    def rules_for(self, user: UserInfo, namespace: str) -> RulesFor:
        """unionAuthzRulesHandler.RulesFor, for SelfSubjectRulesReview (the privileged-group
        authorizer is not a rule resolver in kube either)."""
        resource: list[dict[str, list[str]]] = []
        non_resource: list[dict[str, list[str]]] = []
        incomplete = False
        errors: list[str] = []
        for authorizer in self._chain:
            found = authorizer.rules_for(user, namespace)
            resource.extend(found.resource_rules)
            non_resource.extend(found.non_resource_rules)
            incomplete = incomplete or found.incomplete
            errors.extend(found.errors)
        return RulesFor(resource, non_resource, incomplete, errors)


# -- 403 ------------------------------------------------------------------------------------------

_SANITIZE: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def forbidden_message(attrs: Attributes) -> str:
    """forbiddenMessage (responsewriters/errors.go):
    `User "alice" cannot get resource "secrets" in API group "" in the namespace "gx"`,
    `... resource "pods/status" ... at the cluster scope`, `User "x" cannot get path "/metrics"`.
    """
    user = go_quote(attrs.user.name)
    if not attrs.is_resource_request:
        return f"User {user} cannot {attrs.verb} path {go_quote(attrs.path)}"
    resource = attrs.resource
    if attrs.subresource:
        resource = f"{resource}/{attrs.subresource}"
    text = (
        f"User {user} cannot {attrs.verb} resource {go_quote(resource)} in API group"
        f" {go_quote(attrs.api_group)}"
    )
    if attrs.namespace:
        return f"{text} in the namespace {go_quote(attrs.namespace)}"
    return f"{text} at the cluster scope"


def new_forbidden(group: str, resource: str, name: str, err: str) -> dict[str, Any]:
    """apimachinery errors.NewForbidden(GroupResource{group, resource}, name, err) as the Status
    JSON body: message `secrets "db-pass" is forbidden: <err>` (no name: `secrets is forbidden:
    ...`; no resource: `forbidden: ...`), details {name, group, kind=resource} without the empty
    ones, code 403."""
    if not group and not resource:
        message = f"forbidden: {err}"
    else:
        qualified = f"{resource}.{group}" if group else resource
        if name:
            message = f"{qualified} {go_quote(name)} is forbidden: {err}"
        else:
            message = f"{qualified} is forbidden: {err}"
    details: dict[str, str] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if resource:
        details["kind"] = resource
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def forbidden_error(attrs: Attributes, reason: str = "") -> str:
    """The error the filter hands to NewForbidden: forbiddenMessage with `&`, `<`, `>` escaped
    as HTML entities, then `: <reason>` when the chain gave a reason."""
    message = forbidden_message(attrs).translate(_SANITIZE)
    return f"{message}: {reason}" if reason else message


def forbidden_status(attrs: Attributes, reason: str = "") -> dict[str, Any]:
    """responsewriters.Forbidden's Status body for a refused request: NewForbidden(group and
    resource of the request (not its subresource), its name (for a list or watch, the
    `metadata.name=` of its field selector, as kube's RequestInfo fills it), forbidden_error)."""
    if attrs.is_resource_request:
        name = request_name(attrs)
        return new_forbidden(attrs.api_group, attrs.resource, name, forbidden_error(attrs, reason))
    return new_forbidden("", "", "", forbidden_error(attrs, reason))


def evaluation_error(errors: Iterable[str]) -> str:
    """SelfSubjectRulesReview's status.evaluationError: the errors as one aggregate."""
    return aggregate_errors(list(errors))
