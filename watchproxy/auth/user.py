"""The authenticated user, as kube's `user.Info`
(staging/src/k8s.io/apiserver/pkg/authentication/user)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

# Well-known names (apiserver/pkg/authentication/user/user.go).
SYSTEM_PRIVILEGED_GROUP: Final = "system:masters"
NODES_GROUP: Final = "system:nodes"
MONITORING_GROUP: Final = "system:monitoring"
ALL_UNAUTHENTICATED: Final = "system:unauthenticated"
ALL_AUTHENTICATED: Final = "system:authenticated"
ANONYMOUS: Final = "system:anonymous"
NODE_USER_PREFIX: Final = "system:node:"
SERVICE_ACCOUNT_USER_PREFIX: Final = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP: Final = "system:serviceaccounts"


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An identity: name, uid, groups and extra, as TokenReview and SelfSubjectReview show them.

    `groups` keeps the order the authenticator gave; `extra` maps a key to its values.
    """

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The `authentication.k8s.io/v1` UserInfo wire shape (empty fields omitted)."""
        out: dict[str, object] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out

    def with_authenticated_group(self) -> UserInfo:
        """Add `system:authenticated` as kube's authenticator union does
        (group.AuthenticatedGroupAdder): every user except `system:anonymous` and members of
        `system:unauthenticated`."""
        if (
            self.name == ANONYMOUS
            or ALL_AUTHENTICATED in self.groups
            or ALL_UNAUTHENTICATED in self.groups
        ):
            return self
        return UserInfo(self.name, self.uid, (*self.groups, ALL_AUTHENTICATED), self.extra)


ANONYMOUS_USER: Final = UserInfo(ANONYMOUS, groups=(ALL_UNAUTHENTICATED,))


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{name}"


def split_service_account_username(username: str) -> tuple[str, str] | None:
    """(namespace, name) of `system:serviceaccount:NS:NAME`, or None
    (apiserver/pkg/authentication/serviceaccount/util.go SplitUsername)."""
    if not username.startswith(SERVICE_ACCOUNT_USER_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_USER_PREFIX) :].split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def node_name(user: UserInfo) -> str | None:
    """The node a `system:node:NAME` user in `system:nodes` speaks for, or None
    (pkg/auth/nodeidentifier/default.go)."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return None
    name = user.name[len(NODE_USER_PREFIX) :]
    return name or None
