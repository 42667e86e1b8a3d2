"""The RBAC authorizer over the watch cache: kube's plugin/pkg/auth/authorizer/rbac/rbac.go and
its DefaultRuleResolver (pkg/registry/rbac/validation/rule.go), plus the escalation checks of
the RBAC write paths (pkg/registry/rbac/escalation_check.go and the policybased storages of
pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}).

Resolution, as VisitRulesFor: every ClusterRoleBinding whose subjects apply to the user, then
(for a namespaced request) every RoleBinding of that namespace; a ClusterRoleBinding's roleRef
names a ClusterRole, a RoleBinding's a Role of its own namespace or a ClusterRole (whose rules
then apply in that namespace only).  Subjects (appliesToUser): `User` by name, `Group` by
membership, `ServiceAccount` as the user `system:serviceaccount:NS:NAME`, where a RoleBinding's
subject without a namespace means the binding's namespace and a ClusterRoleBinding's never
matches.  A subject's `apiGroup` is not looked at when matching, as in kube (validation is what
requires "" for ServiceAccount and "rbac.authorization.k8s.io" for User and Group).

ClusterRole aggregation: kube's clusterrole-aggregation controller
(pkg/controller/clusterroleaggregation) REPLACES the rules of a ClusterRole that has an
aggregationRule with the union (in order, de-duplicated) of the rules of every other ClusterRole
matched by its clusterRoleSelectors, role names sorted, selectors in order.  Nothing writes
those rules back here: they are computed in process from the cache each time the ClusterRoles'
generation moves, so a label change or a new aggregated-to role changes decisions at once, and
rules stored in an aggregated role are ignored, as the controller would overwrite them.
Aggregation is transitive (admin gathers edit, which gathers view), which is the controller's
fixed point.

Not here: the `system:masters` bypass, which is kube's privileged-group authorizer at the head of
the chain (union.py), and the Node authorizer (node.py).

Cost: indexes are built lazily and rebuilt when `source.generation()` of the RBAC resource they
come from changes; a decision looks at the bindings that name this user, its groups or its
ServiceAccount, never at all bindings.  Roles are read from the source per request, so they are
always current.

One module, over 400 lines: the authorizer, its subject indexes and the escalation checks all
evaluate the same resolved rules (kube keeps them together in rbac.go and validation/rule.go);
splitting would expose the index internals across modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.rules import (
    Rule,
    combined_resource,
    compact_rules,
    compact_string,
    covers,
    go_quote_list,
    request_name,
    rule_allows_prepared,
    rule_key,
    strings,
)
from watchproxy.auth.sources import JsonObject, ObjectSource
from watchproxy.auth.user import (
    SERVICE_ACCOUNT_USER_PREFIX,
    SYSTEM_PRIVILEGED_GROUP,
    UserInfo,
)
from watchproxy.core.selectors import (
    DOES_NOT_EXIST,
    EQUALS,
    EXISTS,
    IN,
    NOT_IN,
    LabelRequirement,
    LabelSelector,
    SelectorError,
)
from watchproxy.core.validation import go_quote

RBAC_GROUP: Final = "rbac.authorization.k8s.io"
ROLES: Final = "roles.rbac.authorization.k8s.io"
ROLE_BINDINGS: Final = "rolebindings.rbac.authorization.k8s.io"
CLUSTER_ROLES: Final = "clusterroles.rbac.authorization.k8s.io"
CLUSTER_ROLE_BINDINGS: Final = "clusterrolebindings.rbac.authorization.k8s.io"

# clusterrole/policybased/storage.go fullAuthority: what setting an aggregationRule needs.
FULL_AUTHORITY: Final[tuple[Rule, ...]] = (
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
)
AGGREGATION_NEEDS_ADMIN: Final = "must have cluster-admin privileges to use the aggregationRule"

AuthorizeFn = Callable[[Attributes], Verdict]


def role_rules(role: Mapping[str, Any]) -> tuple[Rule, ...]:
    """A role's `rules` as kube's typed decoder would have them: objects whose fields are lists
    of strings. Anything else (a value stored by another writer, or before validation existed)
    is dropped here, so one malformed role can never break decisions for everyone."""
    value = role.get("rules")
    if not isinstance(value, list):
        return ()
    out: list[Rule] = []
    for rule in value:
        if not isinstance(rule, dict):
            continue
        if all(
            isinstance(rule.get(f), list) and all(isinstance(v, str) for v in rule[f])
            for f in _RULE_FIELDS
            if rule.get(f) is not None
        ):
            out.append(rule)
    return tuple(out)


_RULE_FIELDS: Final = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


class ReferenceNotFound(LookupError):
    """An object a write refers to does not exist: kube answers 404 NotFound with
    `apierrors.NewNotFound(group/resource, name)`; `str(e)` is its message."""

    def __init__(self, group: str, resource: str, name: str) -> None:
        self.group, self.resource, self.name = group, resource, name
        qualified = f"{resource}.{group}" if group else resource
        super().__init__(f"{qualified} {go_quote(name)} not found")


def aggregate_errors(messages: Sequence[str]) -> str:
    """utilerrors.NewAggregate(errs).Error(): one message as is, several de-duplicated in
    `[a, b]`."""
    if not messages:
        return ""
    if len(messages) == 1:
        return messages[0]
    unique = list(dict.fromkeys(messages))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


class RulesFor(NamedTuple):
    """authorizer.RuleResolver.RulesFor: SelfSubjectRulesReview's resourceRules and
    nonResourceRules (wire shape, empty lists left out except verbs), whether the list is
    incomplete, and the resolution errors (Go aggregates them as `aggregate_errors`)."""

    resource_rules: list[dict[str, list[str]]]
    non_resource_rules: list[dict[str, list[str]]]
    incomplete: bool
    errors: list[str]


@dataclass(slots=True)
class _Bindings:
    """The bindings of one scope (all ClusterRoleBindings, or one namespace's RoleBindings),
    with (position, subject index) lists keyed by user name and by group."""

    items: list[JsonObject] = field(default_factory=list)
    by_user: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    by_group: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def build(cls, bindings: Iterable[JsonObject], namespace: str) -> _Bindings:
        out = cls()
        for binding in bindings:
            pos = len(out.items)
            out.items.append(binding)
            subjects = binding.get("subjects") or ()
            for index, subject in enumerate(subjects):
                if not isinstance(subject, Mapping):
                    continue
                kind, name = subject.get("kind"), subject.get("name")
                if not isinstance(name, str):
                    continue
                if kind == "User":
                    out.by_user.setdefault(name, []).append((pos, index))
                elif kind == "Group":
                    out.by_group.setdefault(name, []).append((pos, index))
                elif kind == "ServiceAccount":
                    sa_namespace = subject.get("namespace") or namespace
                    if sa_namespace:
                        username = f"{SERVICE_ACCOUNT_USER_PREFIX}{sa_namespace}:{name}"
                        out.by_user.setdefault(username, []).append((pos, index))
        return out

    def applicable(self, user: UserInfo) -> list[tuple[int, int]]:
        """appliesTo for every binding: (position, first applying subject), in binding order."""
        first: dict[int, int] = {}
        for pos, index in self.by_user.get(user.name, ()):
            if first.get(pos, index + 1) > index:
                first[pos] = index
        if self.by_group:
            for group in user.groups:
                for pos, index in self.by_group.get(group, ()):
                    if first.get(pos, index + 1) > index:
                        first[pos] = index
        if not first:
            return []
        return sorted(first.items())


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    """describeSubject (pkg/registry/rbac/validation/rule.go)."""
    kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f"{kind} {go_quote(name + '/' + namespace)}"
    return f"{kind} {go_quote(name)}"


def _describe(binding: JsonObject, subject_index: int, cluster: bool) -> str:
    """clusterRoleBindingDescriber / roleBindingDescriber String() (rule.go)."""
    meta = binding.get("metadata") or {}
    ref = binding.get("roleRef") or {}
    subject = (binding.get("subjects") or [])[subject_index]
    name = str(meta.get("name", ""))
    ref_text = f"{ref.get('kind', '')} {go_quote(str(ref.get('name', '')))}"
    if cluster:
        return (
            f"ClusterRoleBinding {go_quote(name)} of {ref_text} to {_describe_subject(subject, '')}"
        )
    namespace = str(meta.get("namespace", ""))
    return (
        f"RoleBinding {go_quote(name + '/' + namespace)} of {ref_text} to "
        f"{_describe_subject(subject, namespace)}"
    )


def _selector_matcher(selector: Any) -> LabelSelector | None:
    """metav1.LabelSelectorAsSelector of one clusterRoleSelector; None when it does not parse
    (the aggregation controller then gives up on the role: it selects nothing here)."""
    if not isinstance(selector, Mapping):
        return None
    requirements: list[LabelRequirement] = []
    try:
        for key, value in (selector.get("matchLabels") or {}).items():
            requirements.append(LabelRequirement.new(key, EQUALS, (value,)))
        for expr in selector.get("matchExpressions") or ():
            op = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
            operator = op.get(expr.get("operator"))
            if operator is None:
                return None
            requirements.append(
                LabelRequirement.new(expr.get("key", ""), operator, expr.get("values") or ())
            )
    except (SelectorError, AttributeError, TypeError):
        return None
    return LabelSelector(requirements)


def has_aggregation_rule(role: JsonObject | None) -> bool:
    """hasAggregationRule (clusterrole/policybased/storage.go): a non-empty
    aggregationRule.clusterRoleSelectors."""
    if not role:
        return False
    rule = role.get("aggregationRule")
    return isinstance(rule, Mapping) and bool(rule.get("clusterRoleSelectors"))


def is_only_mutating_gc_fields(obj: JsonObject, old: JsonObject | None) -> bool:
    """rbacregistry.IsOnlyMutatingGCFields: an update that changes only ownerReferences,
    finalizers, selfLink or managedFields skips the escalation checks (so the garbage collector
    can always finish a deletion)."""
    if old is None:
        return False
    old_meta = old.get("metadata") or {}
    copied_meta = dict(obj.get("metadata") or {})
    for key in ("ownerReferences", "finalizers", "selfLink", "managedFields"):
        if key in old_meta:
            copied_meta[key] = old_meta[key]
        else:
            copied_meta.pop(key, None)
    copied = {**obj, "metadata": copied_meta}
    return semantic_equal(copied, old)


def semantic_equal(a: Any, b: Any) -> bool:
    """equality.Semantic.DeepEqual on JSON: a missing field, null and an empty list or map are
    the same."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in a.keys() | b.keys():
            if not semantic_equal(a.get(key), b.get(key)):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(semantic_equal(x, y) for x, y in zip(a, b, strict=True))
    if a in (None, [], {}) and b in (None, [], {}):
        return True
    return bool(a == b)


class RBACAuthorizer:
    """kube's RBAC authorizer over an `ObjectSource`.

    `authorize` answers ALLOW (reason `RBAC: allowed by ...`) or NO_OPINION (reason
    `RBAC: <resolution errors>` when a binding pointed at a missing role, else "").
    """

    def __init__(self, source: ObjectSource) -> None:
        self._source = source
        self._crb_gen = -1
        self._crbs = _Bindings()
        self._rb_gen = -1
        self._rbs: dict[str, _Bindings] = {}
        self._cr_gen = -1
        # name -> effective rules (aggregated when the role has an aggregationRule); None when
        # the ClusterRole does not exist.
        self._cr_rules: dict[str, tuple[Rule, ...] | None] = {}
        self._cr_sorted: list[JsonObject] | None = None

    # -- indexes ---------------------------------------------------------------------------

    def _cluster_bindings(self) -> _Bindings:
        gen = self._source.generation(CLUSTER_ROLE_BINDINGS)
        if gen != self._crb_gen:
            self._crbs = _Bindings.build(self._source.list(CLUSTER_ROLE_BINDINGS), "")
            self._crb_gen = gen
        return self._crbs

    def _role_bindings(self, namespace: str) -> _Bindings:
        gen = self._source.generation(ROLE_BINDINGS)
        if gen != self._rb_gen:
            self._rbs = {}
            self._rb_gen = gen
        found = self._rbs.get(namespace)
        if found is None:
            found = _Bindings.build(self._source.list(ROLE_BINDINGS, namespace), namespace)
            self._rbs[namespace] = found
        return found

    def _sync_cluster_roles(self) -> None:
        gen = self._source.generation(CLUSTER_ROLES)
        if gen != self._cr_gen:
            self._cr_rules = {}
            self._cr_sorted = None
            self._cr_gen = gen

    def cluster_role_rules(self, name: str) -> tuple[Rule, ...] | None:
        """The rules a ClusterRole grants (aggregated when it has an aggregationRule), or None
        when there is no such ClusterRole."""
        self._sync_cluster_roles()
        if name in self._cr_rules:
            return self._cr_rules[name]
        return self._resolve_cluster_role(name, set())

    def _resolve_cluster_role(self, name: str, visiting: set[str]) -> tuple[Rule, ...] | None:
        if name in self._cr_rules:
            return self._cr_rules[name]
        role = self._source.get(CLUSTER_ROLES, "", name)
        if role is None:
            self._cr_rules[name] = None
            return None
        if role.get("aggregationRule") is None:
            rules: tuple[Rule, ...] = role_rules(role)
        elif name in visiting:
            # An aggregation cycle: what the role holds now is what the other side sees.
            return role_rules(role)
        else:
            visiting.add(name)
            rules = self._aggregate(role, visiting)
            visiting.discard(name)
        self._cr_rules[name] = rules
        return rules

    def _aggregate(self, role: JsonObject, visiting: set[str]) -> tuple[Rule, ...]:
        """syncClusterRole of pkg/controller/clusterroleaggregation."""
        if self._cr_sorted is None:
            self._cr_sorted = sorted(
                self._source.list(CLUSTER_ROLES),
                key=lambda r: str((r.get("metadata") or {}).get("name", "")),
            )
        name = (role.get("metadata") or {}).get("name")
        out: list[Rule] = []
        seen: set[tuple[tuple[str, ...], ...]] = set()
        rule_of = role.get("aggregationRule")
        selectors = rule_of.get("clusterRoleSelectors") if isinstance(rule_of, dict) else None
        for selector in selectors if isinstance(selectors, list) else ():
            matcher = _selector_matcher(selector)
            if matcher is None:
                continue
            for other in self._cr_sorted:
                meta = other.get("metadata") or {}
                other_name = meta.get("name")
                if other_name == name or not matcher.matches(meta.get("labels") or {}):
                    continue
                for rule in self._resolve_cluster_role(str(other_name), visiting) or ():
                    key = rule_key(rule)
                    if key not in seen:
                        seen.add(key)
                        out.append(rule)
        return tuple(out)

    def _role_ref_rules(
        self, ref: Mapping[str, Any], namespace: str, *, lister: bool
    ) -> tuple[tuple[Rule, ...], str | None]:
        """GetRoleReferenceRules (rule.go): the rules, or () and the error message.  `lister`:
        the authorizer's informer listers word a miss `role.rbac.authorization.k8s.io "x" not
        found`; the write paths' registry getters `roles.rbac.authorization.k8s.io ...`."""
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        if kind == "Role":
            role = self._source.get(ROLES, namespace, name)
            if role is not None:
                return role_rules(role), None
            resource = "role" if lister else "roles"
        elif kind == "ClusterRole":
            rules = self.cluster_role_rules(name)
            if rules is not None:
                return rules, None
            resource = "clusterrole" if lister else "clusterroles"
        else:
            return (), f"unsupported role reference kind: {go_quote(str(kind))}"
        return (), str(ReferenceNotFound(RBAC_GROUP, resource, name))

    def _visit(
        self, user: UserInfo, namespace: str, *, lister: bool
    ) -> Iterator[tuple[JsonObject, int, bool, tuple[Rule, ...], str | None]]:
        """VisitRulesFor (rule.go): (binding, subject index, is cluster binding, rules, error)
        for every binding that applies, ClusterRoleBindings first."""
        crbs = self._cluster_bindings()
        for pos, index in crbs.applicable(user):
            binding = crbs.items[pos]
            rules, error = self._role_ref_rules(binding.get("roleRef") or {}, "", lister=lister)
            yield binding, index, True, rules, error
        if namespace:
            rbs = self._role_bindings(namespace)
            for pos, index in rbs.applicable(user):
                binding = rbs.items[pos]
                ref = binding.get("roleRef") or {}
                rules, error = self._role_ref_rules(ref, namespace, lister=lister)
                yield binding, index, False, rules, error

    # -- the authorizer ----------------------------------------------------------------------

    def authorize(self, attrs: Attributes) -> Verdict:
        """RBACAuthorizer.Authorize (plugin/pkg/auth/authorizer/rbac/rbac.go)."""
        combined, name = combined_resource(attrs), request_name(attrs)
        errors: list[str] = []
        for binding, index, cluster, rules, error in self._visit(
            attrs.user, attrs.namespace, lister=True
        ):
            if error is not None:
                errors.append(error)
                continue
            for rule in rules:
                if rule_allows_prepared(attrs, combined, name, rule):
                    return Verdict(
                        Decision.ALLOW, "RBAC: allowed by " + _describe(binding, index, cluster)
                    )
        if errors:
            return Verdict(Decision.NO_OPINION, "RBAC: " + aggregate_errors(errors))
        return Verdict(Decision.NO_OPINION)

    def policy_rules(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """DefaultRuleResolver.RulesFor (rule.go): every rule that applies, and the resolution
        errors (as the authorizer's listers word them)."""
        return self._policy_rules(user, namespace, lister=True)

    def _policy_rules(
        self, user: UserInfo, namespace: str, *, lister: bool
    ) -> tuple[list[Rule], list[str]]:
        rules: list[Rule] = []
        errors: list[str] = []
        for _, _, _, found, error in self._visit(user, namespace, lister=lister):
            if error is not None:
                errors.append(error)
            rules.extend(found)
        return rules, errors

    def rules_for(self, user: UserInfo, namespace: str) -> RulesFor:
        """RBACAuthorizer.RulesFor (rbac.go), for SelfSubjectRulesReview."""
        policy, errors = self.policy_rules(user, namespace)
        resource_rules: list[dict[str, list[str]]] = []
        non_resource_rules: list[dict[str, list[str]]] = []
        for rule in policy:
            if strings(rule, "resources"):
                out = {"verbs": list(strings(rule, "verbs"))}
                for key in ("apiGroups", "resources", "resourceNames"):
                    if strings(rule, key):
                        out[key] = list(strings(rule, key))
                resource_rules.append(out)
            if strings(rule, "nonResourceURLs"):
                non_resource_rules.append(
                    {
                        "verbs": list(strings(rule, "verbs")),
                        "nonResourceURLs": list(strings(rule, "nonResourceURLs")),
                    }
                )
        return RulesFor(resource_rules, non_resource_rules, False, errors)

    # -- escalation checks of the RBAC write paths -------------------------------------------

    def confirm_no_escalation(
        self, user: UserInfo, namespace: str, rules: Iterable[Rule]
    ) -> str | None:
        """ConfirmNoEscalation (pkg/registry/rbac/validation/rule.go): None when the user holds
        every rule in `namespace` ("" = cluster-wide bindings only), else kube's message
        `user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions
        not currently held:` followed by the missing rules, one compact form a line, sorted."""
        owner, errors = self._policy_rules(user, namespace, lister=False)
        ok, missing = covers(owner, rules)
        if ok:
            return None
        described = sorted({compact_string(r) for r in compact_rules(missing)})
        message = (
            f"user {go_quote(user.name)} (groups={go_quote_list(user.groups)}) is attempting to"
            " grant RBAC permissions not currently held:\n" + "\n".join(described)
        )
        if errors:
            message += f"; resolution errors: [{aggregate_errors(errors)}]"
        return message

    def may_create_role(
        self,
        user: UserInfo,
        namespace: str,
        rules: Iterable[Rule],
        authorize: AuthorizeFn,
        *,
        resource: str = "roles",
        name: str = "",
        aggregation: bool = False,
    ) -> str | None:
        """Whether `user` may create or update a Role (`resource="roles"`) or ClusterRole
        (`"clusterroles"`, namespace "") with `rules`: role/policybased and
        clusterrole/policybased storage.go.

        Allowed for `system:masters` (EscalationAllowed), for a user the chain `authorize`s to
        `escalate` the role (RoleEscalationAuthorized: group rbac.authorization.k8s.io, the
        request's `name`, "" on create), and otherwise when the user holds every rule
        (ConfirmNoEscalation).  `aggregation`: the new or (on update) the old ClusterRole has an
        aggregationRule (`has_aggregation_rule`), which needs `*` on everything.  Updates that
        only touch GC fields skip the check (`is_only_mutating_gc_fields`, caller's side).

        Returns None, or the error kube wraps in `NewForbidden(roles|clusterroles, name, err)`
        (union.new_forbidden builds that Status).
        """
        if SYSTEM_PRIVILEGED_GROUP in user.groups:
            return None
        escalate = Attributes(
            user=user,
            verb="escalate",
            is_resource_request=True,
            namespace=namespace,
            api_group=RBAC_GROUP,
            api_version="*",
            resource=resource,
            name=name,
        )
        if authorize(escalate).decision is Decision.ALLOW:
            return None
        message = self.confirm_no_escalation(user, namespace, rules)
        if message is not None:
            return message
        if aggregation and self.confirm_no_escalation(user, namespace, FULL_AUTHORITY):
            return AGGREGATION_NEEDS_ADMIN
        return None

    def may_bind(
        self,
        user: UserInfo,
        namespace: str,
        role_ref: Mapping[str, Any],
        authorize: AuthorizeFn,
    ) -> str | None:
        """Whether `user` may create or update a RoleBinding in `namespace` (or a
        ClusterRoleBinding: namespace "") with `role_ref`: rolebinding/policybased and
        clusterrolebinding/policybased storage.go.

        Allowed for `system:masters`, for a user the chain `authorize`s to `bind` the referenced
        role (BindingAuthorized: verb bind, resource roles|clusterroles named roleRef.name in
        roleRef.apiGroup, in the binding's namespace), and otherwise when the user holds every
        rule of the referenced role in that namespace.

        Returns None or the error kube wraps in NewForbidden(rolebindings|clusterrolebindings,
        name, err).  Raises ReferenceNotFound (404) when the referenced role does not exist and
        ValueError for an unknown roleRef kind (validation rejects it first in practice).
        """
        if SYSTEM_PRIVILEGED_GROUP in user.groups:
            return None
        kind = role_ref.get("kind")
        if kind in ("ClusterRole", "Role"):
            bind = Attributes(
                user=user,
                verb="bind",
                is_resource_request=True,
                namespace=namespace,
                api_group=str(role_ref.get("apiGroup", "")),
                resource="clusterroles" if kind == "ClusterRole" else "roles",
                name=str(role_ref.get("name", "")),
            )
            if authorize(bind).decision is Decision.ALLOW:
                return None
        rules, error = self._role_ref_rules(role_ref, namespace, lister=False)
        if error is not None:
            if kind == "Role":
                raise ReferenceNotFound(RBAC_GROUP, "roles", str(role_ref.get("name", "")))
            if kind == "ClusterRole":
                raise ReferenceNotFound(RBAC_GROUP, "clusterroles", str(role_ref.get("name", "")))
            raise ValueError(error)
        return self.confirm_no_escalation(user, namespace, rules)
