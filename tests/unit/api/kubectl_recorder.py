"""A loopback API server that records what the installed kubectl POSTs, for the kubeproto tests.

`KubectlRecorder` answers legacy discovery for `RECORDER_DISCOVERY` and every POST with a made-up
object of the posted kind (enough for kubectl to report success), keeping each request's
Content-Type and body; `recording_kubectl(workdir)` runs one on a thread and stops it. Used by
test_kubeproto.py and test_kubeproto_groups.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

AUTHZ = "authorization.k8s.io/v1"
AUTHN = "authentication.k8s.io/v1"
RBAC = "rbac.authorization.k8s.io/v1"

# What KubectlRecorder advertises in discovery: group version -> (resource, kind, namespaced).
RECORDER_DISCOVERY: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("namespaces", "Namespace", False),
        ("pods", "Pod", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("serviceaccounts/token", "TokenRequest", True),
        ("resourcequotas", "ResourceQuota", True),
    ],
    "apps/v1": [("deployments", "Deployment", True)],
    "batch/v1": [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "scheduling.k8s.io/v1": [("priorityclasses", "PriorityClass", False)],
    "networking.k8s.io/v1": [("ingresses", "Ingress", True)],
    AUTHN: [("selfsubjectreviews", "SelfSubjectReview", False)],
    AUTHZ: [
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
    ],
    RBAC: [
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("clusterroles", "ClusterRole", False),
        ("rolebindings", "RoleBinding", True),
        ("roles", "Role", True),
    ],
}
# What the recorder answers a POST of each kind with, past kind, apiVersion and metadata: enough
# for kubectl to report success (`yes`, a token, a user...).
RECORDER_ANSWERS: dict[str, dict[str, Any]] = {
    "SelfSubjectAccessReview": {"status": {"allowed": True}},
    "SelfSubjectRulesReview": {
        "status": {"resourceRules": [], "nonResourceRules": [], "incomplete": False},
    },
    "SelfSubjectReview": {"status": {"userInfo": {"username": "u"}}},
    "TokenRequest": {
        "apiVersion": AUTHN,
        "status": {"token": "t0k3n", "expirationTimestamp": "2026-01-02T03:04:05Z"},
    },
}


def recorder_discovery(path: str) -> Any:
    """The legacy discovery documents (/api, /apis, /api/v1, /apis/G/V) of RECORDER_DISCOVERY."""
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        versions = [
            {"groupVersion": gv, "version": gv.split("/")[1]}
            for gv in RECORDER_DISCOVERY
            if "/" in gv
        ]
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {"name": v["groupVersion"].split("/")[0], "versions": [v], "preferredVersion": v}
                for v in versions
            ],
        }
    gv = path.removeprefix("/api/").removeprefix("/apis/")
    if gv not in RECORDER_DISCOVERY:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": [
            {
                "name": name,
                "singularName": "",
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "get", "list"],
            }
            for name, kind, namespaced in RECORDER_DISCOVERY[gv]
        ],
    }


def recorder_kind(path: str) -> tuple[str, str] | None:
    """(group version, kind) POSTed to a collection or subresource path, per RECORDER_DISCOVERY."""
    parts = path.split("?")[0].strip("/").split("/")
    gv, rest = ("v1", parts[2:]) if parts[0] == "api" else ("/".join(parts[1:3]), parts[3:])
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    resource = "/".join(rest[::2])  # pods; serviceaccounts/NAME/token -> serviceaccounts/token
    for name, kind, _ in RECORDER_DISCOVERY.get(gv, []):
        if name == resource:
            return gv, kind
    return None


class RecorderHandler(BaseHTTPRequestHandler):
    server: KubectlRecorder

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, code: int, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def not_found(self) -> None:
        self.answer(
            404,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
            },
        )

    def do_GET(self) -> None:
        document = recorder_discovery(self.path.split("?")[0])
        if document is None:
            self.not_found()
        else:
            self.answer(200, document)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.posts.append((self.headers.get("Content-Type", ""), body))
        found = recorder_kind(self.path)
        if found is None:
            self.not_found()
            return
        gv, kind = found
        self.answer(
            201,
            {
                "kind": kind,
                "apiVersion": gv,
                "metadata": {"name": "recorded"},
                **RECORDER_ANSWERS.get(kind, {}),
            },
        )


class KubectlRecorder(ThreadingHTTPServer):
    """A loopback API server for kubectl: legacy discovery, and every POST recorded."""

    def __init__(self, kubectl: str, workdir: Path) -> None:
        super().__init__(("127.0.0.1", 0), RecorderHandler)
        self.lock = threading.Lock()
        self.posts: list[tuple[str, bytes]] = []
        host, port = self.server_address[:2]
        self.base = [
            kubectl,
            "--server",
            f"http://{host!s}:{port}",
            "--cache-dir",
            str(workdir / "cache"),
        ]
        # No kubeconfig: only --server counts.
        self.env = {**os.environ, "KUBECONFIG": str(workdir / "no-kubeconfig")}

    def kubectl(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, env=self.env, timeout=60
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    def post(self, *args: str) -> tuple[str, bytes]:
        """Run kubectl, return the (Content-Type, body) of the one request it POSTed."""
        with self.lock:
            self.posts.clear()
        self.kubectl(*args)
        with self.lock:
            assert len(self.posts) == 1, self.posts
            return self.posts[0]


@contextlib.contextmanager
def recording_kubectl(workdir: Path) -> Iterator[KubectlRecorder]:
    """A KubectlRecorder for the machine's kubectl, serving on a thread until the block ends."""
    kubectl = shutil.which("kubectl")
    # The real client is the point of this fixture: a machine without kubectl fails here, as
    # the integration tiers do, rather than passing by skipping.
    assert kubectl is not None, "kubectl is not installed (the real-client tests need it)"
    recorder = KubectlRecorder(kubectl, workdir)
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        recorder.shutdown()
        recorder.server_close()
        thread.join(timeout=5)
