"""Client certificates: kube's x509 authenticator with CommonNameUserConversion
(apiserver/pkg/authentication/request/x509/x509.go).

The TLS layer has already verified the chain against `client_ca_file`; what Go's
`Certificate.Verify(DefaultVerifyOptions())` checks besides the chain is checked here on the
leaf: its validity window and, when it has an ExtendedKeyUsage extension, that the extension
allows client authentication (`KeyUsages: []ExtKeyUsage{ExtKeyUsageClientAuth}`).
"""

from __future__ import annotations

import functools
import warnings
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from watchproxy.auth.authn.errors import AuthenticationError
from watchproxy.auth.user import UserInfo

_INCOMPATIBLE_USAGE = "x509: certificate specifies an incompatible key usage"


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_validity(cert: x509.Certificate, now: datetime) -> None:
    """crypto/x509 isValid: `current time T is before|after B`."""
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    detail = ""
    if now < not_before:
        detail = f"current time {_rfc3339(now)} is before {_rfc3339(not_before)}"
    elif now > not_after:
        detail = f"current time {_rfc3339(now)} is after {_rfc3339(not_after)}"
    if detail:
        raise AuthenticationError(f"x509: certificate has expired or is not yet valid: {detail}")


def _check_client_auth(cert: x509.Certificate) -> None:
    """crypto/x509 checkChainForKeyUsage on the leaf: no EKU extension means any usage."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    allowed = {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if not any(usage in allowed for usage in usages):
        raise AuthenticationError(_INCOMPATIBLE_USAGE)


def _strings(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    """pkix.Name.FillFromRDNSequence: the attribute values that are strings, in order."""
    return [a.value for a in name.get_attributes_for_oid(oid) if isinstance(a.value, str)]


@functools.lru_cache(maxsize=4096)
def _parse(der: bytes) -> tuple[x509.Certificate, UserInfo | None, str]:
    """Parse once per certificate: a connection sends the same DER with every request, and a
    kubelet fleet a few thousand distinct ones (the memo holds 4096). Returns the certificate,
    its user (None for an empty CN) and the key-usage error ("" when none)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise AuthenticationError(f"x509: malformed certificate: {exc}") from None
    usage_error = ""
    try:
        _check_client_auth(cert)
    except AuthenticationError as exc:
        usage_error = exc.reason
    # cryptography warns about lengths outside X.520's bounds (an empty CN); Go takes them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        subject = cert.subject
    names = _strings(subject, NameOID.COMMON_NAME)
    if not names or not names[-1]:
        return cert, None, usage_error
    user = UserInfo(names[-1], groups=tuple(_strings(subject, NameOID.ORGANIZATION_NAME)))
    return cert, user, usage_error


def user_from_certificate(der: bytes, *, now: datetime | None = None) -> UserInfo | None:
    """The user of a client certificate (DER): subject CN -> name, each subject O -> a group, in
    order; no uid, no extra (x509.go CommonNameUserConversion).

    Returns None for a certificate whose CN is empty: kube's conversion answers "not mine"
    without an error, so the request goes on as if no certificate had been sent (bearer token,
    then anonymous). Raises `AuthenticationError` (with Go's message) for a certificate that is
    not valid at `now` (default: the current time) or whose ExtendedKeyUsage excludes client
    authentication, and for bytes that are not a certificate. The name is the last CN, as Go's
    pkix.Name keeps it. Parsing is memoised per certificate; the validity window is checked on
    every call.
    """
    cert, user, usage_error = _parse(der)
    _check_validity(cert, now or datetime.now(UTC))
    if usage_error:
        raise AuthenticationError(usage_error)
    return user
