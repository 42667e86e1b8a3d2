"""events.k8s.io/v1 Events beside core v1 Events, one storage (decision 0018).

`watchproxy dev --insecure` with the official Python client: EventsV1Api creates, lists and
watches events.k8s.io Events; CoreV1Api reads the same object in the core shape
(`involvedObject`, `message`); a core write is seen by an events.k8s.io watch; field selectors
take the events.k8s.io labels; real kubectl 1.32 lists `events.v1.events.k8s.io -A`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kubernetes import client, config, watch

from tests.integration.devserver import Kubectl, dev_server, write_kubeconfig

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "acme-events"
REF = {"apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": NS, "uid": "p-1"}


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("events-versions")) as url:
        yield url


@pytest.fixture(scope="module")
def kubectl(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(dev_url, tmp_path_factory.mktemp("kubectl-cache"))
    k("create", "namespace", NS)
    return k


@pytest.fixture(scope="module")
def api(kubectl: Kubectl, dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    kubeconfig = write_kubeconfig(tmp_path_factory.mktemp("kc") / "kubeconfig", dev_url, NS)
    return config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # a MicroTime


def test_discovery_lists_events_k8s_io(dev_url: str) -> None:
    group = httpx.get(dev_url + "/apis/events.k8s.io").json()
    assert group["preferredVersion"]["version"] == "v1"
    v1 = httpx.get(dev_url + "/apis/events.k8s.io/v1").json()
    assert [r["name"] for r in v1["resources"]] == ["events"]
    openapi = httpx.get(dev_url + "/openapi/v3/apis/events.k8s.io/v1")
    assert openapi.status_code == 200
    assert "io.k8s.api.events.v1.Event" in openapi.json()["components"]["schemas"]


def test_create_through_events_v1_read_through_core(api: Any) -> None:
    events: Any = client.EventsV1Api(api)  # the models' Optional fields: read as Any
    body = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": NS},
        "eventTime": _now(),
        "regarding": REF,
        "reason": "Pulling",
        "action": "Pull",
        "note": "Pulling image nginx",
        "type": "Normal",
        "reportingController": "kubelet",
        "reportingInstance": "node-1",
    }
    created = events.create_namespaced_event(NS, body)
    assert created.api_version == "events.k8s.io/v1"
    assert created.regarding.name == "web" and created.note == "Pulling image nginx"
    core: Any = client.CoreV1Api(api).read_namespaced_event("web.1", NS)
    assert core.api_version == "v1"
    assert core.involved_object.name == "web" and core.involved_object.kind == "Pod"
    assert core.message == "Pulling image nginx"
    assert core.reporting_component == "kubelet" and core.reporting_instance == "node-1"
    assert core.metadata.uid == created.metadata.uid
    listed = events.list_namespaced_event(NS)
    assert [(e.metadata.name, e.note) for e in listed.items] == [("web.1", "Pulling image nginx")]
    assert listed.items[0].regarding.uid == "p-1"


def test_field_selectors_take_the_events_k8s_io_labels(api: Any, dev_url: str) -> None:
    events: Any = client.EventsV1Api(api)  # the models' Optional fields: read as Any
    hit = events.list_namespaced_event(NS, field_selector="regarding.name=web,reason=Pulling")
    assert [e.metadata.name for e in hit.items] == ["web.1"]
    miss = events.list_namespaced_event(NS, field_selector="reportingController=scheduler")
    assert miss.items == []
    # Core's spelling is not an events.k8s.io label (pkg/apis/events/v1/conversion.go).
    url = f"{dev_url}/apis/events.k8s.io/v1/namespaces/{NS}/events"
    bad = httpx.get(url, params={"fieldSelector": "involvedObject.name=web"})
    assert bad.status_code == 400
    assert bad.json()["message"].endswith("field label not supported: involvedObject.name")


def test_events_watch_sees_a_core_write(api: Any) -> None:
    events: Any = client.EventsV1Api(api)  # the models' Optional fields: read as Any
    start = events.list_namespaced_event(NS).metadata.resource_version
    core: Any = client.CoreV1Api(api)
    core.create_namespaced_event(
        NS,
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.2", "namespace": NS},
            "involvedObject": REF,
            "reason": "Killing",
            "message": "Stopping container web",
            "source": {"component": "kubelet", "host": "node-1"},
            "count": 2,
            "type": "Normal",
            # The Python client refuses an events.k8s.io Event without eventTime (a null one:
            # what kube serves for a core event that has none, kubernetes-client/python#1616).
            "eventTime": _now(),
        },
    )
    seen = []
    for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
        events.list_namespaced_event, NS, resource_version=start, timeout_seconds=10
    ):
        obj = event["object"]
        seen.append((event["type"], obj.metadata.name, obj.note, obj.deprecated_count))
        assert obj.deprecated_source.component == "kubelet"
        break
    assert seen == [("ADDED", "web.2", "Stopping container web", 2)]


def test_patch_and_apply_through_events_k8s_io(kubectl: Kubectl) -> None:
    kind = "events.v1.events.k8s.io"
    kubectl("-n", NS, "patch", kind, "web.2", "--type=merge", "-p", '{"note": "Stopped"}')
    core = kubectl.json("-n", NS, "get", "events", "web.2")
    assert core["message"] == "Stopped" and core["source"]["component"] == "kubelet"
    manifest = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "applied", "namespace": NS},
        "eventTime": _now(),
        "regarding": REF,
        "reason": "Scheduled",
        "action": "Binding",
        "note": "Assigned web to node-1",
        "type": "Normal",
        "reportingController": "default-scheduler",
        "reportingInstance": "scheduler-1",
    }
    kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(manifest))
    core = kubectl.json("-n", NS, "get", "events", "applied", "--show-managed-fields")
    assert core["message"] == "Assigned web to node-1"
    assert core["reportingComponent"] == "default-scheduler"
    entry = next(e for e in core["metadata"]["managedFields"] if e["operation"] == "Apply")
    assert entry["apiVersion"] == "events.k8s.io/v1" and "f:note" in entry["fieldsV1"]
    kubectl("-n", NS, "delete", kind, "applied")


def test_kubectl_lists_events_v1_events_k8s_io(kubectl: Kubectl) -> None:
    out = kubectl.json("get", "events.v1.events.k8s.io", "-A")
    assert out["items"] and {i["apiVersion"] for i in out["items"]} == {"events.k8s.io/v1"}
    names = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in out["items"]}
    assert {(NS, "web.1"), (NS, "web.2")} <= names
    # The core event printer's columns (kube: the shared storage's TableConvertor).
    header, *rows = kubectl("get", "events.v1.events.k8s.io", "-n", NS).splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("pod/web" in row and "Pulling image nginx" in row for row in rows)
    kubectl("-n", NS, "delete", "events.v1.events.k8s.io", "web.1")
    gone = kubectl.run("-n", NS, "get", "events", "web.1")  # core: one storage
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    # `ev` (both groups' short name) is core's, as against kube: core comes first in discovery.
    core = json.loads(kubectl("-n", NS, "get", "ev", "web.2", "-o", "json"))
    assert core["apiVersion"] == "v1" and core["count"] == 2
