"""The audit log: kube-apiserver's `--audit-log-path` at level Metadata, as JSON lines of
`audit.k8s.io/v1` Events (staging/src/k8s.io/apiserver/pkg/apis/audit/v1/types.go).

Which events, as kube-apiserver writes them with a catch-all `level: Metadata` policy and the
default `omitStages: []` (endpoints/filters/audit.go, audit_init.go, failed_authn_audit.go):

- every authenticated request: `RequestReceived` (its stageTimestamp is the receive time, no
  responseStatus, no authorization annotations: kube's audit filter runs before authorization and
  impersonation), then `ResponseComplete`;
- long-running requests (watches) also `ResponseStarted` when the response headers go out, so a
  watch open for half an hour shows in the log when it starts;
- a request whose authentication failed: one `ResponseStarted` event with `"user": {}` and
  the 401 status (kube's audit filter is never reached; its failed-authentication handler logs
  the response start only).

`responseStatus` is `{metadata: {}, code}` for a response that is not a Status object, and adds
the Status' `status`, `message`, `reason` and `details` when it is one (audit/request.go
LogResponseObject: failures, and the few success Status bodies such as a DELETE's).

Writes leave the event loop at once: a `QueueHandler` hands each line to a `QueueListener`
thread that writes it (`RotatingFileHandler`, or stdout for `log_path: "-"`).

One module, over 400 lines: the Event format, the stage rules and the non-blocking writer are one
feature; the writer is small and used by nothing else.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import logging.handlers
import os
import queue
import sys
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from watchproxy.auth.attributes import Attributes
from watchproxy.auth.settings import AuditSettings
from watchproxy.auth.user import UserInfo

log = logging.getLogger("watchproxy.audit")

# apis/audit/v1/types.go
AUDIT_ID_HEADER: Final = "Audit-ID"
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

# Events queued for the writer thread before new ones are dropped (and counted): a stuck disk
# must not grow the process without bound, nor block the event loop.
DEFAULT_QUEUE_SIZE: Final = 100_000


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


class _AuditFileHandler(logging.handlers.RotatingFileHandler):
    """Size-rotated audit file, created 0600 (it names users and what they did).

    Several worker processes (`serve --workers N`) may append to one path: before each write the
    handler reopens the path when another process has rotated it away, so no process keeps
    writing into a backup or rotates a file it no longer holds.
    """

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if self.stream is not None:
            try:
                moved = os.stat(self.baseFilename).st_ino != os.fstat(self.stream.fileno()).st_ino
            except OSError:
                moved = True
            if moved:
                self.stream.close()
                self.stream = self._open()
        return super().shouldRollover(record)


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """stdout as it is when a line is written (tests and `log_path: "-"` replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stdout)
        super().emit(record)

    def close(self) -> None:
        self.flush()
        super().close()


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Hands the already-serialized line to the writer thread; drops (and counts) when full."""

    def __init__(self, q: queue.Queue[Any]) -> None:
        super().__init__(q)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # msg is the finished JSON line: no formatting, no copy

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error("audit log queue full: %d events dropped so far", self.dropped)


class _Listener(logging.handlers.QueueListener):
    def __init__(self, q: queue.Queue[Any], handler: logging.Handler) -> None:
        super().__init__(q, handler)
        self._bounded = q

    def enqueue_sentinel(self) -> None:
        # QueueListener's sentinel is None; wait for room: stopping must not lose the tail.
        self._bounded.put(None)


class AuditLog:
    """Writes audit events for `AuditRecord`s; one per process, closed on shutdown.

    Call `request_received` once the user is known (after authentication), `response_started`
    when the response headers of a watch go out, and `log` when the response is complete (or
    the authentication failed). Each writes the stages kube would have written by then and not
    yet written, so `log` alone also gives the full set (RequestReceived is stamped with the
    receive time either way, as kube stamps it).

    `settings.requests == "writes"` keeps only write verbs and refused requests (failed
    authentication, forbidden): for a read, stages are held back until the request turns out
    refused. `omit_stages` is kube's policy `omitStages`.
    """

    def __init__(
        self,
        settings: AuditSettings,
        *,
        omit_stages: Collection[str] = (),
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        if not settings.log_path:
            raise ValueError("audit: log_path is empty (no audit log configured)")
        for stage in omit_stages:
            if stage not in STAGES:
                raise ValueError(f"audit: unknown stage {stage!r}")
        self.settings = settings
        self.omit_stages = frozenset(omit_stages)
        self._writes_only = settings.requests == "writes"
        target: logging.Handler
        if settings.log_path == "-":
            target = _Stdout()
        else:
            Path(settings.log_path).parent.mkdir(parents=True, exist_ok=True)
            rotate = settings.max_size_mb > 0 and settings.max_backups > 0
            target = _AuditFileHandler(
                settings.log_path,
                maxBytes=settings.max_size_mb * 1024 * 1024 if rotate else 0,
                backupCount=settings.max_backups if rotate else 0,
                encoding="utf-8",
            )
        target.setFormatter(logging.Formatter("%(message)s"))
        self._target = target
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._handler = _DroppingQueueHandler(self._queue)
        self._listener = _Listener(self._queue, target)
        self._listener.start()
        self._closed = False

    @property
    def dropped(self) -> int:
        """Events lost because the writer thread fell `queue_size` events behind."""
        return self._handler.dropped

    def wanted(self, record: AuditRecord) -> bool:
        """Whether `record` is logged under `requests` (as far as it is known yet)."""
        if not self._writes_only:
            return True
        return record.verb in WRITE_VERBS or record.refused

    def request_received(self, record: AuditRecord) -> None:
        """The request is authenticated and about to be authorized and served."""
        if record.user is not None:
            self._emit(record, STAGE_REQUEST_RECEIVED)

    def response_started(self, record: AuditRecord) -> None:
        """The response headers were sent (set `record.code` first). Only long-running
        requests and failed authentications have this stage; a no-op for the others."""
        if record.user is None:
            self._emit(record, STAGE_RESPONSE_STARTED)
            return
        if record.is_long_running:
            self._emit(record, STAGE_REQUEST_RECEIVED)
            self._emit(record, STAGE_RESPONSE_STARTED)

    def log(self, record: AuditRecord) -> None:
        """The response is complete (or the connection went away): the last stage."""
        if record.user is None:
            self._emit(record, STAGE_RESPONSE_STARTED)
            return
        self._emit(record, STAGE_REQUEST_RECEIVED)
        if record.is_long_running:
            self._emit(record, STAGE_RESPONSE_STARTED)
        self._emit(record, STAGE_RESPONSE_COMPLETE)

    def panic(self, record: AuditRecord, message: str) -> None:
        """The handler failed unexpectedly: kube's Panic stage (500 InternalError)."""
        if record.user is None:
            return
        self._emit(record, STAGE_REQUEST_RECEIVED)
        record.code = 500
        record.status = {
            "status": "Failure",
            "message": f"APIServer panic'd: {message}",
            "reason": "InternalError",
            "code": 500,
        }
        self._emit(record, STAGE_PANIC)

    def _emit(self, record: AuditRecord, stage: str) -> None:
        if stage in record.logged or self._closed or not self.wanted(record):
            return
        record.logged.add(stage)
        if stage in self.omit_stages:
            return
        line = orjson.dumps(event(record, stage)).decode()
        self._handler.handle(
            logging.LogRecord("watchproxy.audit", logging.INFO, "", 0, line, None, None)
        )

    def flush(self) -> None:
        """Wait until every event queued so far is written (blocks: tests and shutdown)."""
        if not self._closed:
            self._queue.join()
            self._target.flush()

    def close(self) -> None:
        """Write everything queued, then close the file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._listener.stop()  # drains the queue, then joins the thread
        self._target.flush()
        self._target.close()
