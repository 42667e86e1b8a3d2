"""Proxy CPU per write request, per verb, through a real `watchproxy serve` on real etcd:

    .venv/bin/python -m bench.write_cost [--baseline /tmp/wt-base-h4] [--requests 500]
        [--repeats 3] [--inflight 16] [--verbs create,update,status,smp,apply,delete]
        [--profile OUT.txt [--profile-verb status]]

Two etcd shards, one proxy per build (this checkout, and with `--baseline DIR` a second one
running the code of another checkout, e.g. a `git worktree` of the commit before), both against
the same etcd. A client in another process (aiohttp) sends, per verb, `--requests` requests with
`--inflight` in flight to one proxy at a time: create (POST a ~1 KB Pod), update (PUT the created
object with a label changed), status (PATCH pods/P/status, merge patch of a kubelet-like status),
smp (strategic merge patch of a label and the container image), apply (server-side apply, force)
and delete. Each build gets its own pods; builds take turns per verb, `--repeats` times.

The figure is the serving proxy's CPU (utime + stime of every thread, /proc/PID/stat) over the
phase divided by the requests, median of the repeats. It includes the ingest of the write's
own etcd event (every proxy watches its shards): the *other* proxy ingests the same events
while idle, so its CPU over the same phase is printed as `ingest` (a build's ingest figure is
measured while the other build serves), and `write` = total - ingest is the request's own path.
`--profile OUT` records this checkout's proxy with py-spy during three more phases of one verb
(`--profile-verb`, default status) and writes a summary (inclusive and self shares per
function, bench/write_profile.py) to OUT.
Slightly over 400 lines as one module: the client process, the phases and the report share the
phase protocol (the spec dict) and are read together.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.cluster import ProxyProcess, _spawn, _stop, exit_on_termination, raise_fd_limit
from bench.managed_fields_cost import typical_pod
from bench.write_profile import summarize
from watchproxy.etcd.server import EtcdServer

VERBS = ("create", "update", "status", "smp", "apply", "delete")
# The names the targets table uses (bench/targets.py).
VERB_NAMES = {"status": "patch-status-merge", "smp": "patch-strategic", "update": "update (PUT)"}
NAMESPACES = ("ta-w", "tb-w")  # one per shard (bench/model.py tenants ta, tb)
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid` (/proc/PID/stat fields 14 and 15), seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


# -- the client (a spawned process) -----------------------------------------------------------


def _stamp(rep: int) -> str:
    return f"2026-01-01T00:{rep // 60 % 60:02d}:{rep % 60:02d}Z"


def _status_patch(i: int, rep: int) -> dict[str, Any]:
    """What a kubelet's status sync writes (conditions, IPs, one container's status)."""
    at = _stamp(rep)
    ip = f"10.1.{i // 250 % 250}.{i % 250}"
    return {
        "status": {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": _stamp(0),
            "conditions": [
                {"type": kind, "status": "True", "lastTransitionTime": at}
                for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": rep,
                    "started": True,
                    "image": "registry.example/app:1.2.3",
                    "imageID": "registry.example/app@sha256:" + "a" * 64,
                    "containerID": f"containerd://{i:064x}",
                    "state": {"running": {"startedAt": at}},
                }
            ],
        }
    }


def _request(
    verb: str, base: str, ns: str, name: str, i: int, rep: int, created: dict[str, Any]
) -> tuple[str, str, bytes, str]:
    """(method, url, body, content type) of request `i` of a verb's phase."""
    one = f"{base}/api/v1/namespaces/{ns}/pods/{name}"
    if verb == "create":
        pod = typical_pod()
        pod["metadata"].update(name=name, namespace=ns)
        body = json.dumps(pod).encode()
        return "POST", f"{base}/api/v1/namespaces/{ns}/pods", body, "application/json"
    if verb == "update":
        obj = json.loads(json.dumps(created[name]))  # as kubectl replace: the object, edited
        obj["metadata"].pop("resourceVersion", None)
        obj["metadata"].setdefault("labels", {})["updated"] = f"r{rep}"
        return "PUT", one, json.dumps(obj).encode(), "application/json"
    if verb == "status":
        body = json.dumps(_status_patch(i, rep)).encode()
        return "PATCH", one + "/status", body, "application/merge-patch+json"
    if verb == "smp":
        patch = {
            "metadata": {"labels": {"smp": f"r{rep}"}},
            "spec": {"containers": [{"name": "app", "image": f"registry.example/app:2.{rep}"}]},
        }
        return "PATCH", one, json.dumps(patch).encode(), "application/strategic-merge-patch+json"
    if verb == "apply":
        config = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"applied": f"r{rep}"}},
            "spec": {"containers": [{"name": "app", "image": f"registry.example/app:3.{rep}"}]},
        }
        url = one + "?fieldManager=bench-apply&force=true"
        return "PATCH", url, json.dumps(config).encode(), "application/apply-patch+yaml"
    if verb == "delete":
        return "DELETE", one, b"", "application/json"
    raise ValueError(verb)


async def _phase(session: Any, spec: dict[str, Any], created: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    verb, base, rep, prefix = spec["verb"], spec["base"], spec["rep"], spec["prefix"]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(spec["requests"]):
        queue.put_nowait(i)
    codes: dict[int, int] = {}
    latencies: list[float] = []
    first_error: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            name = f"{prefix}-{i:05d}"
            ns = NAMESPACES[i % len(NAMESPACES)]
            method, url, body, ctype = _request(verb, base, ns, name, i, rep, created)
            began = time.perf_counter()
            async with session.request(
                method, url, data=body or None, headers={"Content-Type": ctype}
            ) as resp:
                payload = await resp.read()
            latencies.append(time.perf_counter() - began)
            codes[resp.status] = codes.get(resp.status, 0) + 1
            if resp.status >= 300 and not first_error:
                first_error.append(f"{method} {url}: {resp.status} {payload[:300]!r}")
            elif verb == "create":
                created[name] = json.loads(payload)

    await asyncio.gather(*(worker() for _ in range(spec["inflight"])))
    latencies.sort()
    return {
        "codes": codes,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "error": first_error[0] if first_error else "",
    }


def client_main(conn: Connection) -> None:
    """The client process: run each phase the parent sends, answer its result."""
    import asyncio

    import aiohttp

    async def serve() -> None:
        created: dict[str, Any] = {}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                spec = await asyncio.to_thread(conn.recv)
                if spec is None:
                    return
                try:
                    conn.send(await _phase(session, spec, created))
                except Exception as exc:  # reported to the parent, which stops the run
                    conn.send({"codes": {}, "p50_ms": 0.0, "error": repr(exc)})

    asyncio.run(serve())


# -- the parent ---------------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.etcds = [EtcdServer(n, workdir / n) for n in ("shard-a", "shard-b")]
        self.builds: dict[str, ProxyProcess] = {}
        # (build, verb) -> per repeat: (total s, ingest s measured on the other proxy)
        self.totals: dict[tuple[str, str], list[float]] = {}
        self.ingest: dict[tuple[str, str], list[float]] = {}
        self.p50: dict[tuple[str, str], list[float]] = {}

    def start(self) -> None:
        for etcd in self.etcds:
            etcd.start()
        endpoints = [e.endpoint for e in self.etcds]
        roots = {"current": Path(__file__).resolve().parent.parent}
        if self.args.baseline:
            roots = {"baseline": Path(self.args.baseline).resolve(), **roots}
        for build, root in roots.items():
            self.builds[build] = ProxyProcess(
                self.workdir, endpoints, tree=root, serve_args=("--log-level", "warning")
            )
            self.builds[build].start()
        first = next(iter(self.builds.values()))
        for ns in NAMESPACES:
            body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            subprocess.run(
                ["curl", "-sf", "-o", "/dev/null", "-XPOST", "-H", "Content-Type: application/json",
                 "--data", body, f"{first.url}/api/v1/namespaces"],
                check=True, timeout=10,
            )  # fmt: skip
        time.sleep(1.0)  # every proxy's cache has the namespaces (NamespaceLifecycle reads it)

    def measure(self, conn: Connection, build: str, verb: str, rep: int) -> None:
        proxy = self.builds[build]
        others = [p for b, p in self.builds.items() if b != build]
        spec = {
            "verb": verb, "base": proxy.url, "rep": rep, "prefix": f"{build[0]}{rep}",
            "requests": self.args.requests, "inflight": self.args.inflight,
        }  # fmt: skip
        time.sleep(0.3)  # the previous phase's events are ingested everywhere
        before = [proc_cpu_seconds(p.pid) for p in (proxy, *others)]
        conn.send(spec)
        if not conn.poll(120):
            raise RuntimeError(f"{build} {verb}: client did not answer within 120 s")
        result = conn.recv()
        time.sleep(0.2)  # the phase's last events reach every proxy's cache
        after = [proc_cpu_seconds(p.pid) for p in (proxy, *others)]
        ok = sum(n for code, n in result["codes"].items() if code < 300)
        if result["error"] or ok != self.args.requests:
            raise RuntimeError(f"{build} {verb}: {result['codes']} {result['error']}")
        n = self.args.requests
        self.totals.setdefault((build, verb), []).append((after[0] - before[0]) / n)
        self.p50.setdefault((build, verb), []).append(result["p50_ms"])
        for other_build, b, a in zip(
            [x for x in self.builds if x != build], before[1:], after[1:], strict=True
        ):
            self.ingest.setdefault((other_build, verb), []).append((a - b) / n)

    def report(self) -> str:
        lines = [
            f"proxy CPU per request, µs (median of {self.args.repeats}; {self.args.requests} "
            f"requests per phase, {self.args.inflight} in flight)",
            f"{'verb':8s} " + " ".join(f"{b + ' total':>15s} {'ingest':>7s} {'write':>7s}"
                                       f" {'p50 ms':>7s}" for b in self.builds),
        ]  # fmt: skip
        for verb in self.args.verbs:
            cells = []
            for build in self.builds:
                total = statistics.median(self.totals[(build, verb)]) * 1e6
                ingest = self.ingest.get((build, verb))
                ing = statistics.median(ingest) * 1e6 if ingest else float("nan")
                p50 = statistics.median(self.p50[(build, verb)])
                cells.append(f"{total:15.0f} {ing:7.0f} {total - ing:7.0f} {p50:7.1f}")
            lines.append(f"{verb:8s} " + " ".join(cells))
        if len(self.builds) == 2:
            ratios = []
            for verb in self.args.verbs:
                now = statistics.median(self.totals[("current", verb)])
                ratios.append(
                    f"{verb} {now / statistics.median(self.totals[('baseline', verb)]):.2f}"
                )
            lines.append("current / baseline (total): " + ", ".join(ratios))
        return "\n".join(lines)

    def summary(self, build: str = "current") -> dict[str, Any]:
        """{"verbs": {verb: {"cpu_us": total, "ingest_us": (NaN with one build), "p50_ms"}}}:
        `build`'s medians, what `python -m bench`'s "write" stage reads (--json)."""
        verbs: dict[str, Any] = {}
        for verb in self.args.verbs:
            ingest = self.ingest.get((build, verb))
            verbs[VERB_NAMES.get(verb, verb)] = {
                "cpu_us": statistics.median(self.totals[(build, verb)]) * 1e6,
                "ingest_us": statistics.median(ingest) * 1e6 if ingest else float("nan"),
                "p50_ms": statistics.median(self.p50[(build, verb)]),
            }
        return {"verbs": verbs, "requests": self.args.requests, "inflight": self.args.inflight,
                "repeats": self.args.repeats}

    def close(self) -> None:
        for proxy in self.builds.values():
            proxy.stop()
        for etcd in self.etcds:
            etcd.stop()


def _profiled(run: Run, conn: Connection, out: Path, verb: str) -> None:
    """This checkout's proxy recorded by py-spy (raw collapsed stacks) during `verb`'s phases
    only (three more repeats, with pods of their own; creates and deletes around them are not
    recorded unless profiled)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    pid = run.builds["current"].pid
    stacks = []
    for rep in range(run.args.repeats, run.args.repeats + 3):
        for step in VERBS:
            if step != verb and step not in ("create", "delete"):
                continue
            if step != verb:
                run.measure(conn, "current", step, rep)
                continue
            raw = run.workdir / f"py-spy-{rep}.raw"
            proc = _spawn(
                [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw",
                 "--output", str(raw), "--nonblocking"],
                run.workdir / "py-spy.log",
            )  # fmt: skip
            try:
                time.sleep(1.0)  # attached
                run.measure(conn, "current", step, rep)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(30)
                _stop(proc)
            stacks.append(raw.read_text())
    (run.workdir / "py-spy.raw").write_text("\n".join(stacks))  # kept with --keep
    out.write_text(summarize("\n".join(stacks), title=f"py-spy, {verb} phases"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_cost", description=__doc__)
    parser.add_argument("--baseline", help="a checkout whose proxy is measured beside this one")
    parser.add_argument("--requests", type=int, default=500, help="requests per verb and phase")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--inflight", type=int, default=16)
    parser.add_argument("--verbs", default=",".join(VERBS))
    parser.add_argument("--profile", type=Path, help="write a py-spy summary of one verb here")
    parser.add_argument("--profile-verb", default="status", choices=VERBS)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    parser.add_argument("--json", type=Path, help="also write this checkout's medians here")
    args = parser.parse_args(argv)
    exit_on_termination()
    args.verbs = [v for v in args.verbs.split(",") if v]
    if unknown := set(args.verbs) - set(VERBS):
        parser.error(f"unknown verbs: {sorted(unknown)}")
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="wp-write-cost-"))
    run = Run(args, workdir)
    ctx = multiprocessing.get_context("spawn")
    conn, child_end = ctx.Pipe()
    client = ctx.Process(target=client_main, args=(child_end,), daemon=True)
    try:
        run.start()
        client.start()
        for rep in range(args.repeats):
            for verb in args.verbs:
                for build in run.builds:
                    run.measure(conn, build, verb, rep)
        print(run.report())
        if args.json:
            args.json.write_text(json.dumps(run.summary(), default=float))
        if args.profile:
            _profiled(run, conn, args.profile, args.profile_verb)
            print(f"profile summary: {args.profile}")
        return 0
    finally:
        with contextlib.suppress(OSError):
            conn.send(None)
        client.join(5)
        if client.is_alive():
            client.kill()
        run.close()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
