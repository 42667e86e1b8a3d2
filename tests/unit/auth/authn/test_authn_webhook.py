"""auth/authn/webhook.py against a real TokenReview server on 127.0.0.1 (plain and mutual TLS)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from watchproxy.auth.authn.errors import AuthenticationError
from watchproxy.auth.authn.webhook import WebhookTokenAuthenticator
from watchproxy.auth.settings import WebhookSettings

USERS = {
    "good": {"username": "jane", "uid": "42", "groups": ["dev"], "extra": {"scopes": ["a", "b"]}},
    "slow": {"username": "slow-user"},
}


class Reviewer(BaseHTTPRequestHandler):
    calls: Counter[str] = Counter()
    bodies: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = body["spec"]["token"]
        type(self).calls[token] += 1
        type(self).bodies.append(body)
        if token == "slow":
            time.sleep(0.3)
        if token == "boom":
            self._reply(500, b"internal error")
            return
        if token == "garbage":
            self._reply(200, b"{not json")
            return
        status: dict[str, Any] = {"authenticated": False}
        if token in USERS:
            status = {"authenticated": True, "user": USERS[token]}
        elif token == "with-error":
            status = {"authenticated": False, "error": "token revoked"}
        elif token == "other-audience":
            status = {"authenticated": True, "user": {"username": "x"}, "audiences": ["other"]}
        reply = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}
        self._reply(200, json.dumps(reply).encode())

    def _reply(self, code: int, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(context: ssl.SSLContext | None = None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Reviewer)
    scheme = "http"
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/review"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    yield from serve()


@pytest.fixture(autouse=True)
def reset() -> None:
    Reviewer.calls.clear()
    Reviewer.bodies.clear()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(url: str, clock: Clock | None = None, **kwargs: Any) -> WebhookTokenAuthenticator:
    settings = WebhookSettings(url=url, cache_ttl_seconds=120.0, timeout_seconds=2.0)
    return WebhookTokenAuthenticator(
        settings, api_audiences=("api",), clock=clock or Clock(), **kwargs
    )


async def test_authenticated_user_and_request_shape(url: str) -> None:
    webhook = make(url)
    try:
        response = await webhook.authenticate_token("good", ["api"])
    finally:
        await webhook.aclose()
    assert response is not None
    user = response.user
    assert (user.name, user.uid, user.groups) == ("jane", "42", ("dev",))
    assert dict(user.extra) == {"scopes": ("a", "b")}
    assert response.audiences == ("api",)  # no status.audiences: the API audiences
    body = Reviewer.bodies[0]
    assert body["apiVersion"] == "authentication.k8s.io/v1"
    assert body["kind"] == "TokenReview"
    assert body["spec"] == {"token": "good", "audiences": ["api"]}


async def test_success_and_refusal_are_cached_for_the_ttl(url: str) -> None:
    clock = Clock()
    webhook = make(url, clock)
    try:
        for _ in range(3):
            assert await webhook.authenticate("good", ["api"]) is not None
            assert await webhook.authenticate("bad", ["api"]) is None
        assert Reviewer.calls == {"good": 1, "bad": 1}
        # Other audiences are another cache entry.
        assert await webhook.authenticate("good") is not None
        assert Reviewer.calls["good"] == 2
        clock.now += 119
        assert await webhook.authenticate("good", ["api"]) is not None
        assert await webhook.authenticate("bad", ["api"]) is None
        assert Reviewer.calls == {"good": 2, "bad": 1}
        clock.now += 2  # past kube's TTL for both
        assert await webhook.authenticate("good", ["api"]) is not None
        assert await webhook.authenticate("bad", ["api"]) is None
        assert Reviewer.calls == {"good": 3, "bad": 2}
    finally:
        await webhook.aclose()


async def test_shorter_failure_ttl(url: str) -> None:
    clock = Clock()
    webhook = make(url, clock, failure_ttl_seconds=10)
    try:
        await webhook.authenticate("bad")
        clock.now += 11
        await webhook.authenticate("bad")
        await webhook.authenticate("good")
        clock.now += 11
        await webhook.authenticate("good")
    finally:
        await webhook.aclose()
    assert Reviewer.calls == {"bad": 2, "good": 1}


@pytest.mark.parametrize("token", ["boom", "garbage", "with-error"])
async def test_errors_are_not_cached(url: str, token: str) -> None:
    webhook = make(url)
    try:
        for _ in range(2):
            with pytest.raises(AuthenticationError) as err:
                await webhook.authenticate_token(token)
            assert token not in err.value.reason or token == "with-error"
        assert await webhook.authenticate(token) is None
    finally:
        await webhook.aclose()
    assert Reviewer.calls[token] == 3
    assert webhook.cached_entries() == 0


async def test_status_error_is_the_reason(url: str) -> None:
    webhook = make(url)
    try:
        with pytest.raises(AuthenticationError, match=r"^token revoked$"):
            await webhook.authenticate_token("with-error")
    finally:
        await webhook.aclose()


async def test_webhook_down_is_an_error_without_the_token(caplog: pytest.LogCaptureFixture) -> None:
    webhook = make("http://127.0.0.1:9/review")  # discard port: connection refused
    try:
        with pytest.raises(AuthenticationError) as err:
            await webhook.authenticate_token("secret-token-value")
    finally:
        await webhook.aclose()
    assert err.value.reason.startswith("Post http://127.0.0.1:9/review: ConnectError")
    assert "secret-token-value" not in caplog.text
    assert "Failed to make webhook authenticator request" in caplog.text


async def test_audiences_must_intersect(url: str) -> None:
    webhook = make(url)
    try:
        assert await webhook.authenticate("other-audience", ["api"]) is None
        response = await webhook.authenticate_token("other-audience", ["other", "api"])
        assert response is not None and response.audiences == ("other",)
        # Not audience-limited: no audience check at all.
        assert await webhook.authenticate("other-audience") is not None
    finally:
        await webhook.aclose()


async def test_concurrent_requests_share_one_call(url: str) -> None:
    webhook = make(url)
    try:
        users = await asyncio.gather(*(webhook.authenticate("slow", ["api"]) for _ in range(10)))
    finally:
        await webhook.aclose()
    assert {u.name if u else None for u in users} == {"slow-user"}
    assert Reviewer.calls["slow"] == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_call(url: str) -> None:
    webhook = make(url)
    try:
        first = asyncio.ensure_future(webhook.authenticate("slow"))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(webhook.authenticate("slow"))
        await asyncio.sleep(0.01)
        first.cancel()
        user = await second
        assert user is not None and user.name == "slow-user"
        assert await webhook.authenticate("slow") is not None  # cached by then
    finally:
        await webhook.aclose()
    assert Reviewer.calls["slow"] == 1


# -- mutual TLS ------------------------------------------------------------------------------------


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        assert issuer is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
            critical=False,
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _write(path: Path, *items: Any) -> str:
    data = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            data += item.public_bytes(serialization.Encoding.PEM)
        else:
            data += item.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test-ca", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("webhook", server_key, (ca, ca_key), server=True)
    client = _cert("apiserver", client_key, (ca, ca_key))
    return {
        "ca": _write(tmp / "ca.pem", ca),
        "server_cert": _write(tmp / "server.pem", server),
        "server_key": _write(tmp / "server.key", server_key),
        "client_cert": _write(tmp / "client.pem", client),
        "client_key": _write(tmp / "client.key", client_key),
    }


@pytest.fixture(scope="module")
def tls_url(pki: dict[str, str]) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(pki["server_cert"], pki["server_key"])
    yield from serve(context)


async def test_mutual_tls(tls_url: str, pki: dict[str, str]) -> None:
    settings = WebhookSettings(
        url=tls_url,
        ca_file=pki["ca"],
        cert_file=pki["client_cert"],
        key_file=pki["client_key"],
        timeout_seconds=2.0,
    )
    webhook = WebhookTokenAuthenticator(settings)
    try:
        user = await webhook.authenticate("good")
    finally:
        await webhook.aclose()
    assert user is not None and user.name == "jane"


async def test_tls_without_client_certificate_fails(tls_url: str, pki: dict[str, str]) -> None:
    webhook = WebhookTokenAuthenticator(
        WebhookSettings(url=tls_url, ca_file=pki["ca"], timeout_seconds=2.0)
    )
    try:
        with pytest.raises(AuthenticationError):
            await webhook.authenticate_token("good")
    finally:
        await webhook.aclose()
    assert Reviewer.calls["good"] == 0
