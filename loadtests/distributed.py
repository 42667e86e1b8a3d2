"""`make load`, distributed part: locust master + workers against haproxy in front of replicas.

Everything on loopback, in a fresh temp dir, stopped at the end whatever happens:
1. two etcd shards and `--replicas` (3) `watchproxy serve` processes over them (the same
   launchers as the integration tests: EtcdServer, tests/integration/conftest.py's ProxyProcess,
   and the demo tenancy of `watchproxy dev`: acme on shard-a, globex on shard-b);
2. haproxy in front of them with the config of tests/integration/haproxy.py (leastconn,
   `/readyz` checks), the one the rollout test uses;
3. `locust --master --expect-workers N --headless` bound to 127.0.0.1 and N (2) `locust --worker`
   processes, running loadtests/locustfile.py for `--run-time`;
4. locust's summary and watch-event table (the master's output), then one table per request
   type from locust's CSV (requests/s, failures, p50/p95/p99), the requests each replica got
   from haproxy, and any error the replicas logged.

Exit status: the master's (1 if any request or watch event failed), or 1 if set-up failed.
Run from the repository root: `.venv/bin/python -m loadtests.distributed --help`.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

from tests.integration.conftest import ProxyProcess, base_config
from tests.integration.haproxy import Haproxy
from watchproxy.etcd.server import EtcdServer, free_port

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.distributed",
        description="Distributed locust run (master + workers) against haproxy in front of "
        "watchproxy replicas, all on loopback. Defaults come from the LOAD_* variables of "
        "`make load`.",
    )
    parser.add_argument("--run-time", default=env("LOAD_TIME", "60s"), help="locust -t")
    parser.add_argument("--workers", type=int, default=int(env("LOAD_WORKERS", "2")))
    parser.add_argument("--replicas", type=int, default=int(env("LOAD_REPLICAS", "3")))
    parser.add_argument("--kubelets", type=int, default=int(env("LOAD_KUBELETS", "50")))
    parser.add_argument("--controllers", type=int, default=int(env("LOAD_CONTROLLERS", "5")))
    parser.add_argument("--writers", type=int, default=int(env("LOAD_WRITERS", "2")))
    parser.add_argument("--spawn-rate", type=int, default=int(env("LOAD_SPAWN_RATE", "20")))
    parser.add_argument(
        "--locust-args",
        default=env("LOAD_ARGS", ""),
        help="extra arguments for the master (e.g. '--watch-timeout 10')",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, CSV)")
    return parser.parse_args(argv)


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn TERM/HUP into an exception so every `finally` below runs and stops what it started.
    raise SystemExit(128 + signum)


@contextmanager
def fleet(workdir: Path, replicas: int) -> Iterator[Haproxy]:
    """etcd x 2, `replicas` x `watchproxy serve`, haproxy in front; all stopped on exit."""
    with ExitStack() as stack:
        etcds = [EtcdServer(f"shard-{x}", workdir / f"shard-{x}") for x in "ab"]
        for server in etcds:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            stack.callback(server.stop)
            server.start()
        # A 1 s shutdown delay: the run ends with every replica stopping, nobody to hand over to.
        config = base_config(
            [s.endpoint for s in etcds], bookmark_interval_seconds=60, shutdown_delay_seconds=1
        )
        procs = [ProxyProcess(config, workdir, f"r{i}") for i in range(replicas)]
        stack.callback(_stop_all, procs)
        for p in procs:
            p.start()
        print(f"load: {replicas} replicas ready on ports {', '.join(str(p.port) for p in procs)}")
        lb = Haproxy(
            workdir,
            listen_port=free_port(),
            servers=[(f"r{i}", p.port) for i, p in enumerate(procs)],
            # The locustfile's watches last --watch-timeout (30 s) plus up to 50% jitter.
            watch_seconds=45,
        )
        stack.callback(lb.stop)
        lb.start()
        print(f"load: haproxy on {lb.url} ({lb.config_path}), every replica UP")
        try:
            yield lb
        finally:
            _report_replica_errors(procs)


def _stop_all(procs: list[ProxyProcess]) -> None:
    for p in procs:  # SIGTERM all first: their shutdown delays run in parallel
        if p.proc is not None and p.proc.poll() is None:
            p.proc.terminate()
    for p in procs:
        p.stop()


def _report_replica_errors(procs: list[ProxyProcess]) -> None:
    for p in procs:
        lines = [ln for ln in p.log().splitlines() if re.search(r"Traceback|ERROR", ln)]
        if lines:
            print(f"load: replica {p.port} logged errors:", *lines[:20], sep="\n  ")


def run_locust(args: argparse.Namespace, host: str, workdir: Path) -> int:
    """Master + workers, all in their own sessions; returns the master's exit status."""
    locust = str(Path(sys.executable).parent / "locust")
    port = free_port()
    users = args.kubelets + args.controllers + args.writers
    master_cmd = [
        locust, "-f", str(LOCUSTFILE), "--master",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(args.workers), "--expect-workers-max-wait", "60",
        "--headless", "--only-summary", "-u", str(users), "-r", str(args.spawn_rate),
        "-t", args.run_time, "--stop-timeout", "0", "--host", host,
        "--kubelets", str(args.kubelets), "--controllers", str(args.controllers),
        "--writers", str(args.writers), "--csv", str(workdir / "locust"),
        *args.locust_args.split(),
    ]  # fmt: skip
    worker_cmd = [
        locust, "-f", str(LOCUSTFILE), "--worker",
        "--master-host", "127.0.0.1", "--master-port", str(port),
    ]  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    try:
        master = subprocess.Popen(master_cmd, start_new_session=True)
        procs.append(master)
        for i in range(args.workers):
            with (workdir / f"worker-{i}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        worker_cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        status = master.wait()
        # Workers quit when the master tells them to; give them a moment before the finally.
        deadline = time.monotonic() + 15
        for p in procs[1:]:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        return status
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def print_table(csv_path: Path, seconds: float) -> None:
    """One row per locust entry (method + name), Markdown, for loadtests/README.md."""
    if not csv_path.exists():
        print(f"load: no {csv_path.name}")
        return
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    requests = [r for r in rows if r["Type"] not in ("WATCH-EVENT", "WATCH-STREAM", "RELIST", "")]
    events = [r for r in rows if r["Type"] == "WATCH-EVENT"]
    print(
        f"\nload: {sum(int(r['Request Count']) for r in requests)} HTTP requests "
        f"({sum(float(r['Requests/s']) for r in requests):.1f}/s), "
        f"{sum(int(r['Failure Count']) for r in requests)} failed; "
        f"{sum(int(r['Request Count']) for r in events)} watch events "
        f"({sum(float(r['Requests/s']) for r in events):.1f}/s), "
        f"{sum(int(r['Failure Count']) for r in events)} failed"
    )
    print(f"\nPer request type ({csv_path.name}; measured over about {seconds:.0f} s):\n")
    print("| type | name | requests | failures | req/s | p50 ms | p95 ms | p99 ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        # Rows counted without a response time (DELETED events, stream ends, relists): no
        # percentiles to show.
        timed = float(row["Max Response Time"] or 0) > 0
        p50, p95, p99 = (row[q] if timed else "-" for q in ("50%", "95%", "99%"))
        print(
            f"| {row['Type']} | {row['Name']} | {row['Request Count']} | {row['Failure Count']} "
            f"| {float(row['Requests/s']):.1f} | {p50} | {p95} | {p99} |"
        )


def print_balance(lb: Haproxy) -> None:
    """How haproxy spread the connections: leastconn should keep the replicas close."""
    per_server = {row["svname"]: row for row in lb.stats()}
    print(
        "load: haproxy sessions per replica: "
        + ", ".join(f"{name} {row['stot']} (now {row['scur']})" for name, row in per_server.items())
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="watchproxy-load-dist."))
    print(
        f"load: distributed run: locust master + {args.workers} workers, haproxy, "
        f"{args.replicas} replicas, 2 etcd shards, {args.run_time} (work dir {workdir})"
    )
    status = 1
    try:
        with fleet(workdir, args.replicas) as lb:
            started = time.monotonic()
            status = run_locust(args, lb.url, workdir)
            elapsed = time.monotonic() - started
            print_balance(lb)
        print_table(workdir / "locust_stats.csv", elapsed)
        if status != 0:
            for log in sorted(workdir.glob("worker-*.log")):
                print(f"load: --- {log.name} (tail) ---", log.read_text()[-2000:], sep="\n")
    except KeyboardInterrupt:
        status = 130
    finally:
        if args.keep:
            print(f"load: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
