"""Server-side printing: the `meta.k8s.io` Table kube-apiserver answers `kubectl get` with; pure.

`kubectl get` sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;
as=Table;v=v1beta1;g=meta.k8s.io,application/json` (negotiated in api/printing.py) and prints
the Table's columns (uppercased), hiding priority > 0 columns unless `-o wide`; with `-A` it
takes NAMESPACE, and with `--show-labels`/`-L` the labels, from each row's `object` (a
PartialObjectMetadata by default). Columns are kube's (pkg/printers/internalversion), cells
from api/printers.py; no printer: `rest.defaultTableConvertor`'s Name / Created At table.

A Table watch (handlers/watch.go) sends each event as a one-row Table; only the first carries
`columnDefinitions` (`NoHeaders` after it), and kubectl keeps the columns it saw last.
"""

from __future__ import annotations

from typing import Any

import orjson

from watchproxy.api import printer_columns
from watchproxy.api.printers import COLUMNS, PRINTERS, default_cells, pod_row_conditions
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]

TABLE_V1 = "meta.k8s.io/v1"


# SwaggerDoc() texts kube-apiserver v1.32 puts in `description` (k8s.io/api v0.32).
_DOC: dict[str, str] = {
    "NAME": (
        "Name must be unique within a namespace. Is required when creating resources, although "
        "some resources may allow a client to request the generation of an appropriate name "
        "automatically. Name is primarily intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    ),
    "CREATED": (
        "CreationTimestamp is a timestamp representing the server time when this object was "
        "created. It is not guaranteed to be set in happens-before order across separate "
        "operations. Clients may not set this value. It is represented in RFC3339 form and is "
        "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
    ),
    "POD_IP": (
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if "
        "not yet allocated."
    ),
    "NODE_NAME": (
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a "
        "candidate for scheduling by the scheduler defined in schedulerName. Once this field "
        "is set, the kubelet for this node becomes responsible for the lifecycle of this pod. "
        "This field should not be used to express a desire for the pod to be scheduled on a "
        "specific node. "
        "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename"
    ),
    "NOMINATED_NODE": (
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
        "cannot be scheduled right away as preemption victims receive their graceful "
        "termination periods. This field does not guarantee that the pod will be scheduled on "
        "this node. Scheduler may decide to place the pod elsewhere if other nodes become "
        "available sooner. Scheduler may also decide to give the resources on this node to a "
        "higher priority pod that is created after preemption. As a result, this field may be "
        "different than PodSpec.nodeName when the pod is scheduled."
    ),
    "READINESS_GATES": (
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready "
        "when all its containers are ready AND all conditions specified in the readiness gates "
        'have status equal to "True" More info: '
        "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"
    ),
    "KUBELET_VERSION": "Kubelet Version reported by the node.",
    "OS_IMAGE": (
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."
    ),
    "KERNEL_VERSION": (
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."
    ),
    "CR_VERSION": (
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. "
        "containerd://1.4.2)."
    ),
    "NODE_ADDRESSES": (
        "List of addresses reachable to the node. Queried from cloud provider, if available. "
        "More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: "
        "This field is declared as mergeable, but the merge key is not sufficiently unique, "
        "which can cause data corruption when it is merged. Callers should instead use a "
        "full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should "
        "assume that addresses can change during the lifetime of a Node. However, there are "
        "some exceptions where this may not be possible, such as Pods that inherit a Node's "
        "address in its own status or consumers of the downward API (status.hostIP)."
    ),
    "EV_LAST": "The time at which the most recent occurrence of this event was recorded.",
    "EV_TYPE": "Type of this event (Normal, Warning), new types could be added in the future",
    "EV_REASON": (
        "This should be a short, machine understandable string that gives the reason for the "
        "transition into the object's current status."
    ),
    "EV_FIELD_PATH": (
        "If referring to a piece of an object instead of an entire object, this string should "
        "contain a valid JSON/Go field access statement, such as "
        "desiredState.manifest.containers[2]. For example, if the object reference is to a "
        'container within a pod, this would take on a value like: "spec.containers{name}" '
        '(where "name" refers to the name of the container that triggered the event) or if no '
        'container name is specified "spec.containers[2]" (container with index 2 in this '
        "pod). This syntax is chosen only to have some well-defined way of referencing a part "
        "of an object."
    ),
    "EV_MESSAGE": "A human-readable description of the status of this operation.",
    "EV_FIRST": (
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"
    ),
    "EV_COUNT": "The number of times this event has occurred.",
    "SECRET_TYPE": (
        "Used to facilitate programmatic handling of secret data. More info: "
        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
    ),
    "SECRET_DATA": (
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', "
        "'_' or '.'. The serialized form of the secret data is a base64 encoded string, "
        "representing the arbitrary (possibly non-string) data value here. Described in "
        "https://tools.ietf.org/html/rfc4648#section-4"
    ),
    "SVC_TYPE": (
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
        'ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a '
        "cluster-internal IP address for load-balancing to endpoints. Endpoints are determined "
        "by the selector or if that is not specified, by manual construction of an Endpoints "
        'object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated '
        "and the endpoints are published as a set of endpoints rather than a virtual IP. "
        '"NodePort" builds on ClusterIP and allocates a port on every node which routes to the '
        'same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an '
        "external load-balancer (if supported in the current cloud) which routes to the same "
        'endpoints as the clusterIP. "ExternalName" aliases this service to the specified '
        "externalName. Several other fields do not apply to ExternalName services. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"
    ),
    "SVC_CLUSTER_IP": (
        "clusterIP is the IP address of the service and is usually assigned randomly. If an "
        "address is specified manually, is in-range (as per system configuration), and is not "
        "in use, it will be allocated to the service; otherwise creation of the service will "
        "fail. This field may not be changed through updates unless the type field is also "
        "being changed to ExternalName (which requires this field to be blank) or the type "
        "field is being changed from ExternalName (in which case this field may optionally be "
        'specified, as describe above).  Valid values are "None", empty string (""), or a '
        'valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), '
        "which is useful when direct endpoint connections are preferred and proxying is not "
        "required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field "
        "is specified when creating a Service of type ExternalName, creation will fail. This "
        "field will be wiped when updating a Service to type ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
    ),
    "SVC_EXTERNAL_IPS": (
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
        "traffic for this service.  These IPs are not managed by Kubernetes.  The user is "
        "responsible for ensuring that traffic arrives at a node with this IP.  A common "
        "example is external load-balancers that are not part of the Kubernetes system."
    ),
    "SVC_PORTS": (
        "The list of ports that are exposed by this service. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
    ),
    "SVC_SELECTOR": (
        "Route service traffic to pods with label keys and values matching this selector. If "
        "empty or not present, the service is assumed to have an external process managing its "
        "endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, "
        "NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/"
    ),
    "EP_SUBSETS": (
        "The set of all endpoints is the union of all subsets. Addresses are placed into "
        "subsets according to the IPs they share. A single address with multiple ports, some "
        "of which are ready and some of which are not (because they come from different "
        "containers) will result in the address being displayed in different subsets for the "
        "different ports. No address will appear in both Addresses and NotReadyAddresses in "
        "the same subset. Sets of addresses and ports that comprise a service."
    ),
    "CM_DATA": (
        "Data contains the configuration data. Each key must consist of alphanumeric "
        "characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the "
        "BinaryData field. The keys stored in Data must not overlap with the keys in the "
        "BinaryData field, this is enforced during validation process."
    ),
    "LEASE_HOLDER": (
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated "
        "Leader Election is used, the holder identity must be equal to the elected "
        "LeaseCandidate.metadata.name field."
    ),
    "EV_OBJECT": "The object that this event is about.",
    "EV_SOURCE": (
        "The component reporting this event. Should be a short machine understandable string."
    ),
    "DEPLOY_UPDATED": (
        "Total number of non-terminated pods targeted by this deployment that have the desired "
        "template spec."
    ),
    "DEPLOY_AVAILABLE": (
        "Total number of available pods (ready for at least minReadySeconds) targeted by this "
        "deployment."
    ),
    "DEPLOY_SELECTOR": (
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be "
        "the ones affected by this deployment."
    ),
}


def _col(name: str, kind: str, doc: str, *, fmt: str = "", priority: int = 0) -> JsonObject:
    return {"name": name, "type": kind, "format": fmt, "description": doc, "priority": priority}


def _wide(name: str, doc: str) -> JsonObject:
    return _col(name, "string", doc, priority=1)


_NAME = _col("Name", "string", _DOC["NAME"], fmt="name")
_AGE = _col("Age", "string", _DOC["CREATED"])
_CONTAINERS = _wide("Containers", "Names of each container in the template.")
_IMAGES = _wide("Images", "Images referenced by each container in the template.")

_COLUMNS: dict[tuple[str, str], tuple[JsonObject, ...]] = {**COLUMNS,  # api/printers_more.py
    ("", "Pod"): (
        _NAME,
        _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "string", "The aggregate status of the containers in this pod."),
        _col(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the "
            "last container in this pod has restarted.",
        ),
        _AGE,
        _wide("IP", _DOC["POD_IP"]),
        _wide("Node", _DOC["NODE_NAME"]),
        _wide("Nominated Node", _DOC["NOMINATED_NODE"]),
        _wide("Readiness Gates", _DOC["READINESS_GATES"]),
    ),
    ("", "Node"): (
        _NAME,
        _col("Status", "string", "The status of the node"),
        _col("Roles", "string", "The roles of the node"),
        _AGE,
        _col("Version", "string", _DOC["KUBELET_VERSION"]),
        _wide("Internal-IP", _DOC["NODE_ADDRESSES"]),
        _wide("External-IP", _DOC["NODE_ADDRESSES"]),
        _wide("OS-Image", _DOC["OS_IMAGE"]),
        _wide("Kernel-Version", _DOC["KERNEL_VERSION"]),
        _wide("Container-Runtime", _DOC["CR_VERSION"]),
    ),
    ("", "Namespace"): (_NAME, _col("Status", "string", "The status of the namespace"), _AGE),
    ("", "ConfigMap"): (_NAME, _col("Data", "string", _DOC["CM_DATA"]), _AGE),
    ("", "Secret"): (
        _NAME,
        _col("Type", "string", _DOC["SECRET_TYPE"]),
        _col("Data", "string", _DOC["SECRET_DATA"]),
        _AGE,
    ),
    ("", "Service"): (
        _NAME,
        _col("Type", "string", _DOC["SVC_TYPE"]),
        _col("Cluster-IP", "string", _DOC["SVC_CLUSTER_IP"]),
        _col("External-IP", "string", _DOC["SVC_EXTERNAL_IPS"]),
        _col("Port(s)", "string", _DOC["SVC_PORTS"]),
        _AGE,
        _wide("Selector", _DOC["SVC_SELECTOR"]),
    ),
    ("", "Endpoints"): (_NAME, _col("Endpoints", "string", _DOC["EP_SUBSETS"]), _AGE),
    ("", "Event"): (
        _col("Last Seen", "string", _DOC["EV_LAST"]),
        _col("Type", "string", _DOC["EV_TYPE"]),
        _col("Reason", "string", _DOC["EV_REASON"]),
        _col("Object", "string", _DOC["EV_OBJECT"]),
        _wide("Subobject", _DOC["EV_FIELD_PATH"]),
        _wide("Source", _DOC["EV_SOURCE"]),
        _col("Message", "string", _DOC["EV_MESSAGE"]),
        _wide("First Seen", _DOC["EV_FIRST"]),
        _wide("Count", _DOC["EV_COUNT"]),
        _col("Name", "string", _DOC["NAME"], fmt="name", priority=1),
    ),
    ("coordination.k8s.io", "Lease"): (
        _NAME,
        _col("Holder", "string", _DOC["LEASE_HOLDER"]),
        _AGE,
    ),
    ("apps", "Deployment"): (
        _NAME,
        _col("Ready", "string", "Number of the pod with ready state"),
        _col("Up-to-date", "string", _DOC["DEPLOY_UPDATED"]),
        _col("Available", "string", _DOC["DEPLOY_AVAILABLE"]),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _wide("Selector", _DOC["DEPLOY_SELECTOR"]),
    ),
}
# rest.defaultTableConvertor, for kinds without a printer: note "date" is the type, no format.
_DEFAULT_COLUMNS = (_NAME, _col("Created At", "date", _DOC["CREATED"]))


def column_definitions(resource: ResourceType) -> list[JsonObject]:
    """kube-apiserver's TableColumnDefinitions for the kind (fresh dicts, safe to modify)."""
    if resource.custom is not None:
        return printer_columns.column_definitions(resource)
    # A converted version (events.k8s.io Events) prints as its storage's kind: kube's
    # TableConvertor is the shared storage's, printing the internal object.
    columns = _COLUMNS.get((resource.storage_group, resource.kind), _DEFAULT_COLUMNS)
    return [dict(column) for column in columns]


def table_row(
    resource: ResourceType,
    obj: JsonObject,
    *,
    now: float,
    api_version: str = TABLE_V1,
    include_object: str = "Metadata",
) -> JsonObject:
    """One TableRow: cells, the Completed condition of a finished pod, and `object`.

    `include_object` is the request's `includeObject` table option: Metadata (the default)
    gives a PartialObjectMetadata of the Table's own apiVersion, Object the whole object,
    None a null. Anything else raises ValueError (kube answers 400 BadRequest).
    """
    printer = PRINTERS.get((resource.storage_group, resource.kind))
    printed = resource.stored_form(obj) if resource.converted else obj  # as kube: internal
    row: JsonObject = {"cells": printer(printed, now) if printer else default_cells(printed)}
    if resource.custom is not None:
        row["cells"] = printer_columns.cells(resource, obj, now)
    if (resource.group, resource.kind) == ("", "Pod"):
        conditions = pod_row_conditions(obj)
        if conditions:
            row["conditions"] = conditions
    if include_object in ("", "Metadata"):
        meta = obj.get("metadata") or {}
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": api_version,
            "metadata": meta,
        }
    elif include_object == "Object":
        rest = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        row["object"] = {"kind": resource.kind, "apiVersion": resource.api_version, **rest}
    elif include_object == "None":
        row["object"] = None
    else:
        raise ValueError(f'unrecognized includeObject value: "{include_object}"')
    return row


def _table(
    resource: ResourceType,
    rows: list[JsonObject],
    metadata: JsonObject,
    api_version: str,
    with_columns: bool = True,
) -> bytes:
    columns = column_definitions(resource) if with_columns else None
    doc = {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    }
    return orjson.dumps(doc)


def table_document(
    resource: ResourceType,
    rows: list[JsonObject],
    list_metadata: JsonObject,
    api_version: str = TABLE_V1,
) -> bytes:
    """The Table for a LIST (or a GET, with one row and `{"resourceVersion": <the object's>}`).

    `list_metadata` is the ListMeta kube copies from the list: resourceVersion, continue,
    remainingItemCount (omitted when empty).
    """
    return _table(resource, rows, list_metadata, api_version)


def table_event_object(
    resource: ResourceType,
    obj: JsonObject,
    *,
    now: float,
    api_version: str = TABLE_V1,
    with_columns: bool = True,
    include_object: str = "Metadata",
) -> bytes:
    """The `object` of one watch event on a Table watch: a one-row Table.

    Pass `with_columns=True` for the first event of the watch only, as kube does; later events
    carry `"columnDefinitions": null`. The Table's metadata holds the object's resourceVersion.
    Embed the bytes in the event with `orjson.Fragment`.
    """
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    metadata = {"resourceVersion": rv} if rv else {}
    row = table_row(resource, obj, now=now, api_version=api_version, include_object=include_object)
    return _table(resource, [row], metadata, api_version, with_columns)
