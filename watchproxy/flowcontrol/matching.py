"""Which flow schema a request matches, and its flow distinguisher.

Rules as kube-apiserver's staging/src/k8s.io/apiserver/pkg/util/flowcontrol/rule.go: a schema
matches when any of its PolicyRules matches; a PolicyRules matches when one of its subjects
matches the user and one of its resource rules (resource requests) or non-resource rules (other
paths) matches the request. "*" matches anything; a non-resource URL ending in "/*" is a prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from watchproxy.auth.user import UserInfo
from watchproxy.flowcontrol.settings import (
    FlowSchema,
    NonResourceRule,
    PolicyRules,
    ResourceRule,
    Subject,
)

_SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True, slots=True)
class RequestDigest:
    """What classification reads of a request (kube's RequestDigest: RequestInfo + User), plus
    the tenant its identity belongs to (None outside every tenant)."""

    user: UserInfo
    verb: str
    is_resource_request: bool
    path: str
    api_group: str = ""
    resource: str = ""  # with "/subresource" when there is one, as rule.go compares it
    namespace: str = ""
    tenant: str | None = None


def _subject_matches(subject: Subject, user: UserInfo) -> bool:
    if subject.kind == "User":
        return subject.name == "*" or subject.name == user.name
    if subject.kind == "Group":
        return subject.name == "*" or subject.name in user.groups
    # ServiceAccount: system:serviceaccount:<namespace>:<name>
    if not user.name.startswith(_SA_PREFIX):
        return False
    namespace, _, name = user.name[len(_SA_PREFIX) :].partition(":")
    return namespace == subject.namespace and (subject.name == "*" or subject.name == name)


def _has(values: tuple[str, ...], value: str) -> bool:
    return "*" in values or value in values


def _resource_rule_matches(rule: ResourceRule, digest: RequestDigest) -> bool:
    if not (_has(rule.verbs, digest.verb) and _has(rule.api_groups, digest.api_group)):
        return False
    if not _has(rule.resources, digest.resource):
        return False
    if not digest.namespace:
        return rule.cluster_scope
    return _has(rule.namespaces, digest.namespace)


def _url_matches(pattern: str, path: str) -> bool:
    if pattern == "*" or pattern == path:
        return True
    return pattern.endswith("/*") and path.startswith(pattern[:-1])


def _non_resource_rule_matches(rule: NonResourceRule, digest: RequestDigest) -> bool:
    return _has(rule.verbs, digest.verb) and any(
        _url_matches(p, digest.path) for p in rule.non_resource_urls
    )


def _rules_match(rules: PolicyRules, digest: RequestDigest) -> bool:
    if not any(_subject_matches(s, digest.user) for s in rules.subjects):
        return False
    if digest.is_resource_request:
        return any(_resource_rule_matches(r, digest) for r in rules.resource_rules)
    return any(_non_resource_rule_matches(r, digest) for r in rules.non_resource_rules)


def matches(schema: FlowSchema, digest: RequestDigest) -> bool:
    return any(_rules_match(r, digest) for r in schema.rules)


def flow_distinguisher(schema: FlowSchema, digest: RequestDigest) -> str:
    """The distinguisher of the request's flow within its schema (kube's computeFlowDistinguisher;
    ByTenant is watchproxy's: the tenant, or the user outside every tenant)."""
    method = schema.distinguisher_method
    if method == "ByUser":
        return digest.user.name
    if method == "ByNamespace":
        return digest.namespace
    if method == "ByTenant":
        return f"tenant:{digest.tenant}" if digest.tenant is not None else digest.user.name
    return ""


def classify(schemas: tuple[FlowSchema, ...], digest: RequestDigest) -> tuple[FlowSchema, str]:
    """The first matching schema of `schemas` (already in matching order) and the flow
    distinguisher. The mandatory catch-all matches every authenticated or anonymous user; a user
    in neither group (possible only for a hand-built identity) falls to the last schema."""
    for schema in schemas:
        if matches(schema, digest):
            return schema, flow_distinguisher(schema, digest)
    last = schemas[-1]
    return last, flow_distinguisher(last, digest)
