"""watchproxy/devpki.py: the dev CA, serving and client certificates, ServiceAccount keys, token
file and kubeconfig verify and load with the tools that will use them (openssl, Python's ssl,
the official kubernetes client), and survive a restart unchanged."""

from __future__ import annotations

import csv
import ipaddress
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from watchproxy.cli import DEMO_SUBJECTS, dev_config
from watchproxy.config import parse_settings
from watchproxy.devpki import CLIENTS, DEV_NODE, DevPki, ensure_pki, read_token_file
from watchproxy.seed import demo_objects, tenant_group

PORT = 16443
PRIVATE = ["ca-key.pem", "server-key.pem", "sa.key", "tokens.csv", "kubeconfig"] + [
    f"{c.file}-key.pem" for c in CLIENTS
]
PUBLIC = ["ca.pem", "server.pem", "sa.pub"] + [f"{c.file}.pem" for c in CLIENTS]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_pki(tmp_path_factory.mktemp("devpki") / "pki", PORT)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name != "kubeconfig"}


def openssl_verify(pki: DevPki, purpose: str, *certs: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed by this test"
    done = subprocess.run(
        [openssl, "verify", "-CAfile", str(pki.ca_file), "-purpose", purpose, *map(str, certs)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for path in certs:
        assert f"{path}: OK" in done.stdout


def test_files_and_modes(pki: DevPki) -> None:
    names = {p.name for p in pki.directory.iterdir()}
    assert names == set(PRIVATE) | set(PUBLIC)
    for name in PRIVATE:
        assert stat.S_IMODE((pki.directory / name).stat().st_mode) == 0o600, name
    for name in PUBLIC:
        assert stat.S_IMODE((pki.directory / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700


def test_ca(pki: DevPki) -> None:
    ca = cert(pki.ca_file)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    ca.verify_directly_issued_by(ca)


def test_server_certificate(pki: DevPki) -> None:
    openssl_verify(pki, "sslserver", pki.server_cert_file)
    server = cert(pki.server_cert_file)
    server.verify_directly_issued_by(cert(pki.ca_file))
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    key_pem = pki.server_key_file.read_bytes()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert key.public_key() == server.public_key()


@pytest.mark.parametrize(
    ("file", "user", "groups"),
    [
        ("admin", "admin", ["system:masters"]),
        ("alice", "alice", ["acme-devs"]),
        ("bob", "bob", ["globex-devs"]),
        ("node", f"system:node:{DEV_NODE}", ["system:nodes"]),
    ],
)
def test_client_certificates(pki: DevPki, file: str, user: str, groups: list[str]) -> None:
    path = pki.client_cert_file(file)
    openssl_verify(pki, "sslclient", path)
    client = cert(path)
    # kube's x509 authenticator: CN is the user, each O a group.
    assert [a.value for a in client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [user]
    orgs = client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [a.value for a in orgs] == groups
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    key = serialization.load_pem_private_key(pki.client_key_file(file).read_bytes(), None)
    assert key.public_key() == client.public_key()


def test_the_node_identity_is_a_seeded_node_with_pods_bound() -> None:
    objects = demo_objects({"acme": ["acme-web", "acme-db"], "globex": ["globex-prod", "gx"]})
    nodes = {o["metadata"]["name"] for plural, o in objects if plural == "nodes"}
    assert DEV_NODE in nodes
    bound = [o for plural, o in objects if plural == "pods" and o["spec"]["nodeName"] == DEV_NODE]
    assert len(bound) >= 2


def test_seeded_role_bindings_name_the_certificate_groups() -> None:
    objects = demo_objects({"acme": ["acme-web"], "globex": ["globex-prod"]})
    bindings = [o for plural, o in objects if plural == "rolebindings"]
    assert {(b["metadata"]["namespace"], b["subjects"][0]["name"]) for b in bindings} == {
        ("acme-web", "acme-devs"),
        ("globex-prod", "globex-devs"),
    }
    for b in bindings:
        assert b["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert b["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "edit",
        }
    cert_groups = {g for c in CLIENTS for g in c.groups}
    assert {tenant_group("acme"), tenant_group("globex")} <= cert_groups
    assert DEMO_SUBJECTS["acme"]["groups"] == [tenant_group("acme")]
    assert DEMO_SUBJECTS["globex"]["groups"] == [tenant_group("globex")]


def test_mutual_tls_handshake_with_python_ssl(pki: DevPki) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pki.server_cert_file, pki.server_key_file)
    server_ctx.load_verify_locations(pki.ca_file)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    client_ctx.load_cert_chain(pki.client_cert_file("alice"), pki.client_key_file("alice"))

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: dict[str, Any] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.recv(2) == b"ok"
    finally:
        thread.join(5)
        listener.close()
    subject = dict(x[0] for x in seen["peer"]["subject"])
    assert subject == {"commonName": "alice", "organizationName": "acme-devs"}


def test_service_account_key_pair(pki: DevPki) -> None:
    key = serialization.load_pem_private_key(pki.sa_key_file.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048
    public = serialization.load_pem_public_key(pki.sa_pub_file.read_bytes())
    assert public == key.public_key()


def test_token_file(pki: DevPki) -> None:
    text = pki.token_file.read_text()
    rows = list(csv.reader(text.splitlines()))
    assert [(r[1], r[3]) for r in rows] == [("admin", "system:masters"), ("carol", "acme-devs")]
    for line in text.splitlines():
        assert line.count('"') == 2  # groups column quoted, kube's documented form
    parsed = read_token_file(pki.token_file)
    assert [(user, groups) for _, user, _, groups in parsed] == [
        ("admin", ("system:masters",)),
        ("carol", ("acme-devs",)),
    ]
    tokens = [token for token, *_ in parsed]
    assert len(set(tokens)) == 2 and all(len(t) >= 40 for t in tokens)
    assert pki.tokens == {"admin-token": tokens[0], "carol": tokens[1]}
    assert all(uid for _, _, uid, _ in parsed)


@pytest.mark.parametrize(
    ("context", "namespace"),
    [
        ("admin", ""),
        ("alice", "acme-web"),
        ("bob", "globex-prod"),
        ("node", ""),
        ("carol-token", "acme-web"),
    ],
)
def test_kubeconfig_loads_with_the_kubernetes_client(
    pki: DevPki, context: str, namespace: str
) -> None:
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(
        config_file=str(pki.kubeconfig), context=context, client_configuration=configuration
    )
    assert configuration.host == f"https://127.0.0.1:{PORT}"
    assert Path(configuration.ssl_ca_cert).read_bytes() == pki.ca_file.read_bytes()
    if context == "carol-token":
        assert configuration.api_key == {"BearerToken": f"Bearer {pki.tokens['carol']}"}
        assert configuration.cert_file is None
    else:
        assert (
            Path(configuration.cert_file).read_bytes() == pki.client_cert_file(context).read_bytes()
        )
        assert (
            Path(configuration.key_file).read_bytes() == pki.client_key_file(context).read_bytes()
        )
    contexts, current = k8s_config.list_kube_config_contexts(config_file=str(pki.kubeconfig))
    assert current["name"] == "admin"
    assert {c["name"] for c in contexts} == {"admin", "alice", "bob", "node", "carol-token"}
    (entry,) = [c for c in contexts if c["name"] == context]
    assert entry["context"]["cluster"] == "watchproxy-dev"
    assert entry["context"].get("namespace", "") == namespace


def test_kubeconfig_has_an_admin_token_user(pki: DevPki) -> None:
    data = yaml.safe_load(pki.kubeconfig.read_text())
    users = {u["name"]: u["user"] for u in data["users"]}
    assert users["admin-token"] == {"token": pki.tokens["admin-token"]}


def test_a_restart_reuses_everything_and_rewrites_the_port(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path / "pki", 6443)
    before = snapshot(first.directory)
    second = ensure_pki(tmp_path / "pki", 7443)
    assert snapshot(second.directory) == before
    assert second.tokens == first.tokens
    server = yaml.safe_load(second.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert server == "https://127.0.0.1:7443"


def test_a_missing_certificate_is_issued_again_alone(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", 6443)
    before = snapshot(pki.directory)
    pki.client_cert_file("alice").unlink()
    ensure_pki(tmp_path / "pki", 6443)
    after = snapshot(pki.directory)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"alice.pem", "alice-key.pem"}
    openssl_verify(pki, "sslclient", pki.client_cert_file("alice"))


def test_a_new_ca_reissues_every_certificate(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", 6443)
    before = snapshot(pki.directory)
    pki.ca_key_file.unlink()
    ensure_pki(tmp_path / "pki", 6443)
    after = snapshot(pki.directory)
    for name in ["ca.pem", "server.pem"] + [f"{c.file}.pem" for c in CLIENTS]:
        assert before[name] != after[name], name
    # The ServiceAccount keys and tokens are not signed by the CA: kept.
    for name in ("sa.key", "sa.pub", "tokens.csv"):
        assert before[name] == after[name], name
    openssl_verify(pki, "sslserver", pki.server_cert_file)
    openssl_verify(pki, "sslclient", *(pki.client_cert_file(c.file) for c in CLIENTS))


def test_token_lines_added_by_hand_are_kept(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", 6443)
    with pki.token_file.open("a") as f:
        f.write('handmade-token,dave,dave-uid,"globex-devs"\n')
    again = ensure_pki(tmp_path / "pki", 6443)
    assert again.tokens == pki.tokens
    assert [u for _, u, _, _ in read_token_file(pki.token_file)] == ["admin", "carol", "dave"]


def test_dev_config_passes_every_check(pki: DevPki, tmp_path: Path) -> None:
    """The secure dev config goes through parse_settings (files exist, tls for client CA, ...)."""
    audit_log = tmp_path / "audit.log"
    settings = parse_settings(
        dev_config(["http://127.0.0.1:1", "http://127.0.0.1:2"], PORT, pki.directory, audit_log)
    )
    security = settings.security
    assert security.tls is not None
    assert security.tls.cert_file == str(pki.server_cert_file)
    authn = security.authentication
    assert authn is not None
    assert authn.client_ca_file == str(pki.ca_file)
    assert authn.token_auth_file == str(pki.token_file)
    assert authn.service_account_key_files == (str(pki.sa_pub_file),)
    assert authn.service_account_signing_key_file == str(pki.sa_key_file)
    assert authn.service_account_issuers == ("https://kubernetes.default.svc.cluster.local",)
    assert security.authorization.modes == ("Node", "RBAC")
    assert security.audit.log_path == str(audit_log)
    subjects = {t.name: t.subjects for t in settings.tenants}
    assert subjects["acme"].users == ("alice",) and subjects["acme"].groups == ("acme-devs",)
    assert subjects["globex"].users == ("bob",) and subjects["globex"].groups == ("globex-devs",)
    assert settings.listen == f"127.0.0.1:{PORT}"


def test_insecure_dev_config_is_unchanged() -> None:
    assert dev_config(["http://127.0.0.1:1", "http://127.0.0.1:2"], 8080) == {
        "listen": "127.0.0.1:8080",
        "shards": [
            {"name": "shard-a", "endpoints": ["http://127.0.0.1:1"]},
            {"name": "shard-b", "endpoints": ["http://127.0.0.1:2"]},
        ],
        "tenants": [
            {"name": "acme", "shard": "shard-a", "namespaces": ["acme-*"]},
            {"name": "globex", "shard": "shard-b", "namespaces": ["globex-*", "gx"]},
        ],
        "default_shard": "shard-a",
        "shutdown_delay_seconds": 0,
    }
    settings = parse_settings(dev_config(["http://127.0.0.1:1"], 8080))
    assert settings.security.open_admin and settings.security.tls is None
