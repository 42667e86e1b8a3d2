"""registry/defaults: kube's SetDefaults_* applied on create, checked as "the object read back
equals what kube-apiserver would store" (expected objects written from kube's defaults.go)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from watchproxy.registry.defaults.podspec import image_tag
from watchproxy.registry.strategy import Strategy, strategy_for
from watchproxy.resources import ResourceType


def rtype(group: str, kind: str, plural: str, *, status: bool = True) -> ResourceType:
    return ResourceType(group, "v1", kind, plural, True, plural, status_subresource=status)


DEPLOYMENTS = rtype("apps", "Deployment", "deployments")
JOBS = rtype("batch", "Job", "jobs")
CRONJOBS = rtype("batch", "CronJob", "cronjobs")
STATEFULSETS = rtype("apps", "StatefulSet", "statefulsets")
DAEMONSETS = rtype("apps", "DaemonSet", "daemonsets")
SERVICES = rtype("", "Service", "services")
PODS = ResourceType(
    "",
    "v1",
    "Pod",
    "pods",
    True,
    "pods",
    status_subresource=True,
    reset_status_on_create={"phase": "Pending"},
)

CONTAINER = {"name": "nginx", "image": "nginx"}
DEFAULTED_CONTAINER = {
    "name": "nginx",
    "image": "nginx",
    "imagePullPolicy": "Always",
    "resources": {},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}
DEFAULTED_POD_SPEC = {
    "containers": [DEFAULTED_CONTAINER],
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}


def created(resource: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    strategy: Strategy = strategy_for(resource)
    strategy.prepare_for_create(out)
    return out


def test_deployment_reads_back_as_kube_defaults_it() -> None:
    """What `kubectl create deployment x --image=nginx` sends, and kube's stored object."""
    sent = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": {"app": "x"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "x"}},
            "strategy": {},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{**CONTAINER, "resources": {}}]},
            },
        },
        "status": {"replicas": 5},
    }
    assert created(DEPLOYMENTS, sent) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": {"app": "x"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "x"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": DEFAULTED_POD_SPEC},
        },
        "status": {},
    }


def test_recreate_deployment_gets_no_rolling_update() -> None:
    out = created(DEPLOYMENTS, {"spec": {"strategy": {"type": "Recreate"}, "template": {}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert out["spec"]["template"]["metadata"] == {}


def test_pod_defaults_and_status() -> None:
    sent = {
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "registry:5000/app:1.2",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                    "readinessProbe": {"httpGet": {"port": 80}},
                    "env": [
                        {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                    ],
                }
            ],
            "volumes": [{"name": "v"}, {"name": "s", "secret": {"secretName": "x"}}],
        },
        "status": {"phase": "Running"},
    }
    out = created(PODS, sent)
    c = out["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert c["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert out["spec"]["volumes"] == [
        {"name": "v", "emptyDir": {}},
        {"name": "s", "secret": {"secretName": "x", "defaultMode": 420}},
    ]
    assert out["spec"]["enableServiceLinks"] is True
    assert out["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_pod_spec_defaults_do_not_override_the_client() -> None:
    spec = {
        "containers": [{**CONTAINER, "imagePullPolicy": "Never"}],
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "enableServiceLinks": False,
    }
    out = created(PODS, {"metadata": {"name": "p"}, "spec": spec})
    assert out["spec"]["restartPolicy"] == "Never"
    assert out["spec"]["terminationGracePeriodSeconds"] == 0
    assert out["spec"]["enableServiceLinks"] is False
    assert out["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert out["status"]["qosClass"] == "BestEffort"


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", "latest"),
        ("nginx:latest", "latest"),
        ("nginx:1.25", "1.25"),
        ("localhost:5000/nginx", "latest"),
        ("nginx@sha256:abc", ""),
        ("nginx:1.2@sha256:abc", "1.2"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_job_defaults_and_generated_selector() -> None:
    sent = {
        "metadata": {"name": "j", "uid": "u1"},
        "spec": {"template": {"spec": {"containers": [CONTAINER], "restartPolicy": "Never"}}},
    }
    out = created(JOBS, sent)
    labels = {
        "batch.kubernetes.io/controller-uid": "u1",
        "batch.kubernetes.io/job-name": "j",
        "controller-uid": "u1",
        "job-name": "j",
    }
    assert out["spec"] == {
        "completions": 1,
        "parallelism": 1,
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed",
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {**DEFAULTED_POD_SPEC, "restartPolicy": "Never"},
        },
    }
    assert out["metadata"]["labels"] == labels
    assert out["status"] == {}


def test_cronjob_defaults() -> None:
    sent = {
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [CONTAINER]}}}},
        }
    }
    spec = created(CRONJOBS, sent)["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "completions" not in spec["jobTemplate"]["spec"]


def test_statefulset_and_daemonset_defaults() -> None:
    sts = created(
        STATEFULSETS,
        {"spec": {"template": {}, "volumeClaimTemplates": [{"metadata": {"name": "d"}}]}},
    )
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0},
    }
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"] == {"volumeMode": "Filesystem"}
    assert sts["status"] == {"replicas": 0, "availableReplicas": 0}
    ds = created(DAEMONSETS, {"spec": {"template": {}}})
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert ds["status"]["numberReady"] == 0


def test_service_defaults() -> None:
    out = created(SERVICES, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert out["spec"] == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }
    assert out["status"] == {"loadBalancer": {}}
    lb = created(
        SERVICES, {"spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": "http"}]}}
    )
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb["spec"]["ports"][0]["targetPort"] == "http"


def test_defaults_leave_wrong_types_alone() -> None:
    """A body of the wrong shape is refused by validation, never crashes defaulting."""
    bodies: list[dict[str, Any]] = [
        {"spec": "x"},
        {"spec": {"template": []}},
        {"spec": {"template": {"spec": {"containers": "c"}}}},
    ]
    for body in bodies:
        created(DEPLOYMENTS, body)
        created(JOBS, body)
        created(PODS, body)


def test_pod_gets_the_default_toleration_seconds() -> None:
    mine = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    out = created(PODS, {"spec": {"containers": [CONTAINER], "tolerations": [mine]}})
    assert out["spec"]["tolerations"] == [
        mine,
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    everything = {"operator": "Exists"}
    out = created(PODS, {"spec": {"containers": [CONTAINER], "tolerations": [everything]}})
    assert out["spec"]["tolerations"] == [everything]


def test_horizontal_pod_autoscaler_defaults() -> None:
    hpas = ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        "h",
        status_subresource=True,
    )
    plain = created(hpas, {"spec": {"maxReplicas": 5}, "status": {"currentReplicas": 3}})
    assert plain["spec"] == {
        "maxReplicas": 5,
        "minReplicas": 1,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ],
    }
    assert plain["status"] == {"desiredReplicas": 0}
    behaved = created(
        hpas, {"spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"selectPolicy": "Min"}}}}
    )
    assert behaved["spec"]["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "selectPolicy": "Min",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }
