"""The security sections of the config file: `tls`, `authentication`, `authorization`, `audit`,
and the tenants' `subjects`. Parsed here, one `ConfigError` line naming the field on a mistake.

Names follow kube-apiserver's flags (`--client-ca-file`, `--token-auth-file`,
`--service-account-key-file`, `--service-account-issuer`, `--service-account-signing-key-file`,
`--api-audiences`, `--authentication-token-webhook-*`, `--anonymous-auth`,
`--authorization-mode`, `--audit-log-path`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

AUTHORIZATION_MODES: Final = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC")


class SecurityConfigError(ValueError):
    """A configuration problem in a security section; config.py re-raises it as ConfigError."""


@dataclass(frozen=True)
class ServingTls:
    """The serving certificate (PEM); both files are re-read when they change on disk."""

    cert_file: str
    key_file: str


@dataclass(frozen=True)
class WebhookSettings:
    """TokenReview webhook (authentication.k8s.io/v1), as `--authentication-token-webhook-*`."""

    url: str
    ca_file: str | None = None
    # Client certificate presented to the webhook (optional).
    cert_file: str | None = None
    key_file: str | None = None
    # kube's --authentication-token-webhook-cache-ttl default: 2m (successes); failures are
    # cached for a short fixed time, as kube's cached token authenticator does.
    cache_ttl_seconds: float = 120.0
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class AuthenticationSettings:
    client_ca_file: str | None = None
    token_auth_file: str | None = None
    service_account_key_files: tuple[str, ...] = ()
    service_account_issuers: tuple[str, ...] = ()
    service_account_signing_key_file: str | None = None
    # --api-audiences: defaults to the issuers, as kube-apiserver defaults it.
    api_audiences: tuple[str, ...] = ()
    # --service-account-lookup (default true): tokens of deleted ServiceAccounts stop working.
    service_account_lookup: bool = True
    # Longest expiration a TokenRequest may ask for (--service-account-max-token-expiration).
    service_account_max_token_expiration_seconds: int = 0
    webhook: WebhookSettings | None = None
    anonymous: bool = False

    @property
    def audiences(self) -> tuple[str, ...]:
        return self.api_audiences or self.service_account_issuers


@dataclass(frozen=True)
class AuthorizationSettings:
    modes: tuple[str, ...] = ("Node", "RBAC")


@dataclass(frozen=True)
class AuditSettings:
    """Audit log (audit.k8s.io/v1 Event JSON lines at level Metadata), as `--audit-log-path`.
    `log_path: "-"` writes to standard output. Empty: no audit log."""

    log_path: str = ""
    # Which requests are logged: "all", or "writes" (writes and denied requests only).
    requests: str = "all"
    max_size_mb: int = 100
    max_backups: int = 10


@dataclass(frozen=True)
class SubjectSettings:
    """Identities that belong to a tenant (besides its ServiceAccounts and nodes, which belong to
    the tenant of their namespace or their node's tenant label)."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecuritySettings:
    tls: ServingTls | None = None
    # None: no authentication configured (anonymous-as-admin, loopback only).
    authentication: AuthenticationSettings | None = None
    authorization: AuthorizationSettings = field(default_factory=AuthorizationSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)

    @property
    def open_admin(self) -> bool:
        """True when every caller is an anonymous admin (no `authentication` section)."""
        return self.authentication is None


def _mapping(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SecurityConfigError(f"{where}: must be a mapping")
    return value


def _keys(where: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise SecurityConfigError(f"{where}.{key}: unknown field")


def _file(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SecurityConfigError(f"{where}: must be a file path")
    if not Path(value).is_file():
        raise SecurityConfigError(f"{where}: file {value!r} not found")
    return value


def _opt_file(where: str, data: dict[str, Any], key: str) -> str | None:
    return _file(f"{where}.{key}", data[key]) if data.get(key) is not None else None


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SecurityConfigError(f"{where}: must be a list of non-empty strings")
    return tuple(value)


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SecurityConfigError(f"{where}: must be true or false")
    return value


def _seconds(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
        raise SecurityConfigError(f"{where}: must be a positive number of seconds")
    return float(value)


def parse_tls(value: Any) -> ServingTls | None:
    if value is None:
        return None
    data = _mapping("tls", value)
    _keys("tls", data, {"cert_file", "key_file"})
    for key in ("cert_file", "key_file"):
        if key not in data:
            raise SecurityConfigError(f"tls.{key}: required (PEM file)")
    return ServingTls(
        _file("tls.cert_file", data["cert_file"]), _file("tls.key_file", data["key_file"])
    )


def _webhook(value: Any) -> WebhookSettings:
    where = "authentication.webhook"
    data = _mapping(where, value)
    _keys(where, data, set(WebhookSettings.__dataclass_fields__))
    url = data.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise SecurityConfigError(f"{where}.url: must be an http(s):// URL")
    out: dict[str, Any] = {"url": url}
    for key in ("ca_file", "cert_file", "key_file"):
        out[key] = _opt_file(where, data, key)
    if (out["cert_file"] is None) != (out["key_file"] is None):
        raise SecurityConfigError(f"{where}.cert_file: cert_file and key_file go together")
    for key in ("cache_ttl_seconds", "timeout_seconds"):
        if key in data:
            out[key] = _seconds(f"{where}.{key}", data[key])
    return WebhookSettings(**out)


def parse_authentication(value: Any) -> AuthenticationSettings | None:
    if value is None:
        return None
    where = "authentication"
    data = _mapping(where, value)
    _keys(where, data, set(AuthenticationSettings.__dataclass_fields__))
    out: dict[str, Any] = {}
    for key in ("client_ca_file", "token_auth_file", "service_account_signing_key_file"):
        out[key] = _opt_file(where, data, key)
    if "service_account_key_files" in data:
        files = _strings(f"{where}.service_account_key_files", data["service_account_key_files"])
        out["service_account_key_files"] = tuple(
            _file(f"{where}.service_account_key_files[{i}]", f) for i, f in enumerate(files)
        )
    for key in ("service_account_issuers", "api_audiences"):
        if key in data:
            out[key] = _strings(f"{where}.{key}", data[key])
    for key in ("anonymous", "service_account_lookup"):
        if key in data:
            out[key] = _bool(f"{where}.{key}", data[key])
    if "service_account_max_token_expiration_seconds" in data:
        value = data["service_account_max_token_expiration_seconds"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 600:
            raise SecurityConfigError(
                f"{where}.service_account_max_token_expiration_seconds: must be a whole number"
                " of seconds, at least 600"
            )
        out["service_account_max_token_expiration_seconds"] = value
    if data.get("webhook") is not None:
        out["webhook"] = _webhook(data["webhook"])
    settings = AuthenticationSettings(**out)
    if settings.service_account_signing_key_file and not settings.service_account_issuers:
        raise SecurityConfigError(
            f"{where}.service_account_issuers: required when service_account_signing_key_file"
            " is set (the iss claim of issued tokens)"
        )
    if settings.service_account_issuers and not (
        settings.service_account_key_files or settings.service_account_signing_key_file
    ):
        raise SecurityConfigError(
            f"{where}.service_account_key_files: required when service_account_issuers is set"
            " (the keys that verify ServiceAccount tokens)"
        )
    return settings


def parse_authorization(value: Any) -> AuthorizationSettings:
    if value is None:
        return AuthorizationSettings()
    where = "authorization"
    data = _mapping(where, value)
    _keys(where, data, {"modes"})
    modes = _strings(f"{where}.modes", data.get("modes", list(AuthorizationSettings().modes)))
    if not modes:
        raise SecurityConfigError(f"{where}.modes: at least one mode is required")
    for i, mode in enumerate(modes):
        if mode not in AUTHORIZATION_MODES:
            raise SecurityConfigError(
                f"{where}.modes[{i}]: unknown mode {mode!r}"
                f" (one of {', '.join(AUTHORIZATION_MODES)})"
            )
        if mode in modes[:i]:
            raise SecurityConfigError(f"{where}.modes[{i}]: {mode!r} is listed twice")
    return AuthorizationSettings(modes)


def parse_audit(value: Any) -> AuditSettings:
    if value is None:
        return AuditSettings()
    where = "audit"
    data = _mapping(where, value)
    _keys(where, data, set(AuditSettings.__dataclass_fields__))
    out: dict[str, Any] = {}
    if "log_path" in data:
        path = data["log_path"]
        if not isinstance(path, str):
            raise SecurityConfigError(f"{where}.log_path: must be a file path or '-'")
        if path not in ("", "-") and not Path(path).parent.is_dir():
            raise SecurityConfigError(f"{where}.log_path: directory of {path!r} does not exist")
        out["log_path"] = path
    if "requests" in data:
        if data["requests"] not in ("all", "writes"):
            raise SecurityConfigError(f"{where}.requests: must be 'all' or 'writes'")
        out["requests"] = data["requests"]
    for key in ("max_size_mb", "max_backups"):
        if key in data:
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise SecurityConfigError(f"{where}.{key}: must be a whole number >= 0")
            out[key] = v
    return AuditSettings(**out)


def parse_subjects(where: str, value: Any) -> SubjectSettings:
    if value is None:
        return SubjectSettings()
    data = _mapping(where, value)
    _keys(where, data, {"users", "groups"})
    return SubjectSettings(
        users=_strings(f"{where}.users", data.get("users", [])),
        groups=_strings(f"{where}.groups", data.get("groups", [])),
    )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: addresses only this machine can reach."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_security(data: dict[str, Any], host: str) -> SecuritySettings:
    """All security sections of the top-level mapping `data`, checked against `listen`'s host.

    Rules: without `authentication` every caller is an anonymous admin, allowed only on a
    loopback `listen`; a non-loopback `listen` also needs `tls` (tokens never cross a network in
    clear); `client_ca_file` needs `tls`.
    """
    tls = parse_tls(data.get("tls"))
    authn = parse_authentication(data.get("authentication"))
    authz = parse_authorization(data.get("authorization"))
    audit = parse_audit(data.get("audit"))
    if not is_loopback(host):
        if authn is None:
            raise SecurityConfigError(
                f"authentication: required when listen is not a loopback address ({host});"
                " without it every caller would be an anonymous admin"
            )
        if tls is None:
            raise SecurityConfigError(
                f"tls: required when listen is not a loopback address ({host})"
            )
    if authn is not None and authn.client_ca_file and tls is None:
        raise SecurityConfigError("authentication.client_ca_file: needs tls (client certificates)")
    if authn is None and "authorization" in data and authz.modes != ("AlwaysAllow",):
        raise SecurityConfigError(
            "authorization.modes: needs an authentication section (without one every caller is"
            " anonymous)"
        )
    return SecuritySettings(tls=tls, authentication=authn, authorization=authz, audit=audit)
