"""`pods/eviction`: delete a pod unless that would violate its PodDisruptionBudget (kube:
pkg/registry/core/pod/storage/eviction.go, the simple cases).

* A pod that is terminal (Succeeded/Failed), already being deleted, or Pending, is deleted at
  once; so is a pod no PDB of its namespace selects (policy/v1: an empty selector selects every
  pod, a missing one none).
* More than one PDB: 500 "This pod has more than one PodDisruptionBudget, which the eviction
  subresource does not support."
* An unready pod under a PDB whose budget is met (IfHealthyBudget, the default) or whose
  unhealthyPodEvictionPolicy is AlwaysAllow: deleted without using the budget.
* Else `status.disruptionsAllowed` must be above 0 -- 429 TooManyRequests "Cannot evict pod as it
  would violate the pod's disruption budget." otherwise -- and is decremented, with the pod in
  `status.disruptedPods`, by one status update of the PDB before the pod is deleted.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson

from watchproxy.api.status import ApiError, bad_request, etcd_unavailable
from watchproxy.etcd.client import EtcdError
from watchproxy.registry.deleting import delete
from watchproxy.registry.deletion import timestamp
from watchproxy.registry.objects import JsonObject, Located
from watchproxy.registry.options import DeleteOptions, WriteOptions, delete_options
from watchproxy.registry.store import Store
from watchproxy.registry.strategies.podspec import as_dict
from watchproxy.registry.strategies.selectors import matches
from watchproxy.resources import ResourceType

TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."


def _budget_refusal(message: str) -> ApiError:
    return ApiError(
        429,
        "TooManyRequests",
        TOO_MANY,
        details={"causes": [{"reason": "DisruptionBudget", "message": message}]},
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ready(pod: JsonObject) -> bool:
    conditions = as_dict(pod.get("status")).get("conditions") or []
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in conditions
    )


async def _budgets(store: Store, pod: JsonObject) -> tuple[ResourceType | None, list[JsonObject]]:
    """The PDB resource (None when not served) and the PDBs of the pod's namespace that
    select it, read from etcd."""
    resource = store.proxy.registry.lookup("policy", "v1", "poddisruptionbudgets")
    if resource is None:
        return None, []
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace", ""))
    shard = store.tenancy.shard_of_namespace(namespace)
    try:
        _, objects = await store.proxy.shards[shard].list_objects(
            resource, namespace, revision=0, page_size=store.proxy.settings.etcd_page_size
        )
    except EtcdError as exc:
        raise etcd_unavailable(exc) from exc
    labels = meta.get("labels") or {}
    found = []
    for obj in objects:
        pdb = orjson.loads(obj.raw)
        selector = as_dict(pdb.get("spec")).get("selector")
        if isinstance(selector, dict) and matches(selector, labels):
            found.append(pdb)
    return resource, found


async def evict(
    store: Store, pods: ResourceType, namespace: str, name: str, eviction: JsonObject
) -> None:
    """Evict pod namespace/name as `eviction` (a policy/v1 Eviction) asks. Raises 400 for a
    name mismatch, 404, 429 when the budget forbids it, 500 for several budgets."""
    meta = eviction.get("metadata")
    body_name = meta.get("name") if isinstance(meta, dict) else None
    if body_name not in (None, "", name):
        raise bad_request("name in URL does not match name in Eviction object")
    raw_options = eviction.get("deleteOptions")
    options = delete_options(b"", raw_options if isinstance(raw_options, dict) else None)
    pod = (await store.require(pods, namespace, name)).obj
    phase = as_dict(pod.get("status")).get("phase")
    ignore = phase in ("Succeeded", "Failed", "Pending") or bool(
        as_dict(pod.get("metadata")).get("deletionTimestamp")
    )
    if not ignore:
        resource, budgets = await _budgets(store, pod)
        if len(budgets) > 1:
            raise ApiError(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction "
                "subresource does not support.",
            )
        if resource is not None and budgets:
            await _use_budget(store, resource, budgets[0], pod, options)
    await delete(store, pods, namespace, name, options)


async def _use_budget(
    store: Store,
    resource: ResourceType,
    pdb: JsonObject,
    pod: JsonObject,
    options: DeleteOptions,
) -> None:
    """checkAndDecrement on the PDB's latest state (the store retries a lost race)."""
    spec, status = as_dict(pdb.get("spec")), as_dict(pdb.get("status"))
    healthy, desired = (
        _int(status.get("currentHealthy")),
        _int(status.get("desiredHealthy")),
    )
    if not _ready(pod):
        policy = spec.get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
        if policy == "AlwaysAllow" or (healthy >= desired and desired > 0):
            return
    pdb_meta = pdb.get("metadata") or {}
    pdb_name = str(pdb_meta.get("name", ""))
    pod_name = str(as_dict(pod.get("metadata")).get("name", ""))

    def compute(current: Located) -> JsonObject:
        new = copy.deepcopy(current.obj)
        new["metadata"].pop("resourceVersion", None)
        st: dict[str, Any] = new.setdefault("status", {})
        if _int(st.get("observedGeneration")) < _int(new["metadata"].get("generation")):
            raise _budget_refusal(
                f"The disruption budget {pdb_name} is still being processed by the server."
            )
        allowed = _int(st.get("disruptionsAllowed"))
        if allowed <= 0:
            raise _budget_refusal(
                f"The disruption budget {pdb_name} needs {_int(st.get('desiredHealthy'))} "
                f"healthy pods and has {_int(st.get('currentHealthy'))} currently"
            )
        st["disruptionsAllowed"] = allowed - 1
        disrupted = st.get("disruptedPods")
        st["disruptedPods"] = {
            **(disrupted if isinstance(disrupted, dict) else {}),
            pod_name: timestamp(datetime.now(UTC)),
        }
        return new

    await store.update(
        resource,
        namespace=str(pdb_meta.get("namespace", "")),
        name=pdb_name,
        subresource="status",
        compute=compute,
        options=WriteOptions(dry_run=options.dry_run),
    )
