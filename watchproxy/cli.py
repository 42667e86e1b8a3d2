"""Command line: `watchproxy serve --config FILE` and `watchproxy dev`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
import tempfile
from pathlib import Path
from types import FrameType

from watchproxy.config import ConfigError, Settings, load_settings, parse_settings


def _run_server(settings: Settings, *, reuse_port: bool = False) -> None:
    import uvicorn

    from watchproxy.api.app import create_app
    from watchproxy.workers import reuse_port_socket

    asyncio.run(_check_shards(settings))
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        # Clients and load balancers keep idle connections for a minute or more; closing after
        # uvicorn's default 5 s races their next request (a PATCH cannot be retried safely).
        timeout_keep_alive=int(settings.keep_alive_seconds),
    )
    sockets = [reuse_port_socket(settings.host, settings.port)] if reuse_port else None
    raise_open_file_limit()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.end_watches()  # signal handlers run on the loop's thread
            super().handle_exit(sig, frame)

    Server(config).run(sockets=sockets)


def raise_open_file_limit() -> None:
    """Every watch is a socket: lift the soft descriptor limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


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
        if args.workers < 1:
            raise ConfigError("--workers: must be at least 1")
        if args.workers > 1:
            from watchproxy.workers import supervise

            asyncio.run(_check_shards(settings))
            return supervise(args.config, args.workers, args.log_level)
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


def dev_config(endpoints: list[str], port: int) -> dict[str, object]:
    names = [f"shard-{chr(ord('a') + i)}" for i in range(len(endpoints))]
    globs = {"acme": ["acme-*"], "globex": ["globex-*", "gx"], "initech": ["initech-*"]}
    tenants = [
        {"name": t, "shard": names[i % len(names)], "namespaces": globs[t]}
        for i, t in enumerate(globs)
        if i < max(2, len(names))
    ]
    return {
        "listen": f"127.0.0.1:{port}",
        "shards": [{"name": n, "endpoints": [e]} for n, e in zip(names, endpoints, strict=True)],
        "tenants": tenants,
        "default_shard": names[0],
    }


def dev(args: argparse.Namespace) -> int:
    from watchproxy.etcd.server import EtcdServer

    if args.shards < 1 or args.shards > 8:
        print("watchproxy: --shards must be between 1 and 8", file=sys.stderr)
        return 2
    data_dir = (
        Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="watchproxy-dev-"))
    )
    fresh = not any(data_dir.glob("shard-*/etcd"))
    servers = [
        EtcdServer(f"shard-{chr(ord('a') + i)}", data_dir / f"shard-{chr(ord('a') + i)}")
        for i in range(args.shards)
    ]
    try:
        for server in servers:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            server.start()
        settings = parse_settings(dev_config([s.endpoint for s in servers], args.port))
        if fresh and not args.no_seed:
            count = asyncio.run(_seed(settings))
            print(f"watchproxy dev: seeded {count} demo objects")
        for server in servers:
            print(f"watchproxy dev: etcd {server.name} at {server.endpoint}")
        url = f"http://127.0.0.1:{args.port}"
        print(f"watchproxy dev: serving the Kubernetes API on {url} (data in {data_dir})")
        print(f"  try: kubectl --server {url} get pods -A")
        print("  Ctrl-C stops the proxy and every etcd it started.")
        sys.stdout.flush()
        _run_server(settings)
    except ConfigError as exc:
        print(f"watchproxy: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers:
            server.stop()
    return 0


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
    parser = argparse.ArgumentParser(prog="watchproxy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve against external etcd clusters")
    p_serve.add_argument("--config", required=True, help="YAML config file")
    p_serve.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)"
    )
    p_serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p_dev = sub.add_parser("dev", help="start local etcd shards, seed a demo, and serve")
    p_dev.add_argument(
        "--port", type=int, default=8080, help="port to serve on, on 127.0.0.1 (default: 8080)"
    )
    p_dev.add_argument(
        "--shards",
        type=int,
        default=2,
        help="local etcd servers to start, one per shard (default: 2)",
    )
    p_dev.add_argument("--data-dir", default=None, help="keep etcd data here (default: temp)")
    p_dev.add_argument("--no-seed", action="store_true", help="do not seed the demo cluster")
    for command in (p_dev, p_serve):
        command.add_argument(
            "--log-level",
            default="warning",
            choices=["critical", "error", "warning", "info", "debug", "trace"],
            help="log level (default: warning)",
        )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return serve(args) if args.command == "serve" else dev(args)
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it handled after shutting down cleanly: a normal stop.
        return 0


if __name__ == "__main__":
    sys.exit(main())
