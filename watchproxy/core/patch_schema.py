"""Strategic-merge-patch metadata (patch merge keys and strategies) for the built-in kinds we serve.

Owns the per-kind schema trees that `watchproxy.core.patch` consults: which lists are merged by a
key, which primitive lists are merged as sets, and which fields carry `retainKeys`.  The tables are
transcribed from the `patchStrategy`/`patchMergeKey` struct tags in k8s.io/api core/v1 and apps/v1
(and metav1.ObjectMeta).  Only tagged fields and the struct fields leading to them are listed:
anything absent behaves like apimachinery's untagged fields (maps merge recursively, lists are
replaced atomically).  Fields deliberately absent because upstream marks them atomic (no tag):
Container.envFrom/resizePolicy/resources.claims, PodSpec.tolerations/readinessGates,
PodStatus.*containerStatuses, NodeSpec.taints, NodeStatus.images, Endpoints.subsets,
NamespaceSpec.finalizers, ServiceStatus.loadBalancer.ingress.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

MERGE = "merge"
RETAIN_KEYS = "retainKeys"
REPLACE = "replace"


@dataclass(frozen=True)
class FieldSchema:
    """Patch metadata of one field: a list merged by `merge_key`, a set-like primitive list, ..."""

    merge_key: str | None = None
    strategy: frozenset[str] = frozenset()  # subset of {"merge", "retainKeys", "replace"}
    element: Schema | None = None  # schema of the nested object / of each list item


@dataclass(frozen=True)
class Schema:
    """Describes one JSON object level; unknown keys get the default (untagged) FieldSchema."""

    fields: Mapping[str, FieldSchema] = dataclass_field(default_factory=dict)

    def lookup(self, name: str) -> FieldSchema:
        return self.fields.get(name, UNTAGGED)


UNTAGGED = FieldSchema()
EMPTY = Schema()


def _obj(**fields: FieldSchema) -> Schema:
    return Schema(fields=fields)


def _nested(schema: Schema) -> FieldSchema:
    return FieldSchema(element=schema)


def _keyed(key: str, element: Schema | None = None, *, retain_keys: bool = False) -> FieldSchema:
    strategy = frozenset({MERGE, RETAIN_KEYS} if retain_keys else {MERGE})
    return FieldSchema(merge_key=key, strategy=strategy, element=element)


# A list of scalars with patchStrategy=merge: union on patch, `$deleteFromPrimitiveList` removes.
_SET = FieldSchema(strategy=frozenset({MERGE}))

OBJECT_META = _obj(ownerReferences=_keyed("uid"), finalizers=_SET)
_METADATA = _nested(OBJECT_META)

# Container and EphemeralContainerCommon carry identical tags.
CONTAINER = _obj(
    ports=_keyed("containerPort"),
    env=_keyed("name"),
    volumeMounts=_keyed("mountPath"),
    volumeDevices=_keyed("devicePath"),
)

POD_SPEC = _obj(
    volumes=_keyed("name", retain_keys=True),
    initContainers=_keyed("name", CONTAINER),
    containers=_keyed("name", CONTAINER),
    ephemeralContainers=_keyed("name", CONTAINER),
    imagePullSecrets=_keyed("name"),
    hostAliases=_keyed("ip"),
    topologySpreadConstraints=_keyed("topologyKey"),
    schedulingGates=_keyed("name"),
    resourceClaims=_keyed("name", retain_keys=True),
)

POD_STATUS = _obj(
    conditions=_keyed("type"),
    hostIPs=_keyed("ip"),
    podIPs=_keyed("ip"),
    resourceClaimStatuses=_keyed("name", retain_keys=True),
)

POD_TEMPLATE_SPEC = _obj(metadata=_METADATA, spec=_nested(POD_SPEC))
_TEMPLATE = _nested(POD_TEMPLATE_SPEC)
_CONDITIONS_STATUS = _nested(_obj(conditions=_keyed("type")))

POD = _obj(metadata=_METADATA, spec=_nested(POD_SPEC), status=_nested(POD_STATUS))

NODE = _obj(
    metadata=_METADATA,
    spec=_nested(_obj(podCIDRs=_SET)),
    status=_nested(_obj(conditions=_keyed("type"), addresses=_keyed("type"))),
)

SERVICE = _obj(
    metadata=_METADATA,
    spec=_nested(_obj(ports=_keyed("port"))),
    status=_CONDITIONS_STATUS,
)

NAMESPACE = _obj(metadata=_METADATA, status=_CONDITIONS_STATUS)

DEPLOYMENT = _obj(
    metadata=_METADATA,
    spec=_nested(_obj(template=_TEMPLATE, strategy=FieldSchema(strategy=frozenset({RETAIN_KEYS})))),
    status=_CONDITIONS_STATUS,
)

# Workloads whose spec embeds a PodTemplateSpec and whose status has keyed conditions.
_WORKLOAD = _obj(
    metadata=_METADATA, spec=_nested(_obj(template=_TEMPLATE)), status=_CONDITIONS_STATUS
)

# Kinds with no tagged field beyond ObjectMeta (Event, ConfigMap, Secret, Lease, Endpoints, ...).
METADATA_ONLY = _obj(metadata=_METADATA)

PATCH_SCHEMAS: dict[str, Schema] = {
    "Pod": POD,
    "PodTemplate": _obj(metadata=_METADATA, template=_TEMPLATE),
    "Node": NODE,
    "Service": SERVICE,
    "Endpoints": METADATA_ONLY,
    "Namespace": NAMESPACE,
    "Event": METADATA_ONLY,
    "ConfigMap": METADATA_ONLY,
    "Secret": METADATA_ONLY,
    "Lease": METADATA_ONLY,
    "ServiceAccount": _obj(metadata=_METADATA, secrets=_keyed("name")),
    "ReplicationController": _WORKLOAD,
    "Deployment": DEPLOYMENT,
    "ReplicaSet": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
}


def schema_for_kind(kind: str) -> Schema:
    """Schema for `kind`; unknown kinds still get ObjectMeta's keys (every object has metadata)."""
    return PATCH_SCHEMAS.get(kind, METADATA_ONLY)
