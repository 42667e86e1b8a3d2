"""Command line: `watchproxy serve --config FILE` and `watchproxy dev`."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import FrameType

from watchproxy.config import ConfigError, Settings, load_settings, parse_settings
from watchproxy.observe.logs import LOG_FORMATS, configure_logging
from watchproxy.serving.filelimit import raise_open_file_limit, warn_if_file_limit_low


def _run_server(settings: Settings, *, reuse_port: bool = False) -> None:
    from watchproxy.api.app import create_app
    from watchproxy.serving.server import run_server
    from watchproxy.workers import reuse_port_socket

    asyncio.run(_check_shards(settings))
    app = create_app(settings)
    sock = reuse_port_socket(settings.host, settings.port) if reuse_port else None
    raise_open_file_limit()
    warn_if_file_limit_low(settings.max_connections)
    authentication = settings.security.authentication
    run_server(
        app,
        host=settings.host,
        port=settings.port,
        tls=settings.security.tls,
        client_ca_file=authentication.client_ca_file if authentication is not None else None,
        keep_alive_seconds=settings.keep_alive_seconds,
        reuse_port_socket=sock,
        end_watches=app.end_watches,
        begin_shutdown=app.begin_shutdown,
        shutdown_delay_seconds=settings.shutdown_delay_seconds,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
        header_read_timeout_seconds=settings.header_read_timeout_seconds,
        max_connections=settings.max_connections,
    )


async def _check_shards(settings: Settings) -> None:
    from watchproxy.proxy import Proxy

    proxy = Proxy(settings)
    try:
        await proxy.check_shards()
    finally:
        await proxy.close()


def serve(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        if args.log_format is None:
            # The config file's log_format, now that it is read (the command line's wins).
            configure_logging(args.log_level, settings.log_format)
        if args.workers < 1:
            raise ConfigError("--workers: must be at least 1")
        if args.workers > 1:
            from watchproxy.workers import supervise

            asyncio.run(_check_shards(settings))
            return supervise(args.config, args.workers, args.log_level, args.log_format)
        _run_server(settings, reuse_port=args.reuse_port)
    except ConfigError as exc:
        print(f"watchproxy: {exc}", file=sys.stderr)
        return 2
    return 0


DEMO_TENANTS = {
    "acme": ["acme-web", "acme-db"],
    "globex": ["globex-prod", "gx"],
    "initech": ["initech-dev"],
}


# Demo identities of each tenant (tenants[].subjects). Their client certificates and tokens come
# from watchproxy/devpki.py; watchproxy/seed.py binds each group to ClusterRole `edit` in the
# tenant's namespaces (initech has no demo user, only its group's bindings).
DEMO_SUBJECTS: dict[str, dict[str, list[str]]] = {
    "acme": {"users": ["alice"], "groups": ["acme-devs"]},
    "globex": {"users": ["bob"], "groups": ["globex-devs"]},
    "initech": {"groups": ["initech-devs"]},
}
# The `iss` of ServiceAccount tokens, kube's default for a cluster.local cluster.
DEV_SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
DEV_HOST = "127.0.0.1"
SECURE_DEV_PORT = 6443  # kube-apiserver's --secure-port default
INSECURE_DEV_PORT = 8080


def dev_config(
    endpoints: list[str],
    port: int,
    pki_dir: Path | None = None,
    audit_log: Path | None = None,
) -> dict[str, object]:
    """The dev mode's config. Without `pki_dir`: anonymous plain HTTP (every caller is admin).
    With it (files of watchproxy/devpki.py): TLS, client certificates, the token file and
    ServiceAccount tokens, Node and RBAC authorization, tenant subjects, and an audit log at
    `audit_log` when given."""
    names = [f"shard-{chr(ord('a') + i)}" for i in range(len(endpoints))]
    globs = {"acme": ["acme-*"], "globex": ["globex-*", "gx"], "initech": ["initech-*"]}
    tenants: list[dict[str, object]] = [
        {"name": t, "shard": names[i % len(names)], "namespaces": globs[t]}
        for i, t in enumerate(globs)
        if i < max(2, len(names))
    ]
    config: dict[str, object] = {
        "listen": f"127.0.0.1:{port}",
        "shards": [{"name": n, "endpoints": [e]} for n, e in zip(names, endpoints, strict=True)],
        "tenants": tenants,
        "default_shard": names[0],
        # Ctrl-C stops at once: no load balancer to wait for.
        "shutdown_delay_seconds": 0,
    }
    if pki_dir is None:
        return config
    from watchproxy.devpki import DevPki

    pki = DevPki(pki_dir, {})
    for tenant in tenants:
        tenant["subjects"] = DEMO_SUBJECTS[str(tenant["name"])]
    config["tls"] = {"cert_file": str(pki.server_cert_file), "key_file": str(pki.server_key_file)}
    config["authentication"] = {
        "client_ca_file": str(pki.ca_file),
        "token_auth_file": str(pki.token_file),
        "service_account_key_files": [str(pki.sa_pub_file)],
        "service_account_issuers": [DEV_SA_ISSUER],
        "service_account_signing_key_file": str(pki.sa_key_file),
    }
    config["authorization"] = {"modes": ["Node", "RBAC"]}
    if audit_log is not None:
        config["audit"] = {"log_path": str(audit_log)}
    return config


def dev(args: argparse.Namespace) -> int:
    if args.shards < 1 or args.shards > 8:
        print("watchproxy: --shards must be between 1 and 8", file=sys.stderr)
        return 2
    port = args.port
    if port is None:
        port = INSECURE_DEV_PORT if args.insecure else SECURE_DEV_PORT
    # Before anything starts: a port in use is one line and nothing to clean up.
    problem = port_problem(DEV_HOST, port)
    if problem is not None:
        print(f"watchproxy: cannot serve on {DEV_HOST}:{port}: {problem}", file=sys.stderr)
        return 1
    _stop_on_sigterm()
    temporary = not args.data_dir
    data_dir = (
        Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="watchproxy-dev-"))
    )
    try:
        return _dev(args, port, data_dir, temporary)
    finally:
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (as uvicorn will bind it), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _dev(args: argparse.Namespace, port: int, data_dir: Path, temporary: bool) -> int:
    from watchproxy.etcd.server import EtcdServer

    pki_dir = None if args.insecure else data_dir / "pki"
    if pki_dir is not None:
        from watchproxy.devpki import ensure_pki

        # Kept in the data dir: a restart keeps the identities (and kubeconfigs handed out).
        ensure_pki(pki_dir, port)
    audit_log = data_dir / "audit.log"
    fresh = not any(data_dir.glob("shard-*/etcd"))
    servers = [
        EtcdServer(
            f"shard-{chr(ord('a') + i)}",
            data_dir / f"shard-{chr(ord('a') + i)}",
            # Even a SIGKILLed dev mode leaves no etcd running (started on the main thread,
            # before any other thread exists).
            die_with_parent=True,
        )
        for i in range(args.shards)
    ]
    try:
        for server in servers:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            server.start()
        endpoints = [s.endpoint for s in servers]
        settings = parse_settings(
            dev_config(endpoints, port, pki_dir, audit_log if pki_dir is not None else None)
        )
        if fresh and not args.no_seed:
            count = asyncio.run(_seed(settings))
            print(f"watchproxy dev: seeded {count} demo objects")
        for server in servers:
            print(f"watchproxy dev: etcd {server.name} at {server.endpoint}")
        if pki_dir is None:
            url = f"http://127.0.0.1:{port}"
            print(f"watchproxy dev: serving the Kubernetes API on {url} (data in {data_dir})")
            print(f"  try: kubectl --server {url} get pods -A")
        else:
            _print_secure_usage(port, data_dir, pki_dir, audit_log)
        print("  Ctrl-C stops the proxy and every etcd it started.")
        if temporary:
            print(f"  {data_dir} is removed on exit (--data-dir DIR keeps the data).")
        sys.stdout.flush()
        _run_server(settings)
    except ConfigError as exc:
        print(f"watchproxy: {exc}", file=sys.stderr)
        return 2
    finally:
        _ignore_stop_signals()  # a second Ctrl-C must not cut the etcds' stop short
        for server in servers:
            server.stop()
    return 0


def _forwarded_signals() -> tuple[signal.Signals, ...]:
    """Signals whose default action ends the process (leaving dev mode's etcds running and its
    temporary folder on disk) that dev mode handles as SIGTERM: SIGQUIT (Ctrl-\\), SIGUSR1,
    SIGUSR2, SIGALRM."""
    return (signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)


def _ignore_stop_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, *_forwarded_signals()):
        signal.signal(sig, signal.SIG_IGN)


def _stop_on_sigterm() -> None:
    """SIGTERM (`kill`, a supervisor) and SIGHUP (a closed terminal) stop dev mode as Ctrl-C
    does, also while etcd starts or the demo is seeded: then every etcd it started is stopped.
    (While serving, serving/server.py handles all three and returns; their default handlers
    would end the process and orphan the etcds.) The other signals that end a process by
    default (_forwarded_signals) run whatever SIGTERM's handler is at the time: before and
    after serving this one, while serving the server's graceful stop."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    def as_sigterm(signum: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGTERM)
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            raise KeyboardInterrupt
        # SIG_IGN: already stopping (_ignore_stop_signals).

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    for sig in _forwarded_signals():
        signal.signal(sig, as_sigterm)


def _print_secure_usage(port: int, data_dir: Path, pki_dir: Path, audit_log: Path) -> None:
    from watchproxy.devpki import DEV_NODE, DevPki

    pki = DevPki(pki_dir, {})
    url = f"https://127.0.0.1:{port}"
    print(f"watchproxy dev: serving the Kubernetes API on {url} (data in {data_dir})")
    print(f"watchproxy dev: credentials in {pki_dir}, audit log in {audit_log}")
    examples = [
        ("kubectl get pods -A", "admin (system:masters)"),
        ("kubectl --context alice get pods -A", "alice (acme-devs): tenant acme only"),
        ("kubectl --context alice auth can-i list secrets -n globex-prod", "no: another tenant"),
        ("kubectl --context bob get pods", "bob (globex-devs), in globex-prod"),
        ("kubectl --context carol-token get configmaps", "carol (token file), in acme-web"),
        (
            f"kubectl --context node get pods -A --field-selector spec.nodeName={DEV_NODE}",
            f"the kubelet of {DEV_NODE}",
        ),
        ("kubectl auth whoami", ""),
    ]
    print(f"  export KUBECONFIG={pki.kubeconfig}")
    for command, note in examples:
        print(f"  {command.ljust(44)}  # {note}" if note else f"  {command}")


async def _seed(settings: Settings) -> int:
    from watchproxy.proxy import Proxy
    from watchproxy.seed import seed

    proxy = Proxy(settings)
    try:
        present = {t.name for t in settings.tenants}
        return await seed(proxy, {k: v for k, v in DEMO_TENANTS.items() if k in present})
    finally:
        await proxy.close()


def main(argv: list[str] | None = None) -> int:
    from watchproxy import __version__

    parser = argparse.ArgumentParser(prog="watchproxy", description=__doc__)
    parser.add_argument("--version", action="version", version=f"watchproxy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve against external etcd clusters")
    p_serve.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="YAML config file: shards, tenants, TLS, authentication (docs/configuration.md)",
    )
    p_serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port through SO_REUSEPORT, each a whole proxy (default: 1)",
    )
    p_serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p_dev = sub.add_parser("dev", help="start local etcd shards, seed a demo, and serve")
    p_dev.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port to serve on, on 127.0.0.1 (default: {SECURE_DEV_PORT}, or"
        f" {INSECURE_DEV_PORT} with --insecure)",
    )
    p_dev.add_argument(
        "--insecure",
        action="store_true",
        help="serve plain HTTP with no authentication: every caller is an anonymous admin"
        " (default: HTTPS, client certificates and tokens, Node and RBAC authorization,"
        " credentials and kubeconfig in DATA_DIR/pki, audit log in DATA_DIR/audit.log)",
    )
    p_dev.add_argument(
        "--shards",
        type=int,
        default=2,
        help="local etcd servers to start, one per shard (default: 2)",
    )
    p_dev.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="keep etcd data, credentials and the audit log here, kept across runs (default: a"
        " temporary folder, removed on exit)",
    )
    p_dev.add_argument(
        "--no-seed",
        action="store_true",
        help="do not seed the demo (namespaces, nodes, pods, RoleBindings) into empty etcds",
    )
    for command in (p_dev, p_serve):
        command.add_argument(
            "--log-level",
            default="warning",
            choices=["critical", "error", "warning", "info", "debug", "trace"],
            help="log level (default: warning); info adds one access-log line per request",
        )
        command.add_argument(
            "--log-format",
            default=None,
            choices=LOG_FORMATS,
            help="log lines on stderr as plain text or JSON objects (default: the config file's"
            " log_format, else text)",
        )
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_format or "text")
    try:
        return serve(args) if args.command == "serve" else dev(args)
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it handled after shutting down cleanly: a normal stop.
        return 0


if __name__ == "__main__":
    sys.exit(main())
