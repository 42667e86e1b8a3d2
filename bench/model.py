"""The benchmark's cluster population: tenants, shards, nodes, pods and ConfigMaps.

Everything is derived from integers so that every process (writer, watch clients, analysis) can
compute an object's node, namespace, shard and key without sharing state:

- shard i holds tenant `TENANTS[i]`; its namespaces are `<tenant>-ns-NN`;
- node n carries the label `watchproxy.io/tenant=TENANTS[n % shards]`, so a kubelet's
  `spec.nodeName=node-n` watch resolves to one shard;
- pod i runs on node `i % nodes`, lives in a namespace of that node's tenant, and is named
  `p-<i>`; the trailing integer of every object name is its id.

Values are stored as kube-apiserver stores them: JSON without `metadata.resourceVersion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import orjson

SHARD_NAMES: Final = ("shard-a", "shard-b")
TENANTS: Final = ("ta", "tb")
TENANT_LABEL: Final = "watchproxy.io/tenant"
CREATED: Final = "2026-01-01T00:00:00Z"
CONFIGMAP_NAMESPACE: Final = "ta-ns-00"  # shard 0
CONFIGMAP_SHARD: Final = 0


@dataclass(frozen=True)
class Population:
    nodes: int
    pods: int
    namespaces_per_tenant: int = 20
    configmaps: int = 1

    @property
    def shards(self) -> int:
        return len(SHARD_NAMES)

    # -- nodes ---------------------------------------------------------------------------------

    @staticmethod
    def node_name(n: int) -> str:
        return f"node-{n:05d}"

    def node_shard(self, n: int) -> int:
        return n % self.shards

    def node_key(self, n: int) -> bytes:
        return f"/registry/minions/{self.node_name(n)}".encode()

    def node_value(self, n: int) -> bytes:
        name = self.node_name(n)
        return orjson.dumps(
            {
                "kind": "Node",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "uid": f"00000000-0000-4000-8000-{n:012d}",
                    "creationTimestamp": CREATED,
                    "labels": {
                        TENANT_LABEL: TENANTS[self.node_shard(n)],
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                    },
                },
                "spec": {"podCIDR": f"10.{n // 250}.{n % 250}.0/24"},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                    "addresses": [{"type": "InternalIP", "address": f"10.0.{n // 250}.{n % 250}"}],
                },
            }
        )

    # -- namespaces ----------------------------------------------------------------------------

    def namespace_names(self) -> list[tuple[int, str]]:
        return [
            (shard, f"{tenant}-ns-{k:02d}")
            for shard, tenant in enumerate(TENANTS)
            for k in range(self.namespaces_per_tenant)
        ]

    @staticmethod
    def namespace_key(name: str) -> bytes:
        return f"/registry/namespaces/{name}".encode()

    @staticmethod
    def namespace_value(name: str) -> bytes:
        return orjson.dumps(
            {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {"name": name, "uid": f"ns-{name}", "creationTimestamp": CREATED},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    # -- pods ----------------------------------------------------------------------------------

    def pod_node(self, i: int) -> int:
        return i % self.nodes

    def pod_shard(self, i: int) -> int:
        return self.node_shard(self.pod_node(i))

    def pod_namespace(self, i: int) -> str:
        k = (i // self.nodes) % self.namespaces_per_tenant
        return f"{TENANTS[self.pod_shard(i)]}-ns-{k:02d}"

    @staticmethod
    def pod_name(i: int) -> str:
        return f"p-{i:06d}"

    def pod_key(self, i: int) -> bytes:
        return f"/registry/pods/{self.pod_namespace(i)}/{self.pod_name(i)}".encode()

    def pod_value(self, i: int, counter: int) -> bytes:
        """A ~1.6 KB Pod; `counter` is the status change the writer makes (restartCount)."""
        node = self.node_name(self.pod_node(i))
        name = self.pod_name(i)
        return orjson.dumps(
            {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": self.pod_namespace(i),
                    "uid": f"00000000-0000-4000-9000-{i:012d}",
                    "creationTimestamp": CREATED,
                    "generateName": "bench-",
                    "labels": {"app": "bench", "pod-template-hash": "5d8f7c9b4"},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "ReplicaSet",
                            "name": "bench-5d8f7c9b4",
                            "uid": "00000000-0000-4000-a000-000000000001",
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "spec": {
                    "nodeName": node,
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.k8s.io/pause:3.9",
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "16Mi"},
                                "limits": {"memory": "32Mi"},
                            },
                            "env": [{"name": "POD_INDEX", "value": str(i)}],
                            "terminationMessagePath": "/dev/termination-log",
                            "imagePullPolicy": "IfNotPresent",
                        }
                    ],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": "default",
                    "schedulerName": "default-scheduler",
                    "tolerations": [
                        {
                            "key": "node.kubernetes.io/not-ready",
                            "operator": "Exists",
                            "effect": "NoExecute",
                            "tolerationSeconds": 300,
                        }
                    ],
                },
                "status": {
                    "phase": "Running",
                    "conditions": [
                        {"type": t, "status": "True", "lastTransitionTime": CREATED}
                        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                    ],
                    "hostIP": f"10.0.{self.pod_node(i) // 250}.{self.pod_node(i) % 250}",
                    "podIP": f"10.1.{(i // 250) % 250}.{i % 250}",
                    "startTime": CREATED,
                    "containerStatuses": [
                        {
                            "name": "app",
                            "ready": True,
                            "restartCount": counter,
                            "image": "registry.k8s.io/pause:3.9",
                            "imageID": "registry.k8s.io/pause@sha256:7031c1b2",
                            "containerID": f"containerd://{i:064x}",
                            "started": True,
                            "state": {"running": {"startedAt": CREATED}},
                        }
                    ],
                    "qosClass": "Burstable",
                },
            }
        )

    # -- configmaps ----------------------------------------------------------------------------

    @staticmethod
    def configmap_name(i: int) -> str:
        return f"cm-{i}"

    def configmap_key(self, i: int) -> bytes:
        return f"/registry/configmaps/{CONFIGMAP_NAMESPACE}/{self.configmap_name(i)}".encode()

    def configmap_value(self, i: int, counter: int) -> bytes:
        return orjson.dumps(
            {
                "kind": "ConfigMap",
                "apiVersion": "v1",
                "metadata": {
                    "name": self.configmap_name(i),
                    "namespace": CONFIGMAP_NAMESPACE,
                    "uid": f"cm-{i}",
                    "creationTimestamp": CREATED,
                },
                "data": {"generation": str(counter), "feature-flags": "a=1,b=2,c=3"},
            }
        )

    # -- id -> shard maps handed to the watch clients ------------------------------------------

    def pod_shard_map(self) -> bytes:
        return bytes(self.pod_shard(i) for i in range(self.pods))

    def configmap_shard_map(self) -> bytes:
        return bytes([CONFIGMAP_SHARD] * self.configmaps)
