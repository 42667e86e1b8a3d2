"""The audit.k8s.io/v1 Event of one request at one stage (staging/src/k8s.io/apiserver/pkg/apis/
audit/v1/types.go), level Metadata: `AuditRecord` is what the request handler learns about the
request as it goes, `event(record, stage)` the Event dict in types.go field order, with
`responseStatus` built like audit/request.go LogResponseObject. Pure: no I/O; the writer is
observe/audit_sink.py and the stage rules observe/audit.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from watchproxy.auth.attributes import Attributes
from watchproxy.auth.user import UserInfo
from watchproxy.observe.audit_request import new_audit_id

API_VERSION: Final = "audit.k8s.io/v1"
LEVEL_METADATA: Final = "Metadata"
STAGE_REQUEST_RECEIVED: Final = "RequestReceived"
STAGE_RESPONSE_STARTED: Final = "ResponseStarted"
STAGE_RESPONSE_COMPLETE: Final = "ResponseComplete"
STAGE_PANIC: Final = "Panic"
STAGES: Final = (
    STAGE_REQUEST_RECEIVED,
    STAGE_RESPONSE_STARTED,
    STAGE_RESPONSE_COMPLETE,
    STAGE_PANIC,
)

# endpoints/filters/authorization.go
DECISION_ANNOTATION: Final = "authorization.k8s.io/decision"
REASON_ANNOTATION: Final = "authorization.k8s.io/reason"
DECISION_ALLOW: Final = "allow"
DECISION_FORBID: Final = "forbid"

# Verbs that change state: what `requests: writes` keeps (besides refused requests).
WRITE_VERBS: Final = frozenset({"create", "update", "patch", "delete", "deletecollection"})

# audit/request.go maybeTruncateUserAgent
_MAX_USER_AGENT: Final = 1024
_USER_AGENT_TRUNCATED: Final = "...TRUNCATED"


def micro_time(when: datetime) -> str:
    """metav1.MicroTime's JSON form: RFC 3339 with microseconds, in UTC, `Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """audit/v1 ObjectReference as LogRequestMetadata fills it from the request's attributes."""

    resource: str = ""
    namespace: str = ""
    name: str = ""
    api_group: str = ""
    api_version: str = ""
    subresource: str = ""

    @classmethod
    def from_attributes(cls, attrs: Attributes) -> ObjectRef | None:
        """The reference of a resource request; None for non-resource requests."""
        if not attrs.is_resource_request:
            return None
        return cls(
            resource=attrs.resource,
            namespace=attrs.namespace,
            name=attrs.name,
            api_group=attrs.api_group,
            api_version=attrs.api_version,
            subresource=attrs.subresource,
        )

    def to_json(self) -> dict[str, str]:
        # types.go field order; every field is omitempty.
        pairs = (
            ("resource", self.resource),
            ("namespace", self.namespace),
            ("name", self.name),
            ("apiGroup", self.api_group),
            ("apiVersion", self.api_version),
            ("subresource", self.subresource),
        )
        return {k: v for k, v in pairs if v}


@dataclass(slots=True)
class AuditRecord:
    """One request, filled in by the pipeline as it goes and handed to `AuditLog` at each stage.

    user: the authenticated user; None when authentication failed (the 401 is then logged once,
      at ResponseStarted, with `"user": {}`).
    impersonated_user: who the request acts as after impersonation (`impersonatedUser`).
    object_ref: the target of a resource request (`ObjectRef.from_attributes`), None otherwise.
    long_running: None means "a watch" (kube's LongRunningFunc for the verbs served here).
    code: the HTTP status sent; 0 while no response has started.
    status: the Status body of the response when it was one (its status, message, reason and
      details are logged, as kube does); None for any other body.
    decision / reason: the authorizer's answer, `"allow"` or `"forbid"` ("" when not asked,
      e.g. /readyz for anyone or a refused authentication); logged as the
      `authorization.k8s.io/*` annotations, as kube's authorization filter adds them.
    annotations: other audit annotations (authentication, admission, tenancy, ...).
    """

    request_uri: str
    verb: str
    user: UserInfo | None
    audit_id: str = field(default_factory=new_audit_id)
    received: datetime = field(default_factory=_now)
    impersonated_user: UserInfo | None = None
    source_ips: tuple[str, ...] = ()
    user_agent: str = ""
    object_ref: ObjectRef | None = None
    long_running: bool | None = None
    code: int = 0
    status: Mapping[str, Any] | None = None
    decision: str = ""
    reason: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    # Stages already written for this request (AuditLog keeps it).
    logged: set[str] = field(default_factory=set)

    @classmethod
    def from_attributes(
        cls,
        attrs: Attributes,
        *,
        request_uri: str,
        audit_id: str | None = None,
        received: datetime | None = None,
        source_ips: tuple[str, ...] = (),
        user_agent: str = "",
    ) -> AuditRecord:
        """A record for an authenticated request from its authorizer attributes."""
        return cls(
            request_uri=request_uri,
            verb=attrs.verb,
            user=attrs.user,
            audit_id=audit_id or new_audit_id(),
            received=received or _now(),
            source_ips=source_ips,
            user_agent=user_agent,
            object_ref=ObjectRef.from_attributes(attrs),
        )

    @property
    def is_long_running(self) -> bool:
        return self.verb == "watch" if self.long_running is None else self.long_running

    @property
    def refused(self) -> bool:
        """Authentication failed or the request was forbidden."""
        return self.user is None or self.decision == DECISION_FORBID or self.code in (401, 403)


def _response_status(record: AuditRecord, *, closed_early: bool = False) -> dict[str, Any]:
    """metav1.Status as the audit event carries it (field order of metav1.Status)."""
    out: dict[str, Any] = {"metadata": {}}
    if closed_early:
        # filters/audit.go: no status code and no body was sent.
        out.update(status="Success", message="Connection closed early", code=200)
        return out
    status = record.status or {}
    for key in ("status", "message", "reason", "details"):
        if status.get(key):
            out[key] = status[key]
    if record.code:
        out["code"] = record.code
    return out


def _truncated_user_agent(agent: str) -> str:
    if len(agent) > _MAX_USER_AGENT:
        return agent[:_MAX_USER_AGENT] + _USER_AGENT_TRUNCATED
    return agent


def event(record: AuditRecord, stage: str, at: datetime | None = None) -> dict[str, Any]:
    """The audit.k8s.io/v1 Event of `record` at `stage` (a dict in types.go field order)."""
    received = stage == STAGE_REQUEST_RECEIVED
    out: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": API_VERSION,
        "level": LEVEL_METADATA,
        "auditID": record.audit_id,
        "stage": stage,
        "requestURI": record.request_uri,
        "verb": record.verb,
        "user": record.user.to_json() if record.user is not None else {},
    }
    if record.impersonated_user is not None and not received:
        out["impersonatedUser"] = record.impersonated_user.to_json()
    if record.source_ips:
        out["sourceIPs"] = list(record.source_ips)
    if record.user_agent:
        out["userAgent"] = _truncated_user_agent(record.user_agent)
    if record.object_ref is not None:
        out["objectRef"] = record.object_ref.to_json()
    if not received:
        out["responseStatus"] = _response_status(record, closed_early=record.code == 0)
    out["requestReceivedTimestamp"] = micro_time(record.received)
    out["stageTimestamp"] = micro_time(record.received if received else (at or _now()))
    annotations = dict(record.annotations)
    if record.decision and not received:
        annotations[DECISION_ANNOTATION] = record.decision
        annotations[REASON_ANNOTATION] = record.reason
    if annotations:
        out["annotations"] = annotations
    return out
