"""k8s/: the files agree with each other and with watchproxy: ports, probe paths, the config
the ConfigMap carries (parsed by watchproxy's own loader), the files it names (mounted), the
HPA's target, the NetworkPolicy's ports, and the restricted pod security settings."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.unit.k8s.manifests import K8S, documents, one, render
from watchproxy.api.guard import PUBLIC_PATHS
from watchproxy.api.health import ENDPOINT_CHECKS
from watchproxy.config import ConfigError, Settings, parse_settings

MOUNT_PREFIX = "/etc/watchproxy/"


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render()


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = pod_spec(objects)["containers"]
    assert len(containers) == 1
    first: dict[str, Any] = containers[0]
    return first


def config_text(objects: list[dict[str, Any]]) -> str:
    configmap = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "watchproxy-config"
    )
    text: str = configmap["data"]["config.yaml"]
    return text


def _files_in(value: Any) -> list[str]:
    """Every string of the config that names a file under /etc/watchproxy/."""
    if isinstance(value, dict):
        return [f for v in value.values() for f in _files_in(v)]
    if isinstance(value, list):
        return [f for v in value for f in _files_in(v)]
    return [value] if isinstance(value, str) and value.startswith(MOUNT_PREFIX) else []


def _rebase(value: Any, root: Path) -> Any:
    if isinstance(value, dict):
        return {k: _rebase(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebase(v, root) for v in value]
    if isinstance(value, str) and value.startswith(MOUNT_PREFIX):
        return str(root / value.lstrip("/"))
    return value


def settings_of(objects: list[dict[str, Any]], root: Path) -> Settings:
    """The ConfigMap's config through watchproxy's loader, with the files it names (Secrets in
    the cluster) made empty under `root` (the loader checks they exist)."""
    raw = yaml.safe_load(config_text(objects))
    for name in _files_in(raw):
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return parse_settings(_rebase(raw, root))


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # matchExpressions are not used here
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def named_port(objects: list[dict[str, Any]], port: int | str) -> int:
    """The container port a Service targetPort or probe port names (by name or number)."""
    for p in container(objects)["ports"]:
        if port in (p["containerPort"], p.get("name")):
            number: int = p["containerPort"]
            return number
    raise AssertionError(f"port {port!r} is no port of the container")


def test_the_config_parses_with_watchproxys_loader(
    objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    settings = settings_of(objects, tmp_path)
    assert settings.security.tls is not None
    assert settings.security.authentication is not None
    assert settings.port == named_port(objects, settings.port)


def test_a_bad_config_in_the_configmap_is_refused(
    objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The check above can fail: the same path with one bad field names it."""
    broken = copy.deepcopy(objects)
    configmap = next(o for o in broken if o["metadata"]["name"] == "watchproxy-config")
    configmap["data"]["config.yaml"] += "log_format: xml\n"
    with pytest.raises(ConfigError, match=r"^log_format: must be one of text, json$"):
        settings_of(broken, tmp_path)


def test_every_file_the_config_names_is_mounted(objects: list[dict[str, Any]]) -> None:
    mounts = {m["mountPath"]: m for m in container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    names = _files_in(yaml.safe_load(config_text(objects)))
    assert names
    for name in names:
        mount = next((p for p in mounts if name.startswith(p.rstrip("/") + "/")), None)
        assert mount is not None, f"{name} is under no volumeMount"
        assert mounts[mount].get("readOnly") is True, mount
        assert "secret" in volumes[mounts[mount]["name"]], f"{name}: credentials come from Secrets"


def test_the_image_reads_the_mounted_config() -> None:
    dockerfile = (K8S / "Dockerfile").read_text()
    entrypoint = re.search(r"^ENTRYPOINT (.*)$", dockerfile, re.M)
    assert entrypoint is not None
    args = yaml.safe_load(entrypoint.group(1))
    config_path = args[args.index("--config") + 1]
    objects = render()
    mounts = [m for m in container(objects)["volumeMounts"] if m["mountPath"] == config_path]
    assert len(mounts) == 1 and mounts[0]["subPath"] == "config.yaml", mounts
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    assert user is not None
    context = pod_spec(objects)["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (int(user[1]), int(user[2]))
    exposed = re.search(r"^EXPOSE (\d+)$", dockerfile, re.M)
    assert exposed is not None and named_port(objects, int(exposed.group(1)))


def test_the_service_targets_the_container_port(objects: list[dict[str, Any]]) -> None:
    service = one(objects, "Service")
    labels = pod_spec_labels(objects)
    assert selects({"matchLabels": service["spec"]["selector"]}, labels)
    port = service["spec"]["ports"][0]
    settings_port = int(yaml.safe_load(config_text(objects))["listen"].rsplit(":", 1)[1])
    assert named_port(objects, port["targetPort"]) == settings_port


def pod_spec_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    deployment = one(objects, "Deployment")
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"], labels)
    return labels


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_probes_hit_public_health_endpoints_of_watchproxy(
    objects: list[dict[str, Any]], probe: str
) -> None:
    get = container(objects)[probe]["httpGet"]
    served = {f"/{endpoint}" for endpoint in ENDPOINT_CHECKS}
    assert get["path"] in served, f"{probe}: {get['path']} is not one of {sorted(served)}"
    # The kubelet presents no credentials: the path must answer anonymous callers.
    assert get["path"] in PUBLIC_PATHS
    assert named_port(objects, get["port"])
    tls = "tls" in yaml.safe_load(config_text(objects))
    assert get["scheme"] == ("HTTPS" if tls else "HTTP")


def test_readiness_follows_readyz_and_liveness_does_not_follow_etcd(
    objects: list[dict[str, Any]],
) -> None:
    """An etcd outage must take replicas out of the Service, not restart them all."""
    assert container(objects)["readinessProbe"]["httpGet"]["path"] == "/readyz"
    liveness = container(objects)["livenessProbe"]["httpGet"]["path"].strip("/")
    assert "etcd" not in ENDPOINT_CHECKS[liveness]


def test_the_hpa_scales_the_deployment(objects: list[dict[str, Any]]) -> None:
    hpa = one(objects, "HorizontalPodAutoscaler")
    deployment = one(objects, "Deployment")
    target = hpa["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "watchproxy"}
    assert deployment["metadata"]["name"] == target["name"]
    assert hpa["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    # The HPA owns the count: a `replicas:` in the Deployment is reset by every apply.
    assert "replicas" not in deployment["spec"]
    # CPU utilization is a share of the request: without one the HPA cannot compute it.
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert "cpu" in container(objects)["resources"]["requests"]
    # A drain or a rollout (the PDB's maxUnavailable) still leaves two replicas serving.
    pdb = one(objects, "PodDisruptionBudget")
    assert hpa["spec"]["minReplicas"] - pdb["spec"]["maxUnavailable"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def test_the_pdb_covers_the_pods(objects: list[dict[str, Any]]) -> None:
    assert selects(
        one(objects, "PodDisruptionBudget")["spec"]["selector"], pod_spec_labels(objects)
    )


def test_the_network_policy_opens_what_watchproxy_uses(
    objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    policy = one(objects, "NetworkPolicy")["spec"]
    assert selects(policy["podSelector"], pod_spec_labels(objects))
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    settings = settings_of(objects, tmp_path)
    # Ingress: the serving port, and nothing else.
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": settings.port}]
    # Egress: every etcd endpoint's port, and DNS (UDP and TCP) only.
    allowed = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    etcd_ports = {
        ("TCP", urlsplit(url).port) for shard in settings.shards for url in shard.endpoints
    }
    assert allowed == etcd_ports | {("UDP", 53), ("TCP", 53)}
    dns = next(r for r in policy["egress"] if {"protocol": "UDP", "port": 53} in r["ports"])
    assert dns["to"], "DNS only to the cluster's DNS pods"


def test_the_servicemonitor_scrapes_the_service(objects: list[dict[str, Any]]) -> None:
    monitor = one(objects, "ServiceMonitor")
    service = one(objects, "Service")
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert service["metadata"]["namespace"] in monitor["spec"]["namespaceSelector"]["matchNames"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    tls = "tls" in yaml.safe_load(config_text(objects))
    assert endpoint["scheme"] == ("https" if tls else "http")


def test_the_pod_meets_the_restricted_pod_security_standard(
    objects: list[dict[str, Any]],
) -> None:
    """The restricted profile's checks (kubernetes.io/docs/concepts/security/
    pod-security-standards), and the namespace enforcing it."""
    namespace = one(objects, "Namespace")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = pod_spec(objects)
    assert pod["automountServiceAccountToken"] is False
    pod_context = pod["securityContext"]
    assert pod_context["runAsNonRoot"] is True
    assert pod_context["runAsUser"] > 0
    assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for volume in pod["volumes"]:
        assert set(volume) - {"name"} <= {"configMap", "secret", "emptyDir", "projected"}
    context = container(objects)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context.get("privileged", False) is False
    assert context.get("seccompProfile", {"type": "RuntimeDefault"}) == {"type": "RuntimeDefault"}
    assert all("hostPort" not in p for p in container(objects)["ports"]), (
        "restricted forbids host ports"
    )


def test_the_dashboard_configmap_carries_the_dashboard_file(
    objects: list[dict[str, Any]],
) -> None:
    dashboards = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and "grafana_dashboard" in o["metadata"].get("labels", {})
    ]
    assert len(dashboards) == 1
    (dashboard,) = dashboards
    # The Grafana sidecar's default label and value.
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"] == {
        "grafana-dashboard.json": (K8S / "grafana-dashboard.json").read_text()
    }


def test_every_object_lives_in_the_watchproxy_namespace(objects: list[dict[str, Any]]) -> None:
    for o in objects:
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == "watchproxy", o["metadata"]
    assert documents(K8S / "namespace.yaml")[0]["metadata"]["name"] == "watchproxy"
