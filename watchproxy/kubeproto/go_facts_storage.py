"""The Go facts of the storage and device messages: storage, resource.k8s.io, storagemigration.

One table, `GO_FIELDS_STORAGE`: per protobuf message, the fields of its Go struct
(k8s.io/api/<group>/v1/types.go, v0.37) whose zero value is not simply left out, with the flags
kubeproto/go_facts.py explains. go_facts.py merges it with the other tables; data only.
kubeproto/refresh.py rewrites the table from upstream; it is not edited by hand.
"""

from __future__ import annotations

from typing import Final

GO_FIELDS_STORAGE: Final[dict[str, str]] = {
    "k8s.io.api.resource.v1.AllocatedDeviceStatus": (
        "driver:K pool:K device:K shareID:P conditions:K"
    ),
    "k8s.io.api.resource.v1.AllocationResult": "devices:S",
    "k8s.io.api.resource.v1.CELDeviceSelector": "expression:K",
    "k8s.io.api.resource.v1.CapacityRequestPolicy": "default:K",
    "k8s.io.api.resource.v1.Counter": "value:S",
    "k8s.io.api.resource.v1.CounterSet": "name:K",
    "k8s.io.api.resource.v1.Device": (
        "name:K nodeName:P allNodes:P bindsToNode:P allowMultipleAllocations:P"
    ),
    "k8s.io.api.resource.v1.DeviceAllocationConfiguration": "source:K deviceConfiguration:I",
    "k8s.io.api.resource.v1.DeviceAttribute": "int:P bool:P string:P version:P",
    "k8s.io.api.resource.v1.DeviceCapacity": "value:S",
    "k8s.io.api.resource.v1.DeviceClaim": "requests:K",
    "k8s.io.api.resource.v1.DeviceClaimConfiguration": "deviceConfiguration:I",
    "k8s.io.api.resource.v1.DeviceClass": "metadata:S spec:S",
    "k8s.io.api.resource.v1.DeviceClassConfiguration": "deviceConfiguration:I",
    "k8s.io.api.resource.v1.DeviceClassSpec": "extendedResourceName:P",
    "k8s.io.api.resource.v1.DeviceConstraint": "matchAttribute:P distinctAttribute:P",
    "k8s.io.api.resource.v1.DeviceCounterConsumption": "counterSet:K",
    "k8s.io.api.resource.v1.DeviceRequest": "name:K",
    "k8s.io.api.resource.v1.DeviceRequestAllocationResult": (
        "request:K driver:K pool:K device:K adminAccess:P shareID:P"
    ),
    "k8s.io.api.resource.v1.DeviceSubRequest": "name:K deviceClassName:K",
    "k8s.io.api.resource.v1.DeviceTaint": "key:K effect:K",
    "k8s.io.api.resource.v1.DeviceTaintRule": "metadata:S spec:S status:S",
    "k8s.io.api.resource.v1.DeviceTaintRuleSpec": "taint:S",
    "k8s.io.api.resource.v1.DeviceTaintSelector": "driver:P pool:P device:P",
    "k8s.io.api.resource.v1.DeviceToleration": "tolerationSeconds:P",
    "k8s.io.api.resource.v1.ExactDeviceRequest": "deviceClassName:K adminAccess:P",
    "k8s.io.api.resource.v1.NodeAllocatableResourceMapping": "capacityKey:P",
    "k8s.io.api.resource.v1.OpaqueDeviceConfiguration": "driver:K parameters:S",
    "k8s.io.api.resource.v1.ResourceClaim": "metadata:S spec:S status:S",
    "k8s.io.api.resource.v1.ResourceClaimConsumerReference": "resource:K name:K uid:K",
    "k8s.io.api.resource.v1.ResourceClaimSpec": "devices:S",
    "k8s.io.api.resource.v1.ResourceClaimTemplate": "metadata:S spec:S",
    "k8s.io.api.resource.v1.ResourceClaimTemplateSpec": "metadata:S spec:S",
    "k8s.io.api.resource.v1.ResourcePool": "name:K generation:K resourceSliceCount:K",
    "k8s.io.api.resource.v1.ResourceSlice": "metadata:S spec:S",
    "k8s.io.api.resource.v1.ResourceSliceSpec": (
        "driver:K pool:S nodeName:P allNodes:P perDeviceNodeSelection:P"
    ),
    "k8s.io.api.storage.v1.CSIDriver": "metadata:S spec:S",
    "k8s.io.api.storage.v1.CSIDriverSpec": (
        "attachRequired:P podInfoOnMount:P storageCapacity:P fsGroupPolicy:P "
        "requiresRepublish:P seLinuxMount:P nodeAllocatableUpdatePeriodSeconds:P "
        "serviceAccountTokenInSecrets:P preventPodSchedulingIfMissing:P"
    ),
    "k8s.io.api.storage.v1.CSINode": "metadata:S spec:S",
    "k8s.io.api.storage.v1.CSINodeDriver": "name:K nodeID:K topologyKeys:K",
    "k8s.io.api.storage.v1.CSINodeSpec": "drivers:K",
    "k8s.io.api.storage.v1.CSIStorageCapacity": "metadata:S storageClassName:K",
    "k8s.io.api.storage.v1.StorageClass": (
        "metadata:S provisioner:K reclaimPolicy:P allowVolumeExpansion:P volumeBindingMode:P"
    ),
    "k8s.io.api.storage.v1.TokenRequest": "audience:K expirationSeconds:P",
    "k8s.io.api.storage.v1.VolumeAttachment": "metadata:S spec:S status:S",
    "k8s.io.api.storage.v1.VolumeAttachmentSource": "persistentVolumeName:P",
    "k8s.io.api.storage.v1.VolumeAttachmentSpec": "attacher:K source:S nodeName:K",
    "k8s.io.api.storage.v1.VolumeAttachmentStatus": "attached:K",
    "k8s.io.api.storage.v1.VolumeAttributesClass": "metadata:S driverName:K",
    "k8s.io.api.storage.v1.VolumeError": "time:S errorCode:P",
    "k8s.io.api.storage.v1.VolumeNodeResources": "count:P",
    "k8s.io.api.storagemigration.v1.StorageVersionMigration": "metadata:S spec:S status:S",
    "k8s.io.api.storagemigration.v1.StorageVersionMigrationSpec": "resource:S",
}
