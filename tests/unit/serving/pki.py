"""Test PKI made with the `openssl` command line: CAs, a serving certificate for 127.0.0.1 and
localhost, client certificates with CN (user) and O (groups). EC P-256 keys: quick to make."""

from __future__ import annotations

import os
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_EXT = (
    "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    "extendedKeyUsage=serverAuth\n"
    "keyUsage=digitalSignature\n"
)
CLIENT_EXT = "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n"


def openssl(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert.read_text())


def make_ca(root: Path, name: str) -> Pair:
    root.mkdir(parents=True, exist_ok=True)
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
        cwd=root,
    )  # fmt: skip
    return Pair(root / f"{name}.crt", root / f"{name}.key")


def issue(root: Path, ca: Pair, name: str, subject: str, ext: str, serial: int) -> Pair:
    """A certificate for `subject` signed by `ca`, with the given serial number."""
    (root / f"{name}.ext").write_text(ext)
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
        cwd=root,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", str(ca.cert), "-CAkey", str(ca.key),
        "-set_serial", str(serial), "-out", f"{name}.crt", "-days", "2",
        "-extfile", f"{name}.ext",
        cwd=root,
    )  # fmt: skip
    return Pair(root / f"{name}.crt", root / f"{name}.key")


@dataclass(frozen=True)
class Pki:
    root: Path
    ca: Pair
    server: Pair
    client: Pair  # CN=alice, O=acme-devs, O=readers


def make_pki(root: Path) -> Pki:
    ca = make_ca(root, "ca")
    server = issue(root, ca, "server", "/CN=watchproxy", SERVER_EXT, 1001)
    client = issue(root, ca, "client", "/CN=alice/O=acme-devs/O=readers", CLIENT_EXT, 2001)
    return Pki(root, ca, server, client)


def replace_file(source: Path, target: Path) -> None:
    """Put `source`'s bytes at `target` atomically (write aside, rename), as cert-manager and
    kubelet's Secret volumes do."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(source.read_bytes())
    os.replace(tmp, target)


def serial_of(der: bytes) -> int:
    out = openssl_stdin(["x509", "-inform", "DER", "-noout", "-serial"], der)
    return int(out.strip().split("=", 1)[1], 16)


def openssl_stdin(args: list[str], data: bytes) -> str:
    done = subprocess.run(["openssl", *args], input=data, check=True, capture_output=True)
    return done.stdout.decode()


def client_context(pki: Pki, *, alpn: list[str], cert: Pair | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert))
    ctx.set_alpn_protocols(alpn)
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx
