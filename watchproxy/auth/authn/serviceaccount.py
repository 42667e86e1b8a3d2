"""ServiceAccount tokens: offline JWT verification, and the keys and claims shared with the
TokenRequest issuer (tokenrequest.py).

Sources (kubernetes/kubernetes):

* pkg/serviceaccount/jwt.go: `JWTTokenAuthenticator` (issuer pre-check on the unverified
  payload, key choice by `kid`, signature, issuer, audiences), `keyIDFromPublicKey`,
  `JWTTokenGenerator` (RS256 for RSA keys, ES256/384/512 by curve);
* pkg/serviceaccount/claims.go: bound tokens (`Claims`, the validator: exp/nbf/iat with
  go-jose's 60 s leeway, the ServiceAccount and the bound pod/secret/node must exist with the
  claimed uid and not be deleted for longer than the leeway);
* pkg/serviceaccount/legacy.go: Secret-based tokens (issuer `kubernetes/serviceaccount`);
* apiserver/pkg/authentication/serviceaccount/util.go: the user (`system:serviceaccount:NS:NAME`,
  groups, extra);
* client-go/util/keyutil/key.go: `PublicKeysFromFile`, `PrivateKeyFromFile`.

Only RS256/RS384/RS512 (RSA keys) and ES256/ES384/ES512 (P-256/P-384/P-521 keys) verify; `none`,
HS* and every other algorithm are refused whatever the key.

One module, over 400 lines: verifying a ServiceAccount token is one chain (key loading, the
JWT's header and claims, kube's legacy and bound-token rules, the lookups of the Secret, Pod,
Node and ServiceAccount it names) whose helpers share the claim parsers; issuing tokens lives
apart in tokenrequest.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from watchproxy.auth.authn.errors import AuthenticationError, TokenResponse
from watchproxy.auth.settings import AuthenticationSettings
from watchproxy.auth.sources import JsonObject, ObjectSource
from watchproxy.auth.user import (
    SERVICE_ACCOUNTS_GROUP,
    UserInfo,
    service_account_username,
    split_service_account_username,
)
from watchproxy.core.validation import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    go_quote,
)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
# (reason, field, message): apimachinery field.Error as a Status cause (api/status.py `invalid`).
Cause = tuple[str, str, str]

LEGACY_ISSUER: Final = "kubernetes/serviceaccount"
# go-jose jwt.DefaultLeeway, used by claims.go for exp/nbf/iat and deletion timestamps.
LEEWAY_SECONDS: Final = 60
# legacy.go InvalidSinceLabelKey: set by the legacy token cleaner; the token is refused.
INVALID_SINCE_LABEL: Final = "kubernetes.io/legacy-token-invalid-since"
# apiserver/pkg/authentication/serviceaccount/util.go and user.CredentialIDKey.
POD_NAME_KEY: Final = "authentication.kubernetes.io/pod-name"
POD_UID_KEY: Final = "authentication.kubernetes.io/pod-uid"
NODE_NAME_KEY: Final = "authentication.kubernetes.io/node-name"
NODE_UID_KEY: Final = "authentication.kubernetes.io/node-uid"
CREDENTIAL_ID_KEY: Final = "authentication.kubernetes.io/credential-id"
# TokenRequest (authentication/v1 defaults and validation).
DEFAULT_EXPIRATION_SECONDS: Final = 3600
MIN_EXPIRATION_SECONDS: Final = 600
MAX_EXPIRATION_SECONDS: Final = 1 << 32

_LEGACY_PREFIX = "kubernetes.io/serviceaccount/"
_RSA_ALGS = frozenset({"RS256", "RS384", "RS512"})
_EC_ALGS: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_PEM = re.compile(rb"-----BEGIN ([^\r\n-]*)-----[ \t]*\r?\n(.*?)-----END \1-----", re.S)
_SIGNATURE_ERROR = "go-jose/go-jose: error in cryptographic primitive"
_JWS = jwt.PyJWS()


# -- keys ------------------------------------------------------------------------------------------


def _pem_blocks(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(type, DER) of each PEM block; RFC 1421 header lines are skipped, blocks whose body is not
    base64 are skipped (Go's pem.Decode does not return them either)."""
    for match in _PEM.finditer(data):
        body = b"".join(line.strip() for line in match.group(2).splitlines() if b":" not in line)
        try:
            der = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            continue
        yield match.group(1).decode("ascii", "replace"), der


def _public_key_of(der: bytes) -> PublicKey | None:
    """keyutil.ParsePublicKeysPEM on one block: an RSA or ECDSA private key (its public part),
    public key (PKIX, also PKCS#1 for RSA) or certificate; None for anything else."""
    try:
        private = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    else:
        if isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            return private.public_key()
        return None
    try:
        public = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        try:
            public = x509.load_der_x509_certificate(der).public_key()
        except (ValueError, UnsupportedAlgorithm):
            return None
    if isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return public
    return None


def load_public_keys(path: str | Path) -> list[PublicKey]:
    """Every RSA/ECDSA public key of a PEM file, as keyutil.PublicKeysFromFile: public keys,
    private keys (their public part) and certificates, several per file; other blocks are
    skipped. ValueError (kube's message) when the file holds none; OSError when unreadable."""
    keys = [
        key
        for _, der in _pem_blocks(Path(path).read_bytes())
        if (key := _public_key_of(der)) is not None
    ]
    if not keys:
        raise ValueError(
            f"error reading public key file {path}: data does not contain any valid RSA or"
            " ECDSA public keys"
        )
    return keys


def load_private_key(path: str | Path) -> PrivateKey:
    """The first RSA/ECDSA private key of a PEM file, as keyutil.PrivateKeyFromFile (blocks
    `EC PRIVATE KEY`, `RSA PRIVATE KEY`, `PRIVATE KEY`; others skipped)."""
    for kind, der in _pem_blocks(Path(path).read_bytes()):
        if kind not in ("EC PRIVATE KEY", "RSA PRIVATE KEY", "PRIVATE KEY"):
            continue
        try:
            key = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            return key
    raise ValueError(
        f"error reading private key file {path}: data does not contain a valid RSA or ECDSA"
        " private key"
    )


def key_id(key: PublicKey) -> str:
    """jwt.go keyIDFromPublicKey: base64url (no padding) of the SHA-256 of the PKIX DER."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def _algorithm_fits(alg: str, key: PublicKey) -> bool:
    if isinstance(key, rsa.RSAPublicKey):
        return alg in _RSA_ALGS
    curve = _EC_ALGS.get(alg)
    return curve is not None and isinstance(key.curve, curve)


def signing_algorithm(key: PrivateKey) -> str:
    """jwt.go JWTTokenGenerator: RS256 for RSA; ES256/ES384/ES512 for P-256/P-384/P-521."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    for alg, curve in _EC_ALGS.items():
        if isinstance(key.curve, curve):
            return alg
    raise ValueError("unknown private key curve, must be 256, 384, or 521")


# -- claims ----------------------------------------------------------------------------------------


def _b64url_json(segment: str) -> Any:
    """base64.RawURLEncoding + encoding/json; ValueError on anything else."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("illegal base64 data")
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _unverified_issuer(token: str) -> str | None:
    """jwt.go hasCorrectIssuer's parse: the `iss` of a compact JWS, None if not one."""
    if token.strip().startswith("{"):
        return None
    parts = token.split(".")
    if len(parts) != 3 or not all(_B64URL.fullmatch(p) for p in parts):
        return None
    try:
        payload = _b64url_json(parts[1])
    except (ValueError, RecursionError):  # RecursionError: a payload nested too deep
        return None
    if not isinstance(payload, dict):
        return None
    iss = payload.get("iss", "")
    return iss if isinstance(iss, str) else None


class _Malformed(ValueError):
    pass


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"json: cannot unmarshal {key!r} into Go value of type string")
    return value


def _numeric_date(data: Mapping[str, Any], key: str) -> int | None:
    """go-jose NumericDate: a JSON number (fraction dropped), null/absent -> None."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed("square/go-jose/jwt: expected number value to unmarshal NumericDate")
    return int(value)


def _audience(data: Mapping[str, Any]) -> tuple[str, ...]:
    """go-jose Audience: a string or a list of strings."""
    value = data.get("aud")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return tuple(value)
    raise _Malformed("square/go-jose/jwt: expected string or array value to unmarshal to Audience")


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed(f"json: cannot unmarshal {key!r} into Go struct")
    return value


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str
    uid: str


def _ref(data: Mapping[str, Any], key: str) -> _Ref | None:
    obj = _object(data, key)
    return None if obj is None else _Ref(_string(obj, "name"), _string(obj, "uid"))


@dataclass(frozen=True, slots=True)
class _Info:
    """apiserver serviceaccount.ServiceAccountInfo."""

    namespace: str
    name: str
    uid: str
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    credential_id: str = ""

    def user(self) -> UserInfo:
        extra: dict[str, tuple[str, ...]] = {}
        if self.pod_name and self.pod_uid:
            extra[POD_NAME_KEY] = (self.pod_name,)
            extra[POD_UID_KEY] = (self.pod_uid,)
        if self.credential_id:
            extra[CREDENTIAL_ID_KEY] = (self.credential_id,)
        if self.node_name:
            extra[NODE_NAME_KEY] = (self.node_name,)
            if self.node_uid:
                extra[NODE_UID_KEY] = (self.node_uid,)
        return UserInfo(
            service_account_username(self.namespace, self.name),
            self.uid,
            (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{self.namespace}"),
            extra,
        )


def _go_strings(values: Sequence[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"


def _aggregate(errors: Sequence[str]) -> str:
    """utilerrors.NewAggregate(...).Error()."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def _meta(obj: JsonObject) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _deleted_before(obj: JsonObject, cutoff: float | None) -> bool:
    """True when metadata.deletionTimestamp is set (cutoff None) or earlier than `cutoff`
    (seconds since the epoch). An unreadable timestamp counts as deleted."""
    stamp = _meta(obj).get("deletionTimestamp")
    if not stamp:
        return False
    if cutoff is None:
        return True
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() < cutoff


def _uid(obj: JsonObject) -> str:
    uid = _meta(obj).get("uid", "")
    return uid if isinstance(uid, str) else ""


def _not_found(resource: str, name: str) -> AuthenticationError:
    return AuthenticationError(f"{resource} {go_quote(name)} not found")


def _check_bound(source: ObjectSource, kind: str, namespace: str, ref: _Ref, cutoff: float) -> None:
    """claims.go Validate for the secret, pod or node (`kind`) a token is bound to: it must
    exist with the claimed UID and not have been deleted before `cutoff`."""
    obj = source.get(f"{kind}s", namespace, ref.name)
    if obj is None:
        raise AuthenticationError("service account token has been invalidated")
    if _uid(obj) != ref.uid:
        raise AuthenticationError(
            f"{kind} UID ({_uid(obj)}) does not match service account {kind} ref claim ({ref.uid})"
        )
    if _deleted_before(obj, cutoff):
        raise AuthenticationError("service account token has been invalidated")


# -- authenticator ---------------------------------------------------------------------------------


class ServiceAccountAuthenticator:
    """Verifies ServiceAccount JWTs against the watch cache (`source`).

    Two of kube's token authenticators in one (pkg/kubeapiserver/authenticator/config.go):
    tokens whose unverified `iss` is `kubernetes/serviceaccount` go to the legacy validator
    (when `legacy`), tokens whose `iss` is one of `issuers` to the bound-token validator; any
    other token is not ours (None). `api_audiences` are kube's implicit audiences
    (`--api-audiences`); `lookup` is `--service-account-lookup` (legacy tokens only: bound
    tokens are always checked against the cache, as kube). `clock` gives seconds since the
    epoch.
    """

    def __init__(
        self,
        *,
        keys: Sequence[PublicKey],
        issuers: Sequence[str],
        api_audiences: Sequence[str],
        source: ObjectSource,
        lookup: bool = True,
        legacy: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = list(keys)
        self._by_kid: dict[str, list[PublicKey]] = {}
        for key in self._keys:
            self._by_kid.setdefault(key_id(key), []).append(key)
        self._issuers = frozenset(issuers)
        self._implicit = tuple(api_audiences)
        self._source = source
        self._lookup = lookup
        self._legacy = legacy
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: AuthenticationSettings, source: ObjectSource
    ) -> ServiceAccountAuthenticator | None:
        """The authenticator of `service_account_key_files` plus the public part of
        `service_account_signing_key_file`; None when there are no keys. Raises ValueError or
        OSError for unreadable key files (kube refuses to start)."""
        keys: list[PublicKey] = []
        for path in settings.service_account_key_files:
            keys.extend(load_public_keys(path))
        if settings.service_account_signing_key_file:
            keys.append(load_private_key(settings.service_account_signing_key_file).public_key())
        if not keys:
            return None
        seen: set[bytes] = set()
        unique: list[PublicKey] = []
        for key in keys:
            der = key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            if der not in seen:
                seen.add(der)
                unique.append(key)
        return cls(
            keys=unique,
            issuers=settings.service_account_issuers,
            api_audiences=settings.audiences,
            source=source,
            lookup=settings.service_account_lookup,
        )

    def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResponse | None:
        """jwt.go AuthenticateToken. `audiences`: what the request is for (None: the API
        audiences). None when the token is not a ServiceAccount JWT of a known issuer; raises
        AuthenticationError (kube's message) when it is and is refused."""
        iss = _unverified_issuer(token)
        if iss is None:
            return None
        legacy = iss == LEGACY_ISSUER and self._legacy
        if not legacy and iss not in self._issuers:
            return None
        try:
            header = _JWS.get_unverified_header(token)
        except jwt.PyJWTError:
            return None  # jwt.ParseSigned failed: not ours
        payload = self._verify(token, header)
        try:
            data = json.loads(payload)
            if not isinstance(data, dict):
                raise _Malformed("json: cannot unmarshal into Go value of type jwt.Claims")
            issuer = _string(data, "iss")
            token_auds = _audience(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthenticationError(str(exc)) from None
        known = issuer == LEGACY_ISSUER if legacy else issuer in self._issuers
        if not known:
            raise AuthenticationError(f"token issuer {go_quote(issuer)} is invalid")
        if not token_auds:
            token_auds = self._implicit  # only API audiences are allowed for legacy tokens
        requested = tuple(audiences) if audiences is not None else self._implicit
        auds = tuple(a for a in token_auds if a in requested)
        if not auds and self._implicit:
            raise AuthenticationError(
                f"token audiences {_go_strings(token_auds)} is invalid for the target audiences"
                f" {_go_strings(requested)}"
            )
        try:
            info = self._validate_legacy(token, data) if legacy else self._validate_bound(data)
        except _Malformed as exc:
            raise AuthenticationError(str(exc)) from None
        return TokenResponse(info.user(), auds)

    def _verify(self, token: str, header: Mapping[str, Any]) -> bytes:
        """The verified payload: keys with the token's `kid` (all keys when it has none), each
        tried in turn; the algorithm must be allowed and fit the key."""
        alg = header.get("alg")
        kid = header.get("kid") or ""
        keys = self._by_kid.get(kid, []) if kid else self._keys
        if not keys:
            raise AuthenticationError("invalid signature, no keys found")
        if "crit" in header or "b64" in header:
            raise AuthenticationError("go-jose/go-jose: unsupported crit header")
        errors: list[str] = []
        for key in keys:
            if not isinstance(alg, str) or not _algorithm_fits(alg, key):
                errors.append(f"go-jose/go-jose: unexpected signature algorithm {alg!r}")
                continue
            try:
                decoded = _JWS.decode_complete(token, key, algorithms=[alg])
            except jwt.InvalidSignatureError:
                errors.append(_SIGNATURE_ERROR)
                continue
            except jwt.PyJWTError as exc:
                errors.append(f"go-jose/go-jose: {exc}")
                continue
            payload = decoded["payload"]
            assert isinstance(payload, bytes)
            return payload
        raise AuthenticationError(_aggregate(errors))

    def _validate_bound(self, data: Mapping[str, Any]) -> _Info:
        """claims.go validator.Validate."""
        now = self._clock()
        nbf = _numeric_date(data, "nbf")
        exp = _numeric_date(data, "exp")
        iat = _numeric_date(data, "iat")
        jti = _string(data, "jti")
        if nbf is not None and now + LEEWAY_SECONDS < nbf:
            raise AuthenticationError("service account token is not valid yet")
        if exp is not None and now - LEEWAY_SECONDS > exp:
            raise AuthenticationError("service account token has expired")
        if iat is not None and now + LEEWAY_SECONDS < iat:
            raise AuthenticationError("service account token is issued in the future")
        private = _object(data, "kubernetes.io") or {}
        namespace = _string(private, "namespace")
        sa_ref = _ref(private, "serviceaccount") or _Ref("", "")
        pod_ref = _ref(private, "pod")
        secret_ref = _ref(private, "secret")
        node_ref = _ref(private, "node")
        _numeric_date(private, "warnafter")  # only feeds kube's stale-token metric and audit
        cutoff = now - LEEWAY_SECONDS
        source = self._source

        sa = source.get("serviceaccounts", namespace, sa_ref.name)
        if sa is None:
            raise _not_found("serviceaccounts", sa_ref.name)
        if _uid(sa) != sa_ref.uid:
            raise AuthenticationError(
                f"service account UID ({_uid(sa)}) does not match claim ({sa_ref.uid})"
            )
        if _deleted_before(sa, cutoff):
            raise AuthenticationError(f"service account {namespace}/{sa_ref.name} has been deleted")

        if secret_ref is not None:
            _check_bound(source, "secret", namespace, secret_ref, cutoff)

        pod_name = pod_uid = ""
        if pod_ref is not None:
            _check_bound(source, "pod", namespace, pod_ref, cutoff)
            pod_name, pod_uid = pod_ref.name, pod_ref.uid

        node_name = node_uid = ""
        if node_ref is not None:
            if pod_ref is not None:
                # Pod-bound tokens carry the pod's node as information only.
                node_name, node_uid = node_ref.name, node_ref.uid
            else:
                _check_bound(source, "node", "", node_ref, cutoff)
                node_name, node_uid = node_ref.name, node_ref.uid

        return _Info(
            namespace,
            sa_ref.name,
            sa_ref.uid,
            pod_name,
            pod_uid,
            node_name,
            node_uid,
            f"JTI={jti}" if jti else "",
        )

    def _validate_legacy(self, token: str, data: Mapping[str, Any]) -> _Info:
        """legacy.go legacyValidator.Validate (exp/nbf are not checked for legacy tokens, as
        kube). kube ≥1.29 also labels the Secret `kubernetes.io/legacy-token-last-used` and
        annotates audit; this library only reads the cache, so it only refuses Secrets the
        legacy token cleaner marked `kubernetes.io/legacy-token-invalid-since`."""
        subject = _string(data, "sub")
        namespace = _string(data, _LEGACY_PREFIX + "namespace")
        secret_name = _string(data, _LEGACY_PREFIX + "secret.name")
        sa_name = _string(data, _LEGACY_PREFIX + "service-account.name")
        sa_uid = _string(data, _LEGACY_PREFIX + "service-account.uid")
        for value, claim in (
            (subject, "sub"),
            (namespace, "namespace"),
            (secret_name, "secretName"),
            (sa_name, "serviceAccountName"),
            (sa_uid, "serviceAccountUID"),
        ):
            if not value:
                raise AuthenticationError(f"{claim} claim is missing")
        split = split_service_account_username(subject)
        if (
            split is None
            or dns1123_label_errors(split[0])
            or dns1123_subdomain_errors(split[1])
            or split != (namespace, sa_name)
        ):
            raise AuthenticationError("sub claim is invalid")

        if self._lookup:
            source = self._source
            secret = source.get("secrets", namespace, secret_name)
            if secret is None or _deleted_before(secret, None):
                raise AuthenticationError("Token has been invalidated")
            if not hmac.compare_digest(_secret_token(secret), token.encode()):
                raise AuthenticationError("Token does not match server's copy")
            sa = source.get("serviceaccounts", namespace, sa_name)
            if sa is None:
                raise _not_found("serviceaccounts", sa_name)
            if _deleted_before(sa, None):
                raise AuthenticationError(f"ServiceAccount {namespace}/{sa_name} has been deleted")
            if _uid(sa) != sa_uid:
                raise AuthenticationError(
                    f"ServiceAccount UID ({_uid(sa)}) does not match claim ({sa_uid})"
                )
            labels = _meta(secret).get("labels")
            if isinstance(labels, dict) and labels.get(INVALID_SINCE_LABEL):
                raise AuthenticationError(
                    f"the token in secret {namespace}/{secret_name} for service account"
                    f" {namespace}/{sa_name} has been marked invalid. Use tokens from the"
                    " TokenRequest API or manually created secret-based tokens, or remove the"
                    f" '{INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of"
                    " this token"
                )
        return _Info(namespace, sa_name, sa_uid)


def _secret_token(secret: JsonObject) -> bytes:
    """The Secret's data.token, decoded from base64 (b"" when absent or malformed)."""
    data = secret.get("data")
    value = data.get("token") if isinstance(data, dict) else None
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""
