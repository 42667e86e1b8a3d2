"""Services (kube: pkg/registry/core/service/strategy.go, storage/storage.go;
ValidateService / ValidateServiceUpdate in pkg/apis/core/validation/validation.go).

DELETE answers the deleted object. Create clears `status`; the defaults are
registry/defaults/core.py. Every type but ExternalName gets a ClusterIP, NodePort and
LoadBalancer Services a nodePort per port, held just before the Service is written
(strategies/service_alloc.py; `reserve`) and released once it is deleted or no longer needs
them. `ipFamilyPolicy: SingleStack`, `ipFamilies` (the address's family) and `clusterIPs` mirror
the ClusterIP; headless Services (`clusterIP: None`) hold none. An update that leaves the
allocated values out keeps them.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from watchproxy.api.status import etcd_unavailable
from watchproxy.core.validation import (
    field_invalid,
    go_quote,
    go_string_slice,
    invalid_value,
    not_supported,
)
from watchproxy.etcd.client import EtcdError
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.podspec import PROTOCOLS, duplicate, port_causes, required
from watchproxy.registry.strategies.service_alloc import (
    allocated,
    cluster_ip,
    needs_node_ports,
    release_unused,
    reserve_cluster_ip,
    reserve_node_ports,
    set_ip,
    spec_of,
)
from watchproxy.registry.strategy import JsonObject, Strategy, register

if TYPE_CHECKING:
    from watchproxy.registry.store import Store

TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
AFFINITIES = ("ClientIP", "None")
_PORT_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def port_name_errors(name: str) -> list[str]:
    """validation.IsValidPortName (an IANA_SVC_NAME): at most 15 characters of a-z, 0-9 and
    '-', a letter, no "--", no hyphen at either end."""
    errors = []
    if len(name) > 15:
        errors.append("must be no more than 15 characters")
    if not name or not set(name) <= _PORT_NAME_CHARS:
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any("a" <= ch <= "z" for ch in name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def duplicate_port_causes(ports: list[Any]) -> list[Cause]:
    """ValidateService's duplicate checks: a nodePort used twice with one protocol (at
    `ports[i].nodePort`), a (port, protocol) pair used twice (at `ports[i]`, shown as Go's %#v
    of the core.ServicePort key kube builds)."""
    causes: list[Cause] = []
    node_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict) or port.get("nodePort") in (None, 0):
            continue
        key = (port.get("protocol"), port.get("nodePort"))
        if key in node_ports:
            causes.append(
                ("FieldValueDuplicate", f"spec.ports[{i}].nodePort", f"Duplicate value: {key[1]}")
            )
        node_ports.add(key)
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        key = (port.get("protocol"), port.get("port"))
        if key in seen:
            shown = (
                f'core.ServicePort{{Name:"", Protocol:{go_quote(str(key[0] or ""))}, '
                f"AppProtocol:(*string)(nil), Port:{key[1]}, "
                'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
            )
            causes.append(("FieldValueDuplicate", f"spec.ports[{i}]", f"Duplicate value: {shown}"))
        seen.add(key)
    return causes


@register("services")
class ServiceStrategy(Strategy):
    return_deleted_object = True
    clear_status_on_create = True
    kube_validation = True

    def prepare_for_create(self, obj: JsonObject) -> None:
        super().prepare_for_create(obj)
        self._families(obj)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        super().prepare_for_update(new, old, subresource)
        spec, old_spec = spec_of(new), spec_of(old)
        if spec.get("type") != "ExternalName" and old_spec.get("type") != "ExternalName":
            # patchAllocatedValues: an update that omits the allocated values keeps them.
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if spec.get(key) in (None, "", []) and key in old_spec:
                    spec[key] = old_spec[key]
        if needs_node_ports(new) and needs_node_ports(old):
            # ... and the nodePort of a port (same port number and protocol) that had one.
            held = {
                (p.get("port"), p.get("protocol")): p.get("nodePort")
                for p in old_spec.get("ports") or []
                if isinstance(p, dict)
            }
            for port in spec.get("ports") or []:
                if isinstance(port, dict) and not port.get("nodePort"):
                    kept = held.get((port.get("port"), port.get("protocol")))
                    if kept:
                        port["nodePort"] = kept
        self._families(new)

    def _families(self, obj: JsonObject) -> None:
        spec = spec_of(obj)
        if spec.get("type") == "ExternalName":
            return
        ip = cluster_ip(obj)
        if ip:
            set_ip(obj, ip)
        if spec.get("ipFamilyPolicy") in (None, ""):
            spec["ipFamilyPolicy"] = "SingleStack"
        if not spec.get("ipFamilies"):
            family = "IPv4"
            try:
                family = "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
            except ValueError:
                pass
            spec["ipFamilies"] = [family]

    # -- validation ----------------------------------------------------------------------------

    def validate(self, obj: JsonObject) -> list[Cause]:
        """ValidateService's rules for type, ports, clusterIP format and externalName."""
        spec = spec_of(obj)
        kind = spec.get("type")
        causes: list[Cause] = []
        if kind not in TYPES:
            return [not_supported("spec.type", str(kind or ""), TYPES)]
        affinity = spec.get("sessionAffinity")
        if affinity not in AFFINITIES:
            causes.append(not_supported("spec.sessionAffinity", str(affinity or ""), AFFINITIES))
        ip = cluster_ip(obj)
        if kind == "ExternalName":
            if not spec.get("externalName"):
                causes.append(required("spec.externalName"))
        elif allocated(ip):
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                causes.append(
                    invalid_value(
                        "spec.clusterIPs[0]",
                        ip,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )
                )
        ports = spec.get("ports")
        ports = ports if isinstance(ports, list) else []
        if not ports and kind != "ExternalName" and ip != "None":
            causes.append(required("spec.ports"))
        names: set[str] = set()
        for i, port in enumerate(ports):
            causes += self._port_causes(f"spec.ports[{i}]", port, len(ports) > 1, names, kind)
        return causes + duplicate_port_causes(ports)

    def _port_causes(
        self, path: str, port: Any, named: bool, names: set[str], kind: Any
    ) -> list[Cause]:
        if not isinstance(port, dict):
            return [required(path)]
        causes: list[Cause] = []
        name = port.get("name")
        if named and not name:
            causes.append(required(f"{path}.name"))
        if name:
            if name in names:
                causes.append(duplicate(f"{path}.name", str(name)))
            names.add(str(name))
        causes += port_causes(f"{path}.port", port.get("port"))
        protocol = port.get("protocol")
        if protocol not in PROTOCOLS:
            causes.append(not_supported(f"{path}.protocol", str(protocol or ""), PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool):
            causes += port_causes(f"{path}.targetPort", target)
        elif isinstance(target, str):
            # IntOrString prints as its String(): the name, unquoted.
            causes += [
                field_invalid(f"{path}.targetPort", target, m) for m in port_name_errors(target)
            ]
        if port.get("nodePort") not in (None, 0):
            if kind in ("ClusterIP", "ExternalName"):
                causes.append(
                    (
                        "FieldValueForbidden",
                        f"{path}.nodePort",
                        f"Forbidden: may not be used when `type` is '{kind}'",
                    )
                )
            else:
                causes += port_causes(f"{path}.nodePort", port.get("nodePort"))
        return causes

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new)
        old_ip, new_ip = cluster_ip(old), cluster_ip(new)
        both_need = "ExternalName" not in (spec_of(new).get("type"), spec_of(old).get("type"))
        if both_need and old_ip and new_ip != old_ip:
            causes.append(
                field_invalid(
                    "spec.clusterIPs[0]",
                    go_string_slice(spec_of(new).get("clusterIPs") or [new_ip]),
                    "may not change once set",
                )
            )
        return causes

    # -- allocation ------------------------------------------------------------------------------

    async def reserve(
        self, store: Store, obj: JsonObject, old: JsonObject | None, *, dry_run: bool
    ) -> None:
        try:
            await reserve_cluster_ip(store, self.resource, obj, old, dry_run)
            await reserve_node_ports(store, self.resource, obj, old, dry_run)
        except EtcdError as exc:
            raise etcd_unavailable(exc) from exc

    async def unreserve(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """The write failed: give back what `obj` holds and `old` (None: a create) does not;
        only values held by `obj`'s uid are released."""
        try:
            await release_unused(store, old, obj)
        except EtcdError:
            pass  # a leaked value is taken back when it is next requested

    async def verify_written(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """Give back what the update stopped using (ExternalName: the ClusterIP; ClusterIP:
        the nodePorts)."""
        if old is not None:
            try:
                await release_unused(store, obj, old)
            except EtcdError:
                pass  # a leaked value is taken back when it is next requested

    async def after_delete(self, store: Store, obj: JsonObject) -> None:
        try:
            await release_unused(store, None, obj)
        except EtcdError:
            pass  # a leaked value is taken back when it is next requested
