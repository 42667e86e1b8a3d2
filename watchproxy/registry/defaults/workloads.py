"""Workload defaults (kube: pkg/apis/apps/v1/defaults.go, pkg/apis/batch/v1/defaults.go,
SetDefaults_ReplicationController in pkg/apis/core/v1/defaults.go); the pod template of each
gets the pod spec defaults (zz_generated.defaults.go).

`status` is a Go struct in every one of them, so kube always encodes it; the int32 fields
without `omitempty` (ReplicaSetStatus.replicas, the DaemonSet counters, ...) show as 0.
"""

from __future__ import annotations

from collections.abc import Callable

from watchproxy.registry.defaults.podspec import JsonObject, child, items, pod_template, put


def _int(obj: JsonObject, key: str, value: int) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _status(obj: JsonObject, **zeros: int) -> None:
    status = child(obj, "status")
    if status is not None:
        for key, value in zeros.items():
            _int(status, key, value)


def deployment(obj: JsonObject) -> None:
    """SetDefaults_Deployment: replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10,
    progressDeadlineSeconds 600."""
    spec = child(obj, "spec")
    if spec is None:
        return
    _int(spec, "replicas", 1)
    strategy = child(spec, "strategy")
    if strategy is not None:
        put(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = child(strategy, "rollingUpdate")
            if rolling is not None:
                put(rolling, "maxUnavailable", "25%")
                put(rolling, "maxSurge", "25%")
    _int(spec, "revisionHistoryLimit", 10)
    _int(spec, "progressDeadlineSeconds", 600)
    pod_template(child(spec, "template"))
    _status(obj)


def daemon_set(obj: JsonObject) -> None:
    """SetDefaults_DaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0."""
    spec = child(obj, "spec")
    if spec is None:
        return
    strategy = child(spec, "updateStrategy")
    if strategy is not None:
        put(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = child(strategy, "rollingUpdate")
            if rolling is not None:
                _int(rolling, "maxUnavailable", 1)
                _int(rolling, "maxSurge", 0)
    _int(spec, "revisionHistoryLimit", 10)
    pod_template(child(spec, "template"))
    _status(
        obj,
        currentNumberScheduled=0,
        numberMisscheduled=0,
        desiredNumberScheduled=0,
        numberReady=0,
    )


def stateful_set(obj: JsonObject) -> None:
    """SetDefaults_StatefulSet (StatefulSetAutoDeletePVC is GA: the retention policy too); the
    volumeClaimTemplates get the PVC defaults."""
    spec = child(obj, "spec")
    if spec is None:
        return
    put(spec, "podManagementPolicy", "OrderedReady")
    strategy = child(spec, "updateStrategy")
    if strategy is not None:
        if strategy.get("type") in (None, ""):
            strategy["type"] = "RollingUpdate"
            child(strategy, "rollingUpdate")
        rolling = child(strategy, "rollingUpdate", create=False)
        if strategy["type"] == "RollingUpdate" and rolling is not None:
            _int(rolling, "partition", 0)
    retention = child(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        put(retention, "whenDeleted", "Retain")
        put(retention, "whenScaled", "Retain")
    _int(spec, "replicas", 1)
    _int(spec, "revisionHistoryLimit", 10)
    pod_template(child(spec, "template"))
    for claim in items(spec, "volumeClaimTemplates"):
        claim_spec = child(claim, "spec")
        if claim_spec is not None:
            put(claim_spec, "volumeMode", "Filesystem")
        status = child(claim, "status")
        if status is not None:
            put(status, "phase", "Pending")
    _status(obj, replicas=0, availableReplicas=0)


def replica_set(obj: JsonObject) -> None:
    spec = child(obj, "spec")
    if spec is None:
        return
    _int(spec, "replicas", 1)
    pod_template(child(spec, "template"))
    _status(obj, replicas=0)


def replication_controller(obj: JsonObject) -> None:
    """SetDefaults_ReplicationController: selector and labels from the template's labels;
    replicas 1 (declarative `+default=1`)."""
    spec = child(obj, "spec")
    if spec is None:
        return
    template = child(spec, "template", create=False)
    labels = child(child(template, "metadata", create=False), "labels", create=False)
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = child(obj, "metadata")
        if meta is not None and not meta.get("labels"):
            meta["labels"] = dict(labels)
    _int(spec, "replicas", 1)
    pod_template(template)
    _status(obj, replicas=0)


def job_spec(spec: JsonObject | None) -> None:
    """The pod template of a JobSpec (what a CronJob's jobTemplate gets)."""
    pod_template(child(spec, "template"))


def job(obj: JsonObject) -> None:
    """SetDefaults_Job: completions and parallelism 1 when both are unset, backoffLimit 6,
    labels from the template's, completionMode NonIndexed, suspend false,
    podReplacementPolicy (Failed with a podFailurePolicy, else TerminatingOrFailed)."""
    spec = child(obj, "spec")
    if spec is None:
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _int(spec, "parallelism", 1)
    _int(spec, "backoffLimit", 6)
    template = child(spec, "template", create=False)
    labels = child(child(template, "metadata", create=False), "labels", create=False)
    meta = child(obj, "metadata")
    if labels and meta is not None and not meta.get("labels"):
        meta["labels"] = dict(labels)
    put(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    failed = "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
    put(spec, "podReplacementPolicy", failed)
    job_spec(spec)
    _status(obj)


def cron_job(obj: JsonObject) -> None:
    """SetDefaults_CronJob: Allow, not suspended, history limits 3 and 1."""
    spec = child(obj, "spec")
    if spec is None:
        return
    put(spec, "concurrencyPolicy", "Allow")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    _int(spec, "successfulJobsHistoryLimit", 3)
    _int(spec, "failedJobsHistoryLimit", 1)
    job_template = child(spec, "jobTemplate")
    if job_template is not None:
        job_spec(child(job_template, "spec"))
    _status(obj)


def pod_template_object(obj: JsonObject) -> None:
    """A core/v1 PodTemplate object."""
    pod_template(child(obj, "template"))


DEFAULTERS: dict[str, Callable[[JsonObject], None]] = {
    "deployments.apps": deployment,
    "daemonsets.apps": daemon_set,
    "statefulsets.apps": stateful_set,
    "replicasets.apps": replica_set,
    "replicationcontrollers": replication_controller,
    "podtemplates": pod_template_object,
    "jobs.batch": job,
    "cronjobs.batch": cron_job,
}
