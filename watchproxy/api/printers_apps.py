"""Server-side printing of the workload kinds beyond Pod and Deployment: ReplicaSet, DaemonSet,
StatefulSet, ControllerRevision (apps/v1), ReplicationController and PodTemplate (v1) -- ports of
printReplicaSet, printDaemonSet, printStatefulSet, printControllerRevision,
printReplicationController and printPodTemplate in kubernetes/pkg/printers/internalversion/
printers.go (Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import JsonObject, _containers, _d, _i, _l, _s, format_labels
from watchproxy.api.printer_cells import since as _since
from watchproxy.api.printer_defs import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Columns,
    Kinds,
    col,
    label_selector,
    wide,
)


def _replicas(spec: JsonObject) -> int:
    replicas = spec.get("replicas")
    return 1 if replicas is None else _i(replicas)  # v1 defaults a nil replicas to 1


def _template_cells(spec: JsonObject) -> list[str]:
    return _containers(_l(_d(_d(spec.get("template")).get("spec")).get("containers")))


def _replicated(obj: JsonObject, now: float, selector: str) -> list[Any]:
    """ReplicaSet and ReplicationController rows: the same columns, kube's printers differ
    only in how the selector prints (a LabelSelector, a plain label map)."""
    meta, spec, status = _d(obj.get("metadata")), _d(obj.get("spec")), _d(obj.get("status"))
    return [
        _s(meta.get("name")),
        _replicas(spec),
        _i(status.get("replicas")),
        _i(status.get("readyReplicas")),
        _since(meta.get("creationTimestamp"), now),
        *_template_cells(spec),
        selector,
    ]


def _replica_set(rs: JsonObject, now: float) -> list[Any]:
    return _replicated(rs, now, label_selector(_d(rs.get("spec")).get("selector")))


def _replication_controller(rc: JsonObject, now: float) -> list[Any]:
    return _replicated(rc, now, format_labels(_d(rc.get("spec")).get("selector")))


def _daemon_set(ds: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(ds.get("metadata")), _d(ds.get("spec")), _d(ds.get("status"))
    pod_spec = _d(_d(spec.get("template")).get("spec"))
    return [
        _s(meta.get("name")),
        _i(status.get("desiredNumberScheduled")),
        _i(status.get("currentNumberScheduled")),
        _i(status.get("numberReady")),
        _i(status.get("updatedNumberScheduled")),
        _i(status.get("numberAvailable")),
        format_labels(pod_spec.get("nodeSelector")),
        _since(meta.get("creationTimestamp"), now),
        *_template_cells(spec),
        label_selector(spec.get("selector")),
    ]


def _stateful_set(sts: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(sts.get("metadata")), _d(sts.get("spec")), _d(sts.get("status"))
    return [
        _s(meta.get("name")),
        f"{_i(status.get('readyReplicas'))}/{_replicas(spec)}",
        _since(meta.get("creationTimestamp"), now),
        *_template_cells(spec),
    ]


def controller_name(meta: JsonObject) -> str:
    """metav1.GetControllerOf + formatResourceName(withKind): `kind.group/name` lowercased kind."""
    for ref in map(_d, _l(meta.get("ownerReferences"))):
        if ref.get("controller") is True:
            api_version = _s(ref.get("apiVersion"))
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = _s(ref.get("kind"))
            group_kind = f"{kind}.{group}" if group else kind
            name = _s(ref.get("name"))
            return f"{group_kind.lower()}/{name}" if group_kind else name
    return "<none>"


def _controller_revision(rev: JsonObject, now: float) -> list[Any]:
    meta = _d(rev.get("metadata"))
    return [
        _s(meta.get("name")),
        controller_name(meta),
        _i(rev.get("revision")),
        _since(meta.get("creationTimestamp"), now),
    ]


def _pod_template(tmpl: JsonObject, now: float) -> list[Any]:
    template = _d(tmpl.get("template"))
    meta = _d(tmpl.get("metadata"))
    return [
        _s(meta.get("name")),
        *_containers(_l(_d(template.get("spec")).get("containers"))),
        format_labels(_d(template.get("metadata")).get("labels")),
    ]


def _counts(selector_doc: str) -> Columns:
    return (
        NAME,
        col("Desired", "Replicas is the number of desired replicas.", "integer"),
        col("Current", "Replicas is the most recently observed number of replicas.", "integer"),
        col("Ready", "The number of ready replicas.", "integer"),
        AGE,
        CONTAINERS,
        IMAGES,
        wide("Selector", selector_doc),
    )


KINDS: Kinds = {
    ("apps", "ReplicaSet"): (
        _counts("Selector is a label query over pods that should match the replica count."),
        _replica_set,
    ),
    ("", "ReplicationController"): (
        _counts("Selector is a label query over pods that should match the Replicas count."),
        _replication_controller,
    ),
    ("apps", "DaemonSet"): (
        (
            NAME,
            col(
                "Desired",
                "The total number of nodes that should be running the daemon pod.",
                "integer",
            ),
            col("Current", "The number of nodes running at least 1 daemon pod.", "integer"),
            col("Ready", "The number of nodes running the daemon pod and ready.", "integer"),
            col("Up-to-date", "The number of nodes running the updated daemon pod.", "integer"),
            col(
                "Available", "The number of nodes running the daemon pod and available.", "integer"
            ),
            col(
                "Node Selector",
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            wide("Selector", "A label query over pods that are managed by the daemon set."),
        ),
        _daemon_set,
    ),
    ("apps", "StatefulSet"): (
        (NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES),
        _stateful_set,
    ),
    ("apps", "ControllerRevision"): (
        (
            NAME,
            col("Controller", "Controller of the object"),
            col(
                "Revision",
                "Revision indicates the revision of the state represented by Data.",
            ),
            AGE,
        ),
        _controller_revision,
    ),
    ("", "PodTemplate"): (
        (
            NAME,
            col("Containers", "Names of each container in the template."),
            col("Images", "Images referenced by each container in the template."),
            col("Pod Labels", "The labels for the pod template."),
        ),
        _pod_template,
    ),
}
