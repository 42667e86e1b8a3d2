"""Throwaway credentials for `watchproxy dev`: a CA, a serving certificate for 127.0.0.1, client
certificates for the demo identities, a ServiceAccount signing key pair, a token file and a
kubeconfig with one context per identity.

Everything is written into one directory and reused from there on the next start, so a
restarted dev server keeps its identities (and kubeconfigs handed out stay valid); only the
kubeconfig's server URL is rewritten, for the port of this run. Never use these outside dev:
the CA key sits next to the certificates it signs.

| file | what |
| --- | --- |
| ca.pem, ca-key.pem | the CA: `authentication.client_ca_file`, the kubeconfig's CA |
| server.pem, server-key.pem | serving pair (SANs localhost, 127.0.0.1, ::1); key PKCS#8 |
| admin.pem, alice.pem, bob.pem, node.pem (+ -key.pem) | client certificates (CN=user, O=groups) |
| sa.key, sa.pub | ServiceAccount token signing key and its public key (RSA, RS256) |
| tokens.csv | `--token-auth-file` lines: `token,user,uid,"group1,group2"` |
| kubeconfig | cluster `watchproxy-dev`, contexts admin, alice, bob, node, carol-token |

One module, over 400 lines: one throwaway PKI (CA, leaf issuing and reuse, token file, kubeconfig)
whose parts share the same directory layout and reuse rules.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import ipaddress
import os
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLUSTER_NAME: Final = "watchproxy-dev"
# The demo node a kubelet identity speaks for: seeded by watchproxy/seed.py (tenant acme), with
# pods of acme-web and acme-db bound to it.
DEV_NODE: Final = "acme-node-1"

CA_VALIDITY: Final = dt.timedelta(days=3650)
LEAF_VALIDITY: Final = dt.timedelta(days=365)
# A certificate this close to its end is issued again at start.
RENEW_BEFORE: Final = dt.timedelta(days=7)


@dataclass(frozen=True)
class ClientIdentity:
    """A client certificate: `file` names it (FILE.pem, FILE-key.pem) and its kubeconfig user."""

    file: str
    user: str
    groups: tuple[str, ...]
    namespace: str = ""  # default namespace of its kubeconfig context


@dataclass(frozen=True)
class TokenIdentity:
    """A line of the token file; `name` is its kubeconfig user."""

    name: str
    user: str
    groups: tuple[str, ...]


CLIENTS: Final = (
    ClientIdentity("admin", "admin", ("system:masters",)),
    ClientIdentity("alice", "alice", ("acme-devs",), namespace="acme-web"),
    ClientIdentity("bob", "bob", ("globex-devs",), namespace="globex-prod"),
    ClientIdentity("node", f"system:node:{DEV_NODE}", ("system:nodes",)),
)
TOKENS: Final = (
    TokenIdentity("admin-token", "admin", ("system:masters",)),
    TokenIdentity("carol", "carol", ("acme-devs",)),
)
# kubeconfig context -> (user entry, default namespace)
CONTEXTS: Final = {
    "admin": ("admin", ""),
    "alice": ("alice", "acme-web"),
    "bob": ("bob", "globex-prod"),
    "node": ("node", ""),
    "carol-token": ("carol", "acme-web"),
}
CURRENT_CONTEXT: Final = "admin"

_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_Pair = tuple[x509.Certificate, _PrivateKey]  # a certificate and its key


@dataclass(frozen=True)
class DevPki:
    """Paths of the generated files, and the token of each token identity by name."""

    directory: Path
    tokens: dict[str, str]

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_file(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def server_cert_file(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key_file(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def sa_key_file(self) -> Path:
        return self.directory / "sa.key"

    @property
    def sa_pub_file(self) -> Path:
        return self.directory / "sa.pub"

    @property
    def token_file(self) -> Path:
        return self.directory / "tokens.csv"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def client_cert_file(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def client_key_file(self, name: str) -> Path:
        return self.directory / f"{name}-key.pem"


def ensure_pki(directory: Path, port: int) -> DevPki:
    """Create what is missing in `directory` (or invalid: expiring, or signed by another CA),
    keep the rest, and write the kubeconfig for https://127.0.0.1:`port`."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    pki = DevPki(directory, {})
    now = dt.datetime.now(dt.UTC)
    ca, ca_new = _ensure_ca(pki, now)
    _ensure_leaf(
        pki.server_cert_file,
        pki.server_key_file,
        ca,
        now,
        force=ca_new,
        subject=_name("watchproxy"),
        server=True,
    )
    for client in CLIENTS:
        _ensure_leaf(
            pki.client_cert_file(client.file),
            pki.client_key_file(client.file),
            ca,
            now,
            force=ca_new,
            subject=_name(client.user, client.groups),
            server=False,
        )
    _ensure_sa_keys(pki)
    tokens = _ensure_tokens(pki.token_file)
    pki = DevPki(directory, tokens)
    write_kubeconfig(pki, port)
    return pki


# -- writing ---------------------------------------------------------------------------------


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Replace `path` atomically; 0600 for anything holding a secret."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _key_pem(key: _PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# -- certificates ----------------------------------------------------------------------------


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    """kube's x509 authenticator: CN is the user name, each O a group."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _load_key(path: Path) -> _PrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)) else None


def _fresh(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now and now + RENEW_BEFORE < cert.not_valid_after_utc


def _matches(cert: x509.Certificate, key: _PrivateKey) -> bool:
    return cert.public_key() == key.public_key()


def _load_pair(cert_path: Path, key_path: Path, now: dt.datetime) -> _Pair | None:
    """The certificate and key in these files if both load, belong together and are fresh."""
    cert, key = _load_cert(cert_path), _load_key(key_path)
    if cert is not None and key is not None and _matches(cert, key) and _fresh(cert, now):
        return cert, key
    return None


def _issue(
    cert_path: Path,
    key_path: Path,
    subject: x509.Name,
    now: dt.datetime,
    *,
    ca: _Pair | None,
    extensions: Sequence[x509.ExtensionType] = (),
) -> _Pair:
    """A new key and a certificate for it, both written out: a leaf signed by `ca`, or without
    one a self-signed CA (with its SubjectKeyIdentifier). `extensions` are added, not critical."""
    key = _new_key()
    signing_key: _PrivateKey
    if ca is None:
        issuer, signing_key, validity = subject, key, CA_VALIDITY
        extensions = [x509.SubjectKeyIdentifier.from_public_key(key.public_key()), *extensions]
    else:
        issuer, signing_key, validity = ca[0].subject, ca[1], LEAF_VALIDITY
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(
            x509.BasicConstraints(ca=ca is None, path_length=0 if ca is None else None),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca is None,
                crl_sign=ca is None,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, _cert_pem(cert), private=False)
    return cert, key


def _ensure_ca(pki: DevPki, now: dt.datetime) -> tuple[_Pair, bool]:
    """The CA, and whether it is new (then every leaf is issued again)."""
    pair = _load_pair(pki.ca_file, pki.ca_key_file, now)
    if pair is not None:
        return pair, False
    return _issue(pki.ca_file, pki.ca_key_file, _name("watchproxy-dev-ca"), now, ca=None), True


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _ensure_leaf(
    cert_path: Path,
    key_path: Path,
    ca: _Pair,
    now: dt.datetime,
    *,
    force: bool,
    subject: x509.Name,
    server: bool,
) -> None:
    pair = None if force else _load_pair(cert_path, key_path, now)
    if pair is not None and pair[0].subject == subject and _issued_by(pair[0], ca[0]):
        return
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    extensions: list[x509.ExtensionType] = [
        x509.ExtendedKeyUsage([usage]),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca[1].public_key()),
    ]
    if server:
        extensions.append(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            )
        )
    _issue(cert_path, key_path, subject, now, ca=ca, extensions=extensions)


# -- ServiceAccount keys ---------------------------------------------------------------------


def _ensure_sa_keys(pki: DevPki) -> None:
    key = _load_key(pki.sa_key_file)
    if not isinstance(key, rsa.RSAPrivateKey):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(pki.sa_key_file, _key_pem(key), private=True)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        current = pki.sa_pub_file.read_bytes()
    except OSError:
        current = b""
    if current != public:
        _write(pki.sa_pub_file, public, private=False)


# -- token file ------------------------------------------------------------------------------


def read_token_file(path: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(token, user, uid, groups) of each line, as kube's tokenfile authenticator reads them
    (CSV; groups optional, comma-separated in the fourth column)."""
    out: list[tuple[str, str, str, tuple[str, ...]]] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 3 or not row[0]:
                continue
            groups = tuple(g for g in row[3].split(",") if g) if len(row) > 3 else ()
            out.append((row[0], row[1], row[2], groups))
    return out


def _ensure_tokens(path: Path) -> dict[str, str]:
    """The token of each TokenIdentity (by name). Lines already in the file are kept (and their
    tokens reused); a line is added for each identity the file lacks."""
    try:
        text = path.read_text(encoding="utf-8")
        rows = read_token_file(path)
    except OSError:
        text, rows = "", []
    by_user = {(user, groups): token for token, user, _uid, groups in rows}
    tokens: dict[str, str] = {}
    added: list[str] = []
    for ident in TOKENS:
        token = by_user.get((ident.user, ident.groups))
        if token is None:
            token = secrets.token_urlsafe(32)
            added.append(f'{token},{ident.user},{uuid.uuid4()},"{",".join(ident.groups)}"\n')
        tokens[ident.name] = token
    if added:
        if text and not text.endswith("\n"):
            text += "\n"
        _write(path, (text + "".join(added)).encode(), private=True)
    return tokens


# -- kubeconfig ------------------------------------------------------------------------------


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig_data(pki: DevPki, port: int) -> dict[str, Any]:
    """The kubeconfig (credentials inline, so it can be copied anywhere alone)."""
    users: list[dict[str, Any]] = [
        {
            "name": client.file,
            "user": {
                "client-certificate-data": _b64(pki.client_cert_file(client.file)),
                "client-key-data": _b64(pki.client_key_file(client.file)),
            },
        }
        for client in CLIENTS
    ]
    users.extend({"name": t.name, "user": {"token": pki.tokens[t.name]}} for t in TOKENS)
    contexts: list[dict[str, Any]] = []
    for name, (user, namespace) in CONTEXTS.items():
        context: dict[str, str] = {"cluster": CLUSTER_NAME, "user": user}
        if namespace:
            context["namespace"] = namespace
        contexts.append({"name": name, "context": context})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {
                    "server": f"https://127.0.0.1:{port}",
                    "certificate-authority-data": _b64(pki.ca_file),
                },
            }
        ],
        "users": users,
        "contexts": contexts,
        "current-context": CURRENT_CONTEXT,
    }


def write_kubeconfig(pki: DevPki, port: int) -> Path:
    data = yaml.safe_dump(kubeconfig_data(pki, port), sort_keys=False)
    _write(pki.kubeconfig, data.encode(), private=True)
    return pki.kubeconfig
