"""What watchproxy records about the requests it serves: the audit log (audit.py)."""

from watchproxy.observe.audit import (
    AUDIT_ID_HEADER,
    AuditLog,
    AuditRecord,
    ObjectRef,
    audit_id_from_headers,
    audit_id_response_header,
    source_ips,
)

__all__ = [
    "AUDIT_ID_HEADER",
    "AuditLog",
    "AuditRecord",
    "ObjectRef",
    "audit_id_from_headers",
    "audit_id_response_header",
    "source_ips",
]
