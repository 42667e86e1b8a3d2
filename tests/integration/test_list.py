"""LIST semantics from the cache: selectors, pagination, resourceVersion rules, errors."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import make_namespace, pod

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def seeded(proxy: object) -> str:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:  # type: ignore[attr-defined]
        make_namespace(api, "acme-list")
        for i in range(7):
            labels = {"app": "web" if i % 2 == 0 else "db", "idx": str(i)}
            body = pod(f"p{i}", node=f"n{i % 3}", labels=labels)
            assert api.post("/api/v1/namespaces/acme-list/pods", json=body).status_code == 201
    return "/api/v1/namespaces/acme-list/pods"


def names(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [i["metadata"]["name"] for i in body["items"]]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["p0", "p2", "p4", "p6"]),
        ("app!=web", ["p1", "p3", "p5"]),
        ("app in (db),idx notin (1)", ["p3", "p5"]),
        ("idx", ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]),
        ("!idx", []),
        ("idx>4", ["p5", "p6"]),
    ],
)
def test_label_selectors(
    api: httpx.Client, seeded: str, selector: str, expected: list[str]
) -> None:
    r = api.get(seeded, params={"labelSelector": selector})
    assert r.status_code == 200, r.text
    assert names(r.json()) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("spec.nodeName=n1", ["p1", "p4"]),
        ("spec.nodeName!=n1", ["p0", "p2", "p3", "p5", "p6"]),
        ("metadata.name=p3", ["p3"]),
        (
            "metadata.namespace=acme-list,status.phase=Pending",
            ["p0", "p1", "p2", "p3", "p4", "p5", "p6"],
        ),
        ("spec.host=n2", ["p2", "p5"]),
    ],
)
def test_field_selectors(
    api: httpx.Client, seeded: str, selector: str, expected: list[str]
) -> None:
    r = api.get(seeded, params={"fieldSelector": selector})
    assert r.status_code == 200, r.text
    assert names(r.json()) == expected


def test_pagination_walks_every_item_once(api: httpx.Client, seeded: str) -> None:
    first = api.get(seeded, params={"limit": 3}).json()
    assert names(first) == ["p0", "p1", "p2"]
    assert first["metadata"]["remainingItemCount"] == 4
    seen = names(first)
    token = first["metadata"]["continue"]
    # Writes between pages do not change the snapshot the pages come from.
    api.patch(
        f"{seeded}/p5",
        content=b'{"metadata":{"labels":{"late":"1"}}}',
        headers={"content-type": "application/merge-patch+json"},
    )
    while token:
        page = api.get(seeded, params={"limit": 3, "continue": token}).json()
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        seen += names(page)
        for item in page["items"]:
            assert "late" not in item["metadata"].get("labels", {})
        token = page["metadata"].get("continue", "")
    assert seen == [f"p{i}" for i in range(7)]


def test_limit_with_selector_may_return_short_pages(api: httpx.Client, seeded: str) -> None:
    page = api.get(seeded, params={"limit": 2, "labelSelector": "app=db"}).json()
    assert names(page) == ["p1", "p3"]
    assert "remainingItemCount" not in page["metadata"]
    rest = api.get(
        seeded,
        params={"limit": 2, "labelSelector": "app=db", "continue": page["metadata"]["continue"]},
    ).json()
    assert names(rest) == ["p5"]


def test_rv_zero_ignores_limit(api: httpx.Client, seeded: str) -> None:
    body = api.get(seeded, params={"limit": 2, "resourceVersion": "0"}).json()
    assert len(body["items"]) == 7 and "continue" not in body["metadata"]


def test_not_older_than_and_exact(api: httpx.Client, seeded: str) -> None:
    rv = api.get(seeded).json()["metadata"]["resourceVersion"]
    r = api.get(seeded, params={"resourceVersion": rv, "resourceVersionMatch": "NotOlderThan"})
    assert r.status_code == 200 and int(r.json()["metadata"]["resourceVersion"]) >= int(rv)
    r = api.get(seeded, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"})
    assert r.status_code == 200 and r.json()["metadata"]["resourceVersion"] == rv


def test_future_resource_version_times_out_with_504(api: httpx.Client, seeded: str) -> None:
    r = api.get(seeded, params={"resourceVersion": "999999999"})
    assert r.status_code == 504
    body = r.json()
    assert body["reason"] == "Timeout" and body["details"]["retryAfterSeconds"] == 1
    assert "Too large resource version" in body["message"]


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"labelSelector": "a in (b"}, 400, "unable to parse requirement"),
        ({"fieldSelector": "spec.bogus=1"}, 400, "field label not supported: spec.bogus"),
        ({"fieldSelector": "nonsense"}, 400, "invalid selector"),
        ({"resourceVersionMatch": "Exact"}, 422, "resourceVersionMatch is forbidden unless"),
        ({"resourceVersion": "1", "resourceVersionMatch": "Bogus"}, 422, "supported values"),
        (
            {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
            422,
            'forbidden for resourceVersion "0"',
        ),
        ({"sendInitialEvents": "true"}, 422, "sendInitialEvents is forbidden for list"),
        ({"continue": "garbage"}, 400, "invalid continue token"),
        ({"continue": "x", "resourceVersion": "5"}, 400, "not allowed when using continue"),
        ({"resourceVersion": "abc"}, 400, "invalid resource version"),
        ({"limit": "x"}, 400, "invalid limit"),
    ],
)
def test_bad_options_get_status_bodies(
    api: httpx.Client, seeded: str, params: dict[str, str], code: int, text: str
) -> None:
    r = api.get(seeded, params=params)
    assert r.status_code == code, r.text
    body = r.json()
    assert body["kind"] == "Status" and body["code"] == code
    assert text in body["message"]


def test_watch_options_validation(api: httpx.Client, seeded: str) -> None:
    r = api.get(seeded, params={"watch": "1", "resourceVersionMatch": "NotOlderThan"})
    assert r.status_code == 422
    r = api.get(seeded, params={"watch": "1", "sendInitialEvents": "true"})
    assert r.status_code == 422
    assert "requires setting resourceVersionMatch" in r.json()["message"]


def test_get_object_and_not_found(api: httpx.Client, seeded: str) -> None:
    r = api.get(f"{seeded}/p1")
    assert r.status_code == 200 and r.json()["metadata"]["name"] == "p1"
    r = api.get(f"{seeded}/nope")
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"
    assert api.get("/api/v1/bogus").status_code == 404
    assert api.get("/apis/apps/v1/namespaces/acme-list/deployments").json()["items"] == []


def test_discovery(api: httpx.Client) -> None:
    for path in (
        "/version",
        "/version/",
        "/api",
        "/api/",
        "/apis",
        "/apis/",
        "/api/v1",
        "/apis/apps/v1",
        "/apis/coordination.k8s.io/v1",
    ):
        assert api.get(path).status_code == 200, path
    pods = next(r for r in api.get("/api/v1").json()["resources"] if r["name"] == "pods")
    assert pods["namespaced"] and "watch" in pods["verbs"] and pods["shortNames"] == ["po"]
