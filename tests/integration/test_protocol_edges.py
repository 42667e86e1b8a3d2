"""Protocol edges answered as kube-apiserver answers them (issue 6, point 6).

Real etcd pair and a real `watchproxy serve` of its own (small history, short freshness timeout),
so positions can be pushed out of the history and the expected Status bodies computed exactly:

- every answer about a stale, future or expired position -- watch RVs (in-band ERROR after 200),
  list RVs, continue tokens -- compared field by field with kube's Status (one table);
- `timeoutSeconds=0` is the server's default watch timeout, not an immediate end;
- metadata-only answers (PartialObjectMetadata / PartialObjectMetadataList) for the Accept
  headers client-go's metadata client sends, 406 for conversions that do not exist.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from kubernetes import client as k8s

from tests.integration.conftest import ProxyProcess, base_config, make_namespace, running_etcd_pair
from tests.integration.watching import WatchStream, watch
from watchproxy.core.rv import TokenCodec
from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd
CODEC = TokenCodec(["shard-a", "shard-b"])
HISTORY = 20  # events kept per resource: 25 writes push the first 5 out
FOREIGN = TokenCodec(["shard-x", "shard-y"]).encode((1, 1))
# client-go k8s.io/client-go/metadata/metadata.go, List and Get/Watch.
METADATA_LIST_ACCEPT = (
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
METADATA_ACCEPT = METADATA_LIST_ACCEPT.replace("MetadataList", "Metadata")
LIST_EXPIRED = "The resourceVersion for the provided list is too old."
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)
# Resources no built-in controller writes (leader election writes Leases in the background),
# so their histories hold only what a case wrote.
SECRETS = "/api/v1/namespaces/{}/secrets"


def status(
    code: int,
    reason: str,
    message: str,
    *,
    details: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A kube metav1.Status as the apiserver encodes it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": metadata or {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def too_large(wanted: str, current: str) -> dict[str, Any]:
    """storage.NewTooLargeResourceVersionError(wanted, current, 1)."""
    return status(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {wanted}, current: {current}",
        details={
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )


def too_old(requested: str, oldest: str) -> dict[str, Any]:
    return status(410, "Expired", f"too old resource version: {requested} ({oldest})")


@dataclass
class Edges:
    proxy: ProxyProcess
    etcds: list[EtcdServer]
    api: httpx.Client
    start_revisions: tuple[int, int]  # each etcd's revision before the proxy started

    def revision(self, shard: int) -> int:
        async def read() -> int:
            client = EtcdClient([self.etcds[shard].endpoint])
            try:
                return await client.current_revision(b"/")
            finally:
                await client.close()

        return asyncio.run(read())

    def compact(self, shard: int) -> None:
        """Compact the shard's etcd at its current revision: what the history lost, etcd has
        lost too (so any etcd fallback answers the same)."""

        async def run() -> None:
            client = EtcdClient([self.etcds[shard].endpoint])
            try:
                await client.compact(await client.current_revision(b"/"))
            finally:
                await client.close()

        asyncio.run(run())

    def settled(self, path: str) -> str:
        """A consistent LIST's RV once nothing is in flight: the cache is at etcd's revision."""
        r = self.api.get(path)
        assert r.status_code == 200, r.text
        rv: str = r.json()["metadata"]["resourceVersion"]
        return rv

    def create(self, path: str, name: str, **body: Any) -> int:
        r = self.api.post(path, json={"metadata": {"name": name}, **body})
        assert r.status_code == 201, r.text
        return int(r.json()["metadata"]["resourceVersion"])


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edges]:
    with running_etcd_pair(tmp_path_factory.mktemp("etcd-edges")) as etcds:
        proxy = ProxyProcess(
            base_config(
                [s.endpoint for s in etcds], history_size=HISTORY, freshness_timeout_seconds=0.5
            ),
            tmp_path_factory.mktemp("edges"),
            "edges",
        )
        env = Edges(proxy, etcds, httpx.Client(base_url=proxy.url, timeout=30), (0, 0))
        env.start_revisions = (env.revision(0), env.revision(1))
        proxy.start()
        try:
            yield env
        finally:
            env.api.close()
            proxy.stop()


@contextlib.contextmanager
def watch_accepting(
    api: httpx.Client, path: str, accept: str, **params: str
) -> Iterator[WatchStream]:
    """A watch sent with an Accept header (as client-go's metadata informers do)."""
    params = {"watch": "true", **params}
    timeout = httpx.Timeout(10, read=15)
    with api.stream(
        "GET", path, params=params, headers={"accept": accept}, timeout=timeout
    ) as response:
        assert response.status_code == 200, response.read()
        yield WatchStream(response)


def in_band(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """Every event of a watch that must end by itself (HTTP 200 asserted by `watch`)."""
    with watch(api, path, **params) as w:
        return w.rest()


# -- the table: every answer about a position --------------------------------------------------


@dataclass
class Answer:
    """What the server said (`http` status, or 200 and the in-band ERROR) and what kube says."""

    http: int
    body: dict[str, Any]
    expected_http: int
    expected: dict[str, Any]
    headers: dict[str, str] | None = None
    expected_headers: dict[str, str] | None = None


def http_answer(r: httpx.Response, expected: dict[str, Any]) -> Answer:
    retry = {"retry-after": r.headers.get("retry-after", "")}
    wanted_retry = {"retry-after": str(expected.get("details", {}).get("retryAfterSeconds", ""))}
    return Answer(r.status_code, r.json(), expected["code"], expected, retry, wanted_retry)


def stream_answer(events: list[dict[str, Any]], expected: dict[str, Any]) -> Answer:
    assert [e["type"] for e in events] == ["ERROR"], events
    return Answer(200, events[0]["object"], 200, expected)


def watch_too_old_one_shard(env: Edges) -> Answer:
    """The cacher's in-band 410 for a watch behind the history (kubectl get -w, informers)."""
    make_namespace(env.api, "acme-old")
    path = "/api/v1/namespaces/acme-old/configmaps"
    start = env.settled(path)
    revisions = [env.create(path, f"s{i}") for i in range(HISTORY + 5)]
    # The cache has applied every write (a create's answer can come before its watch event,
    # against kube-apiserver's cacher too), so the history window is where the writes put it.
    env.settled(path)
    # The 5 oldest events left the history: the oldest resumable position is the 5th write.
    return stream_answer(
        in_band(env.api, path, resourceVersion=start), too_old(start, str(revisions[4]))
    )


def watch_too_old_merged(env: Edges) -> Answer:
    make_namespace(env.api, "acme-old2")
    make_namespace(env.api, "globex-old2")
    path = "/api/v1/secrets"
    start = env.settled(path)
    on_a = [env.create(SECRETS.format("acme-old2"), f"s{i}") for i in range(HISTORY + 5)]
    on_b = [env.create(SECRETS.format("globex-old2"), f"s{i}") for i in range(HISTORY + 5)]
    env.settled(path)  # every write applied, as in watch_too_old_one_shard
    # 50 events, 20 kept: all of shard a's left, and the 5 oldest of shard b's.
    oldest = CODEC.encode((on_a[-1], on_b[4]))
    return stream_answer(in_band(env.api, path, resourceVersion=start), too_old(start, oldest))


def endpoints_oldest(env: Edges, message: str) -> str:
    """M of `too old resource version: N (M)` for endpoints (never written here: each shard's
    list revision), checked for what it means rather than guessed: a merged token of this
    layout, between the etcds' revisions before the proxy started and now, from which a watch
    starts (no ERROR)."""
    oldest = message.rpartition("(")[2].rstrip(")")
    vector = CODEC.decode(oldest)
    now = (env.revision(0), env.revision(1))
    assert all(lo <= v <= hi for lo, v, hi in zip(env.start_revisions, vector, now, strict=True))
    events = in_band(env.api, "/api/v1/endpoints", resourceVersion=oldest, timeoutSeconds="1")
    assert [e for e in events if e["type"] == "ERROR"] == []
    return oldest


def watch_foreign_token(env: Edges) -> Answer:
    """A token of another shard layout cannot be resumed: 410 as too old (clients relist)."""
    events = in_band(env.api, "/api/v1/endpoints", resourceVersion=FOREIGN)
    oldest = endpoints_oldest(env, events[0]["object"]["message"])
    return stream_answer(events, too_old(FOREIGN, oldest))


def watch_plain_rv_on_merged(env: Edges) -> Answer:
    """A plain revision names no shard: on a merged view it cannot be resumed either."""
    events = in_band(env.api, "/api/v1/endpoints", resourceVersion="5")
    oldest = endpoints_oldest(env, events[0]["object"]["message"])
    return stream_answer(events, too_old("5", oldest))


def list_exact_too_old(env: Edges) -> Answer:
    make_namespace(env.api, "acme-exact")
    path = "/api/v1/namespaces/acme-exact/events"
    start = env.settled(path)
    for i in range(HISTORY + 5):
        env.create(path, f"e{i}", involvedObject={})
    env.compact(0)
    r = env.api.get(path, params={"resourceVersion": start, "resourceVersionMatch": "Exact"})
    return http_answer(r, status(410, "Expired", LIST_EXPIRED))


def list_limit_too_old(env: Edges) -> Answer:
    """`limit` with `resourceVersion=N` and no match is the legacy Exact read."""
    make_namespace(env.api, "acme-exact2")
    path = "/api/v1/namespaces/acme-exact2/events"
    start = env.settled(path)
    for i in range(HISTORY + 5):
        env.create(path, f"e{i}", involvedObject={})
    env.compact(0)
    r = env.api.get(path, params={"resourceVersion": start, "limit": "2"})
    return http_answer(r, status(410, "Expired", LIST_EXPIRED))


def list_foreign_token(env: Edges) -> Answer:
    r = env.api.get("/api/v1/endpoints", params={"resourceVersion": FOREIGN})
    return http_answer(r, status(410, "Expired", LIST_EXPIRED))


def list_plain_rv_on_merged(env: Edges) -> Answer:
    r = env.api.get("/api/v1/endpoints", params={"resourceVersion": "5", "limit": "1"})
    return http_answer(r, status(410, "Expired", LIST_EXPIRED))


def continue_expired(env: Edges) -> Answer:
    """An expired continue token: kube's inconsistent-continue 410 with a fresh token."""
    make_namespace(env.api, "acme-cont")
    make_namespace(env.api, "acme-cont-fill")
    path = "/api/v1/namespaces/acme-cont/events"
    for i in range(5):
        env.create(path, f"e{i}", involvedObject={})
    page = env.api.get(path, params={"limit": "2"}).json()
    token = page["metadata"]["continue"]
    for i in range(HISTORY + 5):  # elsewhere on the shard: the list itself does not change
        env.create("/api/v1/namespaces/acme-cont-fill/events", f"f{i}", involvedObject={})
    env.compact(0)
    start = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["start"]
    fresh = base64.urlsafe_b64encode(
        orjson.dumps({"v": "meta.k8s.io/v1", "rv": -1, "start": start})
    ).rstrip(b"=")
    r = env.api.get(path, params={"limit": "2", "continue": token})
    answer = http_answer(
        r, status(410, "Expired", CONTINUE_EXPIRED, metadata={"continue": fresh.decode()})
    )
    # The fresh token lists the rest, at the latest state.
    rest = env.api.get(path, params={"limit": "10", "continue": fresh.decode()})
    assert rest.status_code == 200, rest.text
    assert [i["metadata"]["name"] for i in rest.json()["items"]] == ["e2", "e3", "e4"]
    return answer


def _future_setup(env: Edges) -> tuple[str, int]:
    make_namespace(env.api, "acme-future")
    path = "/api/v1/namespaces/acme-future/configmaps"
    return path, int(env.settled(path))


def cache_current(env: Edges, body: dict[str, Any], since: str) -> str:
    """M of `..., current: M`: the cache's revision when the wait ended, which background writes
    (leader election's Lease renewals) may move. Checked, not guessed: not older than the
    consistent LIST `since` read just before, not newer than etcd now."""
    current = body["message"].rpartition("current: ")[2]
    now = (env.revision(0), env.revision(1))
    if since.isdigit():
        assert int(since) <= int(current) <= now[0], (since, current, now)
    else:
        low, got = CODEC.decode(since), CODEC.decode(current)
        assert all(lo <= v <= hi for lo, v, hi in zip(low, got, now, strict=True))
    return current


def future_answer(env: Edges, r: httpx.Response, wanted: str, since: str) -> Answer:
    return http_answer(r, too_large(wanted, cache_current(env, r.json(), since)))


def list_future(env: Edges) -> Answer:
    path, current = _future_setup(env)
    r = env.api.get(path, params={"resourceVersion": str(current + 1000)})
    return future_answer(env, r, str(current + 1000), str(current))


def list_future_exact(env: Edges) -> Answer:
    path, current = _future_setup(env)
    r = env.api.get(
        path, params={"resourceVersion": str(current + 1000), "resourceVersionMatch": "Exact"}
    )
    return future_answer(env, r, str(current + 1000), str(current))


def list_future_merged(env: Edges) -> Answer:
    _future_setup(env)
    make_namespace(env.api, "globex-future")
    current = env.settled("/api/v1/configmaps")
    ahead = CODEC.encode(tuple(v + 1000 for v in CODEC.decode(current)))
    r = env.api.get("/api/v1/configmaps", params={"resourceVersion": ahead})
    return future_answer(env, r, ahead, current)


def get_future(env: Edges) -> Answer:
    path, current = _future_setup(env)
    r = env.api.get(f"{path}/nothing", params={"resourceVersion": str(current + 1000)})
    return future_answer(env, r, str(current + 1000), str(current))


def watchlist_future(env: Edges) -> Answer:
    """A WatchList waits for its position, then answers the 504 in-band (client-go relists)."""
    path, current = _future_setup(env)
    events = in_band(
        env.api,
        path,
        resourceVersion=str(current + 1000),
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
    )
    wanted = str(current + 1000)
    return stream_answer(
        events, too_large(wanted, cache_current(env, events[0]["object"], str(current)))
    )


CASES: list[Callable[[Edges], Answer]] = [
    watch_too_old_one_shard,
    watch_too_old_merged,
    watch_foreign_token,
    watch_plain_rv_on_merged,
    list_exact_too_old,
    list_limit_too_old,
    list_foreign_token,
    list_plain_rv_on_merged,
    continue_expired,
    list_future,
    list_future_exact,
    list_future_merged,
    get_future,
    watchlist_future,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_position_answers_are_kubes(edges: Edges, case: Callable[[Edges], Answer]) -> None:
    answer = case(edges)
    assert answer.http == answer.expected_http
    assert answer.body == answer.expected
    assert answer.headers == answer.expected_headers


# -- watch lifetime ------------------------------------------------------------------------------


def test_timeout_seconds_zero_is_the_default_timeout(edges: Edges) -> None:
    """`timeoutSeconds=0` means the server's default (handlers/get.go), so the watch stays open
    and delivers what happens next; an immediate end would deliver nothing."""
    make_namespace(edges.api, "acme-t0")
    path = "/api/v1/namespaces/acme-t0/configmaps"
    with watch(edges.api, path, timeoutSeconds="0", resourceVersion=edges.settled(path)) as w:
        edges.create(path, "after")
        event = w.next()
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "after")


# -- metadata-only answers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def meta_ns(edges: Edges) -> str:
    make_namespace(edges.api, "acme-meta")
    path = "/api/v1/namespaces/acme-meta/configmaps"
    for name in ("a", "b", "c"):
        r = edges.api.post(
            path,
            json={"metadata": {"name": name, "labels": {"n": name}}, "data": {"secret": "x" * 50}},
        )
        assert r.status_code == 201, r.text
    return path


def test_metadata_list(edges: Edges, meta_ns: str) -> None:
    plain = edges.api.get(meta_ns).json()
    r = edges.api.get(meta_ns, params={"limit": "2"}, headers={"accept": METADATA_LIST_ACCEPT})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert set(body["metadata"]) == {"resourceVersion", "continue", "remainingItemCount"}
    assert body["items"] == [
        {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": i["metadata"]}
        for i in plain["items"][:2]
    ]
    rest = edges.api.get(
        meta_ns,
        params={"continue": body["metadata"]["continue"]},
        headers={"accept": METADATA_LIST_ACCEPT},
    ).json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["c"]
    empty = edges.api.get(
        "/api/v1/namespaces/acme-meta/secrets", headers={"accept": METADATA_LIST_ACCEPT}
    ).json()
    assert empty["kind"] == "PartialObjectMetadataList" and empty["items"] == []


def test_metadata_get_and_v1beta1(edges: Edges, meta_ns: str) -> None:
    plain = edges.api.get(f"{meta_ns}/a").json()
    r = edges.api.get(f"{meta_ns}/a", headers={"accept": METADATA_ACCEPT})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": plain["metadata"],
    }
    beta = edges.api.get(
        f"{meta_ns}/a",
        headers={"accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1"},
    ).json()
    assert (beta["kind"], beta["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1beta1")


def test_metadata_watch_and_watchlist(edges: Edges, meta_ns: str) -> None:
    """A metadata informer's WatchList: partial objects, then a partial end bookmark."""
    with watch_accepting(
        edges.api,
        meta_ns,
        METADATA_ACCEPT,
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
    ) as w:
        initial = w.take(4, skip_bookmarks=False)
        edges.api.patch(
            f"{meta_ns}/b",
            content=b'{"metadata":{"labels":{"n":"B"}}}',
            headers={"content-type": "application/merge-patch+json"},
        )
        live = w.take(1)
    assert [(e["type"], e["object"]["kind"]) for e in initial] == [
        ("ADDED", "PartialObjectMetadata"),
        ("ADDED", "PartialObjectMetadata"),
        ("ADDED", "PartialObjectMetadata"),
        ("BOOKMARK", "PartialObjectMetadata"),
    ]
    assert all(e["object"]["apiVersion"] == "meta.k8s.io/v1" for e in initial)
    assert all(set(e["object"]) == {"kind", "apiVersion", "metadata"} for e in initial)
    assert initial[3]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert live[0]["type"] == "MODIFIED"
    assert live[0]["object"]["kind"] == "PartialObjectMetadata"
    assert live[0]["object"]["metadata"]["labels"] == {"n": "B"}
    assert "data" not in live[0]["object"]


@pytest.mark.parametrize(
    ("path_suffix", "accept", "message"),
    [
        (
            "",
            METADATA_ACCEPT,
            "you requested PartialObjectMetadata, but the requested object is a list "
            "(*core.ConfigMapList)",
        ),
        (
            "/a",
            METADATA_LIST_ACCEPT,
            "you requested PartialObjectMetadataList, but the requested object is not a list "
            "(*core.ConfigMap)",
        ),
        (
            "",
            "application/json;as=Foo;g=meta.k8s.io;v=v1",
            "only the following media types are accepted: application/json, application/yaml, "
            "application/vnd.kubernetes.protobuf",
        ),
    ],
)
def test_conversions_that_do_not_exist_are_406(
    edges: Edges, meta_ns: str, path_suffix: str, accept: str, message: str
) -> None:
    # client-go's metadata client sends the list Accept for LIST and the object one for GET;
    # crossing them is the apiserver's 406, after the read (handlers/response.go).
    r = edges.api.get(meta_ns + path_suffix, headers={"accept": accept})
    assert r.status_code == 406
    assert r.json() == status(406, "NotAcceptable", message)


def test_unknown_conversion_falls_back_to_the_next_clause(edges: Edges, meta_ns: str) -> None:
    r = edges.api.get(
        meta_ns, headers={"accept": "application/json;as=Foo;g=meta.k8s.io;v=v1,application/json"}
    )
    assert r.status_code == 200 and r.json()["kind"] == "ConfigMapList"


def test_python_client_reads_metadata_only_answers(edges: Edges, meta_ns: str) -> None:
    """The official Python client has no metadata client nor PartialObjectMetadata models: its
    generic call path, with client-go's Accept headers, and its ObjectMeta/ListMeta models."""

    def call(api_client: k8s.ApiClient, path: str, accept: str) -> Any:
        request = api_client.param_serialize("GET", path, header_params={"Accept": accept})
        response = api_client.call_api(*request)
        response.read()
        assert response.status == 200, response.data
        return orjson.loads(response.data)

    def model(api_client: k8s.ApiClient, data: Any, kind: str) -> Any:
        return api_client.deserialize(orjson.dumps(data).decode(), kind, "application/json")

    with k8s.ApiClient(k8s.Configuration(host=edges.proxy.url)) as api_client:
        listed = call(api_client, meta_ns, METADATA_LIST_ACCEPT)
        got = call(api_client, f"{meta_ns}/a", METADATA_ACCEPT)
        list_meta = model(api_client, listed["metadata"], "V1ListMeta")
        items = [model(api_client, i["metadata"], "V1ObjectMeta") for i in listed["items"]]
        one = model(api_client, got["metadata"], "V1ObjectMeta")
    assert listed["kind"] == "PartialObjectMetadataList"
    assert list_meta.resource_version.isdigit()
    assert [(m.name, m.namespace) for m in items] == [
        ("a", "acme-meta"),
        ("b", "acme-meta"),
        ("c", "acme-meta"),
    ]
    assert items[0].labels == {"n": "a"}
    assert got["kind"] == "PartialObjectMetadata" and set(got) == {"kind", "apiVersion", "metadata"}
    assert one.uid and one.resource_version == items[0].resource_version
