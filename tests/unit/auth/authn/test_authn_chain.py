"""auth/authn/chain.py: kube's authenticator union, anonymous, TokenReview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from watchproxy.auth.authn.chain import Authenticator, Outcome, ReviewResult
from watchproxy.auth.authn.errors import AuthenticationError, TokenResponse
from watchproxy.auth.authn.tokenrequest import TokenIssuer
from watchproxy.auth.settings import AuthenticationSettings
from watchproxy.auth.user import ANONYMOUS_USER, UserInfo

KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER = "https://kubernetes.default.svc"


def client_cert(cn: str, *, expired: bool = False) -> bytes:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    return self_signed(subject, expired=expired)


def self_signed(subject: x509.Name, *, expired: bool = False) -> bytes:
    """A DER certificate of `subject` over KEY, issued by itself."""
    now = datetime.now(UTC)
    end = now - timedelta(minutes=1) if expired else now + timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(KEY.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(hours=2))
        .not_valid_after(end)
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('static-token,admin,uid-admin,"system:masters"\n')
    key = tmp_path / "sa.key"
    key.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca = tmp_path / "ca.pem"
    ca.write_text("not read by the authenticator\n")
    return {"tokens": str(tokens), "key": str(key), "ca": str(ca)}


def settings(files: dict[str, str], **changes: Any) -> AuthenticationSettings:
    values: dict[str, Any] = {
        "client_ca_file": files["ca"],
        "token_auth_file": files["tokens"],
        "service_account_signing_key_file": files["key"],
        "service_account_issuers": (ISSUER,),
    }
    values.update(changes)
    return AuthenticationSettings(**values)


@pytest.fixture
def cluster(object_source: Any) -> Any:
    object_source.put(
        "serviceaccounts",
        {"kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "ns", "uid": "u1"}},
    )
    return object_source


def sa_token(files: dict[str, str], cluster: Any, audiences: tuple[str, ...] = ()) -> str:
    issuer = TokenIssuer.from_settings(settings(files), cluster)
    assert issuer is not None
    sa = cluster.get("serviceaccounts", "ns", "sa")
    token, _ = issuer.issue(namespace="ns", service_account=sa, audiences=audiences)
    return token


async def test_client_certificate_wins(files: dict[str, str], cluster: Any) -> None:
    auth = Authenticator.from_settings(settings(files), cluster)
    result = await auth.authenticate(
        client_cert_der=client_cert("alice"), authorization="Bearer unknown"
    )
    assert result.outcome is Outcome.AUTHENTICATED and result.method == "x509"
    assert result.user == UserInfo("alice", groups=("system:masters", "system:authenticated"))


async def test_certificates_ignored_without_client_ca(files: dict[str, str], cluster: Any) -> None:
    auth = Authenticator.from_settings(settings(files, client_ca_file=None), cluster)
    result = await auth.authenticate(client_cert_der=client_cert("alice"), authorization=None)
    assert result.outcome is Outcome.NO_CREDENTIALS and not result.ok


async def test_bad_certificate_falls_through_to_the_token(
    files: dict[str, str], cluster: Any
) -> None:
    auth = Authenticator.from_settings(settings(files, anonymous=True), cluster)
    expired = client_cert("alice", expired=True)
    result = await auth.authenticate(client_cert_der=expired, authorization="Bearer static-token")
    assert result.outcome is Outcome.AUTHENTICATED and result.method == "tokenfile"
    assert result.user is not None and result.user.name == "admin"
    alone = await auth.authenticate(client_cert_der=expired, authorization=None)
    assert alone.outcome is Outcome.REFUSED  # never anonymous
    assert alone.reason.startswith("x509: certificate has expired")


async def test_empty_cn_is_like_no_certificate(files: dict[str, str], cluster: Any) -> None:
    auth = Authenticator.from_settings(settings(files, anonymous=True), cluster)
    der = self_signed(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "x")]))
    result = await auth.authenticate(client_cert_der=der, authorization=None)
    assert result.outcome is Outcome.ANONYMOUS and result.user == ANONYMOUS_USER


async def test_service_account_token(files: dict[str, str], cluster: Any) -> None:
    auth = Authenticator.from_settings(settings(files), cluster)
    token = sa_token(files, cluster)
    result = await auth.authenticate(client_cert_der=None, authorization=f"Bearer {token}")
    assert result.outcome is Outcome.AUTHENTICATED and result.method == "serviceaccount"
    assert result.user is not None
    assert result.user.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:ns",
        "system:authenticated",
    )
    assert result.audiences == (ISSUER,)


@pytest.mark.parametrize("anonymous", [True, False])
async def test_refused_token_is_401_even_with_anonymous(
    files: dict[str, str], cluster: Any, anonymous: bool
) -> None:
    auth = Authenticator.from_settings(settings(files, anonymous=anonymous), cluster)
    result = await auth.authenticate(client_cert_der=None, authorization="Bearer nope")
    assert result.outcome is Outcome.REFUSED and result.user is None
    assert result.reason == "invalid bearer token"


async def test_deleted_service_account_token_reason(files: dict[str, str], cluster: Any) -> None:
    auth = Authenticator.from_settings(settings(files, anonymous=True), cluster)
    token = sa_token(files, cluster)
    cluster.delete("serviceaccounts", "ns", "sa")
    result = await auth.authenticate(client_cert_der=None, authorization=f"Bearer {token}")
    assert result.outcome is Outcome.REFUSED
    assert result.reason == 'serviceaccounts "sa" not found'


@pytest.mark.parametrize("header", [None, "", "Basic YTpi", "Bearer"])
async def test_no_bearer_token_is_anonymous_or_401(
    files: dict[str, str], cluster: Any, header: str | None
) -> None:
    anonymous = Authenticator.from_settings(settings(files, anonymous=True), cluster)
    result = await anonymous.authenticate(client_cert_der=None, authorization=header)
    assert result.outcome is Outcome.ANONYMOUS and result.user == ANONYMOUS_USER
    closed = Authenticator.from_settings(settings(files), cluster)
    result = await closed.authenticate(client_cert_der=None, authorization=header)
    assert result.outcome is Outcome.NO_CREDENTIALS and result.user is None


async def test_token_union_order_and_error_aggregation() -> None:
    calls: list[str] = []

    def refuses(token: str, auds: tuple[str, ...] | None) -> TokenResponse | None:
        calls.append("first")
        raise AuthenticationError("first says no")

    def not_mine(token: str, auds: tuple[str, ...] | None) -> TokenResponse | None:
        calls.append("second")
        return None

    async def accepts(token: str, auds: tuple[str, ...] | None) -> TokenResponse | None:
        calls.append("third")
        return TokenResponse(UserInfo("hook-user"), auds or ())

    def never(token: str, auds: tuple[str, ...] | None) -> TokenResponse | None:
        calls.append("fourth")
        return None

    auth = Authenticator(
        client_certificates=False,
        token_authenticators=[("a", refuses), ("b", not_mine), ("c", accepts), ("d", never)],
        api_audiences=("api",),
    )
    result = await auth.authenticate(client_cert_der=None, authorization="Bearer t")
    assert result.method == "c" and result.audiences == ("api",)
    assert calls == ["first", "second", "third"]

    two_errors = Authenticator(
        client_certificates=False,
        token_authenticators=[("a", refuses), ("b", refuses)],
    )
    result = await two_errors.authenticate(client_cert_der=None, authorization="Bearer t")
    assert result.reason == "[first says no, first says no]"


async def test_review(files: dict[str, str], cluster: Any) -> None:
    auth = Authenticator.from_settings(settings(files, anonymous=True), cluster)
    user = await auth.review("static-token")
    assert user is not None and user.groups == ("system:masters", "system:authenticated")

    vault = sa_token(files, cluster, audiences=("vault",))
    assert await auth.review(vault) is None  # not for the API audiences
    status = await auth.review_status(vault, ["vault"])
    assert status.authenticated and status.audiences == ("vault",)
    assert status.to_status()["audiences"] == ["vault"]
    # A token-file token is only good for the API audiences.
    assert not (await auth.review_status("static-token", ["vault"])).authenticated

    refused = await auth.review_status("garbage")
    assert refused == ReviewResult(False, error="invalid bearer token")
    assert refused.to_status() == {"authenticated": False, "error": "invalid bearer token"}
    # As kube: the token is read from "Bearer <token>".
    assert (await auth.review_status("static-token trailing")).authenticated
