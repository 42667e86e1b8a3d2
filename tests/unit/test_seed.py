"""The demo's Nodes look like a kubelet reported them, and each has its Lease."""

from __future__ import annotations

from watchproxy.seed import demo_objects


def test_demo_nodes_have_figures_and_leases() -> None:
    objects = demo_objects({"acme": ["acme-web"], "globex": ["gx"]})
    nodes = [o for plural, o in objects if plural == "nodes"]
    leases = {o["metadata"]["name"]: o for plural, o in objects if plural == "leases"}
    assert len(nodes) == 4
    for node in nodes:
        status = node["status"]
        for figures in (status["capacity"], status["allocatable"]):
            assert {"cpu", "memory", "pods"} <= figures.keys()
        assert {c["type"] for c in status["conditions"]} == {
            "Ready", "MemoryPressure", "DiskPressure", "PIDPressure",
        }  # fmt: skip
        for condition in status["conditions"]:
            assert condition["lastHeartbeatTime"] and condition["lastTransitionTime"]
            assert condition["reason"] and condition["message"]
        assert {a["type"] for a in status["addresses"]} == {"InternalIP", "Hostname"}
        assert status["nodeInfo"]["kubeletVersion"].startswith("v1.")
        lease = leases[node["metadata"]["name"]]
        assert lease["apiVersion"] == "coordination.k8s.io/v1"
        assert lease["metadata"]["namespace"] == "kube-node-lease"
        assert lease["spec"]["holderIdentity"] == node["metadata"]["name"]
        assert lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["spec"]["renewTime"].endswith("Z")
    pods = [o for plural, o in objects if plural == "pods"]
    assert all(p["spec"]["containers"][0]["resources"]["requests"]["cpu"] for p in pods)
