"""auth/authn/x509.py: CN -> user, O -> groups, validity window, ExtendedKeyUsage."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from watchproxy.auth.authn.errors import AuthenticationError
from watchproxy.auth.authn.x509 import user_from_certificate

KEY = ec.generate_private_key(ec.SECP256R1())
NOW = datetime(2030, 6, 1, tzinfo=UTC)


def cert(
    cn: str | None = "alice",
    orgs: tuple[str, ...] = (),
    *,
    eku: list[x509.ObjectIdentifier] | None = None,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=1),
    extra_cns: tuple[str, ...] = (),
) -> bytes:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    if cn is not None:
        # _validate=False: cryptography refuses an empty CN, Go certificates may carry one.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False))
    attrs += [x509.NameAttribute(NameOID.COMMON_NAME, c) for c in extra_cns]
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(issuer)
        .public_key(KEY.public_key())
        .serial_number(1234)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_cn_is_the_name_and_each_o_a_group_in_order() -> None:
    user = user_from_certificate(cert("alice", ("system:masters", "dev")), now=NOW)
    assert user is not None
    assert user.name == "alice"
    assert user.groups == ("system:masters", "dev")
    assert user.uid == ""
    assert dict(user.extra) == {}


def test_no_organization_means_no_group() -> None:
    user = user_from_certificate(cert("bob"), now=NOW)
    assert user is not None and user.groups == ()


def test_the_last_cn_wins_as_in_go() -> None:
    user = user_from_certificate(cert("first", extra_cns=("second",)), now=NOW)
    assert user is not None and user.name == "second"


@pytest.mark.parametrize("cn", [None, ""])
def test_empty_cn_is_not_a_user(cn: str | None) -> None:
    # kube's CommonNameUserConversion answers (nil, false, nil): as if no certificate was sent.
    assert user_from_certificate(cert(cn, ("g",)), now=NOW) is None


def test_expired_certificate_is_refused_with_go_message() -> None:
    der = cert(not_after=NOW - timedelta(seconds=1), not_before=NOW - timedelta(days=2))
    with pytest.raises(AuthenticationError) as err:
        user_from_certificate(der, now=NOW)
    assert err.value.reason.startswith("x509: certificate has expired or is not yet valid:")
    assert "is after" in err.value.reason


def test_not_yet_valid_certificate_is_refused() -> None:
    der = cert(not_before=NOW + timedelta(hours=1), not_after=NOW + timedelta(days=2))
    with pytest.raises(AuthenticationError, match="is before"):
        user_from_certificate(der, now=NOW)


def test_server_only_eku_is_refused() -> None:
    der = cert(eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(AuthenticationError, match="incompatible key usage"):
        user_from_certificate(der, now=NOW)


@pytest.mark.parametrize(
    "eku",
    [
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE],
        None,
    ],
)
def test_client_auth_any_or_no_eku_is_accepted(eku: list[x509.ObjectIdentifier] | None) -> None:
    user = user_from_certificate(cert("carol", eku=eku), now=NOW)
    assert user is not None and user.name == "carol"


def test_garbage_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="malformed certificate"):
        user_from_certificate(b"not a certificate", now=NOW)
