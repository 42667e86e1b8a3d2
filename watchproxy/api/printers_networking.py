"""Server-side printing of networking.k8s.io/v1 Ingress, IngressClass, NetworkPolicy, IPAddress
and discovery.k8s.io/v1 EndpointSlice -- ports of printIngress (formatHosts, formatPorts,
ingressLoadBalancerStatusStringer), printIngressClass, printNetworkPolicy, printIPAddress and
printEndpointSlice in kubernetes/pkg/printers/internalversion/printers.go (Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import JsonObject, _d, _i, _l, _s, since
from watchproxy.api.printer_defs import AGE, NAME, Kinds, col, label_selector, more_list


def format_hosts(rules: list[Any]) -> str:
    """formatHosts: up to 3 non-empty hosts, ` + N more...`, `*` when none."""
    hosts = [_s(_d(r).get("host")) for r in rules[:3]]
    hosts = [h for h in hosts if h]
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if len(rules) > 3 else text


def _ingress(ing: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(ing.get("metadata")), _d(ing.get("spec"))
    lb = _d(_d(ing.get("status")).get("loadBalancer"))
    addresses = {_s(_d(i).get("ip")) or _s(_d(i).get("hostname")) for i in _l(lb.get("ingress"))}
    class_name = spec.get("ingressClassName")
    return [
        _s(meta.get("name")),
        class_name if isinstance(class_name, str) else "<none>",
        format_hosts(_l(spec.get("rules"))),
        ",".join(sorted(addresses - {""})),  # Wide: not clipped to 16 bytes
        "80, 443" if _l(spec.get("tls")) else "80",
        since(meta.get("creationTimestamp"), now),
    ]


def _ingress_class(ic: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(ic.get("metadata")), _d(ic.get("spec"))
    params = spec.get("parameters")
    text = "<none>"
    if isinstance(params, dict):
        text = _s(params.get("kind"))
        if isinstance(params.get("apiGroup"), str):
            text += "." + params["apiGroup"]
        text += "/" + _s(params.get("name"))
    return [
        _s(meta.get("name")),
        _s(spec.get("controller")),
        text,
        since(meta.get("creationTimestamp"), now),
    ]


def _network_policy(np: JsonObject, now: float) -> list[Any]:
    meta = _d(np.get("metadata"))
    return [
        _s(meta.get("name")),
        label_selector(_d(np.get("spec")).get("podSelector")),
        since(meta.get("creationTimestamp"), now),
    ]


def _ip_address(ip: JsonObject, now: float) -> list[Any]:
    meta, ref = _d(ip.get("metadata")), _d(ip.get("spec")).get("parentRef")
    parent = "<none>"
    if isinstance(ref, dict):
        resource = _s(ref.get("resource"))
        if _s(ref.get("group")):
            resource += "." + _s(ref["group"])  # schema.GroupResource.String(), lowercased
        parent = resource.lower()
        if _s(ref.get("namespace")):
            parent += "/" + _s(ref["namespace"])
        parent += "/" + _s(ref.get("name"))
    # kube declares no Age column for IPAddress yet prints the age cell; kubectl drops it.
    return [_s(meta.get("name")), parent, since(meta.get("creationTimestamp"), now)]


def _endpoint_slice(es: JsonObject, now: float) -> list[Any]:
    meta = _d(es.get("metadata"))
    ports = []
    for port in map(_d, _l(es.get("ports"))):
        if port.get("port") is not None:
            ports.append(str(_i(port.get("port"))))
        elif isinstance(port.get("name"), str):
            ports.append(port["name"])
        else:
            ports.append("*")
    addresses = [_s(a) for e in map(_d, _l(es.get("endpoints"))) for a in _l(e.get("addresses"))]
    return [
        _s(meta.get("name")),
        _s(es.get("addressType")),
        more_list(ports, len(ports)),
        more_list(addresses, len(addresses)),
        since(meta.get("creationTimestamp"), now),
    ]


_NET = "networking.k8s.io"

KINDS: Kinds = {
    (_NET, "Ingress"): (
        (
            NAME,
            col(
                "Class",
                "The name of the IngressClass resource that should be used for additional "
                "configuration",
            ),
            col(
                "Hosts", "Hosts that incoming requests are matched against before the ingress rule"
            ),
            col("Address", "Address is a list containing ingress points for the load-balancer"),
            col("Ports", "Ports of TLS configurations that open"),
            AGE,
        ),
        _ingress,
    ),
    (_NET, "IngressClass"): (
        (
            NAME,
            col("Controller", "Controller that is responsible for handling this class"),
            col("Parameters", "A reference to a resource with additional parameters"),
            AGE,
        ),
        _ingress_class,
    ),
    (_NET, "NetworkPolicy"): (
        (
            NAME,
            col("Pod-Selector", "Selects the pods to which this NetworkPolicy object applies."),
            AGE,
        ),
        _network_policy,
    ),
    (_NET, "IPAddress"): (
        (
            NAME,
            col("ParentRef", "ParentRef references the resource that an IPAddress is attached to."),
        ),
        _ip_address,
    ),
    ("discovery.k8s.io", "EndpointSlice"): (
        (
            NAME,
            col("AddressType", "The type of address carried by this EndpointSlice."),
            col("Ports", "Ports of this EndpointSlice."),
            col("Endpoints", "Endpoints of this EndpointSlice."),
            AGE,
        ),
        _endpoint_slice,
    ),
}
