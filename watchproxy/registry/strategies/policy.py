"""PodDisruptionBudgets (kube: pkg/registry/policy/poddisruptionbudget/strategy.go;
ValidatePodDisruptionBudget in pkg/apis/policy/validation/validation.go): create clears
`status` (the disruption controller owns it); minAvailable and maxUnavailable are exclusive; the
selector is a valid label selector; unhealthyPodEvictionPolicy a supported value."""

from __future__ import annotations

from watchproxy.core.validation import field_invalid, not_supported
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.podspec import as_dict
from watchproxy.registry.strategies.selectors import selector_causes
from watchproxy.registry.strategy import JsonObject, Strategy, register

EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


@register("poddisruptionbudgets.policy")
class PodDisruptionBudgetStrategy(Strategy):
    clear_status_on_create = True
    kube_validation = True

    def validate(self, obj: JsonObject) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        causes: list[Cause] = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            causes.append(
                field_invalid(
                    "spec",
                    "policy.PodDisruptionBudgetSpec{...}",
                    "minAvailable and maxUnavailable cannot be both set",
                )
            )
        causes += selector_causes("spec.selector", spec.get("selector"))
        policy = spec.get("unhealthyPodEvictionPolicy")
        if policy is not None and policy not in EVICTION_POLICIES:
            causes.append(
                not_supported("spec.unhealthyPodEvictionPolicy", str(policy), EVICTION_POLICIES)
            )
        return causes
