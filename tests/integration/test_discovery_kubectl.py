"""kubectl 1.32 against `watchproxy dev`: every built-in type discovered through aggregated
discovery (one /api and one /apis round trip), short names and the `all` category."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.devserver import Kubectl, dev_server
from watchproxy.resources import Registry

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "acme-disc"


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("discovery")) as url:
        yield url


@pytest.fixture()
def kubectl(dev_url: str, tmp_path: Path) -> Kubectl:
    return Kubectl(dev_url, tmp_path / "cache")  # a cold discovery cache per test


def test_api_resources_lists_every_served_type(kubectl: Kubectl) -> None:
    out = kubectl("api-resources", "--no-headers", "-o", "wide")
    rows = [line.split() for line in out.splitlines()]
    # -o wide: NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS CATEGORIES, where an empty
    # SHORTNAMES or CATEGORIES leaves no token: match (name, apiVersion) anywhere in the row.
    found = {f"{row[0]}.{v}" for row in rows for v in row[1:3] if v == "v1" or "/" in v}
    # A resource is listed once, at its group's preferred version: autoscaling/v1 HPAs are not.
    preferred = [r for r in Registry().all if r.version == r.storage_version]
    expected = {f"{r.plural}.{r.api_version}" for r in preferred}
    assert found == expected
    pods = next(line.split() for line in out.splitlines() if line.split()[0] == "pods")
    assert pods[1] == "po" and pods[-1] == "all"
    crds = next(line for line in out.splitlines() if line.startswith("customresourcedefinitions"))
    assert "crd,crds" in crds and "api-extensions" in crds


def test_one_aggregated_round_trip(kubectl: Kubectl) -> None:
    done = kubectl.run("get", "namespaces", "-v=6")
    assert done.returncode == 0, done.stderr
    gets = [line for line in done.stderr.splitlines() if " GET http" in line]
    discovery = [g for g in gets if "/api?" in g or "/apis?" in g or "/apis/" in g]
    # Aggregated discovery: /api and /apis once each, no per-group-version documents.
    assert len(discovery) == 2, gets
    assert not any("/api/v1?" in g or "/apis/apps/v1?" in g for g in gets)


def test_short_names_and_get_all(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", NS)
    kubectl("-n", NS, "create", "deployment", "web", "--image=nginx")
    kubectl("-n", NS, "create", "service", "clusterip", "web", "--tcp=80:80")
    out = kubectl("get", "all", "-n", NS)
    assert "deployment.apps/web" in out and "service/web" in out
    kubectl("get", "deploy,sts,ds,cj,pdb,netpol,pvc,sa,pc,hpa,csr,crd,ing,vac", "-A")
    missing = kubectl.run("get", "componentstatuses")
    assert missing.returncode != 0
