"""authz/rules.py: PolicyRule matching as pkg/apis/rbac/v1/evaluation_helpers.go and RuleAllows,
and the rule comparison of the escalation check (policy_comparator.go, policy_compact.go)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.auth.authz.builders import path, req
from watchproxy.auth.attributes import Attributes
from watchproxy.auth.authz.rules import (
    breakdown_rule,
    compact_rules,
    compact_string,
    covers,
    request_name,
    rule_allows,
    rules_allow,
)
from watchproxy.auth.user import UserInfo

ALICE = UserInfo("alice")


def res(verb: str, resource: str, *, ns: str = "ns", **attrs: Any) -> Attributes:
    """A resource request of alice, in namespace ns unless told."""
    return req(ALICE, verb, resource, ns=ns, **attrs)


def url(verb: str, p: str) -> Attributes:
    return path(ALICE, p, verb)


def rule(**fields: Any) -> dict[str, Any]:
    return fields


PODS_GET = rule(verbs=["get"], apiGroups=[""], resources=["pods"])


@pytest.mark.parametrize(
    ("attrs", "policy", "allowed"),
    [
        # verbs
        pytest.param(res("get", "pods"), PODS_GET, True, id="exact-verb"),
        pytest.param(res("list", "pods"), PODS_GET, False, id="other-verb"),
        pytest.param(
            res("deletecollection", "pods"),
            rule(verbs=["*"], apiGroups=[""], resources=["pods"]),
            True,
            id="verb-star",
        ),
        pytest.param(
            res("get", "pods"), rule(apiGroups=[""], resources=["pods"]), False, id="no-verbs"
        ),
        # apiGroups
        pytest.param(res("get", "pods", group="apps"), PODS_GET, False, id="core-rule-apps-req"),
        pytest.param(
            res("get", "deployments", group="apps"),
            rule(verbs=["get"], apiGroups=["*"], resources=["deployments"]),
            True,
            id="group-star",
        ),
        pytest.param(
            res("get", "deployments", group="apps"),
            rule(verbs=["get"], apiGroups=["extensions", "apps"], resources=["deployments"]),
            True,
            id="group-in-list",
        ),
        pytest.param(
            res("get", "pods"),
            rule(verbs=["get"], apiGroups=None, resources=["pods"]),
            False,
            id="null-groups",
        ),
        # resources and subresources
        pytest.param(res("get", "pods", sub="log"), PODS_GET, False, id="sub-not-in-resource"),
        pytest.param(
            res("get", "pods", sub="log"),
            rule(verbs=["get"], apiGroups=[""], resources=["pods/log"]),
            True,
            id="exact-subresource",
        ),
        pytest.param(
            res("get", "pods"),
            rule(verbs=["get"], apiGroups=[""], resources=["pods/log"]),
            False,
            id="subresource-rule-plain-req",
        ),
        pytest.param(
            res("update", "deployments", group="apps", sub="scale"),
            rule(verbs=["update"], apiGroups=["apps"], resources=["*/scale"]),
            True,
            id="star-slash-sub",
        ),
        pytest.param(
            res("update", "deployments", group="apps"),
            rule(verbs=["update"], apiGroups=["apps"], resources=["*/scale"]),
            False,
            id="star-slash-sub-plain-req",
        ),
        pytest.param(
            res("update", "deployments", group="apps", sub="status"),
            rule(verbs=["update"], apiGroups=["apps"], resources=["*/scale"]),
            False,
            id="star-slash-other-sub",
        ),
        # kube has no `resource/*` form: it is a literal resource name.
        pytest.param(
            res("get", "pods", sub="log"),
            rule(verbs=["get"], apiGroups=[""], resources=["pods/*"]),
            False,
            id="resource-slash-star-is-literal",
        ),
        pytest.param(
            res("get", "pods", sub="log"),
            rule(verbs=["get"], apiGroups=[""], resources=["*"]),
            True,
            id="resource-star-covers-sub",
        ),
        # resourceNames
        pytest.param(
            res("get", "secrets", name="a"),
            rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=["a", "b"]),
            True,
            id="name-listed",
        ),
        pytest.param(
            res("get", "secrets", name="c"),
            rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=["a"]),
            False,
            id="name-not-listed",
        ),
        pytest.param(
            res("list", "secrets"),
            rule(verbs=["list"], apiGroups=[""], resources=["secrets"], resourceNames=["a"]),
            False,
            id="names-never-match-unnamed-list",
        ),
        pytest.param(
            res("create", "secrets"),
            rule(verbs=["create"], apiGroups=[""], resources=["secrets"], resourceNames=["a"]),
            False,
            id="names-never-match-create",
        ),
        pytest.param(
            res("list", "secrets", fields=(("metadata.name", "=", "a"),)),
            rule(verbs=["list"], apiGroups=[""], resources=["secrets"], resourceNames=["a"]),
            True,
            id="list-named-by-field-selector",
        ),
        pytest.param(
            res("list", "secrets", fields=(("metadata.name", "!=", "a"),)),
            rule(verbs=["list"], apiGroups=[""], resources=["secrets"], resourceNames=["a"]),
            False,
            id="not-equals-selector-names-nothing",
        ),
        pytest.param(
            res("get", "secrets", name="z"),
            rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=[]),
            True,
            id="empty-names-allow-all",
        ),
        # a resource rule never allows a path, a path rule never a resource
        pytest.param(
            url("get", "/api"),
            rule(verbs=["get"], apiGroups=["*"], resources=["*"]),
            False,
            id="resource-rule-vs-path",
        ),
        pytest.param(
            res("get", "pods"),
            rule(verbs=["get"], nonResourceURLs=["*"]),
            False,
            id="path-rule-vs-resource",
        ),
        # nonResourceURLs
        pytest.param(
            url("get", "/healthz"),
            rule(verbs=["get"], nonResourceURLs=["/healthz"]),
            True,
            id="url-exact",
        ),
        pytest.param(
            url("get", "/healthz/etcd"),
            rule(verbs=["get"], nonResourceURLs=["/healthz"]),
            False,
            id="url-no-prefix",
        ),
        pytest.param(
            url("get", "/apis/apps"),
            rule(verbs=["get"], nonResourceURLs=["/apis/*"]),
            True,
            id="url-star-suffix",
        ),
        pytest.param(
            url("get", "/apis/"),
            rule(verbs=["get"], nonResourceURLs=["/apis/*"]),
            True,
            id="url-star-suffix-bare",
        ),
        pytest.param(
            url("get", "/apis"),
            rule(verbs=["get"], nonResourceURLs=["/apis/*"]),
            False,
            id="url-star-suffix-needs-slash",
        ),
        pytest.param(
            url("get", "/apis-x"),
            rule(verbs=["get"], nonResourceURLs=["/apis*"]),
            True,
            id="url-star-is-plain-prefix",
        ),
        pytest.param(
            url("post", "/metrics"), rule(verbs=["*"], nonResourceURLs=["*"]), True, id="url-all"
        ),
        pytest.param(
            url("post", "/metrics"),
            rule(verbs=["get"], nonResourceURLs=["*"]),
            False,
            id="url-verb",
        ),
    ],
)
def test_rule_allows(attrs: Attributes, policy: dict[str, Any], allowed: bool) -> None:
    assert rule_allows(attrs, policy) is allowed
    assert rules_allow(attrs, [PODS_GET, policy]) is (allowed or rule_allows(attrs, PODS_GET))


@pytest.mark.parametrize(
    ("attrs", "name"),
    [
        pytest.param(res("get", "pods", name="p"), "p", id="named"),
        pytest.param(res("watch", "pods", fields=(("metadata.name", "=", "p"),)), "p", id="watch"),
        pytest.param(res("list", "pods", fields=(("spec.nodeName", "=", "n"),)), "", id="other"),
        pytest.param(
            res("list", "pods", fields=(("metadata.name", "=", "a/b"),)),
            "",
            id="not-a-path-segment",
        ),
        pytest.param(
            res("delete", "pods", fields=(("metadata.name", "=", "p"),)),
            "",
            id="only-list-and-watch",
        ),
    ],
)
def test_request_name(attrs: Attributes, name: str) -> None:
    assert request_name(attrs) == name


def test_compact_string_is_kubes() -> None:
    assert (
        compact_string(
            rule(
                verbs=["get", "list"],
                apiGroups=["", "apps"],
                resources=["pods"],
                resourceNames=["x"],
            )
        )
        == '{APIGroups:["" "apps"], Resources:["pods"], ResourceNames:["x"], Verbs:["get" "list"]}'
    )
    assert compact_string(rule(verbs=["get"], nonResourceURLs=["/x"])) == (
        '{NonResourceURLs:["/x"], Verbs:["get"]}'
    )


def test_breakdown_and_compact() -> None:
    broken = breakdown_rule(rule(verbs=["get", "list"], apiGroups=[""], resources=["pods"]))
    assert broken == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    ]
    assert compact_rules(broken) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
    ]
    # A resource rule without apiGroups breaks down into nothing (kube's loop over groups).
    assert breakdown_rule(rule(verbs=["get"], resources=["pods"])) == []


@pytest.mark.parametrize(
    ("owner", "servant", "covered"),
    [
        pytest.param([PODS_GET], [PODS_GET], True, id="same"),
        pytest.param(
            [rule(verbs=["*"], apiGroups=["*"], resources=["*"])],
            [rule(verbs=["delete"], apiGroups=["apps"], resources=["deployments/scale"])],
            True,
            id="star",
        ),
        pytest.param(
            [rule(verbs=["get"], apiGroups=["apps"], resources=["*/scale"])],
            [rule(verbs=["get"], apiGroups=["apps"], resources=["deployments/scale"])],
            True,
            id="star-slash-sub-covers",
        ),
        pytest.param(
            [rule(verbs=["get"], apiGroups=["apps"], resources=["*/scale"])],
            [rule(verbs=["get"], apiGroups=["apps"], resources=["deployments"])],
            False,
            id="star-slash-sub-not-resource",
        ),
        pytest.param(
            [rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=["a"])],
            [rule(verbs=["get"], apiGroups=[""], resources=["secrets"])],
            False,
            id="named-does-not-cover-all",
        ),
        pytest.param(
            [rule(verbs=["get"], apiGroups=[""], resources=["secrets"])],
            [rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=["a"])],
            True,
            id="all-covers-named",
        ),
        pytest.param(
            [rule(verbs=["get"], nonResourceURLs=["/apis/*"])],
            [rule(verbs=["get"], nonResourceURLs=["/apis/apps"])],
            True,
            id="url-prefix",
        ),
        pytest.param(
            [rule(verbs=["get"], nonResourceURLs=["/apis/apps"])],
            [rule(verbs=["get"], nonResourceURLs=["/apis/*"])],
            False,
            id="url-prefix-not-covered-by-exact",
        ),
    ],
)
def test_covers(owner: list[dict[str, Any]], servant: list[dict[str, Any]], covered: bool) -> None:
    ok, missing = covers(owner, servant)
    assert ok is covered
    assert (missing == []) is covered
