"""authz/rbac.py: kube's RBAC authorizer (rbac.go, rule.go) over the cache, ClusterRole
aggregation evaluated in process, revocation, SelfSubjectRulesReview rules and the escalation
checks of the RBAC write paths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.auth.authz.builders import (
    CLUSTER_ROLE_BINDINGS,
    RBAC,
    ROLE_BINDINGS,
    req,
)
from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.bootstrap import bootstrap_objects
from watchproxy.auth.authz.rbac import RBACAuthorizer, ReferenceNotFound, is_only_mutating_gc_fields
from watchproxy.auth.user import UserInfo

ALICE = UserInfo("alice", groups=("devs", "system:authenticated"))
BOB = UserInfo("bob", groups=("system:authenticated",))
MASTER = UserInfo("root", groups=("system:masters",))
SA = UserInfo(
    "system:serviceaccount:ns:builder",
    groups=("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"),
)


def user(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def group(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC, "kind": "Group", "name": name}


def sa(name: str, namespace: str | None = None) -> dict[str, Any]:
    out = {"kind": "ServiceAccount", "name": name}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def allowed(authz: RBACAuthorizer, attrs: Attributes) -> bool:
    return authz.authorize(attrs).decision is Decision.ALLOW


POD_READER = [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]}]


def test_cluster_role_binding_allows_with_kubes_reason(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.cluster_role_binding("read-pods", "pod-reader", [user("alice")])
    authz = RBACAuthorizer(source)
    assert authz.authorize(req(ALICE, "list", "pods")) == Verdict(
        Decision.ALLOW,
        'RBAC: allowed by ClusterRoleBinding "read-pods" of ClusterRole "pod-reader"'
        ' to User "alice"',
    )
    assert authz.authorize(req(ALICE, "get", "pods", ns="x", name="p")).decision is Decision.ALLOW
    assert authz.authorize(req(ALICE, "delete", "pods", ns="x", name="p")) == Verdict(
        Decision.NO_OPINION
    )
    assert not allowed(authz, req(BOB, "list", "pods"))


def test_first_applying_subject_is_reported(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.cluster_role_binding("b", "pod-reader", [user("carol"), group("devs"), user("alice")])
    verdict = RBACAuthorizer(source).authorize(req(ALICE, "list", "pods"))
    assert verdict.reason == (
        'RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "pod-reader" to Group "devs"'
    )


def test_role_binding_to_cluster_role_is_scoped_to_its_namespace(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.role_binding("team", "rb", "pod-reader", [user("alice")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    verdict = authz.authorize(req(ALICE, "get", "pods", ns="team", name="p"))
    assert verdict == Verdict(
        Decision.ALLOW,
        'RBAC: allowed by RoleBinding "rb/team" of ClusterRole "pod-reader" to User "alice"',
    )
    assert not allowed(authz, req(ALICE, "get", "pods", ns="other", name="p"))
    assert not allowed(authz, req(ALICE, "list", "pods"))  # cluster scope


def test_role_binding_to_role_of_its_namespace_only(source: Any) -> None:
    source.role("team", "reader", POD_READER)
    source.role("other", "writer", [{"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}])
    source.role_binding("team", "rb", "reader", [user("alice")])
    # A RoleBinding naming a Role that exists only in another namespace resolves to nothing.
    source.role_binding("team", "rb2", "writer", [user("alice")])
    authz = RBACAuthorizer(source)
    assert allowed(authz, req(ALICE, "get", "pods", ns="team", name="p"))
    assert not allowed(authz, req(ALICE, "delete", "pods", ns="team", name="p"))
    verdict = authz.authorize(req(ALICE, "delete", "pods", ns="team", name="p"))
    assert verdict == Verdict(
        Decision.NO_OPINION, 'RBAC: role.rbac.authorization.k8s.io "writer" not found'
    )


@pytest.mark.parametrize(
    ("subject", "binding_ns", "cluster", "expect", "described"),
    [
        pytest.param(
            sa("builder", "ns"),
            "ns",
            False,
            True,
            'ServiceAccount "builder/ns"',
            id="rb-explicit-namespace",
        ),
        pytest.param(
            sa("builder"),
            "ns",
            False,
            True,
            'ServiceAccount "builder/ns"',
            id="rb-defaults-to-binding-namespace",
        ),
        pytest.param(sa("builder"), "other", False, False, "", id="rb-other-namespace"),
        pytest.param(
            sa("builder", "ns"),
            "",
            True,
            True,
            'ServiceAccount "builder/ns"',
            id="crb-explicit-namespace",
        ),
        pytest.param(sa("builder"), "", True, False, "", id="crb-without-namespace-never"),
        pytest.param(sa("deployer", "ns"), "", True, False, "", id="crb-other-sa"),
        pytest.param(
            group("system:serviceaccounts:ns"),
            "",
            True,
            True,
            'Group "system:serviceaccounts:ns"',
            id="sa-namespace-group",
        ),
        pytest.param(
            user("system:serviceaccount:ns:builder"),
            "",
            True,
            True,
            'User "system:serviceaccount:ns:builder"',
            id="sa-as-user",
        ),
    ],
)
def test_service_account_subjects(
    source: Any,
    subject: dict[str, Any],
    binding_ns: str,
    cluster: bool,
    expect: bool,
    described: str,
) -> None:
    source.cluster_role("pod-reader", POD_READER)
    if cluster:
        source.cluster_role_binding("b", "pod-reader", [subject])
        where = 'ClusterRoleBinding "b"'
    else:
        source.role_binding(binding_ns, "b", "pod-reader", [subject], kind="ClusterRole")
        where = f'RoleBinding "b/{binding_ns}"'
    verdict = RBACAuthorizer(source).authorize(req(SA, "get", "pods", ns="ns", name="p"))
    assert (verdict.decision is Decision.ALLOW) is expect
    if expect:
        assert verdict.reason == (
            f'RBAC: allowed by {where} of ClusterRole "pod-reader" to {described}'
        )


def test_unknown_subject_kind_and_missing_roles(source: Any) -> None:
    source.cluster_role_binding("b1", "gone", [user("alice")])
    source.cluster_role_binding("b2", "gone", [group("devs")])
    source.cluster_role_binding("b3", "also-gone", [user("alice")])
    source.cluster_role_binding("b4", "pod-reader", [{"kind": "Robot", "name": "alice"}])
    source.cluster_role("pod-reader", POD_READER)
    verdict = RBACAuthorizer(source).authorize(req(ALICE, "list", "pods"))
    assert verdict == Verdict(
        Decision.NO_OPINION,
        'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, '
        'clusterrole.rbac.authorization.k8s.io "also-gone" not found]',
    )


def test_revocation_follows_the_cache(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.cluster_role_binding("read-pods", "pod-reader", [user("alice")])
    source.role("team", "r", POD_READER)
    source.role_binding("team", "rb", "r", [user("bob")])
    authz = RBACAuthorizer(source)
    assert allowed(authz, req(ALICE, "list", "pods"))
    assert allowed(authz, req(BOB, "list", "pods", ns="team"))
    source.delete(CLUSTER_ROLE_BINDINGS, "", "read-pods")
    source.delete(ROLE_BINDINGS, "team", "rb")
    assert not allowed(authz, req(ALICE, "list", "pods"))
    assert not allowed(authz, req(BOB, "list", "pods", ns="team"))
    # Editing a role's rules takes effect at once too.
    source.cluster_role_binding("read-pods", "pod-reader", [user("alice")])
    assert allowed(authz, req(ALICE, "list", "pods"))
    source.cluster_role(
        "pod-reader", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]
    )
    assert not allowed(authz, req(ALICE, "list", "pods"))


def test_indexes_are_built_once_per_generation(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    for i in range(50):
        source.cluster_role_binding(f"b{i}", "pod-reader", [user(f"user{i}")])
        source.role_binding("team", f"rb{i}", "pod-reader", [user(f"user{i}")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    for _ in range(20):
        assert allowed(authz, req(UserInfo("user7"), "get", "pods", ns="team", name="p"))
    assert source.list_calls[CLUSTER_ROLE_BINDINGS] == 1
    assert source.list_calls[ROLE_BINDINGS] == 0  # allowed by a ClusterRoleBinding already
    for _ in range(20):
        assert not allowed(authz, req(UserInfo("nobody"), "get", "pods", ns="team", name="p"))
    assert source.list_calls[ROLE_BINDINGS] == 1
    source.cluster_role_binding("extra", "pod-reader", [user("nobody")])
    assert allowed(authz, req(UserInfo("nobody"), "get", "pods", ns="team", name="p"))
    assert source.list_calls[CLUSTER_ROLE_BINDINGS] == 2


# -- aggregation -----------------------------------------------------------------------------


def test_bootstrap_aggregation_is_transitive(source: Any) -> None:
    source.put_all(bootstrap_objects())
    source.role_binding("team", "viewers", "view", [user("alice")], kind="ClusterRole")
    source.role_binding("team", "admins", "admin", [user("bob")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    # view: system:aggregate-to-view
    assert allowed(authz, req(ALICE, "list", "deployments", ns="team", group="apps"))
    assert not allowed(authz, req(ALICE, "get", "secrets", ns="team", name="s"))
    assert not allowed(authz, req(ALICE, "create", "pods", ns="team"))
    # admin gathers edit, which gathers view
    for attrs in (
        req(BOB, "create", "roles", ns="team", group=RBAC),
        req(BOB, "get", "secrets", ns="team", name="s"),
        req(BOB, "watch", "statefulsets", ns="team", group="apps"),
        req(BOB, "get", "pods", ns="team", sub="log", name="p"),
    ):
        assert allowed(authz, attrs), attrs


def test_aggregation_follows_label_changes(source: Any) -> None:
    source.put_all(bootstrap_objects())
    source.role_binding("team", "editors", "edit", [user("alice")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    widgets = req(ALICE, "list", "widgets", ns="team", group="example.com")
    assert not allowed(authz, widgets)
    extra = [{"verbs": ["list"], "apiGroups": ["example.com"], "resources": ["widgets"]}]
    source.cluster_role(
        "widget-viewer", extra, labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    )
    assert allowed(authz, widgets)  # view -> edit: no restart, no controller
    assert authz.authorize(widgets).reason == (
        'RBAC: allowed by RoleBinding "editors/team" of ClusterRole "edit" to User "alice"'
    )
    source.cluster_role("widget-viewer", extra, labels={"unrelated": "true"})
    assert not allowed(authz, widgets)


def test_aggregated_role_ignores_its_stored_rules(source: Any) -> None:
    source.cluster_role(
        "agg",
        [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],  # stale, as once aggregated
        selectors=[{"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}],
    )
    source.cluster_role("part", POD_READER, labels={"team": "a"})
    source.cluster_role_binding("b", "agg", [user("alice")])
    authz = RBACAuthorizer(source)
    assert allowed(authz, req(ALICE, "list", "pods"))
    assert not allowed(authz, req(ALICE, "list", "secrets"))
    assert authz.cluster_role_rules("agg") == tuple(POD_READER)


@pytest.mark.parametrize(
    ("selector", "labels", "match"),
    [
        pytest.param({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True, id="labels"),
        pytest.param({"matchLabels": {"a": "1"}}, {"a": "2"}, False, id="labels-differ"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Exists"}]},
            {"a": "x"},
            True,
            id="exists",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]},
            {"a": "x"},
            False,
            id="does-not-exist",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]},
            {"b": "1"},
            True,
            id="not-in-absent",
        ),
        pytest.param({}, {"anything": "1"}, True, id="empty-selects-all"),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Bogus"}]},
            {"a": "x"},
            False,
            id="invalid-selects-nothing",
        ),
    ],
)
def test_cluster_role_selectors(
    source: Any, selector: dict[str, Any], labels: dict[str, str], match: bool
) -> None:
    source.cluster_role("agg", None, selectors=[selector])
    source.cluster_role("part", POD_READER, labels=labels)
    source.cluster_role_binding("b", "agg", [user("alice")])
    assert allowed(RBACAuthorizer(source), req(ALICE, "list", "pods")) is match


def test_aggregation_cycle_terminates(source: Any) -> None:
    source.cluster_role("a", None, labels={"x": "1"}, selectors=[{"matchLabels": {"y": "1"}}])
    source.cluster_role("b", None, labels={"y": "1"}, selectors=[{"matchLabels": {"x": "1"}}])
    source.cluster_role("c", POD_READER, labels={"y": "1"})
    source.cluster_role_binding("bind", "a", [user("alice")])
    assert allowed(RBACAuthorizer(source), req(ALICE, "get", "pods", name="p"))


# -- rules for SelfSubjectRulesReview ---------------------------------------------------------


def test_rules_for(source: Any) -> None:
    source.cluster_role(
        "mixed",
        [
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s"]},
            {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
        ],
    )
    source.cluster_role_binding("b", "mixed", [user("alice")])
    source.role_binding("team", "rb", "missing", [user("alice")])
    found = RBACAuthorizer(source).rules_for(ALICE, "team")
    assert found.resource_rules == [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s"]}
    ]
    assert found.non_resource_rules == [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
    assert found.incomplete is False
    assert found.errors == ['role.rbac.authorization.k8s.io "missing" not found']


# -- escalation ------------------------------------------------------------------------------


def deny_all(attrs: Attributes) -> Verdict:
    return Verdict(Decision.NO_OPINION)


def test_confirm_no_escalation_message(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.role_binding("team", "rb", "pod-reader", [user("alice")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    assert authz.confirm_no_escalation(ALICE, "team", [POD_READER[0]]) is None
    wanted = [
        {"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods", "secrets"]},
        {"verbs": ["get"], "nonResourceURLs": ["/metrics"]},
    ]
    assert authz.confirm_no_escalation(ALICE, "team", wanted) == (
        'user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC'
        " permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}\n'
        '{NonResourceURLs:["/metrics"], Verbs:["get"]}'
    )
    # Cluster-wide the RoleBinding does not count.
    assert authz.confirm_no_escalation(ALICE, "", [POD_READER[0]]) is not None


def test_confirm_no_escalation_reports_resolution_errors(source: Any) -> None:
    source.cluster_role_binding("b", "gone", [user("alice")])
    message = RBACAuthorizer(source).confirm_no_escalation(ALICE, "", POD_READER)
    assert message is not None
    assert message.endswith(
        '; resolution errors: [clusterroles.rbac.authorization.k8s.io "gone" not found]'
    )


def test_may_create_role(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.role_binding("team", "rb", "pod-reader", [user("alice")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    secrets = [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]
    assert authz.may_create_role(ALICE, "team", POD_READER, deny_all) is None
    refused = authz.may_create_role(ALICE, "team", secrets, deny_all)
    assert refused is not None and refused.startswith('user "alice" (groups=')
    assert authz.may_create_role(MASTER, "team", secrets, deny_all) is None

    seen: list[Attributes] = []

    def escalate_ok(attrs: Attributes) -> Verdict:
        seen.append(attrs)
        return Verdict(Decision.ALLOW if attrs.verb == "escalate" else Decision.NO_OPINION)

    assert authz.may_create_role(ALICE, "team", secrets, escalate_ok, name="r") is None
    assert seen == [
        Attributes(
            user=ALICE,
            verb="escalate",
            is_resource_request=True,
            namespace="team",
            api_group=RBAC,
            api_version="*",
            resource="roles",
            name="r",
        )
    ]


def test_aggregation_rule_needs_cluster_admin(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.cluster_role_binding("b", "pod-reader", [user("alice")])
    source.put_all(bootstrap_objects())
    source.cluster_role_binding("root", "cluster-admin", [user("bob")])
    authz = RBACAuthorizer(source)
    assert authz.may_create_role(ALICE, "", [], deny_all, resource="clusterroles") is None
    assert (
        authz.may_create_role(ALICE, "", [], deny_all, resource="clusterroles", aggregation=True)
        == "must have cluster-admin privileges to use the aggregationRule"
    )
    assert (
        authz.may_create_role(BOB, "", [], deny_all, resource="clusterroles", aggregation=True)
        is None
    )


def test_may_bind(source: Any) -> None:
    source.cluster_role("pod-reader", POD_READER)
    source.cluster_role(
        "secret-reader", [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]
    )
    source.role_binding("team", "rb", "pod-reader", [user("alice")], kind="ClusterRole")
    authz = RBACAuthorizer(source)
    ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": "pod-reader"}
    assert authz.may_bind(ALICE, "team", ref, deny_all) is None
    assert authz.may_bind(ALICE, "", ref, deny_all) is not None  # a ClusterRoleBinding
    secret_ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": "secret-reader"}
    assert authz.may_bind(ALICE, "team", secret_ref, deny_all) is not None

    def may_bind_secret_reader(attrs: Attributes) -> Verdict:
        ok = (attrs.verb, attrs.resource, attrs.name, attrs.namespace, attrs.api_group) == (
            "bind",
            "clusterroles",
            "secret-reader",
            "team",
            RBAC,
        )
        return Verdict(Decision.ALLOW if ok else Decision.NO_OPINION)

    assert authz.may_bind(ALICE, "team", secret_ref, may_bind_secret_reader) is None
    assert authz.may_bind(ALICE, "other", secret_ref, may_bind_secret_reader) is not None
    with pytest.raises(ReferenceNotFound) as missing:
        authz.may_bind(ALICE, "team", {"apiGroup": RBAC, "kind": "Role", "name": "x"}, deny_all)
    assert str(missing.value) == 'roles.rbac.authorization.k8s.io "x" not found'
    assert authz.may_bind(MASTER, "team", {"kind": "Role", "name": "x"}, deny_all) is None


def test_only_gc_fields(source: Any) -> None:
    old = {"metadata": {"name": "r", "finalizers": ["a"]}, "rules": []}
    assert is_only_mutating_gc_fields(
        {"metadata": {"name": "r", "ownerReferences": [{"uid": "1"}]}, "rules": None}, old
    )
    assert not is_only_mutating_gc_fields({"metadata": {"name": "r"}, "rules": POD_READER}, old)
    assert not is_only_mutating_gc_fields(old, None)
