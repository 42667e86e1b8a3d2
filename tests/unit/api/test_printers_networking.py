"""Tests for api/printers_networking.py: printIngress (formatHosts, formatPorts, the load
balancer addresses), printIngressClass, printNetworkPolicy, printIPAddress and
printEndpointSlice of kube's printers.go (Wide).
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printers_networking import KINDS, format_hosts

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"
META = {"name": "x", "creationTimestamp": CREATED}
NET = "networking.k8s.io"


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return KINDS[(group, kind)][1](obj, T0)


def test_ingress() -> None:
    assert [c["name"] for c in KINDS[(NET, "Ingress")][0]] == [
        "Name", "Class", "Hosts", "Address", "Ports", "Age"
    ]  # fmt: skip
    ing = {
        "metadata": META,
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
            "tls": [{"hosts": ["a.example.com"]}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example"},
                                                {"ip": "10.0.0.1"}]}},
    }  # fmt: skip
    assert row(NET, "Ingress", ing) == [
        "x", "nginx", "a.example.com,b.example.com", "10.0.0.1,10.0.0.2,lb.example", "80, 443",
        "60m",
    ]  # fmt: skip
    assert row(NET, "Ingress", {"metadata": META}) == ["x", "<none>", "*", "", "80", "60m"]


def test_format_hosts() -> None:
    assert format_hosts([{}]) == "*"
    rules = [{"host": h} for h in ("a", "", "c", "d", "e")]
    assert format_hosts(rules) == "a,c + 2 more..."


def test_ingress_class() -> None:
    ic = {"metadata": META, "spec": {"controller": "k8s.io/ingress-nginx"}}
    assert row(NET, "IngressClass", ic) == ["x", "k8s.io/ingress-nginx", "<none>", "60m"]
    ic["spec"]["parameters"] = {"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                                "name": "external-lb"}  # fmt: skip
    assert row(NET, "IngressClass", ic)[2] == "IngressParameters.k8s.example.com/external-lb"


def test_network_policy_and_ip_address() -> None:
    np = {"metadata": META, "spec": {"podSelector": {"matchLabels": {"role": "db"}}}}
    assert row(NET, "NetworkPolicy", np) == ["x", "role=db", "60m"]
    assert row(NET, "NetworkPolicy", {"spec": {"podSelector": {}}})[1] == "<none>"
    ip = {"metadata": META, "spec": {"parentRef": {"group": "", "resource": "services",
                                                   "namespace": "default", "name": "kubernetes"}}}
    assert [c["name"] for c in KINDS[(NET, "IPAddress")][0]] == ["Name", "ParentRef"]
    assert row(NET, "IPAddress", ip) == ["x", "services/default/kubernetes", "60m"]
    gateway = {"spec": {"parentRef": {"group": "Example.COM", "resource": "Gateways", "name": "g"}}}
    assert row(NET, "IPAddress", gateway)[1] == "gateways.example.com/g"
    assert row(NET, "IPAddress", {})[1] == "<none>"


def test_endpoint_slice() -> None:
    key = ("discovery.k8s.io", "EndpointSlice")
    assert [c["name"] for c in KINDS[key][0]] == ["Name", "AddressType", "Ports", "Endpoints",
                                                  "Age"]  # fmt: skip
    es = {
        "metadata": META,
        "addressType": "IPv4",
        "ports": [{"port": 80}, {"name": "https"}, {}],
        "endpoints": [{"addresses": ["10.0.0.1", "10.0.0.2"]}, {"addresses": ["10.0.0.3"]},
                      {"addresses": ["10.0.0.4"]}],
    }  # fmt: skip
    assert row(*key, es) == ["x", "IPv4", "80,https,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
                             "60m"]  # fmt: skip
    assert row(*key, {})[2:4] == ["<unset>", "<unset>"]
