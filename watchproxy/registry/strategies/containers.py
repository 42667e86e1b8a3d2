"""Per-container rules of ValidatePodSpec beyond names, images and ports (kube:
pkg/apis/core/validation/validation.go ValidateResourceRequirements, validateProbe /
validateHandler, validateVolumeMounts, validateEnvVarValueFrom). `path` is the container's
field path ("spec.containers[0]"); causes are (reason, field, message) with kube's texts.
"""

from __future__ import annotations

from typing import Any

from watchproxy.core.validation import field_invalid, go_quote, invalid_value
from watchproxy.registry.errors import Cause
from watchproxy.schema.quantity import canonical_quantity, quantity_value

NEGATIVE = "must be greater than or equal to 0"  # apimachinery IsNegativeErrorMsg
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
PROBE_FIELDS = (
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
)
ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
ENV_NO_SOURCE = (
    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def non_negative_field(path: str, value: Any) -> list[Cause]:
    """ValidateNonnegativeField of an int field."""
    number = _int(value)
    return [field_invalid(path, str(number), NEGATIVE)] if number is not None and number < 0 else []


def _overcommit_allowed(name: str) -> bool:
    """helper.IsOvercommitAllowed: native (unprefixed or *kubernetes.io/) and not hugepages."""
    native = "/" not in name or "kubernetes.io/" in name
    return native and not name.startswith("hugepages-")


def _shown(value: Any) -> str:
    text = str(value)
    try:
        return canonical_quantity(text)
    except ValueError:
        return text


def resources_causes(path: str, resources: Any) -> list[Cause]:
    """ValidateResourceRequirements at `path` (".../resources"): quantities >= 0 (at
    `limits[<name>]`), requests <= limits (at `requests`, equal for non-overcommitable
    resources), a limit for every non-overcommitable request."""
    if not isinstance(resources, dict):
        return []
    limits, requests = resources.get("limits"), resources.get("requests")
    limits = limits if isinstance(limits, dict) else {}
    requests = requests if isinstance(requests, dict) else {}
    causes: list[Cause] = []
    for key, entries in (("limits", limits), ("requests", requests)):
        for name, raw in entries.items():
            value = quantity_value(str(raw))
            if value is not None and value < 0:
                causes.append(invalid_value(f"{path}.{key}[{name}]", _shown(raw), NEGATIVE))
    for name, raw in requests.items():
        request = quantity_value(str(raw))
        if name not in limits:
            if not _overcommit_allowed(name):
                causes.append(
                    (
                        "FieldValueRequired",
                        f"{path}.limits",
                        "Required value: Limit must be set for non overcommitable resources",
                    )
                )
            continue
        limit = quantity_value(str(limits[name]))
        if request is None or limit is None:
            continue
        shown_limit = _shown(limits[name])
        if request != limit and not _overcommit_allowed(name):
            detail = f"must be equal to {name} limit of {shown_limit}"
        elif request > limit:
            detail = f"must be less than or equal to {name} limit of {shown_limit}"
        else:
            continue
        causes.append(invalid_value(f"{path}.requests", _shown(raw), detail))
    return causes


def probe_causes(path: str, probe: Any) -> list[Cause]:
    """validateProbe: exactly one handler (exec, httpGet, tcpSocket, grpc), non-negative
    delays, periods and thresholds, a positive terminationGracePeriodSeconds."""
    if not isinstance(probe, dict):
        return []
    handlers = [h for h in PROBE_HANDLERS if probe.get(h) is not None]
    causes: list[Cause] = []
    if not handlers:
        causes.append(("FieldValueRequired", path, "Required value: must specify a handler type"))
    for extra in handlers[1:]:
        causes.append(
            (
                "FieldValueForbidden",
                f"{path}.{extra}",
                "Forbidden: may not specify more than 1 handler type",
            )
        )
    for key in PROBE_FIELDS:
        causes += non_negative_field(f"{path}.{key}", probe.get(key))
    grace = _int(probe.get("terminationGracePeriodSeconds"))
    if grace is not None and grace <= 0:
        causes.append(
            field_invalid(
                f"{path}.terminationGracePeriodSeconds", str(grace), "must be greater than 0"
            )
        )
    return causes


def volume_mount_causes(path: str, mounts: Any, volumes: set[str]) -> list[Cause]:
    """validateVolumeMounts at `path` (".../volumeMounts"): a name naming one of the pod's
    `volumes`, a mountPath, unique mountPaths."""
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, mount in enumerate(mounts if isinstance(mounts, list) else []):
        if not isinstance(mount, dict):
            continue
        where = f"{path}[{i}]"
        name = str(mount.get("name") or "")
        if not name:
            causes.append(("FieldValueRequired", f"{where}.name", "Required value"))
        if name not in volumes:
            causes.append(("FieldValueNotFound", f"{where}.name", f"Not found: {go_quote(name)}"))
        mount_path = str(mount.get("mountPath") or "")
        if not mount_path:
            causes.append(("FieldValueRequired", f"{where}.mountPath", "Required value"))
        elif mount_path in seen:
            causes.append(invalid_value(f"{where}.mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
    return causes


def env_causes(path: str, env: Any) -> list[Cause]:
    """validateEnvVarValueFrom for each `env[i].valueFrom`: exactly one source, and none when
    `value` is set."""
    causes: list[Cause] = []
    for i, var in enumerate(env if isinstance(env, list) else []):
        source = var.get("valueFrom") if isinstance(var, dict) else None
        if not isinstance(source, dict):
            continue
        where = f"{path}[{i}].valueFrom"
        count = sum(1 for key in ENV_SOURCES if source.get(key) is not None)
        if count == 0:
            causes.append(invalid_value(where, "", ENV_NO_SOURCE))
        elif var.get("value"):
            causes.append(
                invalid_value(where, "", "may not be specified when `value` is not empty")
            )
        elif count > 1:
            causes.append(
                invalid_value(where, "", "may not have more than one field specified at a time")
            )
    return causes


def container_rule_causes(path: str, container: dict[str, Any], volumes: set[str]) -> list[Cause]:
    """All of this module's rules for one container at `path`."""
    causes = env_causes(f"{path}.env", container.get("env"))
    causes += volume_mount_causes(f"{path}.volumeMounts", container.get("volumeMounts"), volumes)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        causes += probe_causes(f"{path}.{probe}", container.get(probe))
    causes += resources_causes(f"{path}.resources", container.get("resources"))
    return causes
