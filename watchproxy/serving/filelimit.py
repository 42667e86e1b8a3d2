"""The open-file limit of a serving process: every client connection (every watch) is a socket."""

from __future__ import annotations

import logging
import resource


def raise_open_file_limit() -> None:
    """Every watch is a socket: lift the soft descriptor limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# Descriptors a serving process needs besides its client connections: etcd channels, the
# listener, logs, the event loop's own.
RESERVED_FILES = 100


def warn_if_file_limit_low(max_connections: int) -> bool:
    """Warn (naming the field) when the open-file limit cannot hold `max_connections` client
    connections; returns whether it warned."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or max_connections + RESERVED_FILES <= soft:
        return False
    logging.getLogger("watchproxy").warning(
        "max_connections: %d connections do not fit the open-file limit %d (%d kept for etcd"
        " and the process); raise the limit (ulimit -n, the container runtime's nofile) or lower"
        " max_connections, or accepts will fail with EMFILE",
        max_connections,
        soft,
        RESERVED_FILES,
    )
    return True
