"""`watchproxy serve` with `tls:`: HTTP/2 by ALPN (curl, httpx, kubectl, the Python client),
HTTP/1.1 fallback, backpressure of a stalled stream, serving certificate reload, oversized
header lists; and plain HTTP without `tls:`. Real etcd, a real proxy process, loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, base_config, make_namespace, pod
from tests.unit.serving.harness import RawH2Client
from tests.unit.serving.pki import (
    SERVER_EXT,
    Pki,
    client_context,
    issue,
    make_pki,
    replace_file,
    serial_of,
)
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd
KUBECTL = shutil.which("kubectl")
CURL = shutil.which("curl")


class TlsProxy(ProxyProcess):
    """A `watchproxy serve` process with `tls:` (its own copy of the serving pair, so a test
    can rotate it)."""

    def __init__(self, config: dict[str, Any], workdir: Path, pki: Pki) -> None:
        self.pki = pki
        live = workdir / "serving"
        live.mkdir(parents=True, exist_ok=True)
        self.cert_file, self.key_file = live / "tls.crt", live / "tls.key"
        shutil.copy(pki.server.cert, self.cert_file)
        shutil.copy(pki.server.key, self.key_file)
        tls = {"cert_file": str(self.cert_file), "key_file": str(self.key_file)}
        super().__init__({**config, "tls": tls}, workdir, name="tls-proxy")
        self.log_level = "warning"  # serve's default

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.verify(), timeout=30, **kwargs)

    def verify(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        return client_context(self.pki, alpn=alpn or ["http/1.1"])

    def ready(self) -> bool:
        with self.client() as client:
            return client.get("/readyz", timeout=1).status_code == 200

    def rss_kib(self) -> int:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert match is not None
        return int(match.group(1))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("http2-pki"))


@pytest.fixture(scope="module")
def tls_proxy(
    etcd_pair: list[EtcdServer], pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsProxy]:
    # A short watcher queue: the stalled-stream test sees its watcher fall behind quickly.
    config = base_config([s.endpoint for s in etcd_pair], watcher_queue_size=50)
    proxy = TlsProxy(config, tmp_path_factory.mktemp("http2-proxy"), pki)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture()
def stats(tls_proxy: TlsProxy) -> Iterator[Any]:
    """`serving` of /debug/stats, read over one HTTP/1.1 connection opened before the test's
    own clients (so it adds no connection to what the test counts)."""
    with tls_proxy.client() as client:

        def read() -> dict[str, int]:
            r = client.get("/debug/stats")
            assert r.status_code == 200
            serving: dict[str, int] = r.json()["serving"]
            return serving

        read()
        yield read


def create_pods(api: httpx.Client, namespace: str, count: int, size: int = 0) -> None:
    for i in range(count):
        body = pod(f"p{i:04d}")
        if size:
            body["metadata"]["annotations"] = {"pad": "x" * size}
        r = api.post(f"/api/v1/namespaces/{namespace}/pods", json=body)
        assert r.status_code == 201, r.text


def curl(proxy: TlsProxy, version: str, path: str) -> subprocess.CompletedProcess[str]:
    """curl -sv with this HTTP `version` option (--http2, --http1.1) for `path`, trusting the
    proxy's CA."""
    assert CURL is not None
    return subprocess.run(
        [CURL, "-sv", version, "--cacert", str(proxy.pki.ca.cert), f"{proxy.url}{path}"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_curl_negotiates_h2_and_lists(tls_proxy: TlsProxy, stats: Any) -> None:
    assert CURL is not None
    with tls_proxy.client() as api:
        make_namespace(api, "acme-curl")
        create_pods(api, "acme-curl", 2)
    before = stats()
    done = curl(tls_proxy, "--http2", "/api/v1/namespaces/acme-curl/pods")
    assert done.returncode == 0, done.stderr
    assert "ALPN: server accepted h2" in done.stderr, done.stderr
    assert "HTTP/2 200" in done.stderr
    listed = json.loads(done.stdout)
    assert listed["kind"] == "PodList"
    assert [p["metadata"]["name"] for p in listed["items"]] == ["p0000", "p0001"]
    after = stats()
    assert after["connections_total_h2_tls"] == before["connections_total_h2_tls"] + 1


def test_curl_http1_fallback(tls_proxy: TlsProxy, stats: Any) -> None:
    assert CURL is not None
    before = stats()
    done = curl(tls_proxy, "--http1.1", "/api/v1/namespaces")
    assert done.returncode == 0, done.stderr
    assert "ALPN: server accepted http/1.1" in done.stderr, done.stderr
    assert json.loads(done.stdout)["kind"] == "NamespaceList"
    after = stats()
    assert after["connections_total_http1_tls"] == before["connections_total_http1_tls"] + 1
    assert after["connections_total_h2_tls"] == before["connections_total_h2_tls"]


async def test_many_watches_over_one_connection(tls_proxy: TlsProxy, stats: Any) -> None:
    """50 watches on one HTTP/2 connection (httpx), each receiving the 20 ADDED events in
    order."""
    namespace, watches, pods = "acme-h2watch", 50, 20
    with tls_proxy.client() as api:
        make_namespace(api, namespace)
        rv = api.get(f"/api/v1/namespaces/{namespace}/pods").json()["metadata"]["resourceVersion"]
    before = stats()
    path = f"/api/v1/namespaces/{namespace}/pods?watch=1&resourceVersion={rv}"
    limits = httpx.Limits(max_connections=1)
    received: list[list[str]] = [[] for _ in range(watches)]
    async with httpx.AsyncClient(
        base_url=tls_proxy.url, http2=True, verify=tls_proxy.verify(["h2"]), limits=limits,
        timeout=30,
    ) as client:  # fmt: skip

        async def watch(i: int) -> None:
            async with client.stream("GET", path) as response:
                assert response.http_version == "HTTP/2"
                async for line in response.aiter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    received[i].append(event["object"]["metadata"]["name"])
                    if len(received[i]) == pods:
                        return

        tasks = [asyncio.create_task(watch(i)) for i in range(watches)]
        # Opened as the server counts them. (Not as httpx reports them: httpcore 1.0.9 may
        # hand a stream its response headers only once more data arrives on the connection.)
        async with asyncio.timeout(15):
            while True:
                during = await asyncio.to_thread(stats)
                if during["h2_streams_open"] >= before["h2_streams_open"] + watches:
                    break
                await asyncio.sleep(0.1)
        with tls_proxy.client() as api:
            await asyncio.to_thread(create_pods, api, namespace, pods)
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
    expected = [f"p{i:04d}" for i in range(pods)]
    assert all(names == expected for names in received)
    assert during["connections_total_h2_tls"] == before["connections_total_h2_tls"] + 1


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: watchproxy
  cluster: {{server: "{url}", certificate-authority: "{ca}"}}
users:
- name: anonymous
  user: {{token: unused}}  # no `authentication:`: every caller is an anonymous admin
contexts:
- name: watchproxy
  context: {{cluster: watchproxy, user: anonymous}}
current-context: watchproxy
"""


def test_kubectl_over_h2(tls_proxy: TlsProxy, stats: Any, tmp_path: Path) -> None:
    assert KUBECTL is not None, "kubectl is part of the machine image"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(url=tls_proxy.url, ca=tls_proxy.pki.ca.cert))
    base = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache")]
    with tls_proxy.client() as api:
        make_namespace(api, "acme-kubectl-h2")
        create_pods(api, "acme-kubectl-h2", 1)
    before = stats()
    out = subprocess.run([*base, "get", "pods", "-A"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(r"acme-kubectl-h2\s+p0000", out.stdout), out.stdout
    watcher = subprocess.Popen(
        [*base, "get", "pods", "-n", "acme-kubectl-h2", "-w", "--output-watch-events",
         "-o", "jsonpath={.type} {.object.metadata.name}{'\\n'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.5)  # let kubectl list and start watching
        with tls_proxy.client() as api:
            r = api.post("/api/v1/namespaces/acme-kubectl-h2/pods", json=pod("late"))
            assert r.status_code == 201, r.text
        time.sleep(1.5)
        during = stats()
    finally:
        watcher.terminate()
        output, errors = watcher.communicate(timeout=10)
    assert "ADDED late" in output.splitlines(), (output, errors)
    # Every connection kubectl made was HTTP/2: the one HTTP/1.1 connection is the POST's.
    assert during["connections_total_h2_tls"] >= before["connections_total_h2_tls"] + 2
    assert during["connections_total_http1_tls"] == before["connections_total_http1_tls"] + 1
    assert during["connections_open_h2_tls"] >= before["connections_open_h2_tls"] + 1


def test_python_client_over_h2(tls_proxy: TlsProxy, stats: Any) -> None:
    """The official client over urllib3's (experimental, non-streaming) HTTP/2 connection:
    a create, a LIST, and a watch bounded by timeoutSeconds."""
    import urllib3.http2
    from kubernetes import client as k8s

    config = k8s.Configuration(host=tls_proxy.url)
    config.ssl_ca_cert = str(tls_proxy.pki.ca.cert)
    before = stats()
    urllib3.http2.inject_into_urllib3()
    try:
        with k8s.ApiClient(config) as api_client:
            core = k8s.CoreV1Api(api_client)
            core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="globex-py-h2")))
            rv = core.list_namespaced_pod("globex-py-h2").metadata.resource_version
            body = k8s.V1Pod(
                metadata=k8s.V1ObjectMeta(name="py"),
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="busybox")]),
            )
            core.create_namespaced_pod("globex-py-h2", body)
            listed = core.list_namespaced_pod("globex-py-h2")
            assert [p.metadata.name for p in listed.items] == ["py"]
            # urllib3's HTTP/2 response is not streamed (HTTP2Response has no read/stream, so
            # kubernetes.watch.Watch cannot use it): the watch's body arrives whole at its
            # timeoutSeconds.
            response = core.list_namespaced_pod(
                "globex-py-h2",
                watch=True,
                resource_version=rv,
                timeout_seconds=2,
                _preload_content=False,
            )
            assert response.version == 20  # HTTP/2
            events = [
                (e["type"], e["object"]["metadata"]["name"])
                for e in map(json.loads, response.data.splitlines())
            ]
            assert events == [("ADDED", "py")]
    finally:
        urllib3.http2.extract_from_urllib3()
    after = stats()
    assert after["connections_total_h2_tls"] > before["connections_total_h2_tls"]
    assert after["connections_total_http1_tls"] == before["connections_total_http1_tls"]


def lagging_pod_watchers(stats_json: dict[str, Any]) -> int:
    for key, value in stats_json["resources"].items():
        if key.endswith("pods") or key == "pods":
            return int(value["lagging_watchers"])
    raise AssertionError(f"no pods in {sorted(stats_json['resources'])}")


async def pod_watch_client(proxy: TlsProxy, namespace: str, window: int) -> tuple[RawH2Client, str]:
    """A namespace made for the test, the path of a watch of its pods from its list's
    resourceVersion, and a raw HTTP/2 client connected with this initial stream window."""
    with proxy.client() as api:
        make_namespace(api, namespace)
        rv = api.get(f"/api/v1/namespaces/{namespace}/pods").json()["metadata"]["resourceVersion"]
    client = RawH2Client(initial_window=window)
    await client.connect(proxy.port, proxy.verify(["h2"]))
    return client, f"/api/v1/namespaces/{namespace}/pods?watch=1&resourceVersion={rv}"


def event_names(client: RawH2Client, sid: int) -> list[str]:
    """The object names of the complete watch events stream `sid` has received, in order."""
    lines = bytes(client.streams[sid].data).split(b"\n")
    return [json.loads(line)["object"]["metadata"]["name"] for line in lines[:-1]]


async def test_stalled_stream_does_not_hold_up_another(tls_proxy: TlsProxy, stats: Any) -> None:
    """Two watches on one connection; the client never opens stream A's window. Stream B
    still gets every event, in order; A stops at its 64 KiB window, its watcher falls behind
    (bounded queue) instead of buffering, the proxy's memory stays flat; once A reads again
    it catches up with every event in order."""
    namespace, count, pad = "acme-stall", 200, 2000
    client, path = await pod_watch_client(tls_proxy, namespace, 65535)
    rss_before = tls_proxy.rss_kib()
    try:
        a = client.request(path)
        client.stalled.add(a)
        b = client.request(path)
        await client.wait(lambda: bool(client.streams[a].headers and client.streams[b].headers))
        with tls_proxy.client() as api:
            await asyncio.to_thread(create_pods, api, namespace, count, pad)

        def names(sid: int) -> list[str]:
            return event_names(client, sid)

        expected = [f"p{i:04d}" for i in range(count)]
        await client.wait(lambda: len(names(b)) >= count, bound=20)
        assert names(b) == expected
        assert len(client.streams[a].data) <= 65535
        assert not client.streams[a].ended
        with tls_proxy.client() as api:
            assert lagging_pod_watchers(api.get("/debug/stats").json()) >= 1
        rss_growth = tls_proxy.rss_kib() - rss_before
        # 200 events x ~2.3 KB went to A's watch: A's bytes are not held by the proxy.
        assert rss_growth < 32 << 10, f"RSS grew {rss_growth} KiB"
        client.release(a)
        await client.wait(lambda: len(names(a)) >= count, bound=20)
        assert names(a) == expected
    finally:
        await client.close()


async def test_many_small_windows_share_the_connection_window(tls_proxy: TlsProxy) -> None:
    """60 watches on one connection, each stream window 8 KiB (the first 8 streams alone can
    spend the connection's 64 KiB), events of ~0.5 to ~20 KiB, the client acknowledging as h2
    does: every watch gets every event, in order (review finding of issue 10: 42 of 60 such
    watches were reported to get nothing; it did not reproduce, this guards it)."""
    namespace, count, streams = "acme-small-windows", 45, 60
    client, path = await pod_watch_client(tls_proxy, namespace, 8192)
    try:
        sids = [client.request(path) for _ in range(streams)]
        await client.wait(lambda: all(client.streams[sid].headers for sid in sids))

        def write() -> None:
            with tls_proxy.client() as api:
                for i in range(count):
                    body = pod(f"p{i:04d}")
                    body["metadata"]["annotations"] = {"pad": "x" * (10, 2000, 20000)[i % 3]}
                    r = api.post(f"/api/v1/namespaces/{namespace}/pods", json=body)
                    assert r.status_code == 201, r.text

        await asyncio.to_thread(write)

        def names(sid: int) -> list[str]:
            return event_names(client, sid)

        def done() -> bool:
            return all(len(client.streams[sid].data.split(b"\n")) > count for sid in sids)

        with contextlib.suppress(TimeoutError):
            await client.wait(done, bound=30)
        expected = [f"p{i:04d}" for i in range(count)]
        short = {sid: len(names(sid)) for sid in sids if names(sid) != expected}
        assert not short, f"streams without every event in order (events got): {short}"
    finally:
        await client.close()


async def test_oversized_header_list_is_refused(tls_proxy: TlsProxy) -> None:
    async with httpx.AsyncClient(
        base_url=tls_proxy.url, http2=True, verify=tls_proxy.verify(["h2"]), timeout=30
    ) as client:
        # 280 fields of 4 KiB (~1.13 MiB): over the advertised 1 MiB. (Many small fields, not
        # one huge one: hpack's Huffman encoder, on the client side, is quadratic in a value.)
        big = {f"x-big-{i}": "v" * 4096 for i in range(280)}
        r = await client.get("/api/v1/namespaces", headers=big)
        assert r.http_version == "HTTP/2"
        assert r.status_code == 431
        r = await client.get("/api/v1/namespaces")  # the same connection goes on
        assert r.status_code == 200


async def test_serving_certificate_reload(tls_proxy: TlsProxy, tmp_path: Path) -> None:
    pki = tls_proxy.pki
    renewed = issue(tmp_path, pki.ca, "renewed", "/CN=watchproxy", SERVER_EXT, 4242)

    async def serial() -> int:
        _, writer = await asyncio.open_connection(
            "127.0.0.1", tls_proxy.port, ssl=tls_proxy.verify(["h2"]), server_hostname="localhost"
        )
        try:
            return serial_of(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
        finally:
            writer.close()

    assert await serial() == 1001
    replace_file(renewed.key, tls_proxy.key_file)
    replace_file(renewed.cert, tls_proxy.cert_file)
    deadline = time.monotonic() + 15  # polled every 5 s
    while True:
        current = await serial()
        if current == 4242 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert current == 4242
    with tls_proxy.client() as api:  # new handshakes verify against the same CA
        assert api.get("/readyz").status_code == 200
        assert api.get("/debug/stats").json()["serving"]["tls_reloads"] >= 1


def test_plain_http_without_tls(proxy: ProxyProcess) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        assert api.get("/api/v1/namespaces").status_code == 200
        serving = api.get("/debug/stats").json()["serving"]
    assert serving["connections_open_http1_plain"] >= 1
    assert serving["connections_total_h2_tls"] == 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(proxy.url.replace("http://", "https://") + "/readyz", verify=False, timeout=5)


async def test_sigterm_ends_h2_watches_and_exits(
    etcd_pair: list[EtcdServer], pki: Pki, tmp_path: Path
) -> None:
    """SIGTERM with a watch open on an HTTP/2 connection: the watch ends (END_STREAM), the
    connection closes, the process exits within uvicorn's graceful timeout."""
    proxy = TlsProxy(base_config([s.endpoint for s in etcd_pair]), tmp_path, pki)
    try:
        proxy.start()
        client = RawH2Client()
        await client.connect(proxy.port, proxy.verify(["h2"]))
        try:
            sid = client.request("/api/v1/namespaces/acme-sigterm/pods?watch=1")
            await client.wait(lambda: bool(client.streams[sid].headers))
            assert proxy.proc is not None
            started = time.monotonic()
            proxy.proc.terminate()
            await client.wait(lambda: client.streams[sid].ended, bound=10)
            await client.wait(lambda: client.terminated is not None or client.closed.is_set())
            # uvicorn re-raises the signal it handled once shut down: death by SIGTERM.
            assert await asyncio.to_thread(proxy.proc.wait, 10) in (0, -signal.SIGTERM)
            assert time.monotonic() - started < 5
        finally:
            await client.close()
    finally:
        proxy.stop()
