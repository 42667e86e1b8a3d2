"""A CertificateSigningRequest's `status.certificate` (kube:
pkg/apis/certificates/validation/validation.go validateCertificate, allowArbitraryCertificate):
one or more PEM blocks of type CERTIFICATE, without headers, each holding a DER X.509
certificate. In JSON the field is the base64 of those PEM bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography import x509

from watchproxy.core.validation import invalid_value
from watchproxy.registry.errors import Cause

# encoding/pem's block: BEGIN line, optional "Key: value" headers, base64 body, END line.
_PEM_BLOCK = re.compile(rb"-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
FIELD = "status.certificate"
SHOWN = "<certificate data>"  # kube never echoes the certificate


def _pem_bytes(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None  # not base64: the decoding refuses it before validation


def certificate_error(pem: bytes) -> str:
    """validateCertificate's error for `pem`, or "" when it is acceptable (or empty)."""
    if not pem:
        return ""
    blocks = 0
    for match in _PEM_BLOCK.finditer(pem):
        kind = match.group(1).decode("latin-1")
        lines = match.group(2).split(b"\n")
        headers = 0
        while headers < len(lines) and b":" in lines[headers]:
            headers += 1
        try:
            der = base64.b64decode(b"".join(b"".join(lines[headers:]).split()), validate=True)
        except (binascii.Error, ValueError):
            continue  # pem.Decode skips a block whose body is not base64
        if kind != "CERTIFICATE":
            return f'only CERTIFICATE PEM blocks are allowed, found "{kind}"'
        if headers:
            return "no PEM block headers are permitted"
        blocks += 1
        try:
            x509.load_der_x509_certificate(der)
        except ValueError:
            return "x509: malformed certificate"
    return "" if blocks else "must contain at least one CERTIFICATE PEM block"


def certificate_causes(new: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    """The status.certificate rule of a CSR update: tolerated when unchanged or when the stored
    certificate was already invalid (allowArbitraryCertificate)."""
    status = new.get("status")
    value = status.get("certificate") if isinstance(status, dict) else None
    old_status = old.get("status") if old is not None else None
    old_value = old_status.get("certificate") if isinstance(old_status, dict) else None
    if old is not None and value == old_value:
        return []
    old_pem = _pem_bytes(old_value)
    if old_pem is not None and certificate_error(old_pem):
        return []
    pem = _pem_bytes(value)
    error = certificate_error(pem) if pem is not None else ""
    return [invalid_value(FIELD, SHOWN, error)] if error else []
