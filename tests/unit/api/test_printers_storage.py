"""Tests for api/printers_storage.py: printPersistentVolumeClaim, printPersistentVolume,
printStorageClass, printCSIDriver, printCSINode and printVolumeAttachment of kube's printers.go
(Wide).
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printers_storage import KINDS, access_modes

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"
S = "storage.k8s.io"


def meta(**extra: Any) -> dict[str, Any]:
    return {"name": "x", "creationTimestamp": CREATED, **extra}


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return KINDS[(group, kind)][1](obj, T0)


def test_access_modes_in_kube_order_once() -> None:
    modes = ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce", "ReadWriteOncePod"]
    assert access_modes(modes) == "RWO,RWX,RWOP"
    assert access_modes(None) == ""


def test_pvc() -> None:
    assert [(c["name"], c["priority"]) for c in KINDS[("", "PersistentVolumeClaim")][0]] == [
        ("Name", 0), ("Status", 0), ("Volume", 0), ("Capacity", 0), ("Access Modes", 0),
        ("StorageClass", 0), ("VolumeAttributesClass", 0), ("Age", 0), ("VolumeMode", 1),
    ]  # fmt: skip
    bound = {
        "metadata": meta(),
        "spec": {"volumeName": "pv-1", "storageClassName": "fast", "volumeMode": "Filesystem",
                 "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                   "capacity": {"storage": "2Gi"}},
    }  # fmt: skip
    assert row("", "PersistentVolumeClaim", bound) == [
        "x", "Bound", "pv-1", "2Gi", "RWO", "fast", "<unset>", "60m", "Filesystem"
    ]  # fmt: skip
    pending = {
        "metadata": meta(deletionTimestamp=CREATED,
                         annotations={"volume.beta.kubernetes.io/storage-class": "old"}),
        "spec": {"storageClassName": "fast", "volumeAttributesClassName": "gold"},
        "status": {"phase": "Pending", "accessModes": ["ReadWriteOnce"]},
    }  # fmt: skip
    assert row("", "PersistentVolumeClaim", pending) == [
        "x", "Terminating", "", "", "", "old", "gold", "60m", "<unset>"
    ]  # fmt: skip


def test_pv() -> None:
    assert [c["name"] for c in KINDS[("", "PersistentVolume")][0]] == [
        "Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
        "VolumeAttributesClass", "Reason", "Age", "VolumeMode",
    ]  # fmt: skip
    pv = {
        "metadata": meta(),
        "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadOnlyMany"],
                 "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "slow",
                 "claimRef": {"namespace": "ns", "name": "data"}, "volumeMode": "Block"},
        "status": {"phase": "Bound"},
    }  # fmt: skip
    assert row("", "PersistentVolume", pv) == [
        "x", "5Gi", "ROX", "Retain", "Bound", "ns/data", "slow", "<unset>", "", "60m", "Block"
    ]  # fmt: skip
    assert row("", "PersistentVolume", {})[1] == "0"


def test_storage_class() -> None:
    assert [c["name"] for c in KINDS[(S, "StorageClass")][0]] == [
        "Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"
    ]  # fmt: skip
    sc = {
        "metadata": meta(annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
        "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
    assert row(S, "StorageClass", sc) == [
        "x (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", True, "60m"
    ]  # fmt: skip
    assert row(S, "StorageClass", {"metadata": meta()})[0:5] == [
        "x", "", "Delete", "Immediate", False
    ]  # fmt: skip


def test_csi_objects() -> None:
    assert [c["name"] for c in KINDS[(S, "CSIDriver")][0]] == [
        "Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests",
        "RequiresRepublish", "Modes", "Age",
    ]  # fmt: skip
    driver = {"metadata": meta(), "spec": {"podInfoOnMount": True,
              "tokenRequests": [{"audience": "a"}, {"audience": "b"}],
              "volumeLifecycleModes": ["Persistent", "Ephemeral"]}}  # fmt: skip
    assert row(S, "CSIDriver", driver) == [
        "x", True, True, False, "a,b", False, "Persistent,Ephemeral", "60m"
    ]  # fmt: skip
    assert row(S, "CSIDriver", {"spec": {"attachRequired": False}})[1:7] == [
        False, False, False, "<unset>", False, "<none>"
    ]  # fmt: skip
    node = {"metadata": meta(), "spec": {"drivers": [{"name": "d"}]}}
    assert row(S, "CSINode", node) == ["x", 1, "60m"]
    va = {"metadata": meta(), "spec": {"attacher": "csi.example", "nodeName": "n1",
          "source": {"persistentVolumeName": "pv-1"}}, "status": {"attached": True}}  # fmt: skip
    assert row(S, "VolumeAttachment", va) == ["x", "csi.example", "pv-1", "n1", True, "60m"]
