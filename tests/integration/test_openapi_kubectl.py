"""The machine's kubectl 1.32 against our OpenAPI documents: `kubectl explain` (OpenAPI v3),
`kubectl apply`'s strategic merge patch computed from the v3 schemas, and field validation.

kubectl 1.32 validates `--validate=strict` by asking the v3 document whether PATCH of the kind
takes `fieldValidation` (cli-runtime query_param_verifier_v3.go); kube-apiserver lists it, so
kubectl sends `fieldValidation=Strict` and the server judges unknown fields. Only when the
parameter is missing does kubectl validate itself, from the protobuf v2 document, which we do
not serve (watchproxy/api/openapi.py): so these tests check that kubectl takes the server path
and that the typo is refused there, with kube's message.

The custom resource case runs kubectl against a loopback server of the discovery and OpenAPI
handlers over a Registry holding a CustomResourceInfo resource, as the CRD controller would
add it (no etcd needed: both handlers read only the Registry).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.integration.conftest import ProxyProcess
from tests.unit.schema.test_openapi import crontab
from watchproxy.api.discovery import Discovery
from watchproxy.api.http import Receive, Scope, Send, respond_error
from watchproxy.api.openapi import NOT_FOUND, OpenAPIService
from watchproxy.core.errors import ProxyError
from watchproxy.resources import Registry

KUBECTL = shutil.which("kubectl")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: acme-openapi}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: c, image: IMAGE, ports: [{containerPort: 80}]}
"""

POD_WITH_TYPO = """
apiVersion: v1
kind: Pod
metadata: {name: typo, namespace: acme-openapi}
spec:
  containers:
  - {name: c, image: busybox, imagePullPolicyy: Always}
"""


def kubectl(server: str, cache: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    assert KUBECTL is not None, "kubectl is part of the machine image"
    result = subprocess.run(
        [KUBECTL, "--server", server, "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.etcd
@pytest.mark.clients
def test_kubectl_explain_and_validation(proxy: ProxyProcess, tmp_path: Path) -> None:
    server, cache = proxy.url, tmp_path / "cache"
    code, out = kubectl(server, cache, "explain", "pod.spec")
    assert code == 0, out
    assert "FIELD: spec <PodSpec>" in out
    assert "containers\t<[]Container> -required-" in out
    code, out = kubectl(server, cache, "explain", "deployment.spec.strategy", "--recursive")
    assert code == 0, out
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out
    assert "maxSurge\t<IntOrString>" in out

    code, out = kubectl(server, cache, "create", "namespace", "acme-openapi")
    assert code == 0 or "AlreadyExists" in out, out
    for image in ("nginx:1", "nginx:2"):
        manifest = DEPLOYMENT.replace("IMAGE", image)
        code, out = kubectl(
            server, cache, "apply", "--validate=strict", "-f", "-", "-v=8", stdin=manifest
        )
        assert code == 0, out
        assert "fieldValidation=Strict" in out
    # The second apply is a strategic merge patch computed from the v3 schema's patch keys.
    assert "Content-Type: application/strategic-merge-patch+json" in out
    assert '\\"$setElementOrder/containers\\":[{\\"name\\":\\"c\\"}]' in out
    assert "warning" not in out.lower()

    code, out = kubectl(
        server,
        cache,
        "create",
        "--validate=strict",
        "--dry-run=server",
        "-f",
        "-",
        "-v=6",
        stdin=POD_WITH_TYPO,
    )
    # kubectl leaves the unknown field to the server, as it does with kube-apiserver, and the
    # server refuses it (kube's strict decoding message).
    assert "pods?dryRun=All&fieldManager=kubectl-create&fieldValidation=Strict" in out
    assert code != 0
    assert 'strict decoding error: unknown field "spec.containers[0].imagePullPolicyy"' in out


@pytest.fixture()
def crd_server() -> Iterator[str]:
    """Discovery and OpenAPI over a Registry with stable.example.com/v1 CronTab, on loopback."""
    registry = Registry()
    registry.add(crontab())
    discovery, openapi = Discovery(registry), OpenAPIService(registry)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if openapi.handles(scope["path"]):
                await openapi.serve(scope, send)
            elif discovery.handles(scope["path"]):
                await discovery.serve(scope, send)
            else:
                raise NOT_FOUND
        except ProxyError as exc:
            await respond_error(send, exc)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
            assert thread.is_alive(), "the loopback server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.clients
def test_kubectl_explain_custom_resource(crd_server: str, tmp_path: Path) -> None:
    code, out = kubectl(crd_server, tmp_path / "cache", "explain", "crontab.spec")
    assert code == 0, out
    assert "GROUP:      stable.example.com" in out
    assert "KIND:       CronTab" in out
    assert "cronSpec\t<string> -required-" in out
    assert "The cron expression." in out
    code, out = kubectl(crd_server, tmp_path / "cache", "explain", "crontabs", "--recursive")
    assert code == 0, out
    assert "A CronTab runs a command on a schedule." in out
    assert "metadata\t<ObjectMeta>" in out
