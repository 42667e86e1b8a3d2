"""The Go facts of the named API groups' messages (apps, batch, policy, networking, autoscaling...).

One table, `GO_FIELDS_GROUPS`: per protobuf message, the fields of its Go struct
(k8s.io/api/<group>/<version>/types.go, v0.37) whose zero value is not simply left out, with the
flags kubeproto/go_facts.py explains. The storage and device groups are go_facts_storage.py's;
go_facts.py merges the tables. Data only.
kubeproto/refresh.py rewrites the table from upstream; it is not edited by hand.
"""

from __future__ import annotations

from typing import Final

GO_FIELDS_GROUPS: Final[dict[str, str]] = {
    "k8s.io.api.admissionregistration.v1.AuditAnnotation": "key:K valueExpression:K",
    "k8s.io.api.admissionregistration.v1.ExpressionWarning": "fieldRef:K warning:K",
    "k8s.io.api.admissionregistration.v1.MatchCondition": "name:K expression:K",
    "k8s.io.api.admissionregistration.v1.MatchResources": "matchPolicy:P",
    "k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicy": "metadata:S spec:S",
    "k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicyBinding": "metadata:S spec:S",
    "k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicySpec": "failurePolicy:P",
    "k8s.io.api.admissionregistration.v1.MutatingWebhook": (
        "name:K clientConfig:S failurePolicy:P matchPolicy:P sideEffects:PK timeoutSeconds:P "
        "admissionReviewVersions:K reinvocationPolicy:P"
    ),
    "k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration": "metadata:S",
    "k8s.io.api.admissionregistration.v1.Mutation": "patchType:K",
    "k8s.io.api.admissionregistration.v1.NamedRuleWithOperations": "ruleWithOperations:I",
    "k8s.io.api.admissionregistration.v1.ParamRef": "parameterNotFoundAction:P",
    "k8s.io.api.admissionregistration.v1.Rule": "scope:P",
    "k8s.io.api.admissionregistration.v1.RuleWithOperations": "rule:I",
    "k8s.io.api.admissionregistration.v1.ServiceReference": "namespace:K name:K path:P port:P",
    "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicy": "metadata:S spec:S status:S",
    "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding": "metadata:S spec:S",
    "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicySpec": "failurePolicy:P",
    "k8s.io.api.admissionregistration.v1.ValidatingWebhook": (
        "name:K clientConfig:S failurePolicy:P matchPolicy:P sideEffects:PK timeoutSeconds:P "
        "admissionReviewVersions:K"
    ),
    "k8s.io.api.admissionregistration.v1.ValidatingWebhookConfiguration": "metadata:S",
    "k8s.io.api.admissionregistration.v1.Validation": "Expression:K reason:P",
    "k8s.io.api.admissionregistration.v1.Variable": "Name:K Expression:K",
    "k8s.io.api.admissionregistration.v1.WebhookClientConfig": "url:P",
    "k8s.io.api.apps.v1.ControllerRevision": "metadata:S data:S revision:K",
    "k8s.io.api.apps.v1.DaemonSet": "metadata:S spec:S status:S",
    "k8s.io.api.apps.v1.DaemonSetCondition": "type:K status:K lastTransitionTime:S",
    "k8s.io.api.apps.v1.DaemonSetSpec": (
        "selector:K template:S updateStrategy:S revisionHistoryLimit:P"
    ),
    "k8s.io.api.apps.v1.DaemonSetStatus": (
        "currentNumberScheduled:K numberMisscheduled:K desiredNumberScheduled:K numberReady:K "
        "collisionCount:P"
    ),
    "k8s.io.api.apps.v1.Deployment": "metadata:S spec:S status:S",
    "k8s.io.api.apps.v1.DeploymentCondition": (
        "type:K status:K lastUpdateTime:S lastTransitionTime:S"
    ),
    "k8s.io.api.apps.v1.DeploymentSpec": (
        "replicas:P selector:K template:S strategy:S revisionHistoryLimit:P "
        "progressDeadlineSeconds:P"
    ),
    "k8s.io.api.apps.v1.DeploymentStatus": "terminatingReplicas:P collisionCount:P",
    "k8s.io.api.apps.v1.ReplicaSet": "metadata:S spec:S status:S",
    "k8s.io.api.apps.v1.ReplicaSetCondition": "type:K status:K lastTransitionTime:S",
    "k8s.io.api.apps.v1.ReplicaSetSpec": "replicas:P selector:K template:S",
    "k8s.io.api.apps.v1.ReplicaSetStatus": "replicas:K terminatingReplicas:P",
    "k8s.io.api.apps.v1.RollingUpdateStatefulSetStrategy": "partition:P",
    "k8s.io.api.apps.v1.StatefulSet": "metadata:S spec:S status:S",
    "k8s.io.api.apps.v1.StatefulSetCondition": "type:K status:K lastTransitionTime:S",
    "k8s.io.api.apps.v1.StatefulSetOrdinals": "start:K",
    "k8s.io.api.apps.v1.StatefulSetSpec": (
        "replicas:P selector:K template:S serviceName:K updateStrategy:S revisionHistoryLimit:P"
    ),
    "k8s.io.api.apps.v1.StatefulSetStatus": "replicas:K collisionCount:P availableReplicas:K",
    "k8s.io.api.authentication.v1.SelfSubjectReview": "metadata:S status:S",
    "k8s.io.api.authentication.v1.SelfSubjectReviewStatus": "userInfo:S",
    "k8s.io.api.authentication.v1.TokenRequest": "metadata:S spec:S status:S",
    "k8s.io.api.authentication.v1.TokenRequestSpec": (
        "audiences:K expirationSeconds:PK boundObjectRef:K"
    ),
    "k8s.io.api.authentication.v1.TokenRequestStatus": "token:K expirationTimestamp:S",
    "k8s.io.api.authentication.v1.TokenReview": "metadata:S spec:S status:S",
    "k8s.io.api.authentication.v1.TokenReviewStatus": "user:S",
    "k8s.io.api.authorization.v1.LocalSubjectAccessReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.NonResourceRule": "verbs:K",
    "k8s.io.api.authorization.v1.ResourceRule": "verbs:K",
    "k8s.io.api.authorization.v1.SelfSubjectAccessReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.SelfSubjectRulesReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.SubjectAccessReview": "metadata:S spec:S status:S",
    "k8s.io.api.authorization.v1.SubjectAccessReviewStatus": "allowed:K",
    "k8s.io.api.authorization.v1.SubjectRulesReviewStatus": (
        "resourceRules:K nonResourceRules:K incomplete:K"
    ),
    "k8s.io.api.autoscaling.v1.CrossVersionObjectReference": "kind:K name:K",
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler": "metadata:S spec:S status:S",
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerSpec": (
        "scaleTargetRef:S minReplicas:P maxReplicas:K targetCPUUtilizationPercentage:P"
    ),
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerStatus": (
        "observedGeneration:P currentReplicas:K desiredReplicas:K currentCPUUtilizationPercentage:P"
    ),
    "k8s.io.api.autoscaling.v1.Scale": "metadata:S spec:S status:S",
    "k8s.io.api.autoscaling.v1.ScaleStatus": "replicas:K",
    "k8s.io.api.autoscaling.v2.ContainerResourceMetricSource": "name:K target:S container:K",
    "k8s.io.api.autoscaling.v2.ContainerResourceMetricStatus": "name:K current:S container:K",
    "k8s.io.api.autoscaling.v2.CrossVersionObjectReference": "kind:K name:K",
    "k8s.io.api.autoscaling.v2.ExternalMetricSource": "metric:S target:S",
    "k8s.io.api.autoscaling.v2.ExternalMetricStatus": "metric:S current:S",
    "k8s.io.api.autoscaling.v2.HPAScalingPolicy": "type:K value:K periodSeconds:K",
    "k8s.io.api.autoscaling.v2.HPAScalingRules": "stabilizationWindowSeconds:P selectPolicy:P",
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler": "metadata:S spec:S status:S",
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerCondition": (
        "type:K status:K lastTransitionTime:S observedGeneration:P"
    ),
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerSpec": (
        "scaleTargetRef:S minReplicas:P maxReplicas:K"
    ),
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerStatus": (
        "observedGeneration:P desiredReplicas:K currentMetrics:K"
    ),
    "k8s.io.api.autoscaling.v2.MetricIdentifier": "name:K",
    "k8s.io.api.autoscaling.v2.MetricSpec": "type:K",
    "k8s.io.api.autoscaling.v2.MetricStatus": "type:K",
    "k8s.io.api.autoscaling.v2.MetricTarget": "type:K averageUtilization:P",
    "k8s.io.api.autoscaling.v2.MetricValueStatus": "averageUtilization:P",
    "k8s.io.api.autoscaling.v2.ObjectMetricSource": "describedObject:S target:S metric:S",
    "k8s.io.api.autoscaling.v2.ObjectMetricStatus": "metric:S current:S describedObject:S",
    "k8s.io.api.autoscaling.v2.PodsMetricSource": "metric:S target:S",
    "k8s.io.api.autoscaling.v2.PodsMetricStatus": "metric:S current:S",
    "k8s.io.api.autoscaling.v2.ResourceMetricSource": "name:K target:S",
    "k8s.io.api.autoscaling.v2.ResourceMetricStatus": "name:K current:S",
    "k8s.io.api.batch.v1.CronJob": "metadata:S spec:S status:S",
    "k8s.io.api.batch.v1.CronJobSpec": (
        "schedule:K timeZone:P startingDeadlineSeconds:P suspend:P jobTemplate:S "
        "successfulJobsHistoryLimit:P failedJobsHistoryLimit:P"
    ),
    "k8s.io.api.batch.v1.Job": "metadata:S spec:S status:S",
    "k8s.io.api.batch.v1.JobCondition": "type:K status:K lastProbeTime:S lastTransitionTime:S",
    "k8s.io.api.batch.v1.JobSpec": (
        "parallelism:P completions:P activeDeadlineSeconds:P backoffLimit:P "
        "backoffLimitPerIndex:P maxFailedIndexes:P manualSelector:P template:S "
        "ttlSecondsAfterFinished:P completionMode:P suspend:P podReplacementPolicy:P "
        "managedBy:P"
    ),
    "k8s.io.api.batch.v1.JobStatus": "terminating:P failedIndexes:P ready:P",
    "k8s.io.api.batch.v1.JobTemplateSpec": "metadata:S spec:S",
    "k8s.io.api.batch.v1.PodFailurePolicy": "rules:K",
    "k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirement": (
        "containerName:P operator:K values:K"
    ),
    "k8s.io.api.batch.v1.PodFailurePolicyOnPodConditionsPattern": "type:K status:K",
    "k8s.io.api.batch.v1.PodFailurePolicyRule": "action:K",
    "k8s.io.api.batch.v1.SuccessPolicy": "rules:K",
    "k8s.io.api.batch.v1.SuccessPolicyRule": "succeededIndexes:P succeededCount:P",
    "k8s.io.api.certificates.v1.CertificateSigningRequest": "metadata:S spec:S status:S",
    "k8s.io.api.certificates.v1.CertificateSigningRequestCondition": (
        "type:K status:K lastUpdateTime:S lastTransitionTime:S"
    ),
    "k8s.io.api.certificates.v1.CertificateSigningRequestSpec": (
        "request:K signerName:K expirationSeconds:P"
    ),
    "k8s.io.api.certificates.v1.ClusterTrustBundle": "metadata:S spec:S",
    "k8s.io.api.certificates.v1.ClusterTrustBundleSpec": "trustBundle:K",
    "k8s.io.api.coordination.v1.Lease": "metadata:S spec:S",
    "k8s.io.api.coordination.v1.LeaseSpec": (
        "holderIdentity:P leaseDurationSeconds:P leaseTransitions:P strategy:P preferredHolder:P"
    ),
    "k8s.io.api.discovery.v1.Endpoint": "addresses:K conditions:S hostname:P nodeName:P zone:P",
    "k8s.io.api.discovery.v1.EndpointConditions": "ready:P serving:P terminating:P",
    "k8s.io.api.discovery.v1.EndpointPort": "name:P protocol:P port:P appProtocol:P",
    "k8s.io.api.discovery.v1.EndpointSlice": "metadata:S addressType:K endpoints:K ports:K",
    "k8s.io.api.discovery.v1.ForNode": "name:K",
    "k8s.io.api.discovery.v1.ForZone": "name:K",
    "k8s.io.api.events.v1.Event": (
        "metadata:S eventTime:S regarding:S deprecatedSource:S deprecatedFirstTimestamp:S "
        "deprecatedLastTimestamp:S"
    ),
    "k8s.io.api.events.v1.EventSeries": "count:K lastObservedTime:S",
    "k8s.io.api.flowcontrol.v1.ExemptPriorityLevelConfiguration": (
        "nominalConcurrencyShares:P lendablePercent:P"
    ),
    "k8s.io.api.flowcontrol.v1.FlowDistinguisherMethod": "type:K",
    "k8s.io.api.flowcontrol.v1.FlowSchema": "metadata:S spec:S status:S",
    "k8s.io.api.flowcontrol.v1.FlowSchemaCondition": "lastTransitionTime:S",
    "k8s.io.api.flowcontrol.v1.FlowSchemaSpec": "priorityLevelConfiguration:S matchingPrecedence:K",
    "k8s.io.api.flowcontrol.v1.GroupSubject": "name:K",
    "k8s.io.api.flowcontrol.v1.LimitResponse": "type:K",
    "k8s.io.api.flowcontrol.v1.LimitedPriorityLevelConfiguration": (
        "nominalConcurrencyShares:PK limitResponse:S lendablePercent:P borrowingLimitPercent:P"
    ),
    "k8s.io.api.flowcontrol.v1.NonResourcePolicyRule": "verbs:K nonResourceURLs:K",
    "k8s.io.api.flowcontrol.v1.PolicyRulesWithSubjects": "subjects:K",
    "k8s.io.api.flowcontrol.v1.PriorityLevelConfiguration": "metadata:S spec:S status:S",
    "k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationCondition": "lastTransitionTime:S",
    "k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationReference": "name:K",
    "k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationSpec": "type:K",
    "k8s.io.api.flowcontrol.v1.QueuingConfiguration": "queues:K handSize:K queueLengthLimit:K",
    "k8s.io.api.flowcontrol.v1.ResourcePolicyRule": "verbs:K apiGroups:K resources:K namespaces:K",
    "k8s.io.api.flowcontrol.v1.ServiceAccountSubject": "namespace:K name:K",
    "k8s.io.api.flowcontrol.v1.Subject": "kind:K",
    "k8s.io.api.flowcontrol.v1.UserSubject": "name:K",
    "k8s.io.api.networking.v1.HTTPIngressPath": "pathType:PK backend:S",
    "k8s.io.api.networking.v1.HTTPIngressRuleValue": "paths:K",
    "k8s.io.api.networking.v1.IPAddress": "metadata:S spec:S",
    "k8s.io.api.networking.v1.IPBlock": "cidr:K",
    "k8s.io.api.networking.v1.Ingress": "metadata:S spec:S status:S",
    "k8s.io.api.networking.v1.IngressClass": "metadata:S spec:S",
    "k8s.io.api.networking.v1.IngressClassParametersReference": (
        "aPIGroup:P kind:K name:K scope:PK namespace:P"
    ),
    "k8s.io.api.networking.v1.IngressPortStatus": "port:K protocol:K error:P",
    "k8s.io.api.networking.v1.IngressRule": "ingressRuleValue:I",
    "k8s.io.api.networking.v1.IngressServiceBackend": "name:K port:S",
    "k8s.io.api.networking.v1.IngressSpec": "ingressClassName:P",
    "k8s.io.api.networking.v1.IngressStatus": "loadBalancer:S",
    "k8s.io.api.networking.v1.NetworkPolicy": "metadata:S spec:S",
    "k8s.io.api.networking.v1.NetworkPolicyPort": "protocol:P endPort:P",
    "k8s.io.api.networking.v1.NetworkPolicySpec": "podSelector:S",
    "k8s.io.api.networking.v1.ServiceCIDR": "metadata:S spec:S status:S",
    "k8s.io.api.node.v1.RuntimeClass": "metadata:S handler:K",
    "k8s.io.api.policy.v1.Eviction": "metadata:S",
    "k8s.io.api.policy.v1.PodDisruptionBudget": "metadata:S spec:S status:S",
    "k8s.io.api.policy.v1.PodDisruptionBudgetSpec": "unhealthyPodEvictionPolicy:P",
    "k8s.io.api.policy.v1.PodDisruptionBudgetStatus": (
        "disruptionsAllowed:K currentHealthy:K desiredHealthy:K expectedPods:K"
    ),
    "k8s.io.api.rbac.v1.ClusterRole": "metadata:S rules:K",
    "k8s.io.api.rbac.v1.ClusterRoleBinding": "metadata:S roleRef:S",
    "k8s.io.api.rbac.v1.PolicyRule": "verbs:K",
    "k8s.io.api.rbac.v1.Role": "metadata:S rules:K",
    "k8s.io.api.rbac.v1.RoleBinding": "metadata:S roleRef:S",
    "k8s.io.api.rbac.v1.RoleRef": "apiGroup:K kind:K name:K",
    "k8s.io.api.rbac.v1.Subject": "kind:K name:K",
    "k8s.io.api.scheduling.v1.PriorityClass": "metadata:S value:K preemptionPolicy:P",
}
