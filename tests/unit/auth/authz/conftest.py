"""A dict-backed ObjectSource (watchproxy/auth/sources.py) for the authorizer tests: objects by
registry key, a generation per resource that moves on every put and delete, and counters of the
`list` calls so tests can check that indexes are not rebuilt per request."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from tests.unit.auth.authz.builders import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    RBAC,
    ROLE_BINDINGS,
    ROLES,
)


class FakeSource:
    def __init__(self) -> None:
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.generations: Counter[str] = Counter()
        self.list_calls: Counter[str] = Counter()
        self.pods_on_node_calls = 0

    # -- ObjectSource ----------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(resource, {}).get((namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> Iterable[dict[str, Any]]:
        self.list_calls[resource] += 1
        return [
            obj
            for (ns, _), obj in self.objects.get(resource, {}).items()
            if namespace is None or ns == namespace
        ]

    def pods_on_node(self, node: str) -> Iterable[dict[str, Any]]:
        self.pods_on_node_calls += 1
        return [
            pod
            for pod in self.objects.get("pods", {}).values()
            if (pod.get("spec") or {}).get("nodeName") == node
        ]

    def generation(self, resource: str) -> int:
        return self.generations[resource]

    # -- writing ---------------------------------------------------------------------------

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        key = (meta.get("namespace", ""), meta["name"])
        self.objects.setdefault(resource, {})[key] = obj
        self.generations[resource] += 1
        return obj

    def delete(self, resource: str, namespace: str, name: str) -> None:
        del self.objects[resource][(namespace, name)]
        self.generations[resource] += 1

    def put_all(self, objects: Iterable[dict[str, Any]]) -> None:
        kinds = {"ClusterRole": CLUSTER_ROLES, "ClusterRoleBinding": CLUSTER_ROLE_BINDINGS}
        for obj in objects:
            self.put(kinds[obj["kind"]], obj)

    # -- RBAC objects ----------------------------------------------------------------------

    def cluster_role(
        self,
        name: str,
        rules: list[dict[str, Any]] | None = None,
        *,
        labels: dict[str, str] | None = None,
        selectors: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels or {}},
            "rules": rules,
        }
        if selectors is not None:
            obj["aggregationRule"] = {"clusterRoleSelectors": selectors}
        return self.put(CLUSTER_ROLES, obj)

    def role(self, namespace: str, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return self.put(
            ROLES,
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": rules,
            },
        )

    def cluster_role_binding(
        self, name: str, role: str, subjects: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        return self.put(
            CLUSTER_ROLE_BINDINGS,
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                "subjects": subjects,
            },
        )

    def role_binding(
        self,
        namespace: str,
        name: str,
        role: str,
        subjects: list[dict[str, Any]],
        *,
        kind: str = "Role",
    ) -> dict[str, Any]:
        return self.put(
            ROLE_BINDINGS,
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace},
                "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
                "subjects": subjects,
            },
        )


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()
