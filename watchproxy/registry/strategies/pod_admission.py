"""Two of kube-apiserver's default admission plugins, on pod create (kube:
plugin/pkg/admission/defaulttolerationseconds and plugin/pkg/admission/priority), so a pod
created through watchproxy reads back as one created through kube-apiserver:

* DefaultTolerationSeconds: NoExecute tolerations of `node.kubernetes.io/not-ready` and
  `node.kubernetes.io/unreachable` for 300 s, unless the pod tolerates them already.
* Priority: `spec.priority` and `spec.preemptionPolicy` from the pod's PriorityClass (403
  when it does not exist), else 0 and PreemptLowerPriority (no global default class is
  looked up). A `spec.priority` that differs from the class's is refused.

The ServiceAccount plugin (default service account, token volume) is not done here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watchproxy.registry.errors import forbidden
from watchproxy.registry.strategies.podspec import as_dict
from watchproxy.resources import ResourceType

if TYPE_CHECKING:
    from watchproxy.registry.store import Store

JsonObject = dict[str, Any]
DEFAULT_TOLERATION_SECONDS = 300
_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
# Created by kube-apiserver at start-up (pkg/apis/scheduling SystemPriorityClasses).
SYSTEM_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def default_tolerations(pod: JsonObject) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    tolerations = spec.get("tolerations")
    if tolerations is not None and not isinstance(tolerations, list):
        return
    current = [t for t in tolerations or [] if isinstance(t, dict)]
    added = []
    for key in _TAINTS:
        covered = any(
            t.get("effect") in (None, "", "NoExecute")
            and (t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists"))
            for t in current
        )
        if not covered:
            added.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )
    if added:
        spec["tolerations"] = [*(tolerations or []), *added]


async def resolve_priority(store: Store, pods: ResourceType, pod: JsonObject) -> None:
    """The Priority plugin's Admit on create."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    name = spec.get("priorityClassName")
    value, policy = 0, "PreemptLowerPriority"
    if isinstance(name, str) and name:
        classes = store.proxy.registry.lookup("scheduling.k8s.io", "v1", "priorityclasses")
        found = await store.locate(classes, "", name) if classes is not None else None
        if found is not None:
            found_value = found.obj.get("value")
            value = found_value if isinstance(found_value, int) else 0
            policy = str(found.obj.get("preemptionPolicy") or policy)
        elif name in SYSTEM_CLASSES:
            value = SYSTEM_CLASSES[name]
        else:
            pod_name = str(as_dict(pod.get("metadata")).get("name", ""))
            raise forbidden(pods, pod_name, f"no PriorityClass with name {name} was found")
    given = spec.get("priority")
    if given is not None and given != value:
        pod_name = str(as_dict(pod.get("metadata")).get("name", ""))
        raise forbidden(
            pods,
            pod_name,
            f"the integer value of priority ({given}) must not be provided in pod spec; "
            f"priority admission controller computed {value} from the given PriorityClass name",
        )
    spec["priority"] = value
    if spec.get("preemptionPolicy") in (None, ""):
        spec["preemptionPolicy"] = policy
