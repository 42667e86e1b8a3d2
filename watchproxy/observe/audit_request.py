"""What a request tells the audit log about itself: its `Audit-ID` (kept from the caller or a fresh
UUID, echoed on the response) and its source IPs, as kube-apiserver's filters compute them
(endpoints/filters/audit_id.go, k8s.io/utils/net SourceIPs). Pure; headers are ASGI raw pairs.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from typing import Final

AUDIT_ID_HEADER: Final = "Audit-ID"


def new_audit_id() -> str:
    """A fresh audit ID (kube: uuid.New().String())."""
    return str(uuid.uuid4())


def audit_id_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The request's `Audit-ID` header as sent (kube keeps a caller's value as is: an aggregator
    or proxy in front sets it so one request has one ID everywhere), else a new UUID.

    `headers` are an ASGI scope's raw (name, value) pairs, names lower-cased."""
    for name, value in headers:
        if name == b"audit-id" and value:
            return value.decode("latin-1")
    return new_audit_id()


def audit_id_response_header(audit_id: str) -> tuple[bytes, bytes]:
    """The `Audit-ID` response header kube echoes on every response (ASGI form)."""
    return (b"audit-id", audit_id.encode("latin-1"))


def _ip_text(text: str) -> str | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # Go prints ::ffff:a.b.c.d as a.b.c.d
    return str(ip)


def source_ips(headers: Iterable[tuple[bytes, bytes]], client_host: str | None) -> tuple[str, ...]:
    """kube's utilnet.SourceIPs: the valid IPs of X-Forwarded-For, then X-Real-Ip unless already
    listed, then the connection's peer unless it is the last one listed. All but the peer can be
    set by the client (types.go says so too)."""
    forwarded = real = ""
    for name, value in headers:
        if name == b"x-forwarded-for" and not forwarded:
            forwarded = value.decode("latin-1")
        elif name == b"x-real-ip" and not real:
            real = value.decode("latin-1")
    out: list[str] = []
    for part in forwarded.split(",") if forwarded else ():
        ip = _ip_text(part)
        if ip is not None:
            out.append(ip)
    if real:
        ip = _ip_text(real)
        if ip is not None and ip not in out:
            out.append(ip)
    if client_host:
        ip = _ip_text(client_host)
        if ip is not None and (not out or out[-1] != ip):
            out.append(ip)
    return tuple(out)
