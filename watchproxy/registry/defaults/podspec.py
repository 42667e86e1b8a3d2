"""Pod spec defaults (kube: pkg/apis/core/v1/defaults.go SetDefaults_PodSpec, SetDefaults_Pod,
SetDefaults_Container, SetDefaults_Probe, SetDefaults_HTTPGetAction, the volume sources'
defaultMode, SetDefaults_ObjectFieldSelector; zz_generated.defaults.go for where they recurse).

`pod_spec(spec)` is what every pod template gets; `pod(obj)` adds what only a Pod gets
(requests from limits, enableServiceLinks, host ports with hostNetwork).
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

DEFAULT_MODE = 0o644  # SecretVolumeSourceDefaultMode and its ConfigMap/DownwardAPI/Projected kin
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def child(parent: Any, key: str, *, create: bool = True) -> JsonObject | None:
    """parent[key] as a dict (created empty when absent and `create`); None when parent is
    not a dict or the value has another JSON type."""
    if not isinstance(parent, dict):
        return None
    value = parent.get(key)
    if value is None and create:
        value = parent[key] = {}
    return value if isinstance(value, dict) else None


def items(parent: Any, key: str) -> list[JsonObject]:
    """The dict entries of the list parent[key] (nothing when absent or not a list)."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def put(obj: JsonObject, key: str, value: Any) -> None:
    """obj[key] = value when the field is unset (absent, null or the zero string)."""
    if obj.get(key) in (None, ""):
        obj[key] = value


def image_tag(image: str) -> str:
    """The tag of an image reference as parsers.ParseImageName returns it: "latest" when the
    reference has neither tag nor digest, "" when it has only a digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if digest else "latest"


def container(c: JsonObject) -> None:
    """SetDefaults_Container, the `+default="TCP"` of ContainerPort.protocol, and the nested
    probes, lifecycle handlers and env field references. `resources` is a struct in Go,
    always encoded (`resources: {}`)."""
    if c.get("imagePullPolicy") in (None, ""):
        image = c.get("image")
        tag = image_tag(image) if isinstance(image, str) else "latest"
        c["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    put(c, "terminationMessagePath", "/dev/termination-log")
    put(c, "terminationMessagePolicy", "File")
    child(c, "resources")
    for port in items(c, "ports"):
        put(port, "protocol", "TCP")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = child(c, name, create=False)
        if probe is not None:
            _probe(probe)
    lifecycle = child(c, "lifecycle", create=False)
    for name in ("postStart", "preStop"):
        handler = child(lifecycle, name, create=False)
        _http_get(child(handler, "httpGet", create=False))
    for env in items(c, "env"):
        _field_ref(child(child(env, "valueFrom", create=False), "fieldRef", create=False))


def _probe(probe: JsonObject) -> None:
    """SetDefaults_Probe: zero values become 1s timeout, 10s period, thresholds 1 and 3."""
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if probe.get(key) in (None, 0):
            probe[key] = value
    _http_get(child(probe, "httpGet", create=False))


def _http_get(action: JsonObject | None) -> None:
    if action is not None:
        put(action, "path", "/")
        put(action, "scheme", "HTTP")


def _field_ref(ref: JsonObject | None) -> None:
    if ref is not None:
        put(ref, "apiVersion", "v1")  # SetDefaults_ObjectFieldSelector


_VOLUME_SOURCES = (
    "hostPath emptyDir gcePersistentDisk awsElasticBlockStore gitRepo secret nfs iscsi "
    "glusterfs persistentVolumeClaim rbd flexVolume cinder cephfs flocker downwardAPI fc "
    "azureFile configMap vsphereVolume quobyte azureDisk photonPersistentDisk projected "
    "portworxVolume scaleIO storageos csi ephemeral image"
).split()


def volume(v: JsonObject) -> None:
    """SetDefaults_Volume (no source: emptyDir) and the sources' own defaults."""
    if not any(v.get(s) is not None for s in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        src = child(v, source, create=False)
        if src is not None and src.get("defaultMode") is None:
            src["defaultMode"] = DEFAULT_MODE
    host_path = child(v, "hostPath", create=False)
    if host_path is not None and host_path.get("type") is None:
        host_path["type"] = ""  # HostPathUnset
    for item in items(child(v, "downwardAPI", create=False), "items"):
        _field_ref(child(item, "fieldRef", create=False))
    for projection in items(child(v, "projected", create=False), "sources"):
        token = child(projection, "serviceAccountToken", create=False)
        if token is not None and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600
        for item in items(child(projection, "downwardAPI", create=False), "items"):
            _field_ref(child(item, "fieldRef", create=False))
    image = child(v, "image", create=False)
    if image is not None and image.get("pullPolicy") in (None, ""):
        ref = image.get("reference")
        tag = image_tag(ref) if isinstance(ref, str) else "latest"
        image["pullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    claim = child(
        child(child(v, "ephemeral", create=False), "volumeClaimTemplate", create=False), "spec"
    )
    if claim is not None:
        put(claim, "volumeMode", "Filesystem")


def pod_spec(spec: JsonObject | None) -> None:
    """SetDefaults_PodSpec and everything zz_generated recurses into from a PodSpec."""
    if spec is None:
        return
    put(spec, "dnsPolicy", "ClusterFirst")
    put(spec, "restartPolicy", "Always")
    child(spec, "securityContext")
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    put(spec, "schedulerName", "default-scheduler")
    for key in CONTAINER_LISTS:
        for c in items(spec, key):
            container(c)
    for v in items(spec, "volumes"):
        volume(v)


def pod_template(template: JsonObject | None) -> None:
    """A PodTemplateSpec: its metadata (a struct: always encoded) and its spec."""
    if template is None:
        return
    meta = child(template, "metadata")
    if meta is not None and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
        # A zero metav1.Time: kube 1.37 encodes it with omitzero (older clients send null).
        del meta["creationTimestamp"]
    pod_spec(child(template, "spec"))


def pod(obj: JsonObject) -> None:
    """SetDefaults_Pod and SetDefaults_PodSpec on a Pod."""
    spec = child(obj, "spec")
    if spec is None:
        return
    for key in ("containers", "initContainers"):
        for c in items(spec, key):
            resources = child(c, "resources")
            limits = child(resources, "limits", create=False)
            if limits:
                requests = child(resources, "requests")
                if requests is not None:
                    for name, quantity in limits.items():
                        requests.setdefault(name, quantity)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for key in ("containers", "initContainers"):
            for c in items(spec, key):
                for port in items(c, "ports"):
                    if port.get("hostPort") in (None, 0):
                        port["hostPort"] = port.get("containerPort")
    pod_spec(spec)
