"""The Go facts of the core/v1 and apimachinery (meta/v1) messages: `json:` tags and field types.

One table, `GO_FIELDS_CORE`: per protobuf message, the fields of its Go struct (k8s.io/api/core/v1
and k8s.io/apimachinery/pkg/apis/meta/v1 types.go, v0.37) whose zero value is not simply left out,
with the flags kubeproto/go_facts.py explains. go_facts.py merges it with the other tables; data
only.
kubeproto/refresh.py rewrites the table from upstream; it is not edited by hand.
"""

from __future__ import annotations

from typing import Final

GO_FIELDS_CORE: Final[dict[str, str]] = {
    "k8s.io.api.core.v1.AWSElasticBlockStoreVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.AppArmorProfile": "type:K localhostProfile:P",
    "k8s.io.api.core.v1.AttachedVolume": "name:K devicePath:K",
    "k8s.io.api.core.v1.AzureDiskVolumeSource": (
        "diskName:K diskURI:K cachingMode:P fsType:P readOnly:P kind:P"
    ),
    "k8s.io.api.core.v1.AzureFilePersistentVolumeSource": (
        "secretName:K shareName:K secretNamespace:PK"
    ),
    "k8s.io.api.core.v1.AzureFileVolumeSource": "secretName:K shareName:K",
    "k8s.io.api.core.v1.Binding": "metadata:S target:S",
    "k8s.io.api.core.v1.CSIPersistentVolumeSource": "driver:K volumeHandle:K",
    "k8s.io.api.core.v1.CSIVolumeSource": "driver:K readOnly:P fsType:P",
    "k8s.io.api.core.v1.CephFSPersistentVolumeSource": "monitors:K",
    "k8s.io.api.core.v1.CephFSVolumeSource": "monitors:K",
    "k8s.io.api.core.v1.CinderPersistentVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.CinderVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.ClientIPConfig": "timeoutSeconds:P",
    "k8s.io.api.core.v1.ClusterTrustBundleProjection": "name:P signerName:P optional:P path:K",
    "k8s.io.api.core.v1.ConfigMap": "metadata:S immutable:P",
    "k8s.io.api.core.v1.ConfigMapEnvSource": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.ConfigMapKeySelector": "localObjectReference:I key:K optional:P",
    "k8s.io.api.core.v1.ConfigMapNodeConfigSource": "namespace:K name:K kubeletConfigKey:K",
    "k8s.io.api.core.v1.ConfigMapProjection": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.ConfigMapVolumeSource": "localObjectReference:I defaultMode:P optional:P",
    "k8s.io.api.core.v1.Container": "name:K resources:S restartPolicy:P",
    "k8s.io.api.core.v1.ContainerExtendedResourceRequest": (
        "containerName:K resourceName:K requestName:K"
    ),
    "k8s.io.api.core.v1.ContainerImage": "names:K",
    "k8s.io.api.core.v1.ContainerPort": "containerPort:K",
    "k8s.io.api.core.v1.ContainerResizePolicy": "resourceName:K restartPolicy:K",
    "k8s.io.api.core.v1.ContainerStateRunning": "startedAt:S",
    "k8s.io.api.core.v1.ContainerStateTerminated": "exitCode:K startedAt:S finishedAt:S",
    "k8s.io.api.core.v1.ContainerStatus": (
        "name:K state:S lastState:S ready:K restartCount:K image:K imageID:K started:P stopSignal:P"
    ),
    "k8s.io.api.core.v1.DaemonEndpoint": "Port:K",
    "k8s.io.api.core.v1.DownwardAPIVolumeFile": "path:K mode:P",
    "k8s.io.api.core.v1.DownwardAPIVolumeSource": "defaultMode:P",
    "k8s.io.api.core.v1.EndpointAddress": "ip:K nodeName:P",
    "k8s.io.api.core.v1.EndpointPort": "port:K appProtocol:P",
    "k8s.io.api.core.v1.Endpoints": "metadata:S",
    "k8s.io.api.core.v1.EnvVar": "name:K",
    "k8s.io.api.core.v1.EphemeralContainer": "ephemeralContainerCommon:I",
    "k8s.io.api.core.v1.EphemeralContainerCommon": "name:K resources:S restartPolicy:P",
    "k8s.io.api.core.v1.Event": (
        "metadata:S involvedObject:S source:S firstTimestamp:S lastTimestamp:S eventTime:S "
        "reportingComponent:K reportingInstance:K"
    ),
    "k8s.io.api.core.v1.EventSeries": "lastObservedTime:S",
    "k8s.io.api.core.v1.FCVolumeSource": "lun:P",
    "k8s.io.api.core.v1.FileKeySelector": "volumeName:K path:K key:K optional:P",
    "k8s.io.api.core.v1.FlexPersistentVolumeSource": "driver:K",
    "k8s.io.api.core.v1.FlexVolumeSource": "driver:K",
    "k8s.io.api.core.v1.GCEPersistentDiskVolumeSource": "pdName:K",
    "k8s.io.api.core.v1.GRPCAction": "port:K service:PK",
    "k8s.io.api.core.v1.GitRepoVolumeSource": "repository:K",
    "k8s.io.api.core.v1.GlusterfsPersistentVolumeSource": "endpoints:K path:K endpointsNamespace:P",
    "k8s.io.api.core.v1.GlusterfsVolumeSource": "endpoints:K path:K",
    "k8s.io.api.core.v1.HTTPGetAction": "port:S",
    "k8s.io.api.core.v1.HTTPHeader": "name:K value:K",
    "k8s.io.api.core.v1.HostAlias": "ip:K",
    "k8s.io.api.core.v1.HostIP": "ip:K",
    "k8s.io.api.core.v1.HostPathVolumeSource": "path:K type:P",
    "k8s.io.api.core.v1.ISCSIPersistentVolumeSource": "targetPortal:K iqn:K lun:K initiatorName:P",
    "k8s.io.api.core.v1.ISCSIVolumeSource": "targetPortal:K iqn:K lun:K initiatorName:P",
    "k8s.io.api.core.v1.KeyToPath": "key:K path:K mode:P",
    "k8s.io.api.core.v1.Lifecycle": "stopSignal:P",
    "k8s.io.api.core.v1.LimitRange": "metadata:S spec:S",
    "k8s.io.api.core.v1.LimitRangeItem": "type:K",
    "k8s.io.api.core.v1.LimitRangeSpec": "limits:K",
    "k8s.io.api.core.v1.LinuxContainerUser": "uid:K gid:K",
    "k8s.io.api.core.v1.LoadBalancerIngress": "ipMode:P",
    "k8s.io.api.core.v1.LocalVolumeSource": "path:K fsType:P",
    "k8s.io.api.core.v1.ModifyVolumeStatus": "status:K",
    "k8s.io.api.core.v1.NFSVolumeSource": "server:K path:K",
    "k8s.io.api.core.v1.Namespace": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.NamespaceCondition": "type:K status:K lastTransitionTime:S",
    "k8s.io.api.core.v1.Node": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.NodeAddress": "type:K address:K",
    "k8s.io.api.core.v1.NodeAllocatableResourceClaimStatus": "resourceClaimName:K resources:K",
    "k8s.io.api.core.v1.NodeCondition": "type:K status:K lastHeartbeatTime:S lastTransitionTime:S",
    "k8s.io.api.core.v1.NodeDaemonEndpoints": "kubeletEndpoint:S",
    "k8s.io.api.core.v1.NodeFeatures": "supplementalGroupsPolicy:P",
    "k8s.io.api.core.v1.NodeRuntimeHandler": "name:K",
    "k8s.io.api.core.v1.NodeRuntimeHandlerFeatures": "recursiveReadOnlyMounts:P userNamespaces:P",
    "k8s.io.api.core.v1.NodeSelector": "nodeSelectorTerms:K",
    "k8s.io.api.core.v1.NodeSelectorRequirement": "key:K operator:K",
    "k8s.io.api.core.v1.NodeStatus": "daemonEndpoints:S nodeInfo:S",
    "k8s.io.api.core.v1.NodeSwapStatus": "capacity:P",
    "k8s.io.api.core.v1.NodeSystemInfo": (
        "machineID:K systemUUID:K bootID:K kernelVersion:K osImage:K "
        "containerRuntimeVersion:K kubeletVersion:K kubeProxyVersion:K operatingSystem:K "
        "architecture:K"
    ),
    "k8s.io.api.core.v1.ObjectFieldSelector": "fieldPath:K",
    "k8s.io.api.core.v1.PersistentVolume": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.PersistentVolumeClaim": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.PersistentVolumeClaimCondition": (
        "type:K status:K lastProbeTime:S lastTransitionTime:S"
    ),
    "k8s.io.api.core.v1.PersistentVolumeClaimSpec": (
        "resources:S storageClassName:P volumeMode:P volumeAttributesClassName:P"
    ),
    "k8s.io.api.core.v1.PersistentVolumeClaimStatus": "currentVolumeAttributesClassName:P",
    "k8s.io.api.core.v1.PersistentVolumeClaimTemplate": "metadata:S spec:S",
    "k8s.io.api.core.v1.PersistentVolumeClaimVolumeSource": "claimName:K",
    "k8s.io.api.core.v1.PersistentVolumeSpec": (
        "persistentVolumeSource:I volumeMode:P volumeAttributesClassName:P"
    ),
    "k8s.io.api.core.v1.PhotonPersistentDiskVolumeSource": "pdID:K",
    "k8s.io.api.core.v1.Pod": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.PodAffinityTerm": "topologyKey:K",
    "k8s.io.api.core.v1.PodCertificateProjection": "maxExpirationSeconds:P",
    "k8s.io.api.core.v1.PodCondition": "type:K status:K lastProbeTime:S lastTransitionTime:S",
    "k8s.io.api.core.v1.PodDNSConfigOption": "value:P",
    "k8s.io.api.core.v1.PodExtendedResourceClaimStatus": "requestMappings:K resourceClaimName:K",
    "k8s.io.api.core.v1.PodIP": "ip:K",
    "k8s.io.api.core.v1.PodOS": "name:K",
    "k8s.io.api.core.v1.PodReadinessGate": "conditionType:K",
    "k8s.io.api.core.v1.PodResourceClaim": "name:K resourceClaimName:P resourceClaimTemplateName:P",
    "k8s.io.api.core.v1.PodResourceClaimStatus": "name:K resourceClaimName:P",
    "k8s.io.api.core.v1.PodSchedulingGate": "name:K",
    "k8s.io.api.core.v1.PodSchedulingGroup": "podGroupName:P",
    "k8s.io.api.core.v1.PodSecurityContext": (
        "runAsUser:P runAsGroup:P runAsNonRoot:P supplementalGroupsPolicy:P fsGroup:P "
        "fsGroupChangePolicy:P seLinuxChangePolicy:P"
    ),
    "k8s.io.api.core.v1.PodSpec": (
        "containers:K terminationGracePeriodSeconds:P activeDeadlineSeconds:P "
        "automountServiceAccountToken:P shareProcessNamespace:P priority:P runtimeClassName:P "
        "enableServiceLinks:P preemptionPolicy:P setHostnameAsFQDN:P hostUsers:P "
        "hostnameOverride:P"
    ),
    "k8s.io.api.core.v1.PodTemplate": "metadata:S template:S",
    "k8s.io.api.core.v1.PodTemplateSpec": "metadata:S spec:S",
    "k8s.io.api.core.v1.PortStatus": "port:K protocol:K error:P",
    "k8s.io.api.core.v1.PortworxVolumeSource": "volumeID:K",
    "k8s.io.api.core.v1.PreferredSchedulingTerm": "weight:K preference:S",
    "k8s.io.api.core.v1.Probe": "handler:I terminationGracePeriodSeconds:P",
    "k8s.io.api.core.v1.ProjectedVolumeSource": "sources:K defaultMode:P",
    "k8s.io.api.core.v1.QuobyteVolumeSource": "registry:K volume:K",
    "k8s.io.api.core.v1.RBDPersistentVolumeSource": "monitors:K image:K",
    "k8s.io.api.core.v1.RBDVolumeSource": "monitors:K image:K",
    "k8s.io.api.core.v1.ReplicationController": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.ReplicationControllerCondition": "type:K status:K lastTransitionTime:S",
    "k8s.io.api.core.v1.ReplicationControllerSpec": "replicas:P",
    "k8s.io.api.core.v1.ReplicationControllerStatus": "replicas:K",
    "k8s.io.api.core.v1.ResourceClaim": "name:K",
    "k8s.io.api.core.v1.ResourceFieldSelector": "resource:K divisor:S",
    "k8s.io.api.core.v1.ResourceHealth": "resourceID:K message:P",
    "k8s.io.api.core.v1.ResourceQuota": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.ResourceStatus": "name:K",
    "k8s.io.api.core.v1.ScaleIOPersistentVolumeSource": "gateway:K system:K secretRef:K",
    "k8s.io.api.core.v1.ScaleIOVolumeSource": "gateway:K system:K secretRef:K",
    "k8s.io.api.core.v1.ScopedResourceSelectorRequirement": "scopeName:K operator:K",
    "k8s.io.api.core.v1.SeccompProfile": "type:K localhostProfile:P",
    "k8s.io.api.core.v1.Secret": "metadata:S immutable:P",
    "k8s.io.api.core.v1.SecretEnvSource": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.SecretKeySelector": "localObjectReference:I key:K optional:P",
    "k8s.io.api.core.v1.SecretProjection": "localObjectReference:I optional:P",
    "k8s.io.api.core.v1.SecretVolumeSource": "defaultMode:P optional:P",
    "k8s.io.api.core.v1.SecurityContext": (
        "privileged:P runAsUser:P runAsGroup:P runAsNonRoot:P readOnlyRootFilesystem:P "
        "allowPrivilegeEscalation:P procMount:P"
    ),
    "k8s.io.api.core.v1.Service": "metadata:S spec:S status:S",
    "k8s.io.api.core.v1.ServiceAccount": "metadata:S automountServiceAccountToken:P",
    "k8s.io.api.core.v1.ServiceAccountTokenProjection": "expirationSeconds:P path:K",
    "k8s.io.api.core.v1.ServicePort": "appProtocol:P port:K targetPort:S",
    "k8s.io.api.core.v1.ServiceSpec": (
        "ipFamilyPolicy:P allocateLoadBalancerNodePorts:P loadBalancerClass:P "
        "internalTrafficPolicy:P trafficDistribution:P"
    ),
    "k8s.io.api.core.v1.ServiceStatus": "loadBalancer:S",
    "k8s.io.api.core.v1.SleepAction": "seconds:K",
    "k8s.io.api.core.v1.Sysctl": "name:K value:K",
    "k8s.io.api.core.v1.TCPSocketAction": "port:S",
    "k8s.io.api.core.v1.Taint": "key:K effect:K",
    "k8s.io.api.core.v1.Toleration": "tolerationSeconds:P",
    "k8s.io.api.core.v1.TopologySelectorLabelRequirement": "key:K values:K",
    "k8s.io.api.core.v1.TopologySpreadConstraint": (
        "maxSkew:K topologyKey:K whenUnsatisfiable:K minDomains:P nodeAffinityPolicy:P "
        "nodeTaintsPolicy:P"
    ),
    "k8s.io.api.core.v1.TypedLocalObjectReference": "apiGroup:PK kind:K name:K",
    "k8s.io.api.core.v1.TypedObjectReference": "apiGroup:PK kind:K name:K namespace:P",
    "k8s.io.api.core.v1.Volume": "name:K volumeSource:I",
    "k8s.io.api.core.v1.VolumeDevice": "name:K devicePath:K",
    "k8s.io.api.core.v1.VolumeMount": "name:K recursiveReadOnly:P mountPath:K mountPropagation:P",
    "k8s.io.api.core.v1.VolumeMountStatus": "name:K mountPath:K recursiveReadOnly:P",
    "k8s.io.api.core.v1.VsphereVirtualDiskVolumeSource": "volumePath:K",
    "k8s.io.api.core.v1.WeightedPodAffinityTerm": "weight:K podAffinityTerm:S",
    "k8s.io.api.core.v1.WindowsSecurityContextOptions": (
        "gmsaCredentialSpecName:P gmsaCredentialSpec:P runAsUserName:P hostProcess:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.Condition": (
        "type:K status:K lastTransitionTime:S reason:K message:K"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions": (
        "gracePeriodSeconds:P orphanDependents:P propagationPolicy:P "
        "ignoreStoreReadErrorWithClusterBreakingPotential:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement": "key:K operator:K",
    "k8s.io.apimachinery.pkg.apis.meta.v1.GroupResource": "group:K resource:K",
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement": "key:K operator:K",
    "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta": (
        "creationTimestamp:S deletionGracePeriodSeconds:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference": (
        "apiVersion:K kind:K name:K uid:K controller:P blockOwnerDeletion:P"
    ),
    "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions": "uid:P resourceVersion:P",
}
