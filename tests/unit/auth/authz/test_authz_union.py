"""authz/union.py: the authorizer chain (union.go, the privileged-group authorizer, AlwaysAllow
/ AlwaysDeny) and kube's 403 texts (responsewriters/errors.go, errors.NewForbidden), compared
byte for byte with what kube-apiserver prints."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.auth.authz.builders import N1, path, req
from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.bootstrap import bootstrap_objects
from watchproxy.auth.authz.union import (
    Authorizer,
    evaluation_error,
    forbidden_message,
    forbidden_status,
    new_forbidden,
)
from watchproxy.auth.user import ANONYMOUS_USER, UserInfo

ALICE = UserInfo("alice", groups=("system:authenticated",))
MASTER = UserInfo("root", groups=("system:masters", "system:authenticated"))


@pytest.mark.parametrize(
    ("modes", "attrs", "expected"),
    [
        pytest.param(
            ["AlwaysAllow"],
            req(ALICE, "delete", "nodes", name="x"),
            Verdict(Decision.ALLOW),
            id="always-allow",
        ),
        pytest.param(
            ["AlwaysDeny"],
            req(ALICE, "get", "pods", ns="a", name="p"),
            Verdict(Decision.NO_OPINION, "Everything is forbidden."),
            id="always-deny",
        ),
        pytest.param(
            ["AlwaysDeny", "AlwaysAllow"],
            req(ALICE, "get", "pods"),
            Verdict(Decision.ALLOW),
            id="deny-has-no-opinion",
        ),
        pytest.param(
            ["AlwaysDeny"], req(MASTER, "get", "pods"), Verdict(Decision.ALLOW), id="masters-first"
        ),
        pytest.param(
            ["Node", "RBAC"],
            req(N1, "get", "secrets", ns="ns", name="s"),
            Verdict(Decision.NO_OPINION, "no relationship found between node 'n1' and this object"),
            id="node-reason",
        ),
        pytest.param(
            ["Node", "RBAC"],
            req(N1, "create", "events", ns="ns"),
            Verdict(Decision.ALLOW),
            id="node-rules",
        ),
        pytest.param(
            ["Node", "RBAC"],
            path(ALICE, "/apis/apps"),
            Verdict(
                Decision.ALLOW,
                "RBAC: allowed by ClusterRoleBinding"
                ' "system:discovery" of ClusterRole "system:discovery" to Group'
                ' "system:authenticated"',
            ),
            id="rbac-after-node",
        ),
        pytest.param(
            ["Node", "AlwaysDeny", "RBAC"],
            req(N1, "list", "secrets"),
            Verdict(
                Decision.NO_OPINION,
                "can only read namespaced object of this type\nEverything is forbidden.",
            ),
            id="reasons-joined",
        ),
    ],
)
def test_chain(source: Any, modes: list[str], attrs: Attributes, expected: Verdict) -> None:
    source.put_all(bootstrap_objects())
    assert Authorizer(modes, source).authorize(attrs) == expected


def test_unknown_mode(source: Any) -> None:
    with pytest.raises(ValueError, match="unknown authorization mode 'ABAC'"):
        Authorizer(["ABAC"], source)


def test_rules_for_union(source: Any) -> None:
    source.put_all(bootstrap_objects())
    authz = Authorizer(["Node", "RBAC"], source)
    found = authz.rules_for(N1, "ns")
    assert found.incomplete is True
    assert found.errors == ["node authorizer does not support user rule resolution"]
    assert {
        "verbs": ["get"],
        "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
    } in found.non_resource_rules
    everything = Authorizer(["AlwaysAllow"], source).rules_for(ALICE, "")
    assert everything.resource_rules == [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    assert evaluation_error(["a", "b", "a"]) == "[a, b]"
    assert authz.rbac is not None and authz.node is not None


# -- 403 texts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "reason", "message"),
    [
        pytest.param(
            req(UserInfo("alice"), "get", "secrets", ns="gx", name="db-pass"),
            "",
            'secrets "db-pass" is forbidden: User "alice" cannot get resource "secrets"'
            ' in API group "" in the namespace "gx"',
            id="named",
        ),
        pytest.param(
            req(ANONYMOUS_USER, "list", "pods"),
            "",
            'pods is forbidden: User "system:anonymous" cannot list resource "pods" in'
            ' API group "" at the cluster scope',
            id="cluster-list",
        ),
        pytest.param(
            req(UserInfo("alice"), "list", "deployments", ns="gx", group="apps"),
            "",
            'deployments.apps is forbidden: User "alice" cannot list resource'
            ' "deployments" in API group "apps" in the namespace "gx"',
            id="group",
        ),
        pytest.param(
            req(UserInfo("alice"), "update", "pods", ns="gx", name="p", sub="status"),
            "",
            'pods "p" is forbidden: User "alice" cannot update resource "pods/status"'
            ' in API group "" in the namespace "gx"',
            id="subresource",
        ),
        pytest.param(
            path(ANONYMOUS_USER, "/metrics"),
            "",
            'forbidden: User "system:anonymous" cannot get path "/metrics"',
            id="path",
        ),
        pytest.param(
            req(N1, "get", "secrets", ns="ns", name="s1"),
            "no relationship found between node 'n1' and this object",
            'secrets "s1" is forbidden: User "system:node:n1" cannot get resource'
            ' "secrets" in API group "" in the namespace "ns": no relationship found'
            " between node 'n1' and this object",
            id="with-reason",
        ),
        pytest.param(
            path(UserInfo("<b>&"), "/x<y>"),
            "a<b",
            'forbidden: User "&lt;b&gt;&amp;" cannot get path "/x&lt;y&gt;": a<b',
            id="sanitized-message-not-reason",
        ),
        pytest.param(
            req(UserInfo('we"ird'), "get", "pods", ns="n\tx"),
            "",
            'pods is forbidden: User "we\\"ird" cannot get resource "pods" in API group'
            ' "" in the namespace "n\\tx"',
            id="go-quoting",
        ),
    ],
)
def test_forbidden_status_message(attrs: Attributes, reason: str, message: str) -> None:
    body = forbidden_status(attrs, reason)
    assert body["message"] == message
    assert list(body) == [
        "kind",
        "apiVersion",
        "metadata",
        "status",
        "message",
        "reason",
        "details",
        "code",
    ]
    assert (body["kind"], body["apiVersion"], body["metadata"], body["status"]) == (
        "Status",
        "v1",
        {},
        "Failure",
    )
    assert (body["reason"], body["code"]) == ("Forbidden", 403)


def test_forbidden_message_forms() -> None:
    assert forbidden_message(req(UserInfo("alice"), "get", "secrets", ns="gx")) == (
        'User "alice" cannot get resource "secrets" in API group "" in the namespace "gx"'
    )
    assert forbidden_message(req(UserInfo("x"), "delete", "nodes", name="n", sub="proxy")) == (
        'User "x" cannot delete resource "nodes/proxy" in API group "" at the cluster scope'
    )
    assert forbidden_message(path(UserInfo("x"), "/metrics")) == (
        'User "x" cannot get path "/metrics"'
    )


@pytest.mark.parametrize(
    ("attrs", "details"),
    [
        pytest.param(
            req(ALICE, "get", "secrets", ns="gx", name="db-pass"),
            {"name": "db-pass", "kind": "secrets"},
            id="core",
        ),
        pytest.param(
            req(ALICE, "list", "deployments", ns="gx", group="apps", sub="scale"),
            {"group": "apps", "kind": "deployments"},
            id="group-no-name",
        ),
        pytest.param(path(ALICE, "/metrics"), {}, id="path"),
    ],
)
def test_forbidden_details(attrs: Attributes, details: dict[str, str]) -> None:
    body = forbidden_status(attrs)
    assert body["details"] == details
    assert list(body["details"]) == [k for k in ("name", "group", "kind") if k in details]


def test_forbidden_list_of_one_names_it() -> None:
    attrs = Attributes(
        user=ALICE,
        verb="watch",
        is_resource_request=True,
        namespace="gx",
        resource="secrets",
        field_requirements=(("metadata.name", "=", "db-pass"),),
    )
    body = forbidden_status(attrs)
    assert body["message"] == (
        'secrets "db-pass" is forbidden: User "alice" cannot watch resource "secrets" in API'
        ' group "" in the namespace "gx"'
    )
    assert body["details"] == {"name": "db-pass", "kind": "secrets"}


def test_new_forbidden_for_escalation() -> None:
    body = new_forbidden("rbac.authorization.k8s.io", "roles", "r", "must have x")
    assert body["message"] == 'roles.rbac.authorization.k8s.io "r" is forbidden: must have x'
    assert body["details"] == {"name": "r", "group": "rbac.authorization.k8s.io", "kind": "roles"}
