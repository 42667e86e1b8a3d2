"""What a request asks to do: kube's `authorizer.Attributes`
(staging/src/k8s.io/apiserver/pkg/authorization/authorizer/interfaces.go), built once per
request from its path, method and query (endpoints/request/requestinfo.go)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from watchproxy.auth.user import UserInfo


@dataclass(frozen=True, slots=True)
class Attributes:
    """One request, as authorizers see it.

    verb: kube's verb (get, list, watch, create, update, patch, delete, deletecollection, or the
    lower-cased HTTP method for non-resource requests; `impersonate` for impersonation checks).
    field_requirements / label_requirements: the parsed selectors of a list or watch as
    (key, operator, value) with operator one of "=", "!=" (labels may also carry "in", "notin",
    "exists", "!" with value ""), as the Node authorizer's selector checks need them.
    """

    user: UserInfo
    verb: str
    is_resource_request: bool
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    field_requirements: tuple[tuple[str, str, str], ...] = ()
    label_requirements: tuple[tuple[str, str, str], ...] = ()


class Decision(enum.Enum):
    """authorizer.Decision: ALLOW ends the chain, DENY ends it with a refusal, NO_OPINION asks the
    next authorizer; a request nobody allows is forbidden."""

    ALLOW = "allow"
    DENY = "deny"
    NO_OPINION = "no_opinion"


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reason: str = ""
