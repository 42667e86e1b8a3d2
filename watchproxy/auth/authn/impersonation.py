"""The `Impersonate-*` headers, as kube's impersonation filter
(apiserver/pkg/endpoints/filters/impersonation/impersonation.go `WithImpersonation`,
`buildImpersonationRequests`; the legacy, unconstrained mode).

Each thing asked for is one authorization check of the *authenticated* user, verb
`impersonate`, in this order: the user (resource `serviceaccounts` in the account's namespace
for `system:serviceaccount:NS:NAME`, else `users`, API group ""), each group (`groups`), each
extra value (`userextras` in `authentication.k8s.io`, subresource = the extra key), the uid
(`uids` in `authentication.k8s.io`). The first refusal is a 403 with kube's message.

Header names are matched case-insensitively (Go canonicalizes them); `Impersonate-User` and
`Impersonate-Uid` use their first value (Go's Header.Get); every `Impersonate-Group` value is one
group (values are not split on commas). An extra key is the rest of the header name, lower-cased,
then percent-decoded (url.PathUnescape; kept as is when malformed).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authn.errors import ImpersonationBadRequest, ImpersonationForbidden
from watchproxy.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    ANONYMOUS,
    SERVICE_ACCOUNTS_GROUP,
    UserInfo,
    service_account_username,
    split_service_account_username,
)
from watchproxy.core.validation import dns1123_label_errors, dns1123_subdomain_errors, go_quote

IMPERSONATE_USER_HEADER: Final = "Impersonate-User"
IMPERSONATE_UID_HEADER: Final = "Impersonate-Uid"
IMPERSONATE_GROUP_HEADER: Final = "Impersonate-Group"
IMPERSONATE_EXTRA_PREFIX: Final = "Impersonate-Extra-"
AUTHENTICATION_GROUP: Final = "authentication.k8s.io"
AUTHENTICATION_V1: Final = "authentication.k8s.io/v1"

# What `authorize` may answer: allowed or not, or a Verdict (its reason goes into the 403).
Answer = bool | Verdict
Authorize = Callable[[Attributes], Answer | Awaitable[Answer]]

_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# responsewriters/errors.go sanitizer.
_SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True, slots=True)
class ImpersonationRequest:
    """One thing to impersonate (kube's v1.ObjectReference use): kind User, ServiceAccount,
    Group, UserExtra (field_path = the extra key, name = one value) or UID."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    field_path: str = ""

    def go_value(self) -> str:
        """Go's %v of the ObjectReference {Kind Namespace Name UID APIVersion ResourceVersion
        FieldPath}."""
        fields = (self.kind, self.namespace, self.name, "", self.api_version, "", self.field_path)
        return "{" + " ".join(fields) + "}"


@dataclass(frozen=True, slots=True)
class Impersonation:
    """The user the request runs as now, and the authenticated user who asked (audit logs both:
    `impersonatedUser` and `user`); `checks` are the authorization checks that allowed it."""

    user: UserInfo
    original: UserInfo
    checks: tuple[Attributes, ...] = ()


def _unescape_extra_key(encoded: str) -> str:
    """url.PathUnescape, falling back to the raw key when malformed."""
    if _PERCENT.search(encoded):
        return encoded
    return unquote(encoded)


def _split_service_account(username: str) -> tuple[str, str] | None:
    """serviceaccount.SplitUsername: namespace a DNS label, name a DNS subdomain."""
    split = split_service_account_username(username)
    if split is None or dns1123_label_errors(split[0]) or dns1123_subdomain_errors(split[1]):
        return None
    return split


def parse_impersonation_headers(
    headers: Iterable[tuple[str, str]],
) -> list[ImpersonationRequest]:
    """buildImpersonationRequests: what the headers ask for, in kube's order (user, groups,
    extras by header, uid); empty when there is no impersonation header. Raises
    ImpersonationBadRequest (400, kube's message `requested [...] without impersonating a user`)
    for groups, extras or a uid without `Impersonate-User`."""
    user_values: list[str] = []
    uid_values: list[str] = []
    groups: list[str] = []
    extras: dict[str, list[str]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower == "impersonate-user":
            user_values.append(value)
        elif lower == "impersonate-uid":
            uid_values.append(value)
        elif lower == "impersonate-group":
            groups.append(value)
        elif lower.startswith("impersonate-extra-"):
            extras.setdefault(lower[len(IMPERSONATE_EXTRA_PREFIX) :], []).append(value)

    requests: list[ImpersonationRequest] = []
    requested_user = user_values[0] if user_values else ""
    if requested_user:
        split = _split_service_account(requested_user)
        if split is not None:
            requests.append(ImpersonationRequest("ServiceAccount", split[1], namespace=split[0]))
        else:
            requests.append(ImpersonationRequest("User", requested_user))
    for group in groups:
        requests.append(ImpersonationRequest("Group", group))
    for raw_key, values in extras.items():
        key = _unescape_extra_key(raw_key)
        for value in values:
            requests.append(
                ImpersonationRequest(
                    "UserExtra", value, api_version=AUTHENTICATION_V1, field_path=key
                )
            )
    requested_uid = uid_values[0] if uid_values else ""
    if requested_uid:
        requests.append(ImpersonationRequest("UID", requested_uid, api_version=AUTHENTICATION_V1))
    if (groups or extras or requested_uid) and not requested_user:
        shown = "[" + " ".join(r.go_value() for r in requests) + "]"
        raise ImpersonationBadRequest(f"requested {shown} without impersonating a user")
    return requests


def forbidden_message(attributes: Attributes, reason: str = "") -> str:
    """responsewriters.Forbidden + apierrors.NewForbidden: `users "bob" is forbidden: User
    "alice" cannot impersonate resource "users" in API group "" at the cluster scope`."""
    resource = attributes.resource
    if attributes.subresource:
        resource = f"{resource}/{attributes.subresource}"
    who = go_quote(attributes.user.name)
    if not attributes.is_resource_request:
        msg = f"User {who} cannot {attributes.verb} path {go_quote(attributes.path)}"
    elif attributes.namespace:
        msg = (
            f"User {who} cannot {attributes.verb} resource {go_quote(resource)} in API group"
            f" {go_quote(attributes.api_group)} in the namespace {go_quote(attributes.namespace)}"
        )
    else:
        msg = (
            f"User {who} cannot {attributes.verb} resource {go_quote(resource)} in API group"
            f" {go_quote(attributes.api_group)} at the cluster scope"
        )
    msg = msg.translate(_SANITIZE)
    if reason:
        msg = f"{msg}: {reason}"
    qualified = attributes.resource
    if attributes.api_group:
        qualified = f"{qualified}.{attributes.api_group}"
    if not qualified:
        return f"forbidden: {msg}"
    if not attributes.name:
        return f"{qualified} is forbidden: {msg}"
    return f"{qualified} {go_quote(attributes.name)} is forbidden: {msg}"


def _attributes(requestor: UserInfo, request: ImpersonationRequest) -> Attributes:
    group, _, version = request.api_version.rpartition("/")
    resource = subresource = ""
    if request.kind == "ServiceAccount":
        resource = "serviceaccounts"
    elif request.kind == "User":
        resource = "users"
    elif request.kind == "Group":
        resource = "groups"
    elif request.kind == "UserExtra":
        resource, subresource = "userextras", request.field_path
    elif request.kind == "UID":
        resource = "uids"
    return Attributes(
        user=requestor,
        verb="impersonate",
        is_resource_request=True,
        namespace=request.namespace,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=subresource,
        name=request.name,
    )


async def impersonate(
    user: UserInfo, headers: Iterable[tuple[str, str]], authorize: Authorize
) -> Impersonation | None:
    """Apply the impersonation headers of a request made by the authenticated `user`.

    None when the request has no impersonation header. Otherwise every requested thing is
    checked with `authorize` (sync or async; a bool or a Verdict, ALLOW meaning allowed) and the
    new user is built as kube does: the name (for a ServiceAccount, `system:serviceaccount:NS:N`
    and, when no group is requested, its two groups), the requested groups, extra and uid; then
    `system:authenticated` is added unless a group already is `system:authenticated` or
    `system:unauthenticated`, or `system:unauthenticated` when impersonating
    `system:anonymous`. Raises ImpersonationBadRequest (400) or ImpersonationForbidden (403,
    kube's message and the refused Attributes). Exceptions of `authorize` propagate.
    """
    headers = list(headers)
    requests = parse_impersonation_headers(headers)
    if not requests:
        return None
    groups_specified = any(name.lower() == "impersonate-group" for name, _ in headers)
    username = ""
    uid = ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    checks: list[Attributes] = []
    for request in requests:
        attributes = _attributes(user, request)
        if request.kind == "ServiceAccount":
            username = service_account_username(request.namespace, request.name)
            if not groups_specified:
                groups = [SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{request.namespace}"]
        elif request.kind == "User":
            username = request.name
        elif request.kind == "Group":
            groups.append(request.name)
        elif request.kind == "UserExtra":
            extra.setdefault(request.field_path, []).append(request.name)
        else:
            uid = request.name
        answer = authorize(attributes)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, Verdict):
            allowed, reason = answer.decision is Decision.ALLOW, answer.reason
        else:
            allowed, reason = bool(answer), ""
        if not allowed:
            raise ImpersonationForbidden(
                forbidden_message(attributes, reason),
                attributes,
                {
                    "name": attributes.name,
                    "group": attributes.api_group,
                    "kind": attributes.resource,
                },
            )
        checks.append(attributes)

    if username != ANONYMOUS:
        if not any(g in (ALL_AUTHENTICATED, ALL_UNAUTHENTICATED) for g in groups):
            groups.append(ALL_AUTHENTICATED)
    elif ALL_UNAUTHENTICATED not in groups:
        groups.append(ALL_UNAUTHENTICATED)
    new_user = UserInfo(
        username, uid, tuple(groups), {key: tuple(values) for key, values in extra.items()}
    )
    return Impersonation(new_user, user, tuple(checks))
