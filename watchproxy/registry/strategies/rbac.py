"""Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (rbac.authorization.k8s.io/v1).

Validation is kube's (pkg/apis/rbac/validation/validation.go): every rule has verbs; a resource
rule names apiGroups and resources; non-resource URLs only in cluster roles and never mixed with
resources; a binding's roleRef names a Role (RoleBindings only) or ClusterRole of this API group
and cannot change; subjects are Users, Groups or ServiceAccounts with a name (and, in a
ClusterRoleBinding, a ServiceAccount namespace).

Privilege escalation is refused as kube's RBAC storage refuses it
(pkg/registry/rbac/*/policybased/storage.go): a user may create or update a role only with rules
it holds itself (or the `escalate` verb), and a binding only to a role whose rules it holds (or
the `bind` verb); `system:masters` always may. The checks read the request's identity
(auth/context.py); writes without one (controllers, the RBAC bootstrap) are the server's own.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.status import not_found
from watchproxy.auth.authz.rbac import ReferenceNotFound, has_aggregation_rule
from watchproxy.auth.context import request_auth
from watchproxy.core.validation import field_invalid, go_quote, go_string_slice, not_supported
from watchproxy.registry.decoding import TypedDecode
from watchproxy.registry.errors import Cause, forbidden
from watchproxy.registry.meta import path_segment_errors
from watchproxy.registry.store import Store
from watchproxy.registry.strategy import JsonObject, Strategy, register

RBAC_GROUP = "rbac.authorization.k8s.io"


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _rule_causes(path: str, rule: Any, namespaced: bool) -> list[Cause]:
    """ValidatePolicyRule."""
    if not isinstance(rule, dict):
        return [("FieldValueInvalid", path, "Invalid value: must be an object")]
    causes: list[Cause] = []
    if not _strings(rule.get("verbs")):
        causes.append(
            (
                "FieldValueRequired",
                f"{path}.verbs",
                "Required value: verbs must contain at least one value",
            )
        )
    urls = _strings(rule.get("nonResourceURLs"))
    if urls:
        shown = go_string_slice(urls)
        if namespaced:
            causes.append(
                field_invalid(
                    f"{path}.nonResourceURLs",
                    shown,
                    "namespaced rules cannot apply to non-resource URLs",
                )
            )
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append(
                field_invalid(
                    f"{path}.nonResourceURLs",
                    shown,
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        return causes
    if not _strings(rule.get("apiGroups")):
        causes.append(
            (
                "FieldValueRequired",
                f"{path}.apiGroups",
                "Required value: resource rules must supply at least one api group",
            )
        )
    if not _strings(rule.get("resources")):
        causes.append(
            (
                "FieldValueRequired",
                f"{path}.resources",
                "Required value: resource rules must supply at least one resource",
            )
        )
    return causes


_RULE_FIELDS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


def check_types(obj: JsonObject) -> None:
    """kube decodes RBAC objects into typed structs first: a value of the wrong JSON type is a
    400 (registry/decoding.py TypedDecode), never stored (an untyped `rules: "x"` would break
    every decision)."""
    decode = TypedDecode(str(obj.get("kind") or ""), str(obj.get("apiVersion") or ""))
    for rule in decode.mappings(obj, "rules", "rules", "v1.PolicyRule"):
        for field in _RULE_FIELDS:
            decode.strings(rule, field, f"rules.{field}")
    aggregation = decode.mapping(obj, "aggregationRule", "aggregationRule", "v1.AggregationRule")
    decode.mappings(
        aggregation, "clusterRoleSelectors", "aggregationRule.clusterRoleSelectors",
        "v1.LabelSelector",
    )  # fmt: skip
    ref = decode.mapping(obj, "roleRef", "roleRef", "v1.RoleRef")
    for field in ("apiGroup", "kind", "name"):
        decode.string(ref, field, f"roleRef.{field}")
    for subject in decode.mappings(obj, "subjects", "subjects", "v1.Subject"):
        for field in ("kind", "apiGroup", "name", "namespace"):
            decode.string(subject, field, f"subjects.{field}")


def _rules(obj: JsonObject) -> list[Any]:
    rules = obj.get("rules")
    return rules if isinstance(rules, list) else []


class _RoleStrategy(Strategy):
    kube_validation = True
    namespaced_rules = True

    def validate(self, obj: JsonObject) -> list[Cause]:
        check_types(obj)
        causes: list[Cause] = []
        for i, rule in enumerate(_rules(obj)):
            causes += _rule_causes(f"rules[{i}]", rule, self.namespaced_rules)
        return causes

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        return False

    async def admit(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        auth = request_auth()
        if auth is None or not auth.enforced or auth.rbac is None:
            return
        if (
            old is not None
            and _rules(old) == _rules(obj)
            and obj.get("aggregationRule") == old.get("aggregationRule")
        ):
            return  # kube skips the check when only GC fields (or nothing) changed
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "") if self.resource.namespaced else ""
        rules = [r for r in _rules(obj) if isinstance(r, dict)]
        aggregation = has_aggregation_rule(obj) or has_aggregation_rule(old)
        message = auth.rbac.may_create_role(
            auth.user,
            namespace,
            rules,
            auth.verdict,
            resource=self.resource.plural,
            name=meta.get("name", "") if old is not None else "",
            aggregation=aggregation,
        )
        if message is not None:
            raise forbidden(self.resource, meta.get("name", ""), message)


@register("roles.rbac.authorization.k8s.io")
class RoleStrategy(_RoleStrategy):
    namespaced_rules = True


@register("clusterroles.rbac.authorization.k8s.io")
class ClusterRoleStrategy(_RoleStrategy):
    namespaced_rules = False


class _BindingStrategy(Strategy):
    kube_validation = True
    cluster = False

    def validate(self, obj: JsonObject) -> list[Cause]:
        check_types(obj)
        causes: list[Cause] = []
        ref = obj.get("roleRef")
        ref = ref if isinstance(ref, dict) else {}
        group = ref.get("apiGroup", "")
        if group != RBAC_GROUP:
            causes.append(not_supported("roleRef.apiGroup", str(group), [RBAC_GROUP]))
        kinds = ["ClusterRole"] if self.cluster else ["ClusterRole", "Role"]
        kind = ref.get("kind", "")
        if kind not in kinds:
            causes.append(not_supported("roleRef.kind", str(kind), kinds))
        name = ref.get("name", "")
        if not name:
            causes.append(("FieldValueRequired", "roleRef.name", "Required value"))
        else:
            causes += [
                field_invalid("roleRef.name", go_quote(str(name)), m)
                for m in path_segment_errors(str(name))
            ]
        subjects = obj.get("subjects")
        for i, subject in enumerate(subjects if isinstance(subjects, list) else []):
            causes += self._subject_causes(f"subjects[{i}]", subject)
        return causes

    def _subject_causes(self, path: str, subject: Any) -> list[Cause]:
        """ValidateRoleBindingSubject."""
        if not isinstance(subject, dict):
            return [("FieldValueInvalid", path, "Invalid value: must be an object")]
        causes: list[Cause] = []
        name, kind = subject.get("name", ""), subject.get("kind", "")
        group = subject.get("apiGroup", "")
        if not name:
            causes.append(("FieldValueRequired", f"{path}.name", "Required value"))
        if kind == "ServiceAccount":
            if group:
                causes.append(not_supported(f"{path}.apiGroup", str(group), [""]))
            if self.cluster and not subject.get("namespace"):
                causes.append(("FieldValueRequired", f"{path}.namespace", "Required value"))
        elif kind in ("User", "Group"):
            if group != RBAC_GROUP:
                causes.append(not_supported(f"{path}.apiGroup", str(group), [RBAC_GROUP]))
        else:
            causes.append(
                not_supported(f"{path}.kind", str(kind), ["ServiceAccount", "User", "Group"])
            )
        return causes

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new)
        if new.get("roleRef") != old.get("roleRef"):
            causes.append(("FieldValueInvalid", "roleRef", "Invalid value: cannot change roleRef"))
        return causes

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        return False

    async def admit(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        auth = request_auth()
        if auth is None or not auth.enforced or auth.rbac is None:
            return
        if old is not None and old.get("subjects") == obj.get("subjects"):
            return  # roleRef cannot change: only GC fields or metadata changed
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "") if self.resource.namespaced else ""
        ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
        try:
            message = auth.rbac.may_bind(auth.user, namespace, ref or {}, auth.verdict)
        except ReferenceNotFound as exc:
            raise not_found(exc.resource, exc.name, exc.group) from exc
        if message is not None:
            raise forbidden(self.resource, meta.get("name", ""), message)


@register("rolebindings.rbac.authorization.k8s.io")
class RoleBindingStrategy(_BindingStrategy):
    cluster = False


@register("clusterrolebindings.rbac.authorization.k8s.io")
class ClusterRoleBindingStrategy(_BindingStrategy):
    cluster = True
