"""What watchproxy records about the requests it serves: the audit log (audit.py), the process
and access logs (logs.py)."""

from watchproxy.observe.audit import (
    AUDIT_ID_HEADER,
    AuditLog,
    AuditRecord,
    ObjectRef,
    audit_id_from_headers,
    audit_id_response_header,
    source_ips,
)
from watchproxy.observe.logs import AccessLog, configure_logging

__all__ = [
    "AUDIT_ID_HEADER",
    "AccessLog",
    "AuditLog",
    "AuditRecord",
    "ObjectRef",
    "audit_id_from_headers",
    "audit_id_response_header",
    "configure_logging",
    "source_ips",
]
