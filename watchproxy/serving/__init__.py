"""The HTTP edge: TLS with HTTP/2 (ALPN `h2`) and HTTP/1.1, under uvicorn's lifecycle.

- `tls.py`: the serving SSLContext and its reload when the certificate files change;
- `protocol.py`: the `http` protocol class uvicorn instantiates per connection; it picks HTTP/2
  or HTTP/1.1 from ALPN and adds the ASGI TLS extension to every request's scope;
- `h2.py`: HTTP/2 over the `h2` library, with per-stream flow control (backpressure);
- `server.py`: `run_server`, what `watchproxy serve` runs (decision 0011).

This module holds the process-wide counters shown under `serving` in `/debug/stats`.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

# Connection kinds, as counted: the ALPN protocol and whether the connection is TLS.
H2_TLS: Final = "h2_tls"
HTTP1_TLS: Final = "http1_tls"
HTTP1_PLAIN: Final = "http1_plain"
H2_PLAIN: Final = "h2_plain"  # only when a test drives the HTTP/2 protocol without TLS

_counters: Counter[str] = Counter()


def count(key: str, delta: int = 1) -> None:
    _counters[key] += delta


def connection_opened(kind: str) -> None:
    _counters[f"connections_open_{kind}"] += 1
    _counters[f"connections_total_{kind}"] += 1


def connection_closed(kind: str) -> None:
    _counters[f"connections_open_{kind}"] -= 1


def serving_statistics() -> dict[str, int]:
    """Counters since the process started.

    `connections_open_<kind>` / `connections_total_<kind>` for kind in h2_tls, http1_tls,
    http1_plain; `h2_streams_open`, `h2_streams_total`, `h2_streams_reset_by_client`,
    `h2_flow_control_waits` (a send that had to wait for a WINDOW_UPDATE),
    `h2_write_buffer_waits` (a send that waited for the socket to drain),
    `h2_header_list_refused` (431), `h2_protocol_errors` (connections ended with GOAWAY),
    `tls_reloads` / `tls_reload_failures` (serving certificate and client CA files).
    """
    out = dict.fromkeys(
        (
            f"connections_{state}_{kind}"
            for state in ("open", "total")
            for kind in (H2_TLS, HTTP1_TLS, HTTP1_PLAIN)
        ),
        0,
    )
    out.update(
        dict.fromkeys(
            (
                "h2_streams_open",
                "h2_streams_total",
                "h2_streams_reset_by_client",
                "h2_flow_control_waits",
                "h2_write_buffer_waits",
                "h2_header_list_refused",
                "h2_protocol_errors",
                "tls_reloads",
                "tls_reload_failures",
            ),
            0,
        )
    )
    out.update(_counters)
    return out
