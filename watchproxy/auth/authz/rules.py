"""PolicyRule matching and comparison on plain dicts in the `rbac.authorization.k8s.io/v1` JSON
shape (`verbs`, `apiGroups`, `resources`, `resourceNames`, `nonResourceURLs`; any may be missing
or null).

Matching is kube's pkg/apis/rbac/v1/evaluation_helpers.go and RuleAllows of
plugin/pkg/auth/authorizer/rbac/rbac.go, to the letter:

- verbs: `*` or the exact verb;
- apiGroups: `*` or the exact group;
- resources: `*`, the exact `resource` or `resource/subresource`, or `*/subresource`.  kube has
  no `resource/*` form: a rule listing `pods/*` matches only a request whose combined resource is
  literally `pods/*`, never `pods/log`;
- resourceNames: an empty list allows every name; a non-empty one allows only those names, so it
  never matches a request without a name (list, watch, create, deletecollection) unless the API
  layer filled the name from a `metadata.name=` field selector, as kube's RequestInfo does for
  list and watch;
- nonResourceURLs: `*`, the exact path, or a prefix when the rule ends in `*` (`/apis/*` matches
  `/apis/` and `/apis/apps`, not `/apis`).

Comparison (`covers`, `breakdown_rule`) is component-helpers/auth/rbac/validation/
policy_comparator.go; `compact_rules` is pkg/registry/rbac/validation/policy_compact.go and
`compact_string` is CompactString of evaluation_helpers.go, which the escalation message prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from watchproxy.auth.attributes import Attributes
from watchproxy.core.validation import go_quote

Rule = Mapping[str, Any]

VERB_ALL: Final = "*"
API_GROUP_ALL: Final = "*"
RESOURCE_ALL: Final = "*"
NON_RESOURCE_ALL: Final = "*"

_EMPTY: Final[tuple[str, ...]] = ()
_FIELDS: Final = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


def strings(rule: Rule, field: str) -> Sequence[str]:
    """The list `field` of `rule`; () when missing or null."""
    value = rule.get(field)
    return value if value else _EMPTY


def verb_matches(rule: Rule, verb: str) -> bool:
    """VerbMatches (pkg/apis/rbac/v1/evaluation_helpers.go)."""
    for rule_verb in strings(rule, "verbs"):
        if rule_verb == VERB_ALL or rule_verb == verb:
            return True
    return False


def api_group_matches(rule: Rule, group: str) -> bool:
    """APIGroupMatches (pkg/apis/rbac/v1/evaluation_helpers.go)."""
    for rule_group in strings(rule, "apiGroups"):
        if rule_group == API_GROUP_ALL or rule_group == group:
            return True
    return False


def resource_matches(rule: Rule, combined_resource: str, subresource: str) -> bool:
    """ResourceMatches (pkg/apis/rbac/v1/evaluation_helpers.go): `combined_resource` is
    `resource` or `resource/subresource`."""
    for rule_resource in strings(rule, "resources"):
        if rule_resource == RESOURCE_ALL or rule_resource == combined_resource:
            return True
        if (
            subresource
            and len(rule_resource) == len(subresource) + 2
            and rule_resource.startswith("*/")
            and rule_resource.endswith(subresource)
        ):
            return True
    return False


def resource_name_matches(rule: Rule, name: str) -> bool:
    """ResourceNameMatches (pkg/apis/rbac/v1/evaluation_helpers.go)."""
    names = strings(rule, "resourceNames")
    if not names:
        return True
    return name in names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    """NonResourceURLMatches (pkg/apis/rbac/v1/evaluation_helpers.go)."""
    for rule_url in strings(rule, "nonResourceURLs"):
        if rule_url == NON_RESOURCE_ALL or rule_url == path:
            return True
        if rule_url.endswith("*") and path.startswith(rule_url.rstrip("*")):
            return True
    return False


def request_name(attrs: Attributes) -> str:
    """The name the request is about: `attrs.name`, or for list and watch the value of a
    `metadata.name=` field selector, as kube's RequestInfoFactory fills it (so a list or watch
    of one object matches rules with resourceNames, and the Node authorizer sees the name).
    Not for a value that is not a valid path segment (path.IsValidPathSegmentName)."""
    if attrs.name or attrs.verb not in ("list", "watch"):
        return attrs.name
    for field, operator, value in attrs.field_requirements:
        if field == "metadata.name" and operator == "=":
            if value in (".", "..") or "/" in value or "%" in value:
                return ""
            return value
    return ""


def combined_resource(attrs: Attributes) -> str:
    """`resource/subresource`, or `resource` (RuleAllows' combinedResource)."""
    if attrs.subresource:
        return f"{attrs.resource}/{attrs.subresource}"
    return attrs.resource


def rule_allows_prepared(attrs: Attributes, combined: str, name: str, rule: Rule) -> bool:
    """`rule_allows` with `combined_resource` and `request_name` computed once by the caller
    (the hot path)."""
    if attrs.is_resource_request:
        return (
            verb_matches(rule, attrs.verb)
            and api_group_matches(rule, attrs.api_group)
            and resource_matches(rule, combined, attrs.subresource)
            and resource_name_matches(rule, name)
        )
    return verb_matches(rule, attrs.verb) and non_resource_url_matches(rule, attrs.path)


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    """RuleAllows (plugin/pkg/auth/authorizer/rbac/rbac.go)."""
    return rule_allows_prepared(attrs, combined_resource(attrs), request_name(attrs), rule)


def rules_allow(attrs: Attributes, rules: Iterable[Rule]) -> bool:
    """RulesAllow (plugin/pkg/auth/authorizer/rbac/rbac.go)."""
    combined, name = combined_resource(attrs), request_name(attrs)
    return any(rule_allows_prepared(attrs, combined, name, rule) for rule in rules)


# -- comparison: who holds which rules ---------------------------------------------------------


def rule_key(rule: Rule) -> tuple[tuple[str, ...], ...]:
    """A hashable form of `rule` in which a missing, null and empty list are the same (kube's
    equality.Semantic.DeepEqual, as the aggregation controller's ruleExists uses it)."""
    return tuple(tuple(strings(rule, field)) for field in _FIELDS)


def breakdown_rule(rule: Rule) -> list[dict[str, list[str]]]:
    """BreakdownRule (component-helpers/auth/rbac/validation/policy_comparator.go): one rule per
    (group, resource, verb[, resourceName]) and per (nonResourceURL, verb)."""
    out: list[dict[str, list[str]]] = []
    verbs = strings(rule, "verbs")
    names = strings(rule, "resourceNames")
    for group in strings(rule, "apiGroups"):
        for resource in strings(rule, "resources"):
            for verb in verbs:
                if names:
                    for name in names:
                        out.append(
                            {
                                "apiGroups": [group],
                                "resources": [resource],
                                "verbs": [verb],
                                "resourceNames": [name],
                            }
                        )
                else:
                    out.append({"apiGroups": [group], "resources": [resource], "verbs": [verb]})
    for url in strings(rule, "nonResourceURLs"):
        for verb in verbs:
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def _has_all(owning: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(w in owning for w in wanted)


def _resource_covers_all(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    """resourceCoversAll (policy_comparator.go)."""
    if RESOURCE_ALL in owner or _has_all(owner, wanted):
        return True
    for path in wanted:
        if path in owner:
            continue
        if "/" not in path:
            return False
        if "*/" + path.split("/", 1)[1] not in owner:
            return False
    return True


def _non_resource_url_covers(owner: str, sub: str) -> bool:
    return owner == sub or (owner.endswith("*") and sub.startswith(owner.rstrip("*")))


def rule_covers(owner: Rule, sub: Rule) -> bool:
    """ruleCovers (policy_comparator.go): `sub` has at most one verb, resource and name."""
    owner_verbs = strings(owner, "verbs")
    owner_groups = strings(owner, "apiGroups")
    owner_names = strings(owner, "resourceNames")
    sub_names = strings(sub, "resourceNames")
    if not (VERB_ALL in owner_verbs or _has_all(owner_verbs, strings(sub, "verbs"))):
        return False
    if not (API_GROUP_ALL in owner_groups or _has_all(owner_groups, strings(sub, "apiGroups"))):
        return False
    if not _resource_covers_all(strings(owner, "resources"), strings(sub, "resources")):
        return False
    owner_urls = strings(owner, "nonResourceURLs")
    for path in strings(sub, "nonResourceURLs"):
        if not any(_non_resource_url_covers(o, path) for o in owner_urls):
            return False
    if not sub_names:
        return not owner_names
    return not owner_names or _has_all(owner_names, sub_names)


def covers(owner_rules: Sequence[Rule], servant_rules: Iterable[Rule]) -> tuple[bool, list[Rule]]:
    """Covers (policy_comparator.go): whether `owner_rules` allow everything `servant_rules` do,
    and the broken-down rules they do not."""
    uncovered: list[Rule] = []
    for servant in servant_rules:
        for sub in breakdown_rule(servant):
            if not any(rule_covers(owner, sub) for owner in owner_rules):
                uncovered.append(sub)
    return not uncovered, uncovered


def compact_rules(rules: Iterable[Rule]) -> list[dict[str, list[str]]]:
    """CompactRules (pkg/registry/rbac/validation/policy_compact.go): rules with one group and
    one resource and nothing but verbs are merged per (group, resource)."""
    compacted: list[dict[str, list[str]]] = []
    simple: dict[tuple[str, str], dict[str, list[str]]] = {}
    for rule in rules:
        groups, resources = strings(rule, "apiGroups"), strings(rule, "resources")
        is_simple = (
            not strings(rule, "resourceNames")
            and not strings(rule, "nonResourceURLs")
            and len(groups) == 1
            and len(resources) == 1
        )
        if is_simple:
            key = (groups[0], resources[0])
            existing = simple.get(key)
            if existing is not None:
                existing["verbs"].extend(strings(rule, "verbs"))
            else:
                simple[key] = {
                    "apiGroups": [groups[0]],
                    "resources": [resources[0]],
                    "verbs": list(strings(rule, "verbs")),
                }
        else:
            compacted.append({f: list(strings(rule, f)) for f in _FIELDS if strings(rule, f)})
    compacted.extend(simple.values())
    return compacted


def go_quote_list(values: Iterable[str]) -> str:
    """Go's `%q` of a `[]string`: `["a" "b"]`."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"


def compact_string(rule: Rule) -> str:
    """CompactString (pkg/apis/rbac/v1/evaluation_helpers.go):
    `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`."""
    parts: list[str] = []
    for label, field in (
        ("APIGroups", "apiGroups"),
        ("Resources", "resources"),
        ("NonResourceURLs", "nonResourceURLs"),
        ("ResourceNames", "resourceNames"),
        ("Verbs", "verbs"),
    ):
        values = strings(rule, field)
        if values:
            parts.append(f"{label}:{go_quote_list(values)}")
    return "{" + ", ".join(parts) + "}"
