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

Parts: observe/audit_request.py (Audit-ID, source IPs), observe/audit_event.py (the record and
the Event it becomes), observe/audit_sink.py (the queue and the writer thread); this module is the
policy (which stages of which requests are written) and the entry point callers import from.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Collection
from pathlib import Path
from typing import Any, Final

import orjson

from watchproxy.auth.settings import AuditSettings
from watchproxy.observe.audit_event import (
    STAGE_PANIC,
    STAGE_REQUEST_RECEIVED,
    STAGE_RESPONSE_COMPLETE,
    STAGE_RESPONSE_STARTED,
    STAGES,
    WRITE_VERBS,
    AuditRecord,
    ObjectRef,
    event,
    micro_time,
)
from watchproxy.observe.audit_request import (
    AUDIT_ID_HEADER,
    audit_id_from_headers,
    audit_id_response_header,
    source_ips,
)
from watchproxy.observe.audit_sink import (
    _AuditFileHandler,
    _DroppingQueueHandler,
    _Listener,
    _Stdout,
)

__all__ = [
    "AUDIT_ID_HEADER",
    "DEFAULT_QUEUE_SIZE",
    "AuditLog",
    "AuditRecord",
    "ObjectRef",
    "audit_id_from_headers",
    "audit_id_response_header",
    "micro_time",
    "source_ips",
]


# Events queued for the writer thread before new ones are dropped (and counted): a stuck disk
# must not grow the process without bound, nor block the event loop.
DEFAULT_QUEUE_SIZE: Final = 100_000


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
