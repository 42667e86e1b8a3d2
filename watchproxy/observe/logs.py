"""Process logs and the access log.

`configure_logging` sends every record of watchproxy's loggers and uvicorn's to one handler on
stderr, as text (`time LEVEL logger: message key="value" ...`) or as JSON lines (`log_format`
in the config, `--log-format` on the command line). uvicorn is run with `log_config=None`
(serving/server.py), so it installs no handler of its own and its records reach the same one;
its access log stays off: `AccessLog` writes that line instead.

`AccessLog.log` writes one line per request at info when the response is complete (a watch:
when it ends), modelled on kube-apiserver's httplog line (`staging/src/k8s.io/apiserver/pkg/
server/httplog/httplog.go`, `respLogger.Log`: "HTTP" verb, URI, latency, userAgent, audit-ID,
srcIP, resp) plus the HTTP method, the user and the bytes sent. Never per watch event.

Structured records: a record may carry a `fields` mapping (`extra={"fields": {...}}`); the text
format appends them as `key=value` (strings quoted and escaped as JSON strings, so a client's
newline in a URI or User-Agent cannot forge a line), the JSON format adds them as keys.

JSON: python-json-logger's formatter core (maintained, typed) with orjson, already a dependency,
as the encoder.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final, Literal

import orjson
from pythonjsonlogger.core import RESERVED_ATTRS, BaseJsonFormatter

LogFormat = Literal["text", "json"]
LOG_FORMATS: Final[tuple[LogFormat, ...]] = ("text", "json")

ACCESS_LOGGER: Final = "watchproxy.access"
# The attribute of a structured record holding its key/value fields.
FIELDS: Final = "fields"
# uvicorn's TRACE_LOG_LEVEL, below DEBUG (`--log-level trace`).
TRACE: Final = 5
LEVELS: Final = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The loggers uvicorn writes to (config.py LOGGING_CONFIG); "uvicorn.access" is left out: with
# `access_log=False` uvicorn silences it, and AccessLog replaces it.
UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.asgi")

# Record attributes that are not fields of the line: the LogRecord's own (python-json-logger's
# list), Python 3.12's taskName, uvicorn's colourised duplicate of its message, and FIELDS
# (added key by key instead).
_NOT_FIELDS: Final = (*RESERVED_ATTRS, "taskName", "color_message", FIELDS)


def _quote(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return orjson.dumps(value).decode()
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(str(value)).decode()


def _fields(record: logging.LogRecord) -> Mapping[str, object]:
    fields = getattr(record, FIELDS, None)
    return fields if isinstance(fields, Mapping) else {}


class TextFormatter(logging.Formatter):
    """`2026-01-02 03:04:05,678 INFO watchproxy.access: HTTP verb="LIST" ... resp=200`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = _fields(record)
        if not fields:
            return line
        return line + "".join(f" {key}={_quote(value)}" for key, value in fields.items())


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `msg`,
    then the record's fields and extras, and `exc_info` (the traceback) when there is one."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "message": "msg"},
            reserved_attrs=_NOT_FIELDS,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        created = datetime.fromtimestamp(record.created, UTC)
        log_data["time"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)
        log_data.update(_fields(record))

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        # default=str: an extra no encoder knows (an exception, a path) is logged as its text
        # rather than failing the line.
        return orjson.dumps(log_data, default=str).decode()


def formatter(log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return TextFormatter()


def configure_logging(level: str, log_format: LogFormat, stream: IO[str] | None = None) -> None:
    """Send the records of every logger at `level` and above to one handler on `stream`
    (stderr by default) in `log_format`. Called again (the config file's `log_format`, read
    after the command line's), it replaces the handler it installed before; other handlers of
    the root logger (pytest's, an embedding program's) are left alone."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    logging.addLevelName(TRACE, "TRACE")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "watchproxy", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.watchproxy = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(LEVELS[level.lower()])
    for name in UVICORN_LOGGERS:
        # Handlers a uvicorn configured earlier in this process (its default dictConfig) would
        # write its own format; with none, its records propagate to the handler above. Its
        # `log_level` set a level on these loggers: cleared, so `level` is the one that counts.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.setLevel(logging.NOTSET)
        uvicorn_logger.propagate = True


def client_address(client: tuple[str, int] | list[Any] | None) -> str:
    """An ASGI scope's `client` as Go's RemoteAddr prints it: `10.0.0.1:53422`, `[::1]:53422`;
    "" when the server does not know it (a Unix socket)."""
    if not client:
        return ""
    host, port = client[0], client[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def request_uri(raw_path: bytes | str, query: bytes | str = b"") -> str:
    """The request's URI as sent: the raw path (not percent-decoded) and the query, if any."""
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else raw_path
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    return f"{path}?{text}" if text else path


class AccessLog:
    """The access log: one line per request on the `watchproxy.access` logger, at info.

    Off unless that logger is enabled for info (`--log-level info` or lower): `log` then returns
    before building anything, so a disabled access log costs one level check per request.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else logging.getLogger(ACCESS_LOGGER)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(
        self,
        *,
        method: str,
        uri: str,
        code: int,
        seconds: float,
        user: str = "",
        user_agent: str = "",
        source_ip: str = "",
        audit_id: str = "",
        verb: str = "",
        bytes_sent: int | None = None,
    ) -> None:
        """One request, complete. `code` is 0 when no response started (the client left
        first); `verb` is kube's (LIST, WATCH, GET, ...; the method when empty); `user` is the
        authenticated user's name ("" when authentication failed); `source_ip` is the peer's
        address (`client_address`); `bytes_sent` the response body's bytes, when counted."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        fields: dict[str, object] = {
            "verb": verb.upper() if verb else method,
            "method": method,
            "URI": uri,
            "latencyMs": round(seconds * 1000, 3),
            "user": user,
            "userAgent": user_agent,
        }
        if audit_id:
            fields["audit-ID"] = audit_id
        fields["srcIP"] = source_ip
        fields["resp"] = code
        if bytes_sent is not None:
            fields["bytes"] = bytes_sent
        self.logger.info("HTTP", extra={FIELDS: fields})

    def log_asgi(
        self,
        scope: Mapping[str, Any],
        *,
        code: int,
        seconds: float,
        user: str = "",
        audit_id: str = "",
        verb: str = "",
        bytes_sent: int | None = None,
    ) -> None:
        """`log` with the method, URI, User-Agent and peer address read from an ASGI scope."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        agent = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"user-agent"), ""
        )
        self.log(
            method=scope.get("method", ""),
            uri=request_uri(
                scope.get("raw_path") or scope.get("path", ""), scope.get("query_string", b"")
            ),
            code=code,
            seconds=seconds,
            user=user,
            user_agent=agent,
            source_ip=client_address(scope.get("client")),
            audit_id=audit_id,
            verb=verb,
            bytes_sent=bytes_sent,
        )
