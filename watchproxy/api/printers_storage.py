"""Server-side printing of v1 PersistentVolumeClaim and PersistentVolume and storage.k8s.io/v1
StorageClass, CSIDriver, CSINode and VolumeAttachment -- ports of the printers of the same
names in kubernetes/pkg/printers/internalversion/printers.go (Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import JsonObject, _d, _l, _s, since
from watchproxy.api.printer_defs import AGE, NAME, Columns, Kinds, col, quantity, wide

_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes(modes: Any) -> str:
    """helper.GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order, each once."""
    present = set(map(str, _l(modes)))
    return ",".join(short for mode, short in _MODES if mode in present)


def _class(meta: JsonObject, spec: JsonObject) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation wins over storageClassName."""
    annotations = _d(meta.get("annotations"))
    if _BETA_CLASS in annotations:
        return _s(annotations[_BETA_CLASS])
    return _s(spec.get("storageClassName"))


def _set_or_unset(value: Any) -> str:
    """A *string field: its value (even empty) when set, `<unset>` when nil."""
    return value if isinstance(value, str) else "<unset>"


def _pvc(pvc: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(pvc.get("metadata")), _d(pvc.get("spec")), _d(pvc.get("status"))
    phase = "Terminating" if meta.get("deletionTimestamp") else _s(status.get("phase"))
    capacity = modes = ""
    if _s(spec.get("volumeName")):
        modes = access_modes(status.get("accessModes"))
        capacity = quantity(_d(status.get("capacity")).get("storage"))
    return [
        _s(meta.get("name")),
        phase,
        _s(spec.get("volumeName")),
        capacity,
        modes,
        _class(meta, spec),
        _set_or_unset(spec.get("volumeAttributesClassName")),
        since(meta.get("creationTimestamp"), now),
        _set_or_unset(spec.get("volumeMode")),
    ]


def _pv(pv: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(pv.get("metadata")), _d(pv.get("spec")), _d(pv.get("status"))
    claim = spec.get("claimRef")
    claim_cell = ""
    if isinstance(claim, dict):
        claim_cell = f"{_s(claim.get('namespace'))}/{_s(claim.get('name'))}"
    phase = "Terminating" if meta.get("deletionTimestamp") else _s(status.get("phase"))
    return [
        _s(meta.get("name")),
        quantity(_d(spec.get("capacity")).get("storage")),
        access_modes(spec.get("accessModes")),
        _s(spec.get("persistentVolumeReclaimPolicy")),
        phase,
        claim_cell,
        _class(meta, spec),
        _set_or_unset(spec.get("volumeAttributesClassName")),
        _s(status.get("reason")),
        since(meta.get("creationTimestamp"), now),
        _set_or_unset(spec.get("volumeMode")),
    ]


def _storage_class(sc: JsonObject, now: float) -> list[Any]:
    meta = _d(sc.get("metadata"))
    annotations = _d(meta.get("annotations"))
    name = _s(meta.get("name"))
    if "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    ):
        name += " (default)"
    return [
        name,
        _s(sc.get("provisioner")),
        _s(sc.get("reclaimPolicy")) or "Delete",
        _s(sc.get("volumeBindingMode")) or "Immediate",
        sc.get("allowVolumeExpansion") is True,
        since(meta.get("creationTimestamp"), now),
    ]


def _csi_driver(driver: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(driver.get("metadata")), _d(driver.get("spec"))
    requests = spec.get("tokenRequests")
    tokens = "<unset>"
    if isinstance(requests, list):
        tokens = ",".join(_s(_d(r).get("audience")) for r in requests)
    return [
        _s(meta.get("name")),
        spec.get("attachRequired") is not False,
        spec.get("podInfoOnMount") is True,
        spec.get("storageCapacity") is True,
        tokens,
        spec.get("requiresRepublish") is True,
        ",".join(map(str, _l(spec.get("volumeLifecycleModes")))) or "<none>",
        since(meta.get("creationTimestamp"), now),
    ]


def _csi_node(node: JsonObject, now: float) -> list[Any]:
    meta = _d(node.get("metadata"))
    drivers = len(_l(_d(node.get("spec")).get("drivers")))
    return [_s(meta.get("name")), drivers, since(meta.get("creationTimestamp"), now)]


def _volume_attachment(va: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(va.get("metadata")), _d(va.get("spec"))
    return [
        _s(meta.get("name")),
        _s(spec.get("attacher")),
        _s(_d(spec.get("source")).get("persistentVolumeName")),
        _s(spec.get("nodeName")),
        _d(va.get("status")).get("attached") is True,
        since(meta.get("creationTimestamp"), now),
    ]


_VOLUME_MODE = wide("VolumeMode", "volumeMode defines what type of volume is required.")


def _classes(of: str) -> Columns:
    return (col("StorageClass", f"StorageClass of the {of}"),
            col("VolumeAttributesClass", f"VolumeAttributesClass of the {of}"))  # fmt: skip


_S = "storage.k8s.io"

KINDS: Kinds = {
    ("", "PersistentVolumeClaim"): (
        (
            NAME,
            col("Status", "The phase of the claim."),
            col("Volume", "The bound volume."),
            col("Capacity", "The actual resources of the underlying volume."),
            col("Access Modes", "The access modes the volume has."),
            *_classes("pvc"),
            AGE,
            _VOLUME_MODE,
        ),
        _pvc,
    ),
    ("", "PersistentVolume"): (
        (
            NAME,
            col("Capacity", "The storage capacity of the volume."),
            col("Access Modes", "The ways the volume can be mounted."),
            col("Reclaim Policy", "What happens to the volume when released from its claim."),
            col("Status", "The phase of the volume."),
            col("Claim", "The bound claim."),
            *_classes("pv"),
            col("Reason", "A human-readable reason for a failure."),
            AGE,
            _VOLUME_MODE,
        ),
        _pv,
    ),
    (_S, "StorageClass"): (
        (
            NAME,
            col("Provisioner", "The type of provisioner."),
            col("ReclaimPolicy", "The reclaim policy of dynamically provisioned volumes."),
            col("VolumeBindingMode", "When volumes are provisioned and bound."),
            col("AllowVolumeExpansion", "Whether the storage class allows volume expand."),
            AGE,
        ),
        _storage_class,
    ),
    (_S, "CSIDriver"): (
        (
            NAME,
            col("AttachRequired", "Whether an attach operation is required.", "boolean"),
            col("PodInfoOnMount", "Whether pod info is passed on mount.", "boolean"),
            col("StorageCapacity", "Whether storage capacity is considered.", "boolean"),
            col("TokenRequests", "The audiences of the requested service account tokens."),
            col(
                "RequiresRepublish", "Whether NodePublishVolume is called periodically.", "boolean"
            ),
            col("Modes", "The volume lifecycle modes."),
            AGE,
        ),
        _csi_driver,
    ),
    (_S, "CSINode"): (
        (
            NAME,
            col(
                "Drivers",
                "Drivers indicates the number of CSI drivers registered on the node",
                "integer",
            ),
            AGE,
        ),
        _csi_node,
    ),
    (_S, "VolumeAttachment"): (
        (
            NAME,
            col("Attacher", "The attacher.", fmt="name"),
            col("PV", "The persistent volume."),
            col("Node", "The node."),
            col("Attached", "Whether the volume is attached.", "boolean"),
            AGE,
        ),
        _volume_attachment,
    ),
}
