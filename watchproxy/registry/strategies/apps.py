"""apps/v1 workloads and ReplicationControllers (kube: pkg/registry/apps/*/strategy.go,
pkg/apis/apps/validation/validation.go, ValidateReplicationController in
pkg/apis/core/validation/validation.go).

Create clears `status` (the controllers own it); the defaults are registry/defaults/workloads.py.
Validation: a selector that is required, not empty and matches the template's labels, a valid
pod template whose restartPolicy is Always, replicas >= 0; on update the selector is immutable
(apps/v1) and a StatefulSet may change only the fields kube lets it.
"""

from __future__ import annotations

from typing import Any

from watchproxy.core.validation import field_invalid, not_supported
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.podspec import as_dict, pod_spec_causes, required
from watchproxy.registry.strategies.rollout import (
    daemonset_rolling_update_causes,
    deployment_rolling_update_causes,
)
from watchproxy.registry.strategies.selectors import (
    go_label_selector,
    go_string_map,
    is_empty,
    matches,
    selector_causes,
)
from watchproxy.registry.strategy import JsonObject, Strategy, register


def non_negative(path: str, value: Any) -> list[Cause]:
    """ValidateNonnegativeField."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [field_invalid(path, str(value), "must be greater than or equal to 0")]
    return []


def template_causes(
    spec: JsonObject, restart: tuple[str, ...] = ("Always",), path: str = "spec"
) -> list[Cause]:
    """ValidatePodTemplateSpecForReplicaSet and kin, at `path` (the spec holding `selector` and
    `template`): labels matching the selector, a valid pod spec with one of `restart`'s
    restart policies."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return [required(f"{path}.template")]
    labels = (template.get("metadata") or {}).get("labels")
    causes: list[Cause] = []
    if not is_empty(spec.get("selector")) and not matches(spec.get("selector"), labels):
        causes.append(
            field_invalid(
                f"{path}.template.metadata.labels",
                go_string_map(labels),
                "`selector` does not match template `labels`",
            )
        )
    pod = template.get("spec")
    where = f"{path}.template.spec"
    claims = spec.get("volumeClaimTemplates")
    claim_names = frozenset(
        str(as_dict(c.get("metadata")).get("name"))
        for c in (claims if isinstance(claims, list) else [])
        if isinstance(c, dict)
    )
    pod_causes = pod_spec_causes(where, pod, claim_volumes=claim_names)
    causes += [c for c in pod_causes if c[1] != f"{where}.restartPolicy"]
    policy = pod.get("restartPolicy") if isinstance(pod, dict) else None
    if policy in (None, ""):
        shown = ", ".join(f'"{p}"' for p in restart)
        causes.append(
            (
                "FieldValueRequired",
                f"{where}.restartPolicy",
                f"Required value: valid values: {shown}",
            )
        )
    elif policy not in restart:
        causes.append(not_supported(f"{where}.restartPolicy", str(policy), restart))
    return causes


class _WorkloadStrategy(Strategy):
    """The shared rules of Deployments, ReplicaSets, StatefulSets and DaemonSets."""

    clear_status_on_create = True
    kube_validation = True
    kind_word = "deployment"  # kube's "empty selector is invalid for <kind>"
    has_replicas = True

    def validate(self, obj: JsonObject) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [required("spec.selector"), required("spec.template")]
        causes: list[Cause] = []
        selector = spec.get("selector")
        if not isinstance(selector, dict):
            causes.append(required("spec.selector"))
        else:
            if is_empty(selector):
                causes.append(
                    field_invalid(
                        "spec.selector",
                        go_label_selector(selector),
                        f"empty selector is invalid for {self.kind_word}",
                    )
                )
            causes += selector_causes("spec.selector", selector)
        if self.has_replicas:
            causes += non_negative("spec.replicas", spec.get("replicas"))
        causes += non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
        causes += non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
        causes += template_causes(spec)
        return causes + self.spec_causes(spec)

    def spec_causes(self, spec: JsonObject) -> list[Cause]:
        return []

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new)
        new_sel = (new.get("spec") or {}).get("selector")
        old_sel = (old.get("spec") or {}).get("selector")
        if new_sel != old_sel:
            # apps/v1: ValidateImmutableField(newSelector, oldSelector, "spec.selector").
            causes.append(
                field_invalid("spec.selector", go_label_selector(new_sel), "field is immutable")
            )
        return causes


@register("deployments.apps")
class DeploymentStrategy(_WorkloadStrategy):
    kind_word = "deployment"

    def reset_fields(self, subresource: str) -> tuple[tuple[str, ...], ...]:
        """deploymentStatusStrategy GetResetFields: /status sets neither spec nor labels."""
        if subresource == "status":
            return (("spec",), ("metadata", "labels"))
        return super().reset_fields(subresource)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        """deploymentStatusStrategy PrepareForUpdate also keeps the stored labels."""
        super().prepare_for_update(new, old, subresource)
        if subresource == "status":
            labels = (old.get("metadata") or {}).get("labels")
            meta = new.setdefault("metadata", {})
            if labels is None:
                meta.pop("labels", None)
            else:
                meta["labels"] = labels

    def spec_causes(self, spec: JsonObject) -> list[Cause]:
        strategy = as_dict(spec.get("strategy"))
        kind = strategy.get("type")
        types = ("Recreate", "RollingUpdate")
        if kind not in types:
            return [not_supported("spec.strategy.type", str(kind or ""), types)]
        if kind == "Recreate" and strategy.get("rollingUpdate") is not None:
            return [
                (
                    "FieldValueForbidden",
                    "spec.strategy.rollingUpdate",
                    "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        rolling = deployment_rolling_update_causes(
            "spec.strategy.rollingUpdate", strategy.get("rollingUpdate")
        )
        if rolling:
            return rolling
        deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
        if isinstance(deadline, int) and isinstance(ready, int) and deadline <= ready:
            return [
                field_invalid(
                    "spec.progressDeadlineSeconds",
                    str(deadline),
                    "must be greater than minReadySeconds",
                )
            ]
        return []


@register("replicasets.apps")
class ReplicaSetStrategy(_WorkloadStrategy):
    kind_word = "deployment"  # kube says "deployment" for ReplicaSets too (ValidateReplicaSetSpec)


@register("daemonsets.apps")
class DaemonSetStrategy(_WorkloadStrategy):
    kind_word = "daemonset"
    has_replicas = False

    def spec_causes(self, spec: JsonObject) -> list[Cause]:
        strategy = spec.get("updateStrategy")
        kind = strategy.get("type") if isinstance(strategy, dict) else None
        types = ("OnDelete", "RollingUpdate")
        if kind not in types:
            return [not_supported("spec.updateStrategy.type", str(kind or ""), types)]
        rolling = as_dict(strategy).get("rollingUpdate") if kind == "RollingUpdate" else None
        return daemonset_rolling_update_causes("spec.updateStrategy.rollingUpdate", rolling)


# ValidateStatefulSetUpdate: what an update may change in a StatefulSet's spec.
_STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


@register("statefulsets.apps")
class StatefulSetStrategy(_WorkloadStrategy):
    kind_word = "statefulset"

    def spec_causes(self, spec: JsonObject) -> list[Cause]:
        policy = spec.get("podManagementPolicy")
        policies = ("OrderedReady", "Parallel")
        if policy not in policies:
            return [not_supported("spec.podManagementPolicy", str(policy or ""), policies)]
        return []

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new)
        new_spec = as_dict(new.get("spec"))
        old_spec = as_dict(old.get("spec"))
        keys = set(new_spec) | set(old_spec)
        if any(new_spec.get(k) != old_spec.get(k) for k in keys - set(_STATEFULSET_MUTABLE)):
            causes.append(
                (
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                    "'ordinals', 'template', 'updateStrategy', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )
            )
        return causes


@register("replicationcontrollers")
class ReplicationControllerStrategy(Strategy):
    """ValidateReplicationControllerSpec: a map selector (defaulted from the template's
    labels), matching the template, restartPolicy Always; the selector may change."""

    clear_status_on_create = True
    kube_validation = True

    def validate(self, obj: JsonObject) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        selector = spec.get("selector")
        causes: list[Cause] = []
        if not selector:
            causes.append(required("spec.selector"))
        causes += non_negative("spec.replicas", spec.get("replicas"))
        as_label_selector = {"matchLabels": selector} if isinstance(selector, dict) else None
        causes += template_causes({**spec, "selector": as_label_selector})
        return causes
