"""Process logs (text or JSON, watchproxy's and uvicorn's loggers on one handler), the access
log line, and the `log_format` / `--log-format` settings that choose the format."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from watchproxy import cli, workers
from watchproxy.config import ConfigError, parse_settings
from watchproxy.observe.logs import (
    ACCESS_LOGGER,
    AccessLog,
    JsonFormatter,
    TextFormatter,
    client_address,
    configure_logging,
    request_uri,
)

SHARDS = {"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:2379"]}]}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back after each test."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", ACCESS_LOGGER]
    saved = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level,
            logging.getLogger(n).propagate)
        for n in names
    }  # fmt: skip
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def record(msg: str = "hello %s", *args: object, **extra: Any) -> logging.LogRecord:
    rec = logging.LogRecord("watchproxy.test", logging.INFO, __file__, 1, msg, args or None, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def ours(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


# --- formatters ---------------------------------------------------------------------------


def test_text_line() -> None:
    line = TextFormatter().format(record("hello %s", "world"))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO watchproxy.test: hello world", line
    )


def test_text_fields_are_quoted_so_a_client_cannot_forge_a_line() -> None:
    fields = {"URI": '/api/v1/pods?x=1\n2026 INFO forged "', "resp": 200, "latencyMs": 1.5}
    line = TextFormatter().format(record("HTTP", fields=fields))
    assert "\n" not in line
    assert line.endswith(
        r' HTTP URI="/api/v1/pods?x=1\n2026 INFO forged \"" resp=200 latencyMs=1.5'
    )


def test_text_traceback_follows_the_fields() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = record("failed", fields={"a": 1})
        rec.exc_info = sys.exc_info()
    lines = TextFormatter().format(rec).splitlines()
    assert lines[0].endswith("failed a=1")
    assert lines[-1] == "RuntimeError: boom"


def test_json_line() -> None:
    rec = record("hello %s", "world", fields={"resp": 200, "URI": "/x"}, shard="a")
    data = json.loads(JsonFormatter().format(rec))
    assert list(data)[:4] == ["time", "level", "logger", "msg"]
    assert ISO_UTC.match(data["time"]), data["time"]
    assert data == {
        "time": data["time"],
        "level": "INFO",
        "logger": "watchproxy.test",
        "msg": "hello world",
        "resp": 200,
        "URI": "/x",
        "shard": "a",  # an extra= of a plain log call
    }


def test_json_traceback_and_unencodable_extras() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = record("failed", path=Path("/tmp/x"), color_message="\x1b[31mfailed")
        rec.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(rec))
    assert data["exc_info"].splitlines()[-1] == "RuntimeError: boom"
    assert data["path"] == "/tmp/x"
    assert "color_message" not in data  # uvicorn's coloured copy of the message


# --- configure_logging ----------------------------------------------------------------------


def test_one_handler_replaced_on_reconfiguration_others_kept() -> None:
    root = logging.getLogger()
    other = logging.NullHandler()
    root.addHandler(other)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "text", first)
    configure_logging("warning", "json", second)
    assert other in root.handlers
    assert sum(getattr(h, "watchproxy", False) for h in root.handlers) == 1
    logging.getLogger("watchproxy.x").info("not at warning")
    logging.getLogger("watchproxy.x").warning("shown")
    assert first.getvalue() == ""
    assert [json.loads(x)["msg"] for x in ours(second)] == ["shown"]


def test_trace_level() -> None:
    # A uvicorn configured in this process before (log_level="warning") left its level on
    # uvicorn.error: ours wins.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    stream = io.StringIO()
    configure_logging("trace", "text", stream)
    logging.getLogger("uvicorn.error").log(5, "low")
    assert " TRACE uvicorn.error: low" in stream.getvalue()


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'xml' is not one of text, json"):
        configure_logging("info", "xml", io.StringIO())  # type: ignore[arg-type]


def test_uvicorn_logs_through_the_same_handler_and_its_access_log_is_off() -> None:
    """uvicorn configured as serving/server.py configures it (log_config=None, its access log
    off): its records come out in our JSON; even a uvicorn configured with its default logging
    config earlier in the process is taken over."""
    # What uvicorn's default LOGGING_CONFIG leaves (dictConfig itself would also close every
    # other handler of the process, pytest's included).
    earlier = io.StringIO()
    logging.getLogger("uvicorn").addHandler(logging.StreamHandler(earlier))
    logging.getLogger("uvicorn").propagate = False
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    uvicorn.Config(lambda: None, log_config=None, log_level="warning", access_log=False)
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("uvicorn.error").info("below uvicorn's level")
    logging.getLogger("uvicorn.access").info('127.0.0.1:1 - "GET / HTTP/1.1" 200')
    assert [(d["logger"], d["msg"]) for d in map(json.loads, ours(stream))] == [
        ("uvicorn.error", "from uvicorn")
    ]
    assert earlier.getvalue() == ""


# --- the access log -------------------------------------------------------------------------


def test_access_line_as_kube_httplog_plus_method_user_bytes() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    AccessLog().log(
        method="GET",
        uri="/api/v1/namespaces/acme-web/pods?watch=1&resourceVersion=5",
        code=200,
        seconds=0.0123456,
        user="alice",
        user_agent="kubectl/v1.32.4",
        source_ip="10.0.0.7:53422",
        audit_id="4f1c8a4e-0000-4000-8000-000000000001",
        verb="watch",
        bytes_sent=2048,
    )
    (line,) = ours(stream)
    data = json.loads(line)
    assert data["logger"] == "watchproxy.access" and data["level"] == "INFO"
    assert {k: v for k, v in data.items() if k != "time"} == {
        "level": "INFO",
        "logger": "watchproxy.access",
        "msg": "HTTP",
        "verb": "WATCH",
        "method": "GET",
        "URI": "/api/v1/namespaces/acme-web/pods?watch=1&resourceVersion=5",
        "latencyMs": 12.346,
        "user": "alice",
        "userAgent": "kubectl/v1.32.4",
        "audit-ID": "4f1c8a4e-0000-4000-8000-000000000001",
        "srcIP": "10.0.0.7:53422",
        "resp": 200,
        "bytes": 2048,
    }


def test_access_line_in_text_leaves_out_what_is_unknown() -> None:
    stream = io.StringIO()
    configure_logging("info", "text", stream)
    AccessLog().log(method="POST", uri="/api/v1/pods", code=401, seconds=0.001)
    (line,) = ours(stream)
    assert line.endswith(
        ' INFO watchproxy.access: HTTP verb="POST" method="POST" URI="/api/v1/pods"'
        ' latencyMs=1.0 user="" userAgent="" srcIP="" resp=401'
    ), line


def test_access_log_is_off_below_info() -> None:
    stream = io.StringIO()
    configure_logging("warning", "json", stream)
    access = AccessLog()
    assert not access.enabled
    access.log(method="GET", uri="/x", code=200, seconds=0.1)
    access.log_asgi({"method": "GET", "path": "/x"}, code=200, seconds=0.1)
    assert stream.getvalue() == ""


def test_access_line_from_an_asgi_scope() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/namespaces/a b/pods",
        "raw_path": b"/api/v1/namespaces/a%20b/pods",
        "query_string": b"limit=500",
        "headers": [(b"host", b"x"), (b"user-agent", b"client-go/v0.32")],
        "client": ("::1", 5555),
    }
    AccessLog().log_asgi(scope, code=200, seconds=0.5, user="bob", audit_id="id-1", verb="list")
    data = json.loads(ours(stream)[0])
    assert data["URI"] == "/api/v1/namespaces/a%20b/pods?limit=500"
    assert data["userAgent"] == "client-go/v0.32"
    assert data["srcIP"] == "[::1]:5555"
    assert (data["verb"], data["method"], data["user"], data["resp"]) == ("LIST", "GET", "bob", 200)
    assert "bytes" not in data


@pytest.mark.parametrize(
    ("client", "address"),
    [(("10.0.0.1", 80), "10.0.0.1:80"), (["fe80::1", 443], "[fe80::1]:443"), (None, "")],
)
def test_client_address(client: Any, address: str) -> None:
    assert client_address(client) == address


def test_request_uri() -> None:
    assert request_uri(b"/api", b"") == "/api"
    assert request_uri("/api", "watch=1") == "/api?watch=1"


# --- settings and command line --------------------------------------------------------------


def test_log_format_setting() -> None:
    assert parse_settings(SHARDS).log_format == "text"
    assert parse_settings({**SHARDS, "log_format": "json"}).log_format == "json"
    for bad in ("JSON", "xml", ["json"], None):
        with pytest.raises(ConfigError, match=r"^log_format: must be one of text, json$"):
            parse_settings({**SHARDS, "log_format": bad})


def root_formatter() -> logging.Formatter | None:
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "watchproxy", False)]
    return handler.formatter


@pytest.mark.parametrize(
    ("in_file", "flag", "expected"),
    [
        pytest.param(None, [], TextFormatter, id="default text"),
        pytest.param("json", [], JsonFormatter, id="the config file's"),
        pytest.param("json", ["--log-format", "text"], TextFormatter, id="the flag wins"),
        pytest.param(None, ["--log-format", "json"], JsonFormatter, id="the flag"),
    ],
)
def test_serve_applies_the_log_format(
    tmp_path: Path, in_file: str | None, flag: list[str], expected: type
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**SHARDS, **({"log_format": in_file} if in_file else {})}))
    # --workers 0 stops right after the config is read: nothing is served.
    assert cli.main(["serve", "--config", str(config), "--workers", "0", *flag]) == 2
    assert type(root_formatter()) is expected


def test_dev_takes_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    # --shards 0 stops before anything starts, after logging is configured.
    assert cli.main(["dev", "--shards", "0", "--log-format", "json"]) == 2
    assert type(root_formatter()) is JsonFormatter
    with pytest.raises(SystemExit):
        cli.main(["dev", "--log-format", "xml"])
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_workers_get_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[list[str]] = []

    class Exited:
        returncode = 0

        def __init__(self, command: list[str]) -> None:
            commands.append(command)

        def poll(self) -> int:
            return 0

    monkeypatch.setattr(workers.subprocess, "Popen", Exited)
    monkeypatch.setattr(workers.signal, "signal", lambda *_args: None)
    assert workers.supervise("c.yaml", 2, "info", "json") == 0
    assert workers.supervise("c.yaml", 1, "info") == 0
    assert [c[c.index("--log-level") :] for c in commands] == [
        ["--log-level", "info", "--log-format", "json"],
        ["--log-level", "info", "--log-format", "json"],
        ["--log-level", "info"],
    ]


@pytest.mark.parametrize("command", ["serve", "dev"])
def test_help_names_the_flag(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--log-format {text,json} log lines on stderr as plain text or JSON objects" in text
    assert "info adds one access-log line per request" in text
