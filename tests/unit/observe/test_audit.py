"""The audit log: kube's audit.k8s.io/v1 Event lines, the stages kube writes, "writes" filter,
rotation, stdout, and a writer that never blocks the caller."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from watchproxy.auth.attributes import Attributes
from watchproxy.auth.settings import AuditSettings
from watchproxy.auth.user import UserInfo
from watchproxy.observe import (
    AuditLog,
    AuditRecord,
    ObjectRef,
    audit_id_from_headers,
    audit_id_response_header,
    source_ips,
)
from watchproxy.observe import audit as audit_mod
from watchproxy.observe.audit_sink import _AuditFileHandler

# -- kube's wire types (apis/audit/v1/types.go, authentication/v1 UserInfo, metav1.Status) ------

# json name -> (python type of the value, omitempty)
EVENT_FIELDS: dict[str, tuple[type, bool]] = {
    "kind": (str, True),
    "apiVersion": (str, True),
    "level": (str, False),
    "auditID": (str, False),
    "stage": (str, False),
    "requestURI": (str, False),
    "verb": (str, False),
    "user": (dict, False),
    "impersonatedUser": (dict, True),
    "sourceIPs": (list, True),
    "userAgent": (str, True),
    "objectRef": (dict, True),
    "responseStatus": (dict, True),
    "requestObject": (dict, True),
    "responseObject": (dict, True),
    "requestReceivedTimestamp": (str, False),
    "stageTimestamp": (str, False),
    "annotations": (dict, True),
}
USER_FIELDS = {"username": str, "uid": str, "groups": list, "extra": dict}
OBJECT_REF_FIELDS = {
    "resource",
    "namespace",
    "name",
    "uid",
    "apiGroup",
    "apiVersion",
    "resourceVersion",
    "subresource",
}
STATUS_FIELDS = {
    "kind": str,
    "apiVersion": str,
    "metadata": dict,
    "status": str,
    "message": str,
    "reason": str,
    "details": dict,
    "code": int,
}
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def check_user(user: Any) -> None:
    assert isinstance(user, dict)
    for key, value in user.items():
        assert key in USER_FIELDS, key
        assert isinstance(value, USER_FIELDS[key]), key
        assert value, f"user.{key} is omitempty: never empty"
    for group in user.get("groups", []):
        assert isinstance(group, str)
    for key, values in user.get("extra", {}).items():
        assert isinstance(key, str)
        assert isinstance(values, list)
        assert all(isinstance(v, str) for v in values)


def check_event(event: dict[str, Any]) -> None:
    """`event` decodes as kube's audit/v1 Event: known fields, right types, no empty omitempty
    fields, required fields present."""
    for key, value in event.items():
        assert key in EVENT_FIELDS, f"unknown Event field {key}"
        kind, omitempty = EVENT_FIELDS[key]
        assert isinstance(value, kind), f"{key}: {value!r}"
        if omitempty and key != "user":
            assert value, f"{key} is omitempty: never empty"
    for key, (_, omitempty) in EVENT_FIELDS.items():
        if not omitempty:
            assert key in event, f"missing {key}"
    assert event["kind"] == "Event"
    assert event["apiVersion"] == "audit.k8s.io/v1"
    assert event["level"] == "Metadata"
    assert event["stage"] in ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
    assert "requestObject" not in event and "responseObject" not in event  # level Metadata
    check_user(event["user"])
    if "impersonatedUser" in event:
        check_user(event["impersonatedUser"])
    assert all(isinstance(ip, str) for ip in event.get("sourceIPs", []))
    for key, value in event.get("objectRef", {}).items():
        assert key in OBJECT_REF_FIELDS, key
        assert isinstance(value, str) and value
    if "responseStatus" in event:
        status = event["responseStatus"]
        assert status["metadata"] == {}  # a struct: always there, even empty
        for key, value in status.items():
            assert key in STATUS_FIELDS, key
            assert isinstance(value, STATUS_FIELDS[key]), key
    for key in ("requestReceivedTimestamp", "stageTimestamp"):
        assert MICRO_TIME.match(event[key]), event[key]
    for key, value in event.get("annotations", {}).items():
        assert isinstance(key, str) and isinstance(value, str)


# -- helpers -----------------------------------------------------------------------------------

ALICE = UserInfo("alice", "uid-1", ("acme-devs", "system:authenticated"), {"k": ("v1", "v2")})
RECEIVED = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def settings(tmp_path: Path, **kw: Any) -> AuditSettings:
    return AuditSettings(log_path=str(tmp_path / "audit.log"), **kw)


def read_events(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    events = [json.loads(line) for line in lines]
    for event in events:
        check_event(event)
    return events


def record(**kw: Any) -> AuditRecord:
    defaults: dict[str, Any] = {
        "request_uri": "/api/v1/namespaces/acme-web/pods/web-0",
        "verb": "get",
        "user": ALICE,
        "audit_id": "5d2b1c4e-0000-4000-8000-000000000001",
        "received": RECEIVED,
        "source_ips": ("10.0.0.1",),
        "user_agent": "kubectl/v1.33.0 (linux/amd64) kubernetes/abcdef",
        "object_ref": ObjectRef("pods", "acme-web", "web-0", "", "v1"),
    }
    defaults.update(kw)
    return AuditRecord(**defaults)


@pytest.fixture
def audit(tmp_path: Path) -> Any:
    log = AuditLog(settings(tmp_path))
    yield log
    log.close()


# -- event shape -------------------------------------------------------------------------------


def test_a_get_writes_request_received_then_response_complete(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record()
    log.request_received(rec)
    rec.code = 200
    rec.decision, rec.reason = "allow", 'RBAC: allowed by RoleBinding "acme-devs-edit/acme-web"'
    log.log(rec)
    log.close()
    received, complete = read_events(tmp_path / "audit.log")

    assert received == {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "5d2b1c4e-0000-4000-8000-000000000001",
        "stage": "RequestReceived",
        "requestURI": "/api/v1/namespaces/acme-web/pods/web-0",
        "verb": "get",
        "user": {
            "username": "alice",
            "uid": "uid-1",
            "groups": ["acme-devs", "system:authenticated"],
            "extra": {"k": ["v1", "v2"]},
        },
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.33.0 (linux/amd64) kubernetes/abcdef",
        "objectRef": {
            "resource": "pods",
            "namespace": "acme-web",
            "name": "web-0",
            "apiVersion": "v1",
        },
        "requestReceivedTimestamp": "2025-03-04T05:06:07.123456Z",
        "stageTimestamp": "2025-03-04T05:06:07.123456Z",
    }
    # types.go field order, as kube's encoder writes it.
    assert list(complete) == [
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "sourceIPs",
        "userAgent",
        "objectRef",
        "responseStatus",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "annotations",
    ]
    assert complete["stage"] == "ResponseComplete"
    assert complete["responseStatus"] == {"metadata": {}, "code": 200}
    assert complete["annotations"] == {
        "authorization.k8s.io/decision": "allow",
        "authorization.k8s.io/reason": 'RBAC: allowed by RoleBinding "acme-devs-edit/acme-web"',
    }
    stage_time = datetime.strptime(complete["stageTimestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert stage_time.replace(tzinfo=UTC) > RECEIVED


def test_log_alone_writes_every_stage_once(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(code=200)
    log.log(rec)
    log.log(rec)  # a second call has nothing left to write
    log.close()
    events = read_events(tmp_path / "audit.log")
    assert [e["stage"] for e in events] == ["RequestReceived", "ResponseComplete"]
    assert events[0]["stageTimestamp"] == events[0]["requestReceivedTimestamp"]


def test_failure_status_carries_status_reason_message_details(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(verb="list", request_uri="/api/v1/namespaces/globex-prod/secrets")
    rec.object_ref = ObjectRef("secrets", "globex-prod", api_version="v1")
    rec.code = 403
    rec.decision, rec.reason = "forbid", ""
    rec.status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets is forbidden: User "alice" cannot list resource "secrets"',
        "reason": "Forbidden",
        "details": {"kind": "secrets"},
        "code": 403,
    }
    log.log(rec)
    log.close()
    _, complete = read_events(tmp_path / "audit.log")
    assert complete["responseStatus"] == {
        "metadata": {},
        "status": "Failure",
        "message": 'secrets is forbidden: User "alice" cannot list resource "secrets"',
        "reason": "Forbidden",
        "details": {"kind": "secrets"},
        "code": 403,
    }
    assert list(complete["responseStatus"]) == [
        "metadata",
        "status",
        "message",
        "reason",
        "details",
        "code",
    ]
    # kube adds the reason annotation even when the authorizer gave none.
    assert complete["annotations"] == {
        "authorization.k8s.io/decision": "forbid",
        "authorization.k8s.io/reason": "",
    }
    assert complete["objectRef"] == {
        "resource": "secrets",
        "namespace": "globex-prod",
        "apiVersion": "v1",
    }


def test_watch_logs_response_started_when_headers_go_out(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(verb="watch", request_uri="/api/v1/pods?watch=true")
    rec.object_ref = ObjectRef("pods", api_version="v1")
    log.request_received(rec)
    rec.code = 200
    rec.decision = "allow"
    log.response_started(rec)
    log.flush()
    events = read_events(tmp_path / "audit.log")
    assert [e["stage"] for e in events] == ["RequestReceived", "ResponseStarted"]
    log.log(rec)
    log.close()
    events = read_events(tmp_path / "audit.log")
    assert [e["stage"] for e in events] == [
        "RequestReceived",
        "ResponseStarted",
        "ResponseComplete",
    ]
    assert events[1]["responseStatus"] == {"metadata": {}, "code": 200}
    assert events[2]["responseStatus"] == {"metadata": {}, "code": 200}
    assert len({e["auditID"] for e in events}) == 1


def test_watch_closed_before_any_response_fakes_success_as_kube(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(verb="watch")
    log.log(rec)
    log.close()
    events = read_events(tmp_path / "audit.log")
    assert [e["stage"] for e in events] == [
        "RequestReceived",
        "ResponseStarted",
        "ResponseComplete",
    ]
    closed = {
        "metadata": {},
        "status": "Success",
        "message": "Connection closed early",
        "code": 200,
    }
    assert events[1]["responseStatus"] == closed
    assert events[2]["responseStatus"] == closed


def test_response_started_is_a_no_op_for_short_requests(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(code=200)
    log.response_started(rec)
    log.log(rec)
    log.close()
    stages = [e["stage"] for e in read_events(tmp_path / "audit.log")]
    assert stages == ["RequestReceived", "ResponseComplete"]


def test_failed_authentication_is_one_response_started_event_with_empty_user(
    tmp_path: Path,
) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(user=None, code=401)
    rec.status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    log.request_received(rec)  # nothing: kube's audit filter is never reached
    log.log(rec)
    log.close()
    (event,) = read_events(tmp_path / "audit.log")
    assert event["stage"] == "ResponseStarted"
    assert event["user"] == {}
    assert event["responseStatus"] == {
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert "annotations" not in event


def test_impersonated_user_from_response_stages_on(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record(user=UserInfo("admin", groups=("system:masters", "system:authenticated")))
    log.request_received(rec)
    rec.impersonated_user = UserInfo("bob", groups=("globex-devs",))
    rec.code = 200
    log.log(rec)
    log.close()
    received, complete = read_events(tmp_path / "audit.log")
    assert "impersonatedUser" not in received  # impersonation runs after kube's audit filter
    assert complete["user"]["username"] == "admin"
    assert complete["impersonatedUser"] == {"username": "bob", "groups": ["globex-devs"]}


def test_non_resource_request_has_no_object_ref(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    attrs = Attributes(user=ALICE, verb="get", is_resource_request=False, path="/version")
    rec = AuditRecord.from_attributes(attrs, request_uri="/version", source_ips=("127.0.0.1",))
    rec.code = 200
    log.log(rec)
    log.close()
    events = read_events(tmp_path / "audit.log")
    assert all("objectRef" not in e and "userAgent" not in e for e in events)
    uuid.UUID(events[0]["auditID"])


def test_from_attributes_fills_object_ref_as_log_request_metadata() -> None:
    attrs = Attributes(
        user=ALICE,
        verb="update",
        is_resource_request=True,
        namespace="acme-web",
        api_group="apps",
        api_version="v1",
        resource="deployments",
        subresource="status",
        name="web",
    )
    rec = AuditRecord.from_attributes(attrs, request_uri="/apis/apps/v1/...", audit_id="abc")
    assert rec.audit_id == "abc" and rec.user == ALICE and rec.verb == "update"
    assert rec.object_ref is not None
    assert rec.object_ref.to_json() == {
        "resource": "deployments",
        "namespace": "acme-web",
        "name": "web",
        "apiGroup": "apps",
        "apiVersion": "v1",
        "subresource": "status",
    }
    assert not rec.is_long_running
    assert AuditRecord("/x", "watch", ALICE).is_long_running


def test_user_agent_is_truncated_as_kube_does(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    log.log(record(user_agent="x" * 2000, code=200))
    log.close()
    event = read_events(tmp_path / "audit.log")[0]
    assert event["userAgent"] == "x" * 1024 + "...TRUNCATED"


def test_panic_stage(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    rec = record()
    log.panic(rec, "boom")
    log.close()
    received, panic = read_events(tmp_path / "audit.log")
    assert received["stage"] == "RequestReceived"
    assert panic["stage"] == "Panic"
    assert panic["responseStatus"] == {
        "metadata": {},
        "status": "Failure",
        "message": "APIServer panic'd: boom",
        "reason": "InternalError",
        "code": 500,
    }


def test_omit_stages(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path), omit_stages=["RequestReceived"])
    log.log(record(code=200))
    log.close()
    assert [e["stage"] for e in read_events(tmp_path / "audit.log")] == ["ResponseComplete"]
    with pytest.raises(ValueError, match="unknown stage"):
        AuditLog(settings(tmp_path), omit_stages=["Nope"])


def test_micro_time_is_utc_with_z() -> None:
    utc = datetime(2025, 1, 1, 12, 0, 0, 5, tzinfo=UTC)
    assert audit_mod.micro_time(utc) == "2025-01-01T12:00:00.000005Z"
    plus2 = datetime(2025, 1, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert audit_mod.micro_time(plus2) == "2025-01-01T12:00:00.000005Z"


# -- Audit-ID and source IPs -------------------------------------------------------------------


def test_audit_id_honours_the_callers_header() -> None:
    assert audit_id_from_headers([(b"audit-id", b"given-by-aggregator")]) == "given-by-aggregator"
    generated = audit_id_from_headers([(b"user-agent", b"curl")])
    assert str(uuid.UUID(generated)) == generated
    assert audit_id_from_headers([(b"audit-id", b"")]) != ""
    assert audit_id_response_header("abc") == (b"audit-id", b"abc")


def test_source_ips_follow_kube() -> None:
    def ips(headers: dict[str, str], peer: str | None) -> tuple[str, ...]:
        return source_ips([(k.encode(), v.encode()) for k, v in headers.items()], peer)

    assert ips({}, "10.1.1.1") == ("10.1.1.1",)
    assert ips({"x-forwarded-for": "1.1.1.1, bogus, 2.2.2.2"}, "10.1.1.1") == (
        "1.1.1.1",
        "2.2.2.2",
        "10.1.1.1",
    )
    # X-Real-Ip only when not already listed; the peer not repeated when it is the last one.
    assert ips({"x-forwarded-for": "1.1.1.1", "x-real-ip": "1.1.1.1"}, "1.1.1.1") == ("1.1.1.1",)
    assert ips({"x-real-ip": "3.3.3.3"}, "::ffff:10.0.0.9") == ("3.3.3.3", "10.0.0.9")
    assert ips({}, "::1") == ("::1",)
    assert ips({}, None) == ()


# -- "writes" filter ---------------------------------------------------------------------------


def test_writes_only_keeps_writes_and_refused_requests(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path, requests="writes"))
    allowed_get = record(audit_id="get", code=200, decision="allow")
    log.request_received(allowed_get)
    log.log(allowed_get)
    allowed_watch = record(audit_id="watch", verb="watch", decision="allow", code=200)
    log.request_received(allowed_watch)
    log.response_started(allowed_watch)
    log.log(allowed_watch)
    for verb in ("create", "update", "patch", "delete", "deletecollection"):
        rec = record(audit_id=verb, verb=verb)
        log.request_received(rec)
        rec.code, rec.decision = 200, "allow"
        log.log(rec)
    forbidden = record(audit_id="forbidden-list", verb="list")
    log.request_received(forbidden)  # held back: a read, not refused yet
    forbidden.code, forbidden.decision = 403, "forbid"
    log.log(forbidden)
    unauthenticated = record(audit_id="unauthenticated", user=None, code=401)
    log.log(unauthenticated)
    log.close()
    events = read_events(tmp_path / "audit.log")
    logged = [(e["auditID"], e["stage"]) for e in events]
    assert logged == [
        ("create", "RequestReceived"),
        ("create", "ResponseComplete"),
        ("update", "RequestReceived"),
        ("update", "ResponseComplete"),
        ("patch", "RequestReceived"),
        ("patch", "ResponseComplete"),
        ("delete", "RequestReceived"),
        ("delete", "ResponseComplete"),
        ("deletecollection", "RequestReceived"),
        ("deletecollection", "ResponseComplete"),
        ("forbidden-list", "RequestReceived"),
        ("forbidden-list", "ResponseComplete"),
        ("unauthenticated", "ResponseStarted"),
    ]
    # The held-back RequestReceived still carries the receive time.
    assert events[10]["stageTimestamp"] == "2025-03-04T05:06:07.123456Z"


def test_all_keeps_reads(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path, requests="all"))
    log.log(record(code=200))
    log.close()
    assert len(read_events(tmp_path / "audit.log")) == 2


# -- files, stdout, rotation -------------------------------------------------------------------


def test_file_is_private_and_appended(tmp_path: Path) -> None:
    for _ in range(2):
        log = AuditLog(settings(tmp_path))
        log.log(record(code=200))
        log.close()
    path = tmp_path / "audit.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_events(path)) == 4


def test_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    log = AuditLog(AuditSettings(log_path="-"))
    log.log(record(code=200))
    log.close()
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["stage"] for line in lines] == ["RequestReceived", "ResponseComplete"]


def test_rotation_by_size_keeps_max_backups(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path, max_size_mb=1, max_backups=2))
    big = "k" * 900  # ~1.5 kB per event
    count = 3000  # two events each: ~9 MB in all
    for i in range(count):
        log.log(record(audit_id=f"id-{i:05d}", user_agent=big, code=200))
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.log", "audit.log.1", "audit.log.2"]
    seen: list[str] = []
    for name in ("audit.log.2", "audit.log.1", "audit.log"):
        path = tmp_path / name
        assert path.stat().st_size <= 1024 * 1024
        events = read_events(path)  # every line whole: no event split across files
        seen.extend(e["auditID"] for e in events if e["stage"] == "ResponseComplete")
    # The newest events survive, in order; the oldest went with the dropped backups.
    assert seen == [f"id-{i:05d}" for i in range(count - len(seen), count)]
    assert stat.S_IMODE((tmp_path / "audit.log.1").stat().st_mode) == 0o600


def test_no_rotation_when_size_or_backups_is_zero(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path, max_size_mb=0, max_backups=5))
    for i in range(800):
        log.log(record(audit_id=str(i), user_agent="k" * 900, code=200))
    log.close()
    assert [p.name for p in tmp_path.iterdir()] == ["audit.log"]
    assert (tmp_path / "audit.log").stat().st_size > 1024 * 1024


def test_a_file_rotated_away_by_another_process_is_reopened(tmp_path: Path) -> None:
    log = AuditLog(settings(tmp_path))
    log.log(record(audit_id="before", code=200))
    log.flush()
    os.rename(tmp_path / "audit.log", tmp_path / "audit.log.1")  # another worker rotated
    log.log(record(audit_id="after", code=200))
    log.close()
    assert {e["auditID"] for e in read_events(tmp_path / "audit.log.1")} == {"before"}
    assert {e["auditID"] for e in read_events(tmp_path / "audit.log")} == {"after"}


# -- never blocking the caller -----------------------------------------------------------------


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Holds the audit file writer before each record (10 s at most) until the test sets it."""
    gate = threading.Event()
    original = _AuditFileHandler.emit

    def held_emit(self: Any, rec: Any) -> None:
        gate.wait(10)
        original(self, rec)

    monkeypatch.setattr(_AuditFileHandler, "emit", held_emit)
    return gate


def test_log_returns_while_the_disk_is_slow_and_close_flushes(
    tmp_path: Path, gate: threading.Event
) -> None:
    log = AuditLog(settings(tmp_path))
    start = time.monotonic()
    for i in range(200):
        log.log(record(audit_id=str(i), code=200))
    assert time.monotonic() - start < 1.0  # the caller never waited for the writer
    assert (tmp_path / "audit.log").read_text() == ""
    gate.set()
    log.close()
    assert len(read_events(tmp_path / "audit.log")) == 400
    log.log(record(audit_id="late", code=200))  # after close: ignored, no error
    log.close()


def test_a_full_queue_drops_and_counts(tmp_path: Path, gate: threading.Event) -> None:
    log = AuditLog(settings(tmp_path), queue_size=4)
    for i in range(20):
        log.log(record(audit_id=str(i), code=200))
    assert log.dropped > 0
    gate.set()
    log.close()
    assert len(read_events(tmp_path / "audit.log")) == 40 - log.dropped


def test_an_empty_log_path_is_no_audit_log() -> None:
    with pytest.raises(ValueError, match="log_path"):
        AuditLog(AuditSettings())
