"""The cells of kube-apiserver's server-side printing, computed from stored JSON objects; pure.

Each printer is a port of the one in kubernetes/pkg/printers/internalversion/printers.go for
that kind, as kube-apiserver runs it: always with `GenerateOptions{Wide: true}`, so the rows
carry the priority-1 cells too and kubectl hides them unless `-o wide`. Times are rendered like
`translateTimestampSince`: `duration.HumanDuration(now - t)`, or `<unknown>` for a zero time.
The JSON fields are read as the v1 (or apps/v1, coordination/v1) objects kube stores, with the
defaults the v1 -> internal conversion would apply where a field may be absent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]
Printer = Callable[[JsonObject, float], list[Any]]

_NS = 1_000_000_000
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
# Go's zero time.Time, which metav1.Time.IsZero() treats as unset.
_ZERO_TIME = -62135596800.0


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, for a duration in seconds."""
    ns = round(seconds * _NS)
    whole = -(-ns // _NS) if ns < 0 else ns // _NS  # Go's int(d.Seconds()) truncates to zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> float | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime) as epoch seconds; None if unset/zero."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        stamp = datetime.fromisoformat(f"{day}T{clock}{offset}").timestamp()
    except ValueError:
        return None
    if stamp == _ZERO_TIME:
        return None
    return stamp + (float(fraction) if fraction else 0.0)


def since(value: Any, now: float) -> str:
    """printers.go translateTimestampSince / translateMicroTimestampSince."""
    stamp = parse_time(value)
    return "<unknown>" if stamp is None else human_duration(now - stamp)


def _d(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _i(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _later(current: float | None, stamp: float | None) -> float | None:
    if stamp is None:
        return current
    return stamp if current is None or current < stamp else current


def _finished_at(status: JsonObject) -> float | None:
    terminated = _d(status.get("lastState")).get("terminated")
    return parse_time(terminated.get("finishedAt")) if isinstance(terminated, dict) else None


def _condition_true(conditions: Any, kind: str) -> bool:
    """The first condition of `kind` is True (isPodInitializedConditionTrue)."""
    for condition in _l(conditions):
        if _d(condition).get("type") == kind:
            return bool(condition.get("status") == "True")
    return False


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted `k=v` pairs, `<none>` when empty."""
    pairs = sorted(_d(labels).items())
    return ",".join(f"{k}={v}" for k, v in pairs) or "<none>"


def format_selector(selector: Any) -> str:
    """metav1.LabelSelectorAsSelector(s).String(): requirements sorted by key."""
    if not isinstance(selector, dict):
        return ""
    reqs: list[tuple[str, str]] = [
        (k, f"{k}={v}") for k, v in _d(selector.get("matchLabels")).items()
    ]
    for expr in map(_d, _l(selector.get("matchExpressions"))):
        key, op = _s(expr.get("key")), expr.get("operator")
        raw = [str(v) for v in _l(expr.get("values"))]
        values = ",".join(sorted(raw))
        if (op in ("In", "NotIn")) != bool(raw):
            return "<invalid>"  # labels.NewRequirement rejects these
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return "<invalid>"
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def _containers(containers: Iterable[Any]) -> list[str]:
    """layoutContainerCells: comma-joined names and images."""
    items = [_d(c) for c in containers]
    return [",".join(_s(c.get("name")) for c in items), ",".join(_s(c.get("image")) for c in items)]


def _pod_ip(status: JsonObject) -> str:
    ips = _l(status.get("podIPs"))
    return _s(_d(ips[0]).get("ip")) if ips else _s(status.get("podIP"))


def _pod(pod: JsonObject, now: float) -> list[Any]:
    """printPod, init and sidecar (restartable init) containers included."""
    meta, spec, status = _d(pod.get("metadata")), _d(pod.get("spec")), _d(pod.get("status"))
    init_specs = [_d(c) for c in _l(spec.get("initContainers"))]
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(_l(spec.get("containers"))) + sum(
        1 for c in init_specs if c.get("restartPolicy") == "Always"
    )
    ready = restarts = sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None
    phase = _s(status.get("phase"))
    reason = _s(status.get("reason")) or phase
    for condition in _l(status.get("conditions")):
        condition = _d(condition)
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, container in enumerate(_d(c) for c in _l(status.get("initContainerStatuses"))):
        count, finished = _i(container.get("restartCount")), _finished_at(container)
        restarts += count
        last_restart = _later(last_restart, finished)
        sidecar = container.get("name") in sidecars
        if sidecar:
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        state = _d(container.get("state"))
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if isinstance(terminated, dict) and _i(terminated.get("exitCode")) == 0:
            continue
        if sidecar and container.get("started") is True:
            ready += 1 if container.get("ready") is True else 0
            continue
        if isinstance(terminated, dict):
            if _s(terminated.get("reason")):
                reason = "Init:" + _s(terminated.get("reason"))
            elif _i(terminated.get("signal")):
                reason = f"Init:Signal:{_i(terminated.get('signal'))}"
            else:
                reason = f"Init:ExitCode:{_i(terminated.get('exitCode'))}"
        elif _s(_d(waiting).get("reason")) not in ("", "PodInitializing"):
            reason = "Init:" + _s(_d(waiting).get("reason"))
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for container in reversed([_d(c) for c in _l(status.get("containerStatuses"))]):
            restarts += _i(container.get("restartCount"))
            last_restart = _later(last_restart, _finished_at(container))
            state = _d(container.get("state"))
            terminated, waiting = state.get("terminated"), _d(state.get("waiting"))
            if _s(waiting.get("reason")):
                reason = _s(waiting.get("reason"))
            elif isinstance(terminated, dict) and _s(terminated.get("reason")):
                reason = _s(terminated.get("reason"))
            elif isinstance(terminated, dict):
                signal = _i(terminated.get("signal"))
                code = _i(terminated.get("exitCode"))
                reason = f"Signal:{signal}" if signal else f"ExitCode:{code}"
            elif container.get("ready") is True and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = _pod_ready(status.get("conditions"))
            reason = "Running" if ready_cond else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        reason = "Terminating"

    restart_cell = str(restarts)
    if restarts and last_restart is not None:
        restart_cell = f"{restarts} ({human_duration(now - last_restart)} ago)"

    gates = [_d(g).get("conditionType") for g in _l(spec.get("readinessGates"))]
    gates_cell = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for condition in map(_d, _l(status.get("conditions"))):
                if condition.get("type") == gate:
                    true_count += condition.get("status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    return [
        _s(meta.get("name")),
        f"{ready}/{total}",
        reason,
        restart_cell,
        since(meta.get("creationTimestamp"), now),
        _pod_ip(status) or "<none>",
        _s(spec.get("nodeName")) or "<none>",
        _s(status.get("nominatedNodeName")) or "<none>",
        gates_cell,
    ]


def _pod_ready(conditions: Any) -> bool:
    """hasPodReadyCondition: any Ready condition that is True."""
    return any(_d(c).get("type") == "Ready" and c.get("status") == "True" for c in _l(conditions))


def pod_row_conditions(pod: JsonObject) -> list[JsonObject] | None:
    """The `Completed` row condition printPod sets on Succeeded and Failed pods."""
    phase = _d(pod.get("status")).get("phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return None
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


def _node(node: JsonObject, now: float) -> list[Any]:
    meta, spec, status = _d(node.get("metadata")), _d(node.get("spec")), _d(node.get("status"))
    ready = None
    for condition in _l(status.get("conditions")):
        if _d(condition).get("type") == "Ready":
            ready = condition  # a map in kube: the last Ready condition wins
    states = (
        ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    )
    if spec.get("unschedulable") is True:
        states.append("SchedulingDisabled")
    roles: set[str] = set()
    for key, value in _d(meta.get("labels")).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/") :]:
            roles.add(key[len("node-role.kubernetes.io/") :])
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    info = _d(status.get("nodeInfo"))
    addresses = [_d(a) for a in _l(status.get("addresses"))]

    def address(kind: str) -> str:
        return next((_s(a.get("address")) for a in addresses if a.get("type") == kind), "<none>")

    return [
        _s(meta.get("name")),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        since(meta.get("creationTimestamp"), now),
        _s(info.get("kubeletVersion")),
        address("InternalIP"),
        address("ExternalIP"),
        _s(info.get("osImage")) or "<unknown>",
        _s(info.get("kernelVersion")) or "<unknown>",
        _s(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


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


def _deployment(deploy: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(deploy.get("metadata")), _d(deploy.get("spec"))
    status = _d(deploy.get("status"))
    replicas = spec.get("replicas")
    desired = 1 if replicas is None else _i(replicas)  # apps/v1 defaults a nil replicas to 1
    template = _d(_d(spec.get("template")).get("spec"))
    return [
        _s(meta.get("name")),
        f"{_i(status.get('readyReplicas'))}/{desired}",
        _i(status.get("updatedReplicas")),
        _i(status.get("availableReplicas")),
        since(meta.get("creationTimestamp"), now),
        *_containers(_l(template.get("containers"))),
        format_selector(spec.get("selector")),
    ]


def default_cells(obj: JsonObject) -> list[Any]:
    """rest.defaultTableConvertor: name and creationTimestamp as UTC RFC 3339."""
    meta = _d(obj.get("metadata"))
    stamp = parse_time(meta.get("creationTimestamp"))
    created = "0001-01-01T00:00:00Z"
    if stamp is not None:
        created = datetime.fromtimestamp(math.floor(stamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [_s(meta.get("name")), created]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): _pod,
    ("", "Node"): _node,
    ("", "Namespace"): _namespace,
    ("", "ConfigMap"): _configmap,
    ("", "Secret"): _secret,
    ("", "Service"): _service,
    ("", "Endpoints"): _endpoints,
    ("", "Event"): _event,
    ("coordination.k8s.io", "Lease"): _lease,
    ("apps", "Deployment"): _deployment,
}
