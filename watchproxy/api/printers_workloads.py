"""Server-side printing of the kinds kubelets and workload controllers watch: Pod (with its
`Completed` row condition), Node and apps/v1 Deployment -- ports of printPod, printNode and
printDeployment in kubernetes/pkg/printers/internalversion/printers.go (Wide). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import (
    JsonObject,
    _condition_true,
    _containers,
    _d,
    _finished_at,
    _i,
    _l,
    _later,
    _s,
    format_selector,
    human_duration,
    since,
)


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
