"""Test PKI made with the machine's `openssl` CLI, as an operator would make it: a CA, a serving
certificate for 127.0.0.1/localhost, client certificates (CN = user, O = groups), and a
ServiceAccount signing key pair."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """Files under `root`; each `client(...)` returns (cert, key) paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca = root / "ca.pem"
        self.ca_key = root / "ca-key.pem"
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=watchproxy-test-ca", cwd=root,
        )  # fmt: skip
        self.server_cert, self.server_key = self._issue(
            "server",
            "/CN=watchproxy",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        self.sa_key = root / "sa.key"
        self.sa_pub = root / "sa.pub"
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=root)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=root)

    def _issue(self, name: str, subject: str, extensions: str) -> tuple[Path, Path]:
        ext = self.root / f"{name}.ext"
        ext.write_text(extensions)
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem",
            "-out", f"{name}.csr", "-subj", subject, cwd=self.root,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name,
            cwd=self.root,
        )  # fmt: skip
        return self.root / f"{name}.pem", self.root / f"{name}-key.pem"

    def client(self, user: str, *groups: str) -> tuple[Path, Path]:
        """A client certificate for `user` in `groups` (kube's rule: CN user, O groups)."""
        subject = f"/CN={user}" + "".join(f"/O={g}" for g in groups)
        safe = user.replace(":", "_")
        return self._issue(f"client-{safe}", subject, "extendedKeyUsage=clientAuth\n")
