"""auth/authn/serviceaccount.py: bound and legacy ServiceAccount JWTs, keys, TokenRequest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from watchproxy.auth.authn.errors import AuthenticationError, TokenRequestError
from watchproxy.auth.authn.serviceaccount import (
    CREDENTIAL_ID_KEY,
    INVALID_SINCE_LABEL,
    LEGACY_ISSUER,
    NODE_NAME_KEY,
    NODE_UID_KEY,
    POD_NAME_KEY,
    POD_UID_KEY,
    ServiceAccountAuthenticator,
    key_id,
    load_private_key,
    load_public_keys,
)
from watchproxy.auth.authn.tokenrequest import (
    TokenIssuer,
    resolve_bound_object,
    validate_token_request,
)
from watchproxy.auth.settings import AuthenticationSettings

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC384_KEY = ec.generate_private_key(ec.SECP384R1())
ISSUER = "https://kubernetes.default.svc"
API = (ISSUER,)
NOW = datetime(2030, 1, 1, tzinfo=UTC)
T = int(NOW.timestamp())


def pem_private(key: Any, fmt: serialization.PrivateFormat) -> bytes:
    return bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))


def pem_public(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def self_signed_pem(key: Any) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sa-signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def meta(name: str, uid: str, namespace: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "uid": uid, **extra}
    if namespace:
        out["namespace"] = namespace
    return out


@pytest.fixture
def cluster(object_source: Any) -> Any:
    src = object_source
    src.put(
        "serviceaccounts", {"kind": "ServiceAccount", "metadata": meta("builder", "sa-1", "ci")}
    )
    src.put(
        "pods",
        {
            "kind": "Pod",
            "metadata": meta("runner", "pod-1", "ci"),
            "spec": {"serviceAccountName": "builder", "nodeName": "node-a"},
        },
    )
    src.put("nodes", {"kind": "Node", "metadata": meta("node-a", "node-1")})
    src.put("secrets", {"kind": "Secret", "metadata": meta("bound", "sec-1", "ci")})
    return src


def authenticator(source: Any, *, keys: Any = None, **kwargs: Any) -> ServiceAccountAuthenticator:
    options: dict[str, Any] = {
        "keys": keys if keys is not None else [RSA_KEY.public_key(), EC_KEY.public_key()],
        "issuers": [ISSUER],
        "api_audiences": API,
        "source": source,
        "clock": lambda: float(T),
    }
    options.update(kwargs)
    return ServiceAccountAuthenticator(**options)


def bound_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "aud": list(API),
        "exp": T + 3600,
        "iat": T,
        "iss": ISSUER,
        "jti": "jti-1",
        "kubernetes.io": {
            "namespace": "ci",
            "serviceaccount": {"name": "builder", "uid": "sa-1"},
        },
        "nbf": T,
        "sub": "system:serviceaccount:ci:builder",
    }
    claims.update(changes)
    return claims


def sign(
    claims: dict[str, Any], key: Any = RSA_KEY, alg: str = "RS256", kid: str | None = None
) -> str:
    """A JWS of exactly these claims (PyJWT's JWT layer would refuse some malformed ones)."""
    headers = {"kid": kid} if kid is not None else None
    return jwt.api_jws.encode(json.dumps(claims).encode(), key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(auth: ServiceAccountAuthenticator, token: str, **kwargs: Any) -> str:
    with pytest.raises(AuthenticationError) as err:
        auth.authenticate_token(token, **kwargs)
    return err.value.reason


@pytest.fixture
def issuer(tmp_path: Path, cluster: Any) -> TokenIssuer:
    path = tmp_path / "signing.key"
    path.write_bytes(pem_private(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL))
    return TokenIssuer(path, ISSUER, api_audiences=API, source=cluster)


# -- issue and verify ------------------------------------------------------------------------------


def test_issued_token_round_trip(issuer: TokenIssuer, cluster: Any) -> None:
    sa = cluster.get("serviceaccounts", "ci", "builder")
    token, expires = issuer.issue(
        namespace="ci", service_account=sa, expiration_seconds=3600, now=NOW
    )
    assert expires == NOW + timedelta(seconds=3600)
    header_b64, payload_b64, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    assert header == {"alg": "RS256", "kid": key_id(RSA_KEY.public_key())}  # no typ, as kube
    raw_payload = base64.urlsafe_b64decode(payload_b64 + "==")
    claims = json.loads(raw_payload)
    assert list(claims) == sorted(claims)
    assert claims["aud"] == [ISSUER]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (T, T, T + 3600)
    assert claims["sub"] == "system:serviceaccount:ci:builder"
    assert claims["kubernetes.io"] == {
        "namespace": "ci",
        "serviceaccount": {"name": "builder", "uid": "sa-1"},
    }

    response = authenticator(cluster).authenticate_token(token)
    assert response is not None
    user = response.user
    assert user.name == "system:serviceaccount:ci:builder"
    assert user.uid == "sa-1"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ci")
    assert dict(user.extra) == {CREDENTIAL_ID_KEY: (f"JTI={claims['jti']}",)}
    assert response.audiences == API


def test_kid_is_sha256_of_pkix_der(tmp_path: Path) -> None:
    der = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    assert key_id(RSA_KEY.public_key()) == expected
    assert "=" not in expected and len(expected) == 43


def test_pod_bound_token_carries_pod_and_node(issuer: TokenIssuer, cluster: Any) -> None:
    sa = cluster.get("serviceaccounts", "ci", "builder")
    pod = resolve_bound_object(
        {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "runner", "uid": "pod-1"}},
        service_account="builder",
        namespace="ci",
        source=cluster,
    )
    token, _ = issuer.issue(namespace="ci", service_account=sa, bound_object=pod, now=NOW)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["kubernetes.io"]["pod"] == {"name": "runner", "uid": "pod-1"}
    assert claims["kubernetes.io"]["node"] == {"name": "node-a", "uid": "node-1"}
    response = authenticator(cluster).authenticate_token(token)
    assert response is not None
    extra = dict(response.user.extra)
    assert extra[POD_NAME_KEY] == ("runner",)
    assert extra[POD_UID_KEY] == ("pod-1",)
    assert extra[NODE_NAME_KEY] == ("node-a",)
    assert extra[NODE_UID_KEY] == ("node-1",)


def runner_token(issuer: TokenIssuer, cluster: Any) -> tuple[dict[str, Any], str]:
    """Pod ci/runner and a token of ServiceAccount ci/builder bound to it."""
    sa = cluster.get("serviceaccounts", "ci", "builder")
    pod = cluster.get("pods", "ci", "runner")
    token, _ = issuer.issue(namespace="ci", service_account=sa, bound_object=pod, now=NOW)
    return pod, token


def test_pod_on_unknown_node_gets_node_name_only(issuer: TokenIssuer, cluster: Any) -> None:
    cluster.delete("nodes", "", "node-a")
    _, token = runner_token(issuer, cluster)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["kubernetes.io"]["node"] == {"name": "node-a"}
    response = authenticator(cluster).authenticate_token(token)
    assert response is not None
    assert NODE_NAME_KEY in response.user.extra and NODE_UID_KEY not in response.user.extra


def test_bound_pod_deleted_or_recreated_invalidates_token(
    issuer: TokenIssuer, cluster: Any
) -> None:
    pod, token = runner_token(issuer, cluster)
    auth = authenticator(cluster)
    assert auth.authenticate_token(token) is not None
    cluster.delete("pods", "ci", "runner")
    assert refused(auth, token) == "service account token has been invalidated"
    cluster.put("pods", {**pod, "metadata": meta("runner", "pod-2", "ci")})
    assert refused(auth, token) == (
        "pod UID (pod-2) does not match service account pod ref claim (pod-1)"
    )


def test_terminating_pod_keeps_its_token_until_the_leeway_passes(
    issuer: TokenIssuer, cluster: Any
) -> None:
    pod, token = runner_token(issuer, cluster)
    auth = authenticator(cluster)

    def deleting(at: datetime) -> None:
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        cluster.put("pods", {**pod, "metadata": {**pod["metadata"], "deletionTimestamp": stamp}})

    deleting(NOW + timedelta(seconds=30))  # graceful deletion: the timestamp is in the future
    assert auth.authenticate_token(token) is not None
    deleting(NOW - timedelta(seconds=59))
    assert auth.authenticate_token(token) is not None
    deleting(NOW - timedelta(seconds=61))
    assert refused(auth, token) == "service account token has been invalidated"


def test_service_account_deleted_or_recreated(cluster: Any) -> None:
    auth = authenticator(cluster)
    token = sign(bound_claims())
    assert auth.authenticate_token(token) is not None
    sa = cluster.get("serviceaccounts", "ci", "builder")
    cluster.put("serviceaccounts", {**sa, "metadata": meta("builder", "sa-2", "ci")})
    assert refused(auth, token) == "service account UID (sa-2) does not match claim (sa-1)"
    cluster.delete("serviceaccounts", "ci", "builder")
    assert refused(auth, token) == 'serviceaccounts "builder" not found'
    stamp = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.put(
        "serviceaccounts",
        {**sa, "metadata": {**sa["metadata"], "deletionTimestamp": stamp}},
    )
    assert refused(auth, token) == "service account ci/builder has been deleted"


def test_secret_and_node_bound_tokens(cluster: Any) -> None:
    auth = authenticator(cluster)
    secret_claims = bound_claims()
    secret_claims["kubernetes.io"]["secret"] = {"name": "bound", "uid": "sec-1"}
    assert auth.authenticate_token(sign(secret_claims)) is not None
    cluster.delete("secrets", "ci", "bound")
    assert refused(auth, sign(secret_claims)) == "service account token has been invalidated"

    node_claims = bound_claims()
    node_claims["kubernetes.io"]["node"] = {"name": "node-a", "uid": "node-1"}
    response = auth.authenticate_token(sign(node_claims))
    assert response is not None and response.user.extra[NODE_UID_KEY] == ("node-1",)
    cluster.put("nodes", {"kind": "Node", "metadata": meta("node-a", "node-9")})
    assert "node UID (node-9) does not match" in refused(auth, sign(node_claims))


# -- signature, algorithm, issuer, audience, time --------------------------------------------------


def test_wrong_signature_is_refused(cluster: Any) -> None:
    assert refused(authenticator(cluster), sign(bound_claims(), key=OTHER_RSA_KEY)) == (
        "[go-jose/go-jose: error in cryptographic primitive,"
        " go-jose/go-jose: unexpected signature algorithm 'RS256']"
    )


def test_tampered_payload_is_refused(cluster: Any) -> None:
    header, _, signature = sign(bound_claims()).split(".")
    evil = b64(json.dumps(bound_claims(sub="system:serviceaccount:ci:admin")).encode())
    assert "cryptographic primitive" in refused(
        authenticator(cluster), f"{header}.{evil}.{signature}"
    )


def test_unknown_kid_finds_no_key(cluster: Any) -> None:
    token = sign(bound_claims(), kid="nope")
    assert refused(authenticator(cluster), token) == "invalid signature, no keys found"


def test_kid_selects_the_key(cluster: Any) -> None:
    token = sign(bound_claims(), key=EC_KEY, alg="ES256", kid=key_id(EC_KEY.public_key()))
    assert authenticator(cluster).authenticate_token(token) is not None


def test_alg_none_is_refused(cluster: Any) -> None:
    token = jwt.encode(bound_claims(), None, algorithm="none")  # type: ignore[arg-type]
    assert token.endswith(".")
    reason = refused(authenticator(cluster), token)
    assert "unexpected signature algorithm 'none'" in reason


def test_hs256_with_the_public_key_as_secret_is_refused(cluster: Any) -> None:
    secret = pem_public(RSA_KEY)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(bound_claims()).encode())
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64(mac)}"
    # A valid HS256 token for that secret (PyJWT itself refuses PEM keys as HMAC secrets), which
    # must not be a ServiceAccount token.
    assert "unexpected signature algorithm 'HS256'" in refused(authenticator(cluster), token)


def test_es256_signed_with_a_p384_key_is_refused(cluster: Any) -> None:
    # The algorithm must fit the key: ES256 means P-256.
    token = sign(bound_claims(), key=EC384_KEY, alg="ES384")
    keys = [EC384_KEY.public_key()]
    assert authenticator(cluster, keys=keys).authenticate_token(token) is not None
    forged = token.split(".")
    forged[0] = b64(json.dumps({"alg": "ES256"}).encode())
    assert "unexpected signature algorithm 'ES256'" in refused(
        authenticator(cluster, keys=keys), ".".join(forged)
    )


def test_unknown_issuer_is_not_ours(cluster: Any) -> None:
    auth = authenticator(cluster)
    assert auth.authenticate_token(sign(bound_claims(iss="https://elsewhere"))) is None
    assert auth.authenticate_token(sign(bound_claims(iss=None))) is None


@pytest.mark.parametrize("token", ["opaque-token", "a.b", "{}.e30.x", "a.b.c.d", "e30=.e30.x"])
def test_non_jwt_is_not_ours(cluster: Any, token: str) -> None:
    assert authenticator(cluster).authenticate_token(token) is None


def test_a_payload_nested_too_deep_is_not_ours(cluster: Any) -> None:
    """A bearer token whose payload nests deeper than the interpreter's stack: not a token of
    ours (the next authenticator is asked), never an exception (a 500 for any request)."""
    deep = ("[" * 20000 + "]" * 20000).encode()
    token = ".".join([b64(b'{"alg":"RS256"}'), b64(deep), "c2ln"])
    assert authenticator(cluster).authenticate_token(token) is None


def test_wrong_audience_is_refused(cluster: Any) -> None:
    auth = authenticator(cluster)
    token = sign(bound_claims(aud=["vault"]))
    assert refused(auth, token) == (
        'token audiences ["vault"] is invalid for the target audiences'
        ' ["https://kubernetes.default.svc"]'
    )
    response = auth.authenticate_token(token, audiences=["vault", "other"])
    assert response is not None and response.audiences == ("vault",)
    assert auth.authenticate_token(sign(bound_claims(aud=ISSUER))) is not None


def test_expiry_with_kube_leeway(cluster: Any) -> None:
    auth = authenticator(cluster)
    assert auth.authenticate_token(sign(bound_claims(exp=T - 59))) is not None
    assert refused(auth, sign(bound_claims(exp=T - 61))) == "service account token has expired"


def test_not_before_in_the_future(cluster: Any) -> None:
    auth = authenticator(cluster)
    assert auth.authenticate_token(sign(bound_claims(nbf=T + 59))) is not None
    assert refused(auth, sign(bound_claims(nbf=T + 61))) == (
        "service account token is not valid yet"
    )


def test_issued_in_the_future(cluster: Any) -> None:
    assert refused(authenticator(cluster), sign(bound_claims(iat=T + 120))) == (
        "service account token is issued in the future"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"kubernetes.io": "ci"},
        {"exp": "tomorrow"},
        {"aud": [1]},
        {"kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": 5}}},
    ],
)
def test_malformed_claims_are_refused(cluster: Any, changes: dict[str, Any]) -> None:
    refused(authenticator(cluster), sign(bound_claims(**changes)))


def test_b64_false_header_is_refused(cluster: Any) -> None:
    claims = bound_claims()
    header = b64(json.dumps({"alg": "RS256", "b64": False, "crit": ["b64"]}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = RSA_KEY.sign(f"{header}.{payload}".encode(), *_pkcs1_sha256())
    token = f"{header}.{payload}.{b64(signature)}"
    # Signed over the base64 payload, so only the unencoded-payload header makes it special:
    # go-jose knows no b64 header; such a token is not a ServiceAccount token.
    assert authenticator(cluster).authenticate_token(token) is None
    plain = b64(json.dumps({"alg": "RS256"}).encode())
    resigned = RSA_KEY.sign(f"{plain}.{payload}".encode(), *_pkcs1_sha256())
    assert authenticator(cluster).authenticate_token(f"{plain}.{payload}.{b64(resigned)}")


def _pkcs1_sha256() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256()


# -- legacy tokens ---------------------------------------------------------------------------------


def legacy_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": LEGACY_ISSUER,
        "sub": "system:serviceaccount:ci:builder",
        "kubernetes.io/serviceaccount/namespace": "ci",
        "kubernetes.io/serviceaccount/secret.name": "builder-token",
        "kubernetes.io/serviceaccount/service-account.name": "builder",
        "kubernetes.io/serviceaccount/service-account.uid": "sa-1",
    }
    claims.update(changes)
    return claims


def put_token_secret(cluster: Any, token: str, **meta_extra: Any) -> None:
    cluster.put(
        "secrets",
        {
            "kind": "Secret",
            "metadata": meta("builder-token", "tok-1", "ci", **meta_extra),
            "type": "kubernetes.io/service-account-token",
            "data": {"token": base64.b64encode(token.encode()).decode()},
        },
    )


def test_legacy_token_with_lookup(cluster: Any) -> None:
    token = sign(legacy_claims())
    auth = authenticator(cluster)
    assert refused(auth, token) == "Token has been invalidated"  # no Secret
    put_token_secret(cluster, token)
    response = auth.authenticate_token(token)
    assert response is not None
    assert response.user.name == "system:serviceaccount:ci:builder"
    assert response.user.uid == "sa-1"
    assert dict(response.user.extra) == {}
    assert response.audiences == API
    # Only the API audiences are allowed for legacy tokens.
    assert "is invalid for the target audiences" in refused(auth, token, audiences=["vault"])


def test_legacy_token_refusals(cluster: Any) -> None:
    token = sign(legacy_claims())
    auth = authenticator(cluster)
    put_token_secret(cluster, sign(legacy_claims(extra="other")))
    assert refused(auth, token) == "Token does not match server's copy"
    put_token_secret(cluster, token, labels={INVALID_SINCE_LABEL: "2029-01-01"})
    assert "has been marked invalid" in refused(auth, token)
    put_token_secret(cluster, token)
    sa = cluster.get("serviceaccounts", "ci", "builder")
    cluster.put("serviceaccounts", {**sa, "metadata": meta("builder", "sa-2", "ci")})
    assert refused(auth, token) == "ServiceAccount UID (sa-2) does not match claim (sa-1)"
    put_token_secret(cluster, token, deletionTimestamp="2030-01-01T00:00:00Z")
    assert refused(auth, token) == "Token has been invalidated"


def test_legacy_token_claim_checks(cluster: Any) -> None:
    auth = authenticator(cluster)
    missing = legacy_claims()
    del missing["kubernetes.io/serviceaccount/secret.name"]
    assert refused(auth, sign(missing)) == "secretName claim is missing"
    other_sub = legacy_claims(sub="system:serviceaccount:ci:admin")
    assert refused(auth, sign(other_sub)) == "sub claim is invalid"


def test_legacy_token_without_lookup_needs_no_secret(cluster: Any) -> None:
    token = sign(legacy_claims())
    assert authenticator(cluster, lookup=False).authenticate_token(token) is not None
    assert authenticator(cluster, legacy=False).authenticate_token(token) is None


# -- keys ------------------------------------------------------------------------------------------


def test_public_keys_from_mixed_pem_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.pem"
    path.write_bytes(
        self_signed_pem(RSA_KEY)
        + b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
        + pem_public(EC_KEY)
        + pem_private(OTHER_RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL)
        + pem_private(EC384_KEY, serialization.PrivateFormat.TraditionalOpenSSL)
    )
    keys = load_public_keys(path)
    assert [key_id(k) for k in keys] == [
        key_id(RSA_KEY.public_key()),
        key_id(EC_KEY.public_key()),
        key_id(OTHER_RSA_KEY.public_key()),
        key_id(EC384_KEY.public_key()),
    ]


def test_file_without_keys_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.pem"
    path.write_text("nothing here\n")
    with pytest.raises(ValueError, match="does not contain any valid RSA or ECDSA public keys"):
        load_public_keys(path)
    with pytest.raises(ValueError, match="does not contain a valid RSA or ECDSA private key"):
        load_private_key(path)


def test_from_settings_adds_the_signing_key(tmp_path: Path, cluster: Any) -> None:
    signing = tmp_path / "sa.key"
    signing.write_bytes(pem_private(EC_KEY, serialization.PrivateFormat.PKCS8))
    verify = tmp_path / "sa.pub"
    verify.write_bytes(pem_public(RSA_KEY))
    settings = AuthenticationSettings(
        service_account_key_files=(str(verify),),
        service_account_signing_key_file=str(signing),
        service_account_issuers=(ISSUER,),
    )
    auth = ServiceAccountAuthenticator.from_settings(settings, cluster)
    assert auth is not None
    issuer = TokenIssuer.from_settings(settings, cluster)
    assert issuer is not None and issuer.algorithm == "ES256"
    sa = cluster.get("serviceaccounts", "ci", "builder")
    token, _ = issuer.issue(namespace="ci", service_account=sa)
    assert auth.authenticate_token(token) is not None
    assert auth.authenticate_token(sign(bound_claims(exp=2**40, iat=None, nbf=None))) is not None


# -- TokenRequest ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "causes"),
    [
        (None, []),
        (600, []),
        (2**32, []),
        (
            599,
            [
                (
                    "FieldValueInvalid",
                    "spec.expirationSeconds",
                    "Invalid value: 599: may not specify a duration less than 10 minutes",
                )
            ],
        ),
        (
            2**32 + 1,
            [
                (
                    "FieldValueInvalid",
                    "spec.expirationSeconds",
                    "Invalid value: 4294967297: may not specify a duration larger than 2^32"
                    " seconds",
                )
            ],
        ),
    ],
)
def test_validate_token_request(seconds: int | None, causes: list[tuple[str, str, str]]) -> None:
    spec = {} if seconds is None else {"expirationSeconds": seconds}
    assert validate_token_request(spec) == causes


def test_max_expiration_shortens(tmp_path: Path, cluster: Any) -> None:
    path = tmp_path / "k"
    path.write_bytes(pem_private(RSA_KEY, serialization.PrivateFormat.PKCS8))
    issuer = TokenIssuer(path, ISSUER, api_audiences=API, max_expiration_seconds=7200)
    assert issuer.expiration_for(10000) == (
        7200,
        "requested expiration of 10000 seconds shortened to 7200 seconds",
    )
    assert issuer.expiration_for(3600) == (3600, None)
    sa = cluster.get("serviceaccounts", "ci", "builder")
    token, expires = issuer.issue(
        namespace="ci", service_account=sa, audiences=["vault"], expiration_seconds=10000, now=NOW
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["aud"] == ["vault"]
    assert expires == NOW + timedelta(seconds=7200)


def bound_ref(**ref: Any) -> dict[str, Any]:
    return {"boundObjectRef": {"apiVersion": "v1", **ref}}


def test_resolve_bound_object(cluster: Any) -> None:
    def resolve(spec: dict[str, Any]) -> Any:
        return resolve_bound_object(spec, service_account="builder", namespace="ci", source=cluster)

    assert resolve({}) is None
    assert resolve(bound_ref(kind="Secret", name="bound"))["metadata"]["uid"] == "sec-1"
    node = resolve(bound_ref(kind="Node", name="node-a", uid="node-1"))
    assert node["kind"] == "Node"

    def error(spec: dict[str, Any]) -> TokenRequestError:
        with pytest.raises(TokenRequestError) as err:
            resolve(spec)
        return err.value

    bad_kind = error({"boundObjectRef": {"apiVersion": "apps/v1", "kind": "Pod", "name": "x"}})
    assert (bad_kind.code, bad_kind.message) == (
        400,
        "cannot bind token to object of type apps/v1, Kind=Pod",
    )
    assert error(bound_ref(kind="ConfigMap", name="x")).message == (
        "cannot bind token to object of type /v1, Kind=ConfigMap"
    )
    missing = error(bound_ref(kind="Pod", name="ghost"))
    assert (missing.code, missing.reason, missing.message) == (
        404,
        "NotFound",
        'pods "ghost" not found',
    )
    assert error(bound_ref(kind="Pod", name="")).message == "Name parameter required."
    assert error(bound_ref(kind="Node", name="a/b%c")).message == (
        "Name parameter invalid: \"a/b%c\": may not contain '/';may not contain '%'"
    )
    cluster.put(
        "pods",
        {
            "kind": "Pod",
            "metadata": meta("other", "pod-9", "ci"),
            "spec": {"serviceAccountName": "x"},
        },
    )
    assert error(bound_ref(kind="Pod", name="other")).message == (
        'cannot bind token for serviceaccount "builder" to pod running with different'
        " serviceaccount name."
    )
    conflict = error(bound_ref(kind="Pod", name="runner", uid="pod-0"))
    assert (conflict.code, conflict.reason) == (409, "Conflict")
    assert conflict.message == (
        'Operation cannot be fulfilled on Pod "runner": the UID in the bound object reference'
        " (pod-0) does not match the UID in record. The object might have been deleted and then"
        " recreated"
    )
