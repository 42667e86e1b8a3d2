"""Authentication, authorization and tenant scoping end to end: real etcd, a real `watchproxy
serve` over TLS, openssl-made PKI, the machine's kubectl (client certificates and a token) and
the official Python client (a ServiceAccount token signed here)."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import kubernetes
import pytest
import yaml

from tests.integration.conftest import ProxyProcess, base_config, pod, running_etcd_pair
from tests.integration.etcd_state import etcd_state
from tests.integration.pki import Pki
from watchproxy.etcd.server import EtcdServer, free_port

ISSUER = "https://kubernetes.default.svc.cluster.local"
RBAC_GROUP = "rbac.authorization.k8s.io"
TOKENS = {
    "admin-token": ("admin-by-token", "1", "system:masters"),
    "carol-token": ("carol", "2", ""),
}


class Webhook:
    """A TokenReview webhook (authentication.k8s.io/v1): `hook-token-N` is user `wendy-N`."""

    def __init__(self) -> None:
        self.calls = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.calls += 1
                token = review["spec"]["token"]
                status: dict[str, Any] = {"authenticated": False}
                if token.startswith("hook-token-"):
                    status = {
                        "authenticated": True,
                        "user": {"username": "wendy-" + token[11:], "groups": ["hook-users"]},
                    }
                body = json.dumps({**review, "status": status}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/review"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Secure:
    """The secure cluster of this module and clients of each identity."""

    def __init__(self, root: Path, etcd: list[EtcdServer], pki: Pki, hook: Webhook) -> None:
        self.root, self.etcd, self.pki, self.hook = root, etcd, pki, hook
        tokens = root / "tokens.csv"
        tokens.write_text("".join(f'{t},{u},{uid},"{g}"\n' for t, (u, uid, g) in TOKENS.items()))
        self.audit = root / "audit.log"
        config = base_config(
            [s.endpoint for s in etcd],
            controllers={"namespace": False, "garbage_collector": False},
            tls={"cert_file": str(pki.server_cert), "key_file": str(pki.server_key)},
            authentication={
                "client_ca_file": str(pki.ca),
                "token_auth_file": str(tokens),
                "service_account_key_files": [str(pki.sa_pub)],
                "service_account_issuers": [ISSUER],
                "service_account_signing_key_file": str(pki.sa_key),
                "webhook": {"url": hook.url, "cache_ttl_seconds": 60},
            },
            authorization={"modes": ["Node", "RBAC"]},
            audit={"log_path": str(self.audit)},
        )
        config["tenants"][0]["subjects"] = {"users": ["alice"], "groups": ["acme-devs"]}
        config["tenants"][1]["subjects"] = {"users": ["bob"], "groups": ["globex-devs"]}
        self.proxy = ProxyProcess(config, root)
        self.proxy.ca_file = str(pki.ca)
        self.certs = {
            "admin": pki.client("admin", "system:masters"),
            "alice": pki.client("alice", "acme-devs"),
            "bob": pki.client("bob", "globex-devs"),
            "node-a1": pki.client("system:node:node-a1", "system:nodes"),
            "dave": pki.client("dave", "acme-devs"),
        }

    def context(self, who: str | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca))
        if who is not None:
            cert, key = self.certs[who]
            ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def client(self, who: str | None = None, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=self.proxy.url, verify=self.context(who), headers=headers, timeout=30
        )

    def kubeconfig(self) -> Path:
        users = [
            {"name": who, "user": {"client-certificate": str(c), "client-key": str(k)}}
            for who, (c, k) in self.certs.items()
        ]
        users.append({"name": "carol", "user": {"token": "carol-token"}})
        users.append({"name": "root-token", "user": {"token": "admin-token"}})
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "wp",
                    "cluster": {
                        "server": self.proxy.url,
                        "certificate-authority": str(self.pki.ca),
                    },
                }
            ],
            "users": users,
            "contexts": [
                {"name": u["name"], "context": {"cluster": "wp", "user": u["name"]}} for u in users
            ],
            "current-context": "admin",
        }
        path = self.root / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        return path

    def kubectl(self, *args: str, context: str = "admin") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig()), "--context", context, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def sa_token(self, namespace: str, name: str, uid: str, **claims: Any) -> str:
        """A bound ServiceAccount token signed here with the cluster's key (as a kubelet's
        TokenRequest would produce it)."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": [ISSUER],
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
            **claims,
        }
        return jwt.encode(payload, self.pki.sa_key.read_bytes(), algorithm="RS256")


def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def rbac_binding(
    name: str,
    role_kind: str,
    role: str,
    subject_kind: str,
    subject: str,
    namespace: str | None = None,
) -> dict[str, Any]:
    """A RoleBinding or ClusterRoleBinding body binding one subject to a Role or ClusterRole;
    Users and Groups are of the RBAC API group, a ServiceAccount is in `namespace`."""
    if subject_kind == "ServiceAccount":
        who = {"kind": subject_kind, "name": subject, "namespace": namespace}
    else:
        who = {"apiGroup": RBAC_GROUP, "kind": subject_kind, "name": subject}
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role},
        "subjects": [who],
    }


def _seed(admin: httpx.Client) -> None:
    wait_for(
        lambda: (
            admin.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/edit").status_code == 200
        ),
        "the bootstrap ClusterRole edit",
    )
    for ns in ("acme-web", "globex-prod", "gx"):
        assert admin.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    for name, tenant in (("node-a1", "acme"), ("node-b1", "globex")):
        node = {"metadata": {"name": name, "labels": {"watchproxy.io/tenant": tenant}}}
        assert admin.post("/api/v1/nodes", json=node).status_code == 201, name
    web = pod("web-1", node="node-a1")
    web["spec"]["volumes"] = [{"name": "s", "secret": {"secretName": "web-creds"}}]
    for ns, body in (
        ("acme-web", web),
        ("acme-web", pod("web-2")),
        ("globex-prod", pod("api-1", node="node-b1")),
        ("gx", pod("gx-1")),
    ):
        r = admin.post(f"/api/v1/namespaces/{ns}/pods", json=body)
        assert r.status_code == 201, r.text
    for ns, name in (("acme-web", "web-creds"), ("acme-web", "other"), ("gx", "db-pass")):
        secret = {"metadata": {"name": name}, "stringData": {"password": f"{ns}-{name}"}}
        assert admin.post(f"/api/v1/namespaces/{ns}/secrets", json=secret).status_code == 201
    binding = rbac_binding("acme-devs-edit", "ClusterRole", "edit", "Group", "acme-devs")
    r = admin.post(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/acme-web/rolebindings", json=binding
    )
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    root = tmp_path_factory.mktemp("secure")
    pki = Pki(root / "pki")
    hook = Webhook()
    with running_etcd_pair(root) as etcd:
        cluster = Secure(root, etcd, pki, hook)
        cluster.proxy.start()
        try:
            with cluster.client("admin") as admin:
                _seed(admin)
            yield cluster
        finally:
            cluster.proxy.stop()
            hook.stop()


def _names(body: dict[str, Any]) -> set[str]:
    return {f"{i['metadata'].get('namespace', '')}/{i['metadata']['name']}" for i in body["items"]}


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no credentials"),
        pytest.param({"Authorization": "Bearer garbage"}, id="garbage token"),
        pytest.param({"Authorization": "Basic YWxpY2U6cHc="}, id="basic auth"),
        pytest.param({"Authorization": "Bearer"}, id="empty token"),
    ],
)
def test_unauthenticated_requests_get_401(secure: Secure, headers: dict[str, str]) -> None:
    with secure.client() as anon:
        for path in (
            "/api/v1/secrets",
            "/api/v1/namespaces/gx/secrets/db-pass",
            "/debug/stats",
            "/metrics",
        ):
            r = anon.get(path, headers=headers)
            assert r.status_code == 401, (path, r.text)
            assert r.json() == {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "Unauthorized",
                "reason": "Unauthorized",
                "code": 401,
            }
        r = anon.patch(
            "/api/v1/namespaces/gx/secrets/db-pass",
            headers={**headers, "Content-Type": "application/merge-patch+json"},
            content=b'{"stringData":{"password":"stolen"}}',
        )
        assert r.status_code == 401


def test_probes_and_version_are_public(secure: Secure) -> None:
    with secure.client() as anon:
        for path in ("/healthz", "/livez", "/readyz", "/version"):
            assert anon.get(path).status_code == 200, path
        for path in ("/readyz/etcd", "/readyz/shutdown", "/livez/ping", "/healthz/log"):
            assert (anon.get(path).status_code, anon.get(path).text) == (200, "ok"), path
        assert anon.get("/readyz", params={"verbose": ""}).text.endswith("readyz check passed\n")
        # Only the checks are public: anything else under the probes needs credentials.
        assert anon.get("/readyz/nope").status_code == 401


def test_a_client_certificate_of_another_ca_is_refused(secure: Secure, tmp_path: Path) -> None:
    rogue = Pki(tmp_path / "rogue")
    cert, key = rogue.client("admin", "system:masters")
    ctx = ssl.create_default_context(cafile=str(secure.pki.ca))
    ctx.load_cert_chain(str(cert), str(key))
    with httpx.Client(base_url=secure.proxy.url, verify=ctx, timeout=10) as client:
        # Python's TLS stack verifies the client chain in the handshake: the connection fails
        # (kube-apiserver answers 401 after the handshake; docs/security.md).
        with pytest.raises(httpx.HTTPError):
            r = client.get("/api/v1/secrets")
            assert r.status_code == 401


def test_kubectl_whoami_for_certificate_token_and_webhook(secure: Secure) -> None:
    r = secure.kubectl("auth", "whoami", "-o", "json", context="alice")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)["status"]["userInfo"]
    assert info == {"username": "alice", "groups": ["acme-devs", "system:authenticated"]}
    r = secure.kubectl("auth", "whoami", "-o", "json", context="carol")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"]["userInfo"]["username"] == "carol"
    with secure.client(token="hook-token-7") as hooked:
        r = hooked.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"]["userInfo"] == {
            "username": "wendy-7",
            "groups": ["hook-users", "system:authenticated"],
        }


def test_webhook_answers_are_cached(secure: Secure) -> None:
    with secure.client(token="hook-token-cached") as hooked:
        for _ in range(5):
            r = hooked.post(
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                json={"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"},
            )
            assert r.status_code == 201
    before = secure.hook.calls
    with secure.client(token="hook-token-cached") as hooked:
        hooked.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"},
        )
    assert secure.hook.calls == before
    with secure.client(token="not-a-hook-token") as refused:
        assert refused.get("/api/v1/namespaces/acme-web/pods").status_code == 401


# -- tenant scoping --------------------------------------------------------------------------------


def test_tenant_user_sees_only_its_tenant_with_plain_revisions(secure: Secure) -> None:
    r = secure.kubectl("get", "pods", "-A", "-o", "json", context="alice")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert _names(body) == {"acme-web/web-1", "acme-web/web-2"}
    with secure.client("alice") as alice:
        listed = alice.get("/api/v1/pods").json()
        assert listed["metadata"]["resourceVersion"].isdigit()
        assert all(i["metadata"]["resourceVersion"].isdigit() for i in listed["items"])
        namespaces = alice.get("/api/v1/namespaces")
        # RBAC `edit` in acme-web does not grant listing namespaces cluster-wide.
        assert namespaces.status_code == 403
    with secure.client("admin") as admin:
        # An admin belongs to no tenant: merged view, composite resourceVersion.
        merged = admin.get("/api/v1/pods").json()
        assert not merged["metadata"]["resourceVersion"].isdigit()
        assert {"gx/gx-1", "acme-web/web-1"} <= _names(merged)


def test_tenant_watch_streams_only_its_tenant(secure: Secure) -> None:
    with secure.client("alice") as alice, secure.client("admin") as admin:
        listed = alice.get("/api/v1/pods").json()
        rv = listed["metadata"]["resourceVersion"]
        with alice.stream(
            "GET", "/api/v1/pods", params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": 5}
        ) as stream:
            assert stream.status_code == 200
            for ns, name in (("gx", "w-gx"), ("globex-prod", "w-g"), ("acme-web", "w-acme")):
                r = admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod(name))
                assert r.status_code == 201
            events = []
            for line in stream.iter_lines():
                if line:
                    events.append(json.loads(line))
                    if events[-1]["object"]["metadata"].get("name") == "w-acme":
                        break
        assert [e["object"]["metadata"]["name"] for e in events] == ["w-acme"]
        assert events[0]["object"]["metadata"]["resourceVersion"].isdigit()
        assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_another_tenants_secret_is_forbidden_and_unchanged(secure: Secure) -> None:
    before = etcd_state(secure.etcd)
    with secure.client("alice") as alice:
        r = alice.get("/api/v1/namespaces/gx/secrets/db-pass")
        assert r.status_code == 403
        assert r.json()["message"] == (
            'secrets "db-pass" is forbidden: User "alice" cannot get resource "secrets" in API '
            'group "" in the namespace "gx": watchproxy: namespace "gx" is not in tenant "acme"'
        )
        r = alice.patch(
            "/api/v1/namespaces/gx/secrets/db-pass",
            headers={"Content-Type": "application/merge-patch+json"},
            content=b'{"stringData":{"password":"stolen"}}',
        )
        assert r.status_code == 403
        assert r.json()["reason"] == "Forbidden"
        assert alice.get("/api/v1/namespaces/globex-prod/pods").status_code == 403
        assert alice.delete("/api/v1/namespaces/gx").status_code == 403
    assert etcd_state(secure.etcd) == before


def test_rbac_decides_inside_the_tenant(secure: Secure) -> None:
    with secure.client("alice") as alice:
        assert alice.get("/api/v1/namespaces/acme-web/secrets/other").status_code == 200
        r = alice.post("/api/v1/namespaces/acme-web/configmaps", json={"metadata": {"name": "c1"}})
        assert r.status_code == 201
        # edit does not grant RBAC writes: the binding cannot be widened by its holder.
        r = alice.post(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/acme-web/roles",
            json={"metadata": {"name": "r"}, "rules": []},
        )
        assert r.status_code == 403


# -- RBAC grants and revocations ---------------------------------------------------------------


def test_rbac_grant_and_revoke_take_effect(secure: Secure) -> None:
    with secure.client(token="carol-token") as carol, secure.client("admin") as admin:
        path = "/api/v1/namespaces/globex-prod/pods"
        r = carol.get(path)
        assert r.status_code == 403
        assert r.json()["message"] == (
            'pods is forbidden: User "carol" cannot list resource "pods" in API group "" in the '
            'namespace "globex-prod"'
        )
        role = {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        }
        rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/globex-prod"
        assert admin.post(f"{rbac}/roles", json=role).status_code == 201
        binding = rbac_binding("carol-reads", "Role", "pod-reader", "User", "carol")
        assert admin.post(f"{rbac}/rolebindings", json=binding).status_code == 201
        wait_for(lambda: carol.get(path).status_code == 200, "the grant")
        assert carol.get("/api/v1/namespaces/gx/pods").status_code == 403
        assert carol.delete(f"{path}/api-1").status_code == 403
        # Revoking by editing the role, then by deleting the binding.
        patch = {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
        r = admin.patch(
            f"{rbac}/roles/pod-reader",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200
        wait_for(lambda: carol.get(path).status_code == 403, "the narrowed role")
        assert carol.get(f"{path}/api-1").status_code == 200
        assert admin.delete(f"{rbac}/rolebindings/carol-reads").status_code == 200
        wait_for(lambda: carol.get(f"{path}/api-1").status_code == 403, "the revocation")


def test_rbac_escalation_is_refused(secure: Secure) -> None:
    with secure.client("admin") as admin, secure.client(token="carol-token") as carol:
        rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/globex-prod"
        role = {
            "metadata": {"name": "rb-writer"},
            "rules": [
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["rolebindings", "roles"],
                    "verbs": ["create", "get"],
                }
            ],
        }
        assert admin.post(f"{rbac}/roles", json=role).status_code == 201
        binding = rbac_binding("carol-rb", "Role", "rb-writer", "User", "carol")
        assert admin.post(f"{rbac}/rolebindings", json=binding).status_code == 201
        wait_for(lambda: carol.get(f"{rbac}/roles/rb-writer").status_code == 200, "carol's grant")
        before = etcd_state(secure.etcd)
        escalate = rbac_binding("carol-admin", "ClusterRole", "cluster-admin", "User", "carol")
        r = carol.post(f"{rbac}/rolebindings", json=escalate)
        assert r.status_code == 403, r.text
        assert "is attempting to grant RBAC permissions not currently held" in r.json()["message"]
        wide = {
            "metadata": {"name": "all"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
        }
        assert carol.post(f"{rbac}/roles", json=wide).status_code == 403
        assert etcd_state(secure.etcd) == before


# -- the Node authorizer -------------------------------------------------------------------------


def test_node_sees_its_pods_and_what_they_use(secure: Secure) -> None:
    with secure.client("node-a1") as node:
        own = node.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=node-a1"})
        assert own.status_code == 200, own.text
        assert _names(own.json()) == {"acme-web/web-1"}
        assert (
            node.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=node-b1"}).status_code
            == 403
        )
        assert node.get("/api/v1/pods").status_code == 403
        assert node.get("/api/v1/namespaces/acme-web/secrets/web-creds").status_code == 200
        r = node.get("/api/v1/namespaces/acme-web/secrets/other")
        assert r.status_code == 403
        assert "no relationship found between node 'node-a1' and this object" in r.json()["message"]
        assert node.get("/api/v1/nodes/node-a1").status_code == 200
        assert node.get("/api/v1/nodes/node-b1").status_code == 403
        assert node.get("/api/v1/namespaces/acme-web/secrets").status_code == 403
        assert node.get("/api/v1/namespaces/globex-prod/pods/api-1").status_code == 403


# -- reviews, impersonation, audit -------------------------------------------------------------


def test_kubectl_auth_can_i(secure: Secure) -> None:
    def can_i(context: str, *args: str) -> str:
        r = secure.kubectl("auth", "can-i", *args, context=context)
        return r.stdout.strip()

    assert can_i("alice", "create", "pods", "-n", "acme-web") == "yes"
    # The tenant scope says why (kubectl prints the review's reason after "no -").
    assert can_i("alice", "get", "secrets", "-n", "gx") == (
        'no - watchproxy: namespace "gx" is not in tenant "acme"'
    )
    assert can_i("alice", "create", "clusterroles").startswith("no")
    assert can_i("admin", "delete", "nodes") == "yes"
    r = secure.kubectl("auth", "can-i", "--list", "-n", "acme-web", context="alice")
    assert r.returncode == 0, r.stderr
    assert "pods" in r.stdout and "selfsubjectaccessreviews" in r.stdout


def test_subject_access_review_for_admins(secure: Secure) -> None:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "alice",
            "groups": ["acme-devs"],
            "resourceAttributes": {"namespace": "acme-web", "verb": "list", "resource": "pods"},
        },
    }
    with secure.client("admin") as admin, secure.client("alice") as alice:
        r = admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert r.status_code == 201, r.text
        assert r.json()["status"]["allowed"] is True
        review["spec"]["resourceAttributes"]["namespace"] = "gx"
        r = admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert r.json()["status"]["allowed"] is False
        assert (
            alice.post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review
            ).status_code
            == 403
        )


def test_impersonation(secure: Secure) -> None:
    with secure.client("admin") as admin, secure.client("alice") as alice:
        as_alice = {"Impersonate-User": "alice", "Impersonate-Group": "acme-devs"}
        r = admin.get("/api/v1/pods", headers=as_alice)
        assert r.status_code == 200
        assert _names(r.json()) == {"acme-web/web-1", "acme-web/web-2"} | {
            n for n in _names(r.json()) if n.startswith("acme-web/w-")
        }
        assert admin.get("/api/v1/namespaces/gx/secrets", headers=as_alice).status_code == 403
        r = alice.get("/api/v1/namespaces/gx/secrets", headers={"Impersonate-User": "admin"})
        assert r.status_code == 403
        assert r.json()["message"] == (
            'users "admin" is forbidden: User "alice" cannot impersonate resource "users" in API '
            'group "" at the cluster scope'
        )
    r = secure.kubectl(
        "get", "pods", "-A", "--as", "alice", "--as-group", "acme-devs", "-o", "name"
    )
    assert r.returncode == 0, r.stderr
    assert "pod/web-1" in r.stdout and "pod/gx-1" not in r.stdout and "api-1" not in r.stdout


def test_debug_endpoints_need_authorization(secure: Secure) -> None:
    with secure.client("alice") as alice, secure.client("admin") as admin:
        r = alice.get("/debug/stats")
        assert r.status_code == 403
        assert r.json()["message"] == (
            'forbidden: User "alice" cannot get path "/debug/stats": watchproxy: operator'
            ' endpoints are not open to identities of tenant "acme"'
        )
        assert admin.get("/debug/stats").status_code == 200
        assert alice.get("/debug/docs").status_code == 403


def test_metrics_need_authorization(secure: Secure) -> None:
    with secure.client("alice") as alice, secure.client("admin") as admin:
        r = alice.get("/metrics")
        assert r.status_code == 403
        assert r.json()["message"] == (
            'forbidden: User "alice" cannot get path "/metrics": watchproxy: operator'
            ' endpoints are not open to identities of tenant "acme"'
        )
        r = admin.get("/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain; version=")
        assert "apiserver_request_total" in r.text


def test_audit_log_records_writes_and_denials(secure: Secure) -> None:
    with secure.client("alice") as alice:
        alice.get("/api/v1/namespaces/gx/secrets/db-pass")
        alice.post("/api/v1/namespaces/acme-web/configmaps", json={"metadata": {"name": "audited"}})

    def events() -> list[dict[str, Any]]:
        return [json.loads(line) for line in secure.audit.read_text().splitlines() if line]

    def found() -> bool:
        names = {(e["verb"], (e.get("objectRef") or {}).get("name"), e["stage"]) for e in events()}
        return ("get", "db-pass", "ResponseComplete") in names and (
            "create",
            "",
            "ResponseComplete",
        ) in {(v, n or "", s) for v, n, s in names}

    wait_for(found, "audit events")
    denied = next(
        e
        for e in events()
        if e["stage"] == "ResponseComplete" and (e.get("objectRef") or {}).get("name") == "db-pass"
    )
    assert denied["apiVersion"] == "audit.k8s.io/v1" and denied["kind"] == "Event"
    assert denied["level"] == "Metadata"
    assert denied["user"]["username"] == "alice"
    assert denied["responseStatus"]["code"] == 403
    assert denied["annotations"]["authorization.k8s.io/decision"] == "forbid"


# -- ServiceAccount tokens -------------------------------------------------------------------------


def _python_client(secure: Secure, token: str) -> kubernetes.client.CoreV1Api:
    config = kubernetes.client.Configuration()
    config.host = secure.proxy.url
    config.ssl_ca_cert = str(secure.pki.ca)
    config.api_key = {"authorization": "Bearer " + token}
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(config))


def test_service_account_token_with_the_python_client(secure: Secure) -> None:
    with secure.client("admin") as admin:
        r = admin.post(
            "/api/v1/namespaces/acme-web/serviceaccounts", json={"metadata": {"name": "robot"}}
        )
        assert r.status_code == 201, r.text
        uid = r.json()["metadata"]["uid"]
        binding = rbac_binding(
            "robot-view", "ClusterRole", "view", "ServiceAccount", "robot", namespace="acme-web"
        )
        r = admin.post(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/acme-web/rolebindings", json=binding
        )
        assert r.status_code == 201
        token = secure.sa_token("acme-web", "robot", uid)
        api = _python_client(secure, token)
        wait_for(
            lambda: _status(lambda: api.list_namespaced_pod("acme-web")) == 200, "the SA's grant"
        )
        # A ServiceAccount belongs to its namespace's tenant: cluster-wide lists are narrowed.
        listed = api.list_pod_for_all_namespaces()
        assert {p.metadata.namespace for p in listed.items} == {"acme-web"}
        assert listed.metadata.resource_version.isdigit()
        assert _status(lambda: api.list_namespaced_secret("gx")) == 403
        bad = secure.sa_token("acme-web", "robot", "not-the-uid")
        assert _status(lambda: _python_client(secure, bad).list_namespaced_pod("acme-web")) == 401
        expired = secure.sa_token("acme-web", "robot", uid, exp=int(time.time()) - 120)
        assert (
            _status(lambda: _python_client(secure, expired).list_namespaced_pod("acme-web")) == 401
        )
        # Deleted, then re-created under the same name: the old token stops working.
        assert admin.delete("/api/v1/namespaces/acme-web/serviceaccounts/robot").status_code == 200
        wait_for(lambda: _status(lambda: api.list_namespaced_pod("acme-web")) == 401, "deletion")
        admin.post(
            "/api/v1/namespaces/acme-web/serviceaccounts", json={"metadata": {"name": "robot"}}
        )
        time.sleep(0.3)
        assert _status(lambda: api.list_namespaced_pod("acme-web")) == 401


def test_token_request_issues_bound_tokens(secure: Secure) -> None:
    with secure.client("admin") as admin:
        r = admin.post(
            "/api/v1/namespaces/acme-web/serviceaccounts", json={"metadata": {"name": "issued"}}
        )
        assert r.status_code == 201
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": [ISSUER], "expirationSeconds": 600},
        }
        r = admin.post("/api/v1/namespaces/acme-web/serviceaccounts/issued/token", json=request)
        assert r.status_code == 201, r.text
        status = r.json()["status"]
        token = status["token"]
        with secure.client(token=token) as robot:
            r = robot.post(
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                json={"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"},
            )
            assert r.status_code == 201, r.text
            user = r.json()["status"]["userInfo"]
            assert user["username"] == "system:serviceaccount:acme-web:issued"
            assert "system:serviceaccounts:acme-web" in user["groups"]
            r = admin.post(
                "/api/v1/namespaces/acme-web/serviceaccounts/issued/token",
                json={**request, "spec": {"expirationSeconds": 10}},
            )
            assert r.status_code == 422
            assert (
                admin.delete("/api/v1/namespaces/acme-web/serviceaccounts/issued").status_code
                == 200
            )
            wait_for(
                lambda: (
                    robot.post(
                        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        json={
                            "kind": "SelfSubjectReview",
                            "apiVersion": "authentication.k8s.io/v1",
                        },
                    ).status_code
                    == 401
                ),
                "the token to stop working",
            )


def _status(call: Callable[[], Any]) -> int:
    try:
        call()
    except kubernetes.client.ApiException as exc:
        return int(exc.status)
    return 200


def test_node_restriction_on_writes(secure: Secure) -> None:
    merge = {"Content-Type": "application/merge-patch+json"}
    with secure.client("node-a1") as node, secure.client("admin") as admin:
        before = admin.get("/api/v1/nodes/node-b1").json()
        status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
        r = node.patch("/api/v1/nodes/node-a1/status", json=status, headers=merge)
        assert r.status_code == 200, r.text
        r = node.patch("/api/v1/nodes/node-b1/status", json=status, headers=merge)
        assert r.status_code == 403
        assert admin.get("/api/v1/nodes/node-b1").json() == before
        r = node.patch(
            "/api/v1/namespaces/acme-web/pods/web-1/status",
            json={"status": {"phase": "Running"}},
            headers=merge,
        )
        assert r.status_code == 200, r.text
        r = node.patch(
            "/api/v1/namespaces/globex-prod/pods/api-1/status",
            json={"status": {"phase": "Running"}},
            headers=merge,
        )
        assert r.status_code == 403
        # A node may create only mirror pods bound to itself (NodeRestriction).
        r = node.post("/api/v1/namespaces/acme-web/pods", json=pod("sneaky", node="node-a1"))
        assert r.status_code == 403, r.text
        assert 'pod does not have "kubernetes.io/config.mirror" annotation' in r.json()["message"]


def test_tenant_creates_stay_in_the_tenant(secure: Secure) -> None:
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    with secure.client("admin") as admin, secure.client("bob") as bob:
        role = {
            "metadata": {"name": "ns-creator"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create"]}],
        }
        assert admin.post(f"{rbac}/clusterroles", json=role).status_code == 201
        binding = rbac_binding("bob-ns", "ClusterRole", "ns-creator", "User", "bob")
        assert admin.post(f"{rbac}/clusterrolebindings", json=binding).status_code == 201
        created = {"metadata": {"name": "globex-new"}}
        wait_for(
            lambda: bob.post("/api/v1/namespaces", json=created).status_code == 201,
            "bob's namespace grant",
        )
        before = etcd_state(secure.etcd)
        r = bob.post("/api/v1/namespaces", json={"metadata": {"name": "acme-stolen"}})
        assert r.status_code == 403
        assert r.json()["message"] == (
            'namespaces "acme-stolen" is forbidden: watchproxy: namespace "acme-stolen" is not in'
            ' tenant "globex"'
        )
        assert etcd_state(secure.etcd) == before


def test_kubectl_create_token_and_use_it(secure: Secure) -> None:
    r = secure.kubectl("create", "serviceaccount", "builder", "-n", "acme-web")
    assert r.returncode == 0, r.stderr
    r = secure.kubectl("create", "token", "builder", "-n", "acme-web", "--duration", "20m")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    r = secure.kubectl(
        "create", "rolebinding", "builder-view", "-n", "acme-web",
        "--clusterrole", "view", "--serviceaccount", "acme-web:builder",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    whoami = secure.kubectl("--token", token, "auth", "whoami", "-o", "json", context="carol")
    assert whoami.returncode == 0, whoami.stderr
    user = json.loads(whoami.stdout)["status"]["userInfo"]
    assert user["username"] == "system:serviceaccount:acme-web:builder"

    def can_list() -> bool:
        out = secure.kubectl("--token", token, "get", "pods", "-A", "-o", "name", context="carol")
        return out.returncode == 0 and "pod/web-1" in out.stdout and "gx-1" not in out.stdout

    wait_for(can_list, "the ServiceAccount's tenant-scoped view")


def test_tenant_scope_holds_against_a_cluster_wide_grant(secure: Secure) -> None:
    """alice's group is bound to ClusterRole view cluster-wide: RBAC alone would show her every
    tenant. The tenant scope still narrows her to acme -- whose shard (the default shard) also
    holds namespaces of no tenant, so the shard pin alone would not."""
    binding = rbac_binding("acme-devs-view-everything", "ClusterRole", "view", "Group", "acme-devs")
    with secure.client("admin") as admin, secure.client("alice") as alice:
        assert (
            admin.post("/api/v1/namespaces", json={"metadata": {"name": "shared"}}).status_code
            == 201
        )
        assert (
            admin.post("/api/v1/namespaces/shared/pods", json=pod("untenanted")).status_code == 201
        )
        r = admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding)
        assert r.status_code == 201, r.text
        wait_for(
            lambda: alice.get("/api/v1/namespaces/acme-web/pods/web-1/status").status_code == 200,
            "alice's cluster-wide grant",
        )
        listed = alice.get("/api/v1/pods").json()
        namespaces = {i["metadata"]["namespace"] for i in listed["items"]}
        assert namespaces == {"acme-web"}
        assert listed["metadata"]["resourceVersion"].isdigit()
        assert alice.get("/api/v1/namespaces/shared/pods").status_code == 403
        assert alice.get("/api/v1/namespaces/gx/pods").status_code == 403
        with alice.stream(
            "GET",
            "/api/v1/pods",
            params={"watch": "1", "resourceVersion": listed["metadata"]["resourceVersion"]},
        ) as stream:
            for ns, name in (("shared", "cw-shared"), ("gx", "cw-gx"), ("acme-web", "cw-acme")):
                assert (
                    admin.post(f"/api/v1/namespaces/{ns}/pods", json=pod(name)).status_code == 201
                )
            seen = []
            for line in stream.iter_lines():
                if line:
                    seen.append(json.loads(line)["object"]["metadata"]["name"])
                    if seen[-1] == "cw-acme":
                        break
        assert seen == ["cw-acme"]


def grant_dave_everything(admin: httpx.Client, dave: httpx.Client) -> None:
    """The mistake: tenant acme's dave bound to `*` on everything, cluster-wide (idempotent)."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    role = {
        "metadata": {"name": "too-wide"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }
    binding = rbac_binding("dave-too-wide", "ClusterRole", "too-wide", "User", "dave")
    assert admin.post(f"{rbac}/clusterroles", json=role).status_code in (201, 409)
    assert admin.post(f"{rbac}/clusterrolebindings", json=binding).status_code in (201, 409)
    wait_for(lambda: dave.get("/api/v1/secrets").status_code == 200, "dave's grant")


def test_tenant_cannot_cross_by_collection_delete_or_impersonation(secure: Secure) -> None:
    """A cluster-wide grant (a plausible mistake) gives a tenant user `deletecollection` and
    `impersonate`: neither may leave the tenant."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    with secure.client("admin") as admin, secure.client("dave") as dave:
        grant_dave_everything(admin, dave)
        sa = {"metadata": {"name": "app"}}
        assert admin.post("/api/v1/namespaces/gx/serviceaccounts", json=sa).status_code in (
            201,
            409,
        )
        before = etcd_state(secure.etcd)
        for query in ("dryRun=All", "fieldSelector=metadata.namespace%3Dgx", ""):
            r = dave.delete(f"/api/v1/secrets?{query}")
            assert r.status_code == 403, (query, r.text)
            assert "may delete collections only in a namespace of tenant" in r.json()["message"]
        assert dave.delete("/api/v1/nodes?dryRun=All").status_code == 403
        assert dave.delete(f"{rbac}/clusterrolebindings").status_code == 403
        for headers in (
            {"Impersonate-User": "system:serviceaccount:gx:app"},
            {"Impersonate-User": "nobody", "Impersonate-Group": "system:masters"},
            {"Impersonate-User": "bob"},
        ):
            r = dave.get("/api/v1/namespaces/gx/secrets/db-pass", headers=headers)
            assert r.status_code == 403, (headers, r.text)
            assert "is not an identity of tenant" in r.json()["message"]
        # Inside the tenant, the grant works: a collection delete in its own namespace.
        r = dave.delete("/api/v1/namespaces/acme-web/configmaps?dryRun=All")
        assert r.status_code == 200, r.text
        assert etcd_state(secure.etcd) == before


def test_a_tenants_kubelet_stays_in_its_tenant(secure: Secure) -> None:
    event = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "api-1", "namespace": "globex-prod"},
        "reason": "x",
        "message": "hi",
    }
    with secure.client("node-a1") as node:
        r = node.post("/api/v1/namespaces/globex-prod/events", json=event)
        assert r.status_code == 403
        own = {**event, "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "acme-web"}}
        assert node.post("/api/v1/namespaces/acme-web/events", json=own).status_code == 201
        lease = {
            "metadata": {"name": "node-a1"},
            "spec": {"holderIdentity": "node-a1", "leaseDurationSeconds": 40},
        }
        with secure.client("admin") as admin:
            admin.post("/api/v1/namespaces", json={"metadata": {"name": "kube-node-lease"}})
        r = node.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", json=lease)
        assert r.status_code == 201, r.text


def test_odd_requests_are_refused_cleanly(secure: Secure) -> None:
    merge = {"Content-Type": "application/merge-patch+json"}
    with secure.client("alice") as alice:
        r = alice.patch(
            "/api/v1/namespaces/acme-web/secrets/other",
            json={"metadata": {"namespace": "gx"}},
            headers=merge,
        )
        assert r.status_code == 400
        assert r.json()["message"] == (
            "the namespace of the object (gx) does not match the namespace on the request"
            " (acme-web)"
        )
        r = alice.patch(
            "/api/v1/namespaces/acme-web/secrets/other",
            json={"metadata": {"name": "renamed"}},
            headers=merge,
        )
        assert r.status_code == 400
        # HTTP methods are case-sensitive: `get` is no GET, and no RBAC rule allows it.
        assert alice.request("get", "/api/v1/namespaces/gx/secrets/db-pass").status_code == 403
        assert alice.get("/healthz").text == "ok"
        r = alice.get("/no/such/path")
        assert r.status_code in (403, 404)
        assert r.json()["kind"] == "Status"
    with secure.client("admin") as admin:
        r = admin.get("/no/such/path")
        assert r.status_code == 404
        assert r.json()["message"] == "the server could not find the requested resource"


def test_a_cluster_wide_grant_does_not_open_cluster_objects_to_a_tenant(secure: Secure) -> None:
    """With `*` on everything (dave's mistake), a tenant identity still cannot write what acts on
    every tenant (ClusterRoles, ClusterRoleBindings, Nodes), reach kubelets' Leases, other
    tenants' node names, operator endpoints or cluster-wide reviews."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    labelled = {"labels": {"watchproxy.io/tenant": "acme"}}
    with secure.client("admin") as admin, secure.client("dave") as dave:
        grant_dave_everything(admin, dave)
        lease = {"metadata": {"name": "node-b1"}, "spec": {"holderIdentity": "node-b1"}}
        admin.post("/api/v1/namespaces", json={"metadata": {"name": "kube-node-lease"}})
        leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        assert admin.post(leases, json=lease).status_code in (201, 409)
        before = etcd_state(secure.etcd)
        aggregating = {
            "metadata": {
                "name": "sneaky",
                "labels": {
                    **labelled["labels"],
                    "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                },
            },
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
        }
        refused = [
            dave.post(f"{rbac}/clusterroles", json=aggregating),
            dave.post(
                f"{rbac}/clusterrolebindings",
                json={
                    **rbac_binding("x", "ClusterRole", "cluster-admin", "User", "system:node:n9"),
                    "metadata": {"name": "x", **labelled},
                },
            ),
            dave.delete("/api/v1/nodes/node-a1"),
            dave.post("/api/v1/nodes", json={"metadata": {"name": "node-b9", **labelled}}),
            dave.get(f"{leases}/node-b1"),
            dave.delete(f"{leases}/node-b1"),
            dave.get("/debug/stats"),
            dave.post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                json={
                    "kind": "SubjectAccessReview",
                    "apiVersion": "authorization.k8s.io/v1",
                    "spec": {"user": "bob", "resourceAttributes": {"verb": "get"}},
                },
            ),
            dave.post(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                json={"kind": "TokenReview", "spec": {"token": "admin-token"}},
            ),
            dave.post(
                "/apis/authorization.k8s.io/v1/namespaces/gx/localsubjectaccessreviews",
                json={
                    "kind": "LocalSubjectAccessReview",
                    "spec": {
                        "user": "bob",
                        "resourceAttributes": {"namespace": "gx", "verb": "get"},
                    },
                },
            ),
            # Reserving a node name nobody has registered yet.
            dave.post("/api/v1/namespaces/acme-web/pods", json=pod("squat", node="node-b7")),
        ]
        for r in refused:
            assert r.status_code == 403, (r.request.method, r.request.url, r.text)
        r = dave.post(
            "/api/v1/namespaces/acme-web/serviceaccounts/default/token",
            json={
                "spec": {"boundObjectRef": {"kind": "Node", "apiVersion": "v1", "name": "node-b1"}}
            },
        )
        assert r.status_code == 404, r.text
        assert etcd_state(secure.etcd) == before
        r = dave.post(
            "/apis/authorization.k8s.io/v1/namespaces/acme-web/localsubjectaccessreviews",
            json={
                "kind": "LocalSubjectAccessReview",
                "spec": {
                    "user": "dave",
                    "resourceAttributes": {"namespace": "acme-web", "verb": "get"},
                },
            },
        )
        assert r.status_code == 201, r.text
    with secure.client("node-a1") as node:
        # A kubelet may not choose its Node's tenant (nor may anyone change it: 422).
        r = node.patch(
            "/api/v1/nodes/node-a1",
            json={"metadata": {"labels": {"watchproxy.io/tenant": "globex"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code in (403, 422), r.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {"metadata": {"name": "bad"}, "rules": "x"},
            id="ClusterRole rules not a list",
        ),
        pytest.param(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/acme-web/roles",
            {"metadata": {"name": "bad"}, "rules": [{"verbs": ["get"], "resourceNames": 5}]},
            id="Role resourceNames not a list",
        ),
        pytest.param(
            "/api/v1/namespaces/acme-web/serviceaccounts/default/token",
            {"spec": "x"},
            id="TokenRequest spec",
        ),
        pytest.param(
            "/api/v1/namespaces/acme-web/serviceaccounts/default/token",
            {"spec": {"expirationSeconds": "abc"}},
            id="TokenRequest expirationSeconds string",
        ),
        pytest.param(
            "/api/v1/namespaces/acme-web/serviceaccounts/default/token",
            {"spec": {"expirationSeconds": 1e30}},
            id="TokenRequest expirationSeconds float",
        ),
        pytest.param(
            "/api/v1/namespaces/acme-web/serviceaccounts/default/token",
            {"spec": {"audiences": [1, 2]}},
            id="TokenRequest audiences",
        ),
        pytest.param(
            "/api/v1/namespaces/acme-web/pods",
            {"metadata": {"name": "p"}, "spec": "x"},
            id="Pod spec",
        ),
        pytest.param(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            {"kind": "SubjectAccessReview", "spec": {"groups": "abc", "resourceAttributes": {}}},
            id="SubjectAccessReview groups",
        ),
    ],
)
def test_malformed_bodies_are_400_and_stored_nowhere(
    secure: Secure, path: str, body: dict[str, Any]
) -> None:
    with secure.client("admin") as admin:
        admin.post(
            "/api/v1/namespaces/acme-web/serviceaccounts", json={"metadata": {"name": "default"}}
        )
        before = etcd_state(secure.etcd)
        r = admin.post(path, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["reason"] == "BadRequest"
        assert "cannot be handled as a" in r.json()["message"]
        assert etcd_state(secure.etcd) == before
        # Decisions still work for everyone (a malformed role never reaches the authorizer).
    with secure.client("alice") as alice:
        assert alice.get("/api/v1/namespaces/acme-web/pods").status_code == 200


def test_a_token_right_after_its_service_account_is_created(secure: Secure) -> None:
    """kube reads the ServiceAccount of a TokenRequest with a consistent GET: a token asked for
    the moment the account's create returns is issued, never a 404 from a cache that has not
    seen the create yet. A race: CI saw that 404 once under load; on an idle machine this test
    passes without the freshness wait too (api/freshness.namespace_fresh)."""
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    with secure.client("admin") as admin:
        for i in range(20):
            r = admin.post(
                "/api/v1/namespaces/acme-web/serviceaccounts", json={"metadata": {"name": f"q{i}"}}
            )
            assert r.status_code == 201, r.text
            r = admin.post(f"/api/v1/namespaces/acme-web/serviceaccounts/q{i}/token", json=request)
            assert r.status_code == 201, r.text
