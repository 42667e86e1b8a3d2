"""Idle watcher probe (decision 0023): N kubelet-style watches on a proxy from ROOT (a checkout);
RSS per watch, and with TM=1 a tracemalloc breakdown. Run from the checkout with its venv:
  .venv/bin/python docs/decisions/profiles/idle-watch-probe.py "$PWD" 500 rv 1
usage: idle.py ROOT N MODE(rv|watchlist) [TM(0|1)]"""
import asyncio, os, signal, subprocess, sys, tempfile, time, tracemalloc, json, collections
from pathlib import Path
ROOT = sys.argv[1]; N = int(sys.argv[2]); MODE = sys.argv[3]; TM = sys.argv[4] == "1" if len(sys.argv) > 4 else False
sys.path.insert(0, ROOT)
import bench.ingest_cost  # noqa: import order (circular import otherwise)
from bench.cluster import Cluster, ProxyProcess, _children, http_get
from bench.model import Population
from bench.relist_storm import seed, wait_cached
from bench import metrics
from watchproxy.etcd.client import EtcdClient
import uvloop
OUT = tempfile.mktemp(prefix="h7tm-")

async def open_watch(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n".encode())
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    assert b" 200 " in head[:20], head[:200]
    return r, w

async def main():
    wd = Path(tempfile.mkdtemp(prefix="h7idle-"))
    cl = Cluster(wd); clients = []
    try:
        cl.start_etcd()
        clients = [EtcdClient([ep]) for ep in cl.endpoints]
        pop = Population(nodes=1000, pods=2000)
        await seed(clients, pop)
        proxy = ProxyProcess(wd, cl.endpoints)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": ROOT}
        if TM: env["TM_OUT"] = OUT
        with open(proxy.log_path, "ab") as log:
            proxy.proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "idle-watch-tmwrap.py"), "serve", "--config", str(proxy.config_path)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=ROOT)
        _children[proxy.proc.pid] = proxy.proc
        cl.proxy = proxy
        for _ in range(1200):
            try:
                if http_get(proxy.url + "/readyz", 2)[0] == 200: break
            except OSError: pass
            time.sleep(0.1)
        await wait_cached(proxy.url, pop.pods)
        await asyncio.sleep(1)
        status, body = http_get(proxy.url + "/api/v1/pods?limit=1")
        rv = json.loads(body)["metadata"]["resourceVersion"]
        def path(i):
            node = f"node-{(i % pop.nodes):05d}"
            if MODE == "rv":
                return f"/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3D{node}&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=600"
            return f"/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3D{node}&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=600"
        warm = [await open_watch(proxy.port, path(i)) for i in range(50)]
        for r, w in warm: w.close()
        await asyncio.sleep(2)
        pid = proxy.pid
        os.kill(pid, signal.SIGUSR1); await asyncio.sleep(2)
        r0 = metrics.rss_bytes(pid)
        conns = [await open_watch(proxy.port, path(i)) for i in range(N)]
        await asyncio.sleep(3)
        os.kill(pid, signal.SIGUSR1); await asyncio.sleep(2 if not TM else 4)
        r1 = metrics.rss_bytes(pid)
        print(f"RSS per idle watcher ({MODE}, N={N}, tm={TM}): {(r1 - r0) / N / 1024:.2f} KB", flush=True)
        for r, w in conns: w.close()
        await asyncio.sleep(1)
    finally:
        for c in clients: await c.close()
        cl.close()
    if not TM: return
    a = tracemalloc.Snapshot.load(f"{OUT}.0"); b = tracemalloc.Snapshot.load(f"{OUT}.1")
    stats = b.compare_to(a, "traceback")
    total = sum(s.size_diff for s in stats)
    print(f"traced per watcher: {total / N:.0f} B")
    by = collections.Counter()
    for s in stats:
        inner = s.traceback[-1].filename if len(s.traceback) else "?"
        by[inner.split("site-packages/")[-1].replace(ROOT + "/", "")] += s.size_diff
    for k, v in by.most_common(20):
        print(f"  by file {v / N:7.0f} B  {k}")
    for s in stats[:40]:
        if s.size_diff / N < 30: break
        fr = [f for f in s.traceback.format() if f.strip().startswith("File")]
        where = " <- ".join(f.strip().replace('File "', '').replace('", line ', ':').split("/")[-1] for f in fr[::-1][:5])
        print(f"  {s.size_diff / N:7.0f} B  {s.count_diff / N:5.2f}x  {where}")
    os.remove(f"{OUT}.0"); os.remove(f"{OUT}.1")

uvloop.run(main())
