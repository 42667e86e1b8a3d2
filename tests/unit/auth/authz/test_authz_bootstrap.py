"""authz/bootstrap.py: kube's default ClusterRoles and ClusterRoleBindings, and what they grant
through the RBAC authorizer."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.auth.attributes import Attributes, Decision
from watchproxy.auth.authz.bootstrap import bootstrap_objects, node_rules
from watchproxy.auth.authz.rbac import RBACAuthorizer
from watchproxy.auth.user import ANONYMOUS_USER, UserInfo

ALICE = UserInfo("alice").with_authenticated_group()
MASTER = UserInfo("root", groups=("system:masters",))
MONITOR = UserInfo("prom", groups=("system:monitoring",))


def test_objects_are_kubes_defaults() -> None:
    objects = bootstrap_objects()
    roles = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterRole"}
    bindings = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ClusterRoleBinding"}
    assert {
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:aggregate-to-admin",
        "system:aggregate-to-edit",
        "system:aggregate-to-view",
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
        "system:node",
    } <= roles
    for obj in objects:
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert obj["metadata"]["annotations"] == {
            "rbac.authorization.kubernetes.io/autoupdate": "true"
        }
        if obj["kind"] == "ClusterRoleBinding":
            assert obj["roleRef"]["name"] in roles
    assert bindings["cluster-admin"]["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}
    ]
    assert "subjects" not in bindings["system:node"]  # nodes go through the Node authorizer
    assert [s["name"] for s in bindings["system:public-info-viewer"]["subjects"]] == [
        "system:authenticated",
        "system:unauthenticated",
    ]
    # Fresh copies: a caller may mutate them.
    objects[0]["metadata"]["name"] = "changed"
    assert bootstrap_objects()[0]["metadata"]["name"] == "admin"
    assert any("certificatesigningrequests" in r.get("resources", []) for r in node_rules())


@pytest.mark.parametrize(
    ("attrs", "allowed"),
    [
        pytest.param(Attributes(ALICE, "get", False, path="/version"), True, id="version"),
        pytest.param(Attributes(ALICE, "get", False, path="/apis/apps/v1"), True, id="discovery"),
        pytest.param(Attributes(ALICE, "get", False, path="/metrics"), False, id="metrics"),
        pytest.param(Attributes(MONITOR, "get", False, path="/metrics"), True, id="monitoring"),
        pytest.param(
            Attributes(ANONYMOUS_USER, "get", False, path="/healthz"), True, id="anonymous-healthz"
        ),
        pytest.param(
            Attributes(ANONYMOUS_USER, "get", False, path="/api"),
            False,
            id="anonymous-no-discovery",
        ),
        pytest.param(
            Attributes(
                ALICE,
                "create",
                True,
                api_group="authorization.k8s.io",
                resource="selfsubjectaccessreviews",
            ),
            True,
            id="basic-user",
        ),
        pytest.param(Attributes(ALICE, "list", True, resource="pods"), False, id="no-pods"),
        pytest.param(
            Attributes(MASTER, "delete", True, resource="nodes", name="n"),
            True,
            id="masters-bound-to-cluster-admin",
        ),
        pytest.param(
            Attributes(MASTER, "post", False, path="/anything"), True, id="cluster-admin-paths"
        ),
    ],
)
def test_default_grants(source: Any, attrs: Attributes, allowed: bool) -> None:
    source.put_all(bootstrap_objects())
    assert (RBACAuthorizer(source).authorize(attrs).decision is Decision.ALLOW) is allowed
