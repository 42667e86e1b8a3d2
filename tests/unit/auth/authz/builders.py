"""Builders shared by the authorizer tests: the request attributes an authorizer is asked
about, the node identity, and the registry keys of the RBAC objects."""

from __future__ import annotations

from watchproxy.auth.attributes import Attributes
from watchproxy.auth.user import UserInfo

RBAC = "rbac.authorization.k8s.io"
ROLES = f"roles.{RBAC}"
ROLE_BINDINGS = f"rolebindings.{RBAC}"
CLUSTER_ROLES = f"clusterroles.{RBAC}"
CLUSTER_ROLE_BINDINGS = f"clusterrolebindings.{RBAC}"

N1 = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))

Fields = tuple[tuple[str, str, str], ...]


def req(
    who: UserInfo,
    verb: str,
    resource: str,
    *,
    ns: str = "",
    name: str = "",
    group: str = "",
    sub: str = "",
    fields: Fields = (),
) -> Attributes:
    """A resource request of `who`."""
    return Attributes(
        user=who,
        verb=verb,
        is_resource_request=True,
        namespace=ns,
        api_group=group,
        resource=resource,
        subresource=sub,
        name=name,
        field_requirements=fields,
    )


def path(who: UserInfo, p: str, verb: str = "get") -> Attributes:
    """A non-resource request of `who` for path `p`."""
    return Attributes(user=who, verb=verb, is_resource_request=False, path=p)
