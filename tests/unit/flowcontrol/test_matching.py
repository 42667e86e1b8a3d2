"""Classification by kube's default flow schemas (bootstrap.py, matching.py)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.auth.user import UserInfo
from watchproxy.flowcontrol.bootstrap import effective_configuration
from watchproxy.flowcontrol.matching import RequestDigest, classify
from watchproxy.flowcontrol.settings import FlowControlSettings

_, SCHEMAS = effective_configuration(FlowControlSettings())
AUTH = "system:authenticated"


def digest(user: UserInfo, verb: str = "list", **kw: Any) -> RequestDigest:
    values: dict[str, object] = {
        "user": user,
        "verb": verb,
        "is_resource_request": True,
        "path": "/api/v1/pods",
        "resource": "pods",
    }
    values.update(kw)
    return RequestDigest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "kw", "schema", "flow"),
    [
        (UserInfo("admin", groups=("system:masters", AUTH)), {}, "exempt", ""),
        (
            UserInfo("system:node:n1", groups=("system:nodes", AUTH)),
            {"resource": "leases", "api_group": "coordination.k8s.io", "namespace": "x"},
            "system-node-high",
            "system:node:n1",
        ),
        (
            UserInfo("system:node:n1", groups=("system:nodes", AUTH)),
            {"namespace": "acme"},
            "system-nodes",
            "system:node:n1",
        ),
        (
            UserInfo("system:kube-controller-manager", groups=(AUTH,)),
            {
                "resource": "leases",
                "api_group": "coordination.k8s.io",
                "namespace": "kube-system",
                "verb": "update",
            },
            "system-leader-election",
            "system:kube-controller-manager",
        ),
        (
            UserInfo("system:kube-controller-manager", groups=(AUTH,)),
            {"namespace": "ns1"},
            "kube-controller-manager",
            "ns1",
        ),
        (
            UserInfo(
                "system:serviceaccount:kube-system:gc", groups=("system:serviceaccounts", AUTH)
            ),
            {"namespace": "ns1"},
            "kube-system-service-accounts",
            "ns1",
        ),
        (
            UserInfo("system:serviceaccount:acme:app", groups=("system:serviceaccounts", AUTH)),
            {"namespace": "acme", "tenant": "acme"},
            "service-accounts",
            "tenant:acme",
        ),
        (UserInfo("alice", groups=(AUTH,)), {"tenant": "acme"}, "global-default", "tenant:acme"),
        (UserInfo("bob", groups=(AUTH,)), {}, "global-default", "bob"),
        (
            UserInfo("system:anonymous", groups=("system:unauthenticated",)),
            {},
            "global-default",
            "system:anonymous",
        ),
        (
            UserInfo("system:anonymous", groups=("system:unauthenticated",)),
            {"is_resource_request": False, "path": "/readyz", "verb": "get"},
            "probes",
            "",
        ),
        (
            UserInfo("bob", groups=(AUTH,)),
            {"is_resource_request": False, "path": "/debug/stats", "verb": "get"},
            "global-default",
            "bob",
        ),
    ],
)
def test_default_schemas(user: UserInfo, kw: dict[str, Any], schema: str, flow: str) -> None:
    matched, distinguisher = classify(SCHEMAS, digest(user, **kw))
    assert (matched.name, distinguisher) == (schema, flow)


def test_a_users_own_schema_takes_precedence() -> None:
    from watchproxy.flowcontrol.settings import parse_flow_control

    settings = parse_flow_control(
        {
            "priority_levels": [{"name": "batch", "nominal_concurrency_shares": 5}],
            "flow_schemas": [
                {
                    "name": "batch-jobs",
                    "priority_level": "batch",
                    "matching_precedence": 1000,
                    "distinguisher_method": "ByUser",
                    "rules": [
                        {
                            "subjects": [
                                {"kind": "ServiceAccount", "namespace": "ci", "name": "*"}
                            ],
                            "resource_rules": [
                                {
                                    "verbs": ["list"],
                                    "api_groups": [""],
                                    "resources": ["pods"],
                                    "namespaces": ["*"],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    )
    _, schemas = effective_configuration(settings)
    sa = UserInfo("system:serviceaccount:ci:runner", groups=("system:serviceaccounts", AUTH))
    assert classify(schemas, digest(sa, namespace="ci"))[0].name == "batch-jobs"
    # Not a LIST, or cluster-scoped (no cluster_scope in the rule): the defaults.
    assert classify(schemas, digest(sa, verb="get", namespace="ci"))[0].name == "service-accounts"
    assert classify(schemas, digest(sa))[0].name == "service-accounts"
    other = UserInfo("system:serviceaccount:prod:runner", groups=("system:serviceaccounts", AUTH))
    assert classify(schemas, digest(other, namespace="ci"))[0].name == "service-accounts"
