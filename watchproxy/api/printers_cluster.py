"""Server-side printing of the cluster and configuration kinds: Namespace, ConfigMap, Secret,
Service, Endpoints, Event and coordination/v1 Lease -- ports of the printers of the same names in
kubernetes/pkg/printers/internalversion/printers.go (Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import (
    JsonObject,
    _d,
    _i,
    _l,
    _s,
    format_labels,
    parse_time,
    since,
)


def _namespace(ns: JsonObject, now: float) -> list[Any]:
    meta = _d(ns.get("metadata"))
    phase = _s(_d(ns.get("status")).get("phase"))
    return [_s(meta.get("name")), phase, since(meta.get("creationTimestamp"), now)]


def _configmap(cm: JsonObject, now: float) -> list[Any]:
    meta = _d(cm.get("metadata"))
    count = len(_d(cm.get("data"))) + len(_d(cm.get("binaryData")))
    return [_s(meta.get("name")), count, since(meta.get("creationTimestamp"), now)]


def _secret(secret: JsonObject, now: float) -> list[Any]:
    meta = _d(secret.get("metadata"))
    keys = set(_d(secret.get("data"))) | set(_d(secret.get("stringData")))
    kind = _s(secret.get("type")) or "Opaque"
    return [_s(meta.get("name")), kind, len(keys), since(meta.get("creationTimestamp"), now)]


def _service(svc: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(svc.get("metadata")), _d(svc.get("spec"))
    kind = _s(spec.get("type")) or "ClusterIP"
    cluster_ips = _l(spec.get("clusterIPs")) or (
        [spec["clusterIP"]] if spec.get("clusterIP") else []
    )
    external_ips = [str(ip) for ip in _l(spec.get("externalIPs"))]
    if kind in ("ClusterIP", "NodePort"):
        external = ",".join(external_ips) or "<none>"
    elif kind == "LoadBalancer":
        ingress = [_d(i) for i in _l(_d(_d(svc.get("status")).get("loadBalancer")).get("ingress"))]
        lb_ips = sorted({_s(i.get("ip")) or _s(i.get("hostname")) for i in ingress} - {""})
        lb = ",".join(lb_ips)  # wide: kube clips this to 16 bytes only when not wide
        if external_ips:
            external = ",".join([*(lb.split(",") if lb else []), *external_ips])
        else:
            external = lb or "<pending>"
    elif kind == "ExternalName":
        external = _s(spec.get("externalName"))
    else:
        external = "<unknown>"
    ports = []
    for port in (_d(p) for p in _l(spec.get("ports"))):
        protocol = _s(port.get("protocol")) or "TCP"
        node_port = _i(port.get("nodePort"))
        if node_port > 0:
            ports.append(f"{_i(port.get('port'))}:{node_port}/{protocol}")
        else:
            ports.append(f"{_i(port.get('port'))}/{protocol}")
    return [
        _s(meta.get("name")),
        kind,
        str(cluster_ips[0]) if cluster_ips else "<none>",
        external,
        ",".join(ports) or "<none>",
        since(meta.get("creationTimestamp"), now),
        format_labels(spec.get("selector")),
    ]


def format_endpoints(endpoints: JsonObject) -> str:
    """formatEndpoints(endpoints, nil): up to 3 `ip:port`, then ` + N more...`."""
    subsets = [_d(s) for s in _l(endpoints.get("subsets"))]
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count, more = 0, False
    for subset in subsets:
        ips = [_s(_d(a).get("ip")) for a in _l(subset.get("addresses"))]
        ports: list[int | None] = [_i(_d(p).get("port")) for p in _l(subset.get("ports"))]
        for port in ports or [None]:  # a headless service's subset may have no ports
            count += len(ips)
            for ip in ips:
                if len(shown) == 3:
                    more = True
                    break
                host = f"[{ip}]" if ":" in ip else ip  # net.JoinHostPort
                shown.append(ip if port is None else f"{host}:{port}")
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if more else text


def _endpoints(ep: JsonObject, now: float) -> list[Any]:
    meta = _d(ep.get("metadata"))
    return [_s(meta.get("name")), format_endpoints(ep), since(meta.get("creationTimestamp"), now)]


def _event(ev: JsonObject, now: float) -> list[Any]:
    """printEvent with Wide: the 10 cells of the core/v1 Event columns."""
    meta, involved = _d(ev.get("metadata")), _d(ev.get("involvedObject"))
    first = since(ev.get("firstTimestamp"), now)
    if parse_time(ev.get("firstTimestamp")) is None:
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now)
    if parse_time(ev.get("lastTimestamp")) is None:
        last = first
    count = _i(ev.get("count"))
    series = ev.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = _i(series.get("count"))
    elif count == 0:
        count = 1  # singleton events don't have a count set in the new API
    kind, name = _s(involved.get("kind")).lower(), _s(involved.get("name"))
    source = _d(ev.get("source"))
    component = _s(source.get("component")) or _s(ev.get("reportingComponent"))
    instance = _s(source.get("host")) or _s(ev.get("reportingInstance"))
    return [
        last,
        _s(ev.get("type")),
        _s(ev.get("reason")),
        f"{kind}/{name}" if name else kind,
        _s(involved.get("fieldPath")),
        f"{component}, {instance}" if instance else component,
        _s(ev.get("message")).strip(),
        first,
        count,
        _s(meta.get("name")),
    ]


def _lease(lease: JsonObject, now: float) -> list[Any]:
    meta = _d(lease.get("metadata"))
    holder = _s(_d(lease.get("spec")).get("holderIdentity"))
    return [_s(meta.get("name")), holder, since(meta.get("creationTimestamp"), now)]
