"""`serve` against an etcd that only speaks TLS with client-certificate authentication."""

from __future__ import annotations

import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, make_namespace, pod
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(root: Path) -> None:
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=watchproxy-test-ca",
        cwd=root,
    )
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (root / f"{name}.ext").write_text(ext + "\n")
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=root,
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=root,
        )


class TlsEtcd(EtcdServer):
    def __init__(self, pki: Path, data_dir: Path) -> None:
        super().__init__(
            "tls",
            data_dir,
            extra_args=[
                f"--cert-file={pki / 'server.crt'}",
                f"--key-file={pki / 'server.key'}",
                f"--trusted-ca-file={pki / 'ca.crt'}",
                "--client-cert-auth",
            ],
        )
        self.pki = pki

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    def _health_check(self) -> tuple[bool, str]:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "client.crt"), str(self.pki / "client.key"))
        try:
            with urllib.request.urlopen(
                f"{self.endpoint}/health", timeout=2, context=context
            ) as resp:
                return '"health":"true"' in resp.read().decode().replace(" ", ""), "checked"
        except OSError as exc:
            return False, str(exc)


@pytest.fixture()
def tls_etcd(tmp_path: Path) -> Iterator[TlsEtcd]:
    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki)
    server = TlsEtcd(pki, tmp_path / "etcd")
    server.data_dir.mkdir()
    server.start()
    yield server
    server.stop()


def test_proxy_over_tls_etcd(tls_etcd: TlsEtcd, tmp_path: Path) -> None:
    pki = tls_etcd.pki
    config = {
        "shards": [
            {
                "name": "secure",
                "endpoints": [tls_etcd.endpoint],
                "tls": {
                    "ca_file": str(pki / "ca.crt"),
                    "cert_file": str(pki / "client.crt"),
                    "key_file": str(pki / "client.key"),
                },
            }
        ],
    }
    proxy = ProxyProcess(config, tmp_path, "tls")
    proxy.start()
    try:
        with httpx.Client(base_url=proxy.url, timeout=30) as api:
            make_namespace(api, "secure-ns")
            assert api.post("/api/v1/namespaces/secure-ns/pods", json=pod("p")).status_code == 201
            listed = api.get("/api/v1/pods").json()
            assert [i["metadata"]["name"] for i in listed["items"]] == ["p"]
            assert listed["metadata"]["resourceVersion"].isdigit(), "one shard: plain revisions"
    finally:
        proxy.stop()
