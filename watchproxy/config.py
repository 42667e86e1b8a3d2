"""Settings: the YAML config file, its defaults and its validation.

Every field has a default except `shards`, so the issue's example file alone is a working config.
A bad field stops start-up with one `ConfigError` line that names it
(`shards[1].endpoints[0]: ...`).

One module, just over 400 lines: the top-level Settings and the parsing of every field they
hold; the security and flow-control sections already parse in their own modules
(auth/settings.py, flowcontrol/settings.py).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from watchproxy.auth.settings import (
    SecurityConfigError,
    SecuritySettings,
    SubjectSettings,
    parse_security,
    parse_subjects,
)
from watchproxy.flowcontrol.bootstrap import effective_configuration
from watchproxy.flowcontrol.settings import (
    FlowControlConfigError,
    FlowControlSettings,
    parse_flow_control,
)
from watchproxy.observe.logs import LOG_FORMATS, LogFormat


class ConfigError(ValueError):
    """A configuration problem; str() is the one line shown at start-up."""


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class ShardSettings:
    name: str
    endpoints: tuple[str, ...]
    key_prefix: str = "/registry"
    tls: TlsSettings = field(default_factory=TlsSettings)


@dataclass(frozen=True)
class TenantSettings:
    name: str
    shard: str
    namespaces: tuple[str, ...] = ()
    subjects: SubjectSettings = field(default_factory=SubjectSettings)


@dataclass(frozen=True)
class ControllerSettings:
    """The built-in controllers (watchproxy/controllers/) and their Lease election.

    Defaults are kube-controller-manager's (`--leader-elect-lease-duration=15s`,
    `--leader-elect-renew-deadline=10s`, `--leader-elect-retry-period=2s`). Turn a controller off
    where kube-controller-manager is pointed at watchproxy and runs it instead.
    """

    namespace: bool = True
    garbage_collector: bool = True
    # Whole seconds: Lease.spec.leaseDurationSeconds is an int32.
    lease_duration_seconds: int = 15
    renew_deadline_seconds: float = 10.0
    retry_period_seconds: float = 2.0


@dataclass(frozen=True)
class Settings:
    shards: tuple[ShardSettings, ...]
    tenants: tuple[TenantSettings, ...] = ()
    default_shard: str = ""
    listen: str = "127.0.0.1:8080"
    # Events kept per resource for watch resume; kube-apiserver keeps 100..102,400 per resource.
    history_size: int = 50_000
    # ... and at most this many bytes of objects per resource: 300 updates of 1 MB objects
    # would otherwise pin 300 MB (kube's watch cache is bounded by count only).
    history_max_bytes: int = 128 * 1024 * 1024
    # kube-apiserver sends bookmarks about once a minute; tests shorten it.
    bookmark_interval_seconds: float = 60.0
    # How long a read waits for the cache to reach the requested revision (apiserver blockTimeout).
    freshness_timeout_seconds: float = 3.0
    # Live events queued per watcher before it is switched to catch-up from history.
    watcher_queue_size: int = 1000
    # ... and at most this many bytes of their encoded lines: a watcher that stops reading pins
    # at most this much before it replays from the history instead (which holds the events
    # anyway). 8 MiB leaves the count bound in charge for objects up to 8 KB -- most objects --
    # while 1 MB objects lag after 8 events instead of pinning 1 GB per watcher.
    watcher_queue_max_bytes: int = 8 * 1024 * 1024
    # Events of one watch that follow its last direct write within this many seconds are sent
    # together at the window's end (the first after a quiet spell goes at once); 0 = never
    # wait. Decision 0019 measured the CPU per delivery against the added latency.
    watch_coalesce_window_seconds: float = 0.02
    max_body_bytes: int = 3 * 1024 * 1024
    # Default watch lifetime when the client sets no timeoutSeconds (apiserver: 1800 s x (1+rand)).
    min_request_timeout_seconds: float = 1800.0
    etcd_page_size: int = 10_000
    # Idle HTTP keep-alive; above common load-balancer idle timeouts (60 s) so the LB closes first.
    keep_alive_seconds: float = 75.0
    # Request line + header fields of one HTTP/1.1 request, and the HTTP/2 header list
    # (SETTINGS_MAX_HEADER_LIST_SIZE): Go's http.DefaultMaxHeaderBytes, as kube serves. Over: 431.
    max_header_bytes: int = 1 << 20
    # Header fields of one HTTP/1.1 request; over it: 431.
    max_header_count: int = 1000
    # Slowloris: an HTTP/1.1 request's headers must be complete within this long (from the
    # connection's start, or the request's first byte on a kept-alive connection), else 408 and
    # close; a connection that sends nothing is closed after it too.
    header_read_timeout_seconds: float = 10.0
    # Open connections per process; a connection over it is refused cleanly (HTTP/1.1: 503 with a
    # Status body and Connection: close; HTTP/2: GOAWAY) instead of an empty reply.
    max_connections: int = 10_000
    # On SIGTERM /readyz fails at once while the listener keeps accepting this long, so load
    # balancers move new watches elsewhere before it closes (kube's --shutdown-delay-duration).
    shutdown_delay_seconds: float = 5.0
    # How often idle reflector streams ask etcd for a progress notification (see Proxy).
    progress_request_interval_seconds: float = 5.0
    connect_timeout_seconds: float = 5.0
    # The ClusterIPs Services get (kube's --service-cluster-ip-range; registry/ipallocator.py).
    service_cluster_ip_range: str = "10.96.0.0/12"
    # Process logs on stderr: "text" lines or "json" objects (watchproxy/observe/logs.py);
    # `--log-format` overrides it.
    log_format: LogFormat = "text"
    controllers: ControllerSettings = field(default_factory=ControllerSettings)
    # API Priority and Fairness (watchproxy/flowcontrol; docs/configuration.md `flow_control`).
    flow_control: FlowControlSettings = field(default_factory=FlowControlSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def shard_names(self) -> list[str]:
        return [s.name for s in self.shards]


_TOP_KEYS = {f for f in Settings.__dataclass_fields__ if f != "security"} | {
    "tls",
    "authentication",
    "authorization",
    "audit",
}


def _check_keys(where: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}{key}: unknown field")


def _str_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: must be a list of non-empty strings")
    return tuple(value)


def check_endpoint(where: str, url: str) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise ConfigError(f"{where}: {url!r} is not an http(s)://host:port etcd endpoint")
    if parts.path not in ("", "/"):
        raise ConfigError(f"{where}: {url!r} must not have a path")


def _shard(i: int, data: Any) -> ShardSettings:
    where = f"shards[{i}]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping with name and endpoints")
    _check_keys(f"{where}.", data, {"name", "endpoints", "key_prefix", "tls"})
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name: required non-empty string")
    endpoints = _str_list(f"{where}.endpoints", data.get("endpoints"))
    if not endpoints:
        raise ConfigError(f"{where}.endpoints: at least one endpoint is required")
    for j, url in enumerate(endpoints):
        check_endpoint(f"{where}.endpoints[{j}]", url)
    prefix = data.get("key_prefix", "/registry")
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
        raise ConfigError(f"{where}.key_prefix: must start with '/' and not end with '/'")
    tls_data = data.get("tls") or {}
    if not isinstance(tls_data, dict):
        raise ConfigError(f"{where}.tls: must be a mapping")
    _check_keys(f"{where}.tls.", tls_data, {"ca_file", "cert_file", "key_file"})
    for key, value in tls_data.items():
        if not isinstance(value, str) or not Path(value).is_file():
            raise ConfigError(f"{where}.tls.{key}: file {value!r} not found")
    return ShardSettings(name, endpoints, prefix, TlsSettings(**tls_data))


def _tenant(i: int, data: Any, shard_names: set[str]) -> TenantSettings:
    where = f"tenants[{i}]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping with name, shard and namespaces")
    _check_keys(f"{where}.", data, {"name", "shard", "namespaces", "subjects"})
    name, shard = data.get("name"), data.get("shard")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name: required non-empty string")
    if shard not in shard_names:
        raise ConfigError(f"{where}.shard: unknown shard {shard!r}")
    try:
        subjects = parse_subjects(f"{where}.subjects", data.get("subjects"))
    except SecurityConfigError as exc:
        raise ConfigError(str(exc)) from exc
    return TenantSettings(
        name,
        str(shard),
        _str_list(f"{where}.namespaces", data.get("namespaces", [])),
        subjects,
    )


def _check_overlaps(tenants: tuple[TenantSettings, ...]) -> None:
    """Two tenants must not both claim a namespace: a literal of one matched by a glob of another,
    or two globs that share a literal prefix that both could match (checked on a sample)."""
    for i, a in enumerate(tenants):
        for j, b in enumerate(tenants[:i]):
            for pa in a.namespaces:
                for pb in b.namespaces:
                    if _globs_overlap(pa, pb):
                        raise ConfigError(
                            f"tenants[{i}].namespaces: {pa!r} overlaps {pb!r} of tenant {b.name!r}"
                            f" (tenants[{j}])"
                        )


def _check_subjects(tenants: tuple[TenantSettings, ...]) -> None:
    """An identity belongs to one tenant at most: a user or group named by two is refused."""
    seen: dict[tuple[str, str], str] = {}
    for i, t in enumerate(tenants):
        for kind, names in (("users", t.subjects.users), ("groups", t.subjects.groups)):
            for name in names:
                other = seen.setdefault((kind, name), t.name)
                if other != t.name:
                    raise ConfigError(
                        f"tenants[{i}].subjects.{kind}: {name!r} already belongs to tenant"
                        f" {other!r}"
                    )


def _globs_overlap(a: str, b: str) -> bool:
    if fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a):
        return True
    # Two globs overlap if some name matches both; try each glob's stem with a filler.
    for probe in (a, b):
        sample = probe.replace("*", "x").replace("?", "x")
        if fnmatch.fnmatchcase(sample, a) and fnmatch.fnmatchcase(sample, b):
            return True
    return False


# The smallest max_header_bytes accepted.
MIN_HEADER_BYTES: Final = 4096


def _positive(where: str, value: Any, kind: type) -> Any:
    # `not value > 0` also refuses NaN (YAML .nan), for which every comparison is false.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{where}: must be a positive number")
    if not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number")
    return kind(value)


def _non_negative(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{where}: must be a number of seconds, 0 or more")
    if not math.isfinite(value) or value > 3600:
        raise ConfigError(f"{where}: must be at most 3600")
    return float(value)


def _service_range(value: Any) -> str:
    """An IPv4 or IPv6 CIDR with room for at least one Service after the network and broadcast
    addresses (kube: --service-cluster-ip-range, at most a /12 of IPv6 or any IPv4 prefix)."""
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ConfigError(f"service_cluster_ip_range: {value!r} is not a CIDR: {exc}") from exc
    if net.num_addresses < 4:
        raise ConfigError(f"service_cluster_ip_range: {value!r} is too small (at least a /30)")
    return str(net)


# client-go's leaderelection.JitterFactor: the acquire loop waits up to retryPeriod x (1 + 1.2).
JITTER_FACTOR = 1.2


def _controllers(data: Any) -> ControllerSettings:
    """The `controllers:` section, checked as client-go's NewLeaderElector checks its config."""
    if data is None:
        return ControllerSettings()
    if not isinstance(data, dict):
        raise ConfigError("controllers: must be a mapping")
    _check_keys("controllers.", data, set(ControllerSettings.__dataclass_fields__))
    values: dict[str, Any] = {}
    for key in ("namespace", "garbage_collector"):
        if key in data:
            if not isinstance(data[key], bool):
                raise ConfigError(f"controllers.{key}: must be true or false")
            values[key] = data[key]
    if "lease_duration_seconds" in data:
        lease = data["lease_duration_seconds"]
        if isinstance(lease, bool) or not isinstance(lease, int) or not 1 <= lease < 2**31:
            raise ConfigError(
                "controllers.lease_duration_seconds: must be a whole number from 1 to 2147483647"
                " (an int32 in the Lease)"
            )
        values["lease_duration_seconds"] = lease
    for key in ("renew_deadline_seconds", "retry_period_seconds"):
        if key in data:
            values[key] = _positive(f"controllers.{key}", data[key], float)
    out = ControllerSettings(**values)
    if out.renew_deadline_seconds >= out.lease_duration_seconds:
        raise ConfigError(
            f"controllers.renew_deadline_seconds: {out.renew_deadline_seconds:g} must be less "
            f"than lease_duration_seconds ({out.lease_duration_seconds})"
        )
    if out.renew_deadline_seconds <= JITTER_FACTOR * out.retry_period_seconds:
        raise ConfigError(
            f"controllers.retry_period_seconds: {out.retry_period_seconds:g} x {JITTER_FACTOR} "
            f"must be less than renew_deadline_seconds ({out.renew_deadline_seconds:g})"
        )
    return out


def parse_settings(data: Any) -> Settings:
    if not isinstance(data, dict):
        raise ConfigError("config: top level must be a mapping")
    _check_keys("", data, _TOP_KEYS)
    raw_shards = data.get("shards")
    if not isinstance(raw_shards, list) or not raw_shards:
        raise ConfigError("shards: at least one shard is required")
    shards = tuple(_shard(i, s) for i, s in enumerate(raw_shards))
    names = [s.name for s in shards]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"shards[{i}].name: duplicate shard name {name!r}")
    raw_tenants = data.get("tenants") or []
    if not isinstance(raw_tenants, list):
        raise ConfigError("tenants: must be a list")
    tenants = tuple(_tenant(i, t, set(names)) for i, t in enumerate(raw_tenants))
    for i, t in enumerate(tenants):
        if t.name in [u.name for u in tenants[:i]]:
            raise ConfigError(f"tenants[{i}].name: duplicate tenant name {t.name!r}")
    _check_overlaps(tenants)
    default = data.get("default_shard", names[0])
    if default not in names:
        raise ConfigError(f"default_shard: unknown shard {default!r}")
    listen = data.get("listen", "127.0.0.1:8080")
    host, _, port = str(listen).rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"listen: {listen!r} is not host:port")
    extras: dict[str, Any] = {}
    for key in (
        "history_size",
        "history_max_bytes",
        "watcher_queue_size",
        "watcher_queue_max_bytes",
        "max_body_bytes",
        "etcd_page_size",
        "max_header_bytes",
        "max_header_count",
        "max_connections",
    ):
        if key in data:
            extras[key] = _positive(key, data[key], int)
    if extras.get("max_header_bytes", MIN_HEADER_BYTES) < MIN_HEADER_BYTES:
        # Smaller makes every request 431 (a kubectl request's headers alone are ~1 KiB, a
        # bearer token up to several).
        raise ConfigError(f"max_header_bytes: must be at least {MIN_HEADER_BYTES}")
    for key in (
        "bookmark_interval_seconds",
        "freshness_timeout_seconds",
        "min_request_timeout_seconds",
        "connect_timeout_seconds",
        "progress_request_interval_seconds",
        "keep_alive_seconds",
        "header_read_timeout_seconds",
    ):
        if key in data:
            extras[key] = _positive(key, data[key], float)
    if "shutdown_delay_seconds" in data:
        extras["shutdown_delay_seconds"] = _non_negative(
            "shutdown_delay_seconds", data["shutdown_delay_seconds"]
        )
    if "watch_coalesce_window_seconds" in data:
        extras["watch_coalesce_window_seconds"] = _non_negative(
            "watch_coalesce_window_seconds", data["watch_coalesce_window_seconds"]
        )
    if "service_cluster_ip_range" in data:
        extras["service_cluster_ip_range"] = _service_range(data["service_cluster_ip_range"])
    if "log_format" in data:
        if data["log_format"] not in LOG_FORMATS:
            raise ConfigError(f"log_format: must be one of {', '.join(LOG_FORMATS)}")
        extras["log_format"] = data["log_format"]
    extras["controllers"] = _controllers(data.get("controllers"))
    try:
        extras["flow_control"] = parse_flow_control(data.get("flow_control"))
        effective_configuration(extras["flow_control"])  # a schema naming no level stops here
    except FlowControlConfigError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        extras["security"] = parse_security(data, host)
    except SecurityConfigError as exc:
        raise ConfigError(str(exc)) from exc
    _check_subjects(tenants)
    return Settings(
        shards=shards, tenants=tenants, default_shard=str(default), listen=str(listen), **extras
    )


def load_settings(path: str | Path) -> Settings:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config: {path} is not valid YAML: {exc}".splitlines()[0]) from exc
    return parse_settings(data)
