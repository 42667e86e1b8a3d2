"""The `flow_control` section of the config file: priority levels and flow schemas.

The shapes are kube's flowcontrol.apiserver.k8s.io/v1 `PriorityLevelConfiguration` and
`FlowSchema` specs (staging/src/k8s.io/api/flowcontrol/v1/types.go) with snake_case field names,
as the rest of the config file; one `ConfigError`-style line naming the field on a mistake
(`FlowControlConfigError`, re-raised by config.py).

Entries are merged with kube's defaults by name (flowcontrol/bootstrap.py): a level or schema
named like a default replaces it, a new name is added; the mandatory `exempt` and `catch-all`
objects are always present, as kube-apiserver re-creates them.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Final

# What a schema's distinguisher may be: kube's ByUser and ByNamespace, and ByTenant (watchproxy:
# all of one tenant's identities are one flow, so a tenant cannot win more than its fair share by
# spreading its load over many users or ServiceAccounts; an identity without tenant is its user).
DISTINGUISHERS: Final = ("ByUser", "ByNamespace", "ByTenant")

# kube-apiserver's --max-requests-inflight (400) + --max-mutating-requests-inflight (200): the
# server's concurrency limit in seats, shared among the Limited levels by their shares.
DEFAULT_SERVER_CONCURRENCY_LIMIT: Final = 600
# How long a request may wait in its queue: a quarter of kube's 60 s --request-timeout
# (filters/priority-and-fairness.go getRequestWaitContext).
DEFAULT_QUEUE_WAIT_LIMIT_SECONDS: Final = 15.0


class FlowControlConfigError(ValueError):
    """A mistake in `flow_control`; str() is the one line shown at start-up."""


class LevelType(enum.Enum):
    EXEMPT = "Exempt"
    LIMITED = "Limited"


class LimitResponse(enum.Enum):
    QUEUE = "Queue"
    REJECT = "Reject"


@dataclass(frozen=True, slots=True)
class PriorityLevel:
    """One priority level (PriorityLevelConfigurationSpec). `queues`, `hand_size` and
    `queue_length_limit` apply to `limit_response: Queue` only (kube's QueuingConfiguration)."""

    name: str
    type: LevelType = LevelType.LIMITED
    nominal_concurrency_shares: int = 30
    limit_response: LimitResponse = LimitResponse.QUEUE
    queues: int = 64
    hand_size: int = 8
    queue_length_limit: int = 50


@dataclass(frozen=True, slots=True)
class Subject:
    """kind User / Group / ServiceAccount; `name` "*" matches any (kube's NameAll)."""

    kind: str
    name: str
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class ResourceRule:
    """ResourcePolicyRule: "*" entries match all; `namespaces` ["*"] matches every namespaced
    request, `cluster_scope` matches cluster-scoped ones."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    namespaces: tuple[str, ...] = ()
    cluster_scope: bool = False


@dataclass(frozen=True, slots=True)
class NonResourceRule:
    """NonResourcePolicyRule: URLs are exact, "*", or a prefix ending in "/*"."""

    verbs: tuple[str, ...]
    non_resource_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicyRules:
    """PolicyRulesWithSubjects: matches when a subject matches and any rule does."""

    subjects: tuple[Subject, ...]
    resource_rules: tuple[ResourceRule, ...] = ()
    non_resource_rules: tuple[NonResourceRule, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowSchema:
    """FlowSchemaSpec: the lowest `matching_precedence` that matches a request classifies it."""

    name: str
    priority_level: str
    matching_precedence: int = 1000
    distinguisher_method: str | None = None
    rules: tuple[PolicyRules, ...] = ()


@dataclass(frozen=True)
class FlowControlSettings:
    """The whole section. `enabled: false` turns flow control off (kube's
    --enable-priority-and-fairness=false); `use_suggested: false` keeps only the mandatory
    objects and the configured ones."""

    enabled: bool = True
    server_concurrency_limit: int = DEFAULT_SERVER_CONCURRENCY_LIMIT
    queue_wait_limit_seconds: float = DEFAULT_QUEUE_WAIT_LIMIT_SECONDS
    use_suggested: bool = True
    priority_levels: tuple[PriorityLevel, ...] = ()
    flow_schemas: tuple[FlowSchema, ...] = field(default_factory=tuple)


# -- parsing ---------------------------------------------------------------------------------------


def _fail(where: str, what: str) -> FlowControlConfigError:
    return FlowControlConfigError(f"{where}: {what}")


def _mapping(where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be a mapping")
    for key in value:
        if key not in allowed:
            raise _fail(f"{where}.{key}", "unknown field")
    return value


def _int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, f"must be a whole number from {low} to {high}")
    return value


def _strings(
    where: str, value: Any, *, non_empty: bool = True, blank: bool = False
) -> tuple[str, ...]:
    """A list of strings; `blank` admits "" (the core API group's name)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and (v or blank) for v in value):
        raise _fail(
            where, "must be a list of strings" if blank else "must be a list of non-empty strings"
        )
    if non_empty and not value:
        raise _fail(where, "must not be empty")
    return tuple(value)


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "must be a non-empty string")
    return value


def _level(where: str, data: Any) -> PriorityLevel:
    data = _mapping(
        where,
        data,
        {
            "name", "type", "nominal_concurrency_shares", "limit_response",
            "queues", "hand_size", "queue_length_limit",
        },
    )  # fmt: skip
    name = _name(f"{where}.name", data.get("name"))
    try:
        kind = LevelType(data.get("type", "Limited"))
    except ValueError:
        raise _fail(f"{where}.type", "must be Limited or Exempt") from None
    try:
        response = LimitResponse(data.get("limit_response", "Queue"))
    except ValueError:
        raise _fail(f"{where}.limit_response", "must be Queue or Reject") from None
    shares = _int(
        f"{where}.nominal_concurrency_shares", data.get("nominal_concurrency_shares", 30), 0, 10**6
    )
    if kind is LevelType.LIMITED and shares == 0:
        raise _fail(f"{where}.nominal_concurrency_shares", "must be at least 1 for a Limited level")
    queues = _int(f"{where}.queues", data.get("queues", 64), 1, 512)
    hand = _int(f"{where}.hand_size", data.get("hand_size", 8), 1, queues)
    # kube's validation: the hand's entropy (queues choose hand_size) must fit in 60 bits so
    # shuffle sharding can deal it from one 64-bit hash (apis/flowcontrol/validation).
    if math.log2(math.comb(queues, hand)) > 60:
        raise _fail(f"{where}.hand_size", f"{hand} of {queues} queues needs more than 60 bits")
    length = _int(f"{where}.queue_length_limit", data.get("queue_length_limit", 50), 1, 10**5)
    return PriorityLevel(name, kind, shares, response, queues, hand, length)


def _subject(where: str, data: Any) -> Subject:
    data = _mapping(where, data, {"kind", "name", "namespace"})
    kind = data.get("kind")
    if kind not in ("User", "Group", "ServiceAccount"):
        raise _fail(f"{where}.kind", "must be User, Group or ServiceAccount")
    namespace = ""
    if kind == "ServiceAccount":
        namespace = _name(f"{where}.namespace", data.get("namespace"))
    elif "namespace" in data:
        raise _fail(f"{where}.namespace", "only for kind ServiceAccount")
    return Subject(kind, _name(f"{where}.name", data.get("name")), namespace)


def _resource_rule(where: str, data: Any) -> ResourceRule:
    data = _mapping(
        where, data, {"verbs", "api_groups", "resources", "namespaces", "cluster_scope"}
    )
    cluster = data.get("cluster_scope", False)
    if not isinstance(cluster, bool):
        raise _fail(f"{where}.cluster_scope", "must be true or false")
    namespaces = _strings(f"{where}.namespaces", data.get("namespaces", []), non_empty=False)
    if not namespaces and not cluster:
        raise _fail(where, "needs namespaces or cluster_scope: true, or it matches nothing")
    return ResourceRule(
        verbs=_strings(f"{where}.verbs", data.get("verbs")),
        api_groups=_strings(f"{where}.api_groups", data.get("api_groups"), blank=True),
        resources=_strings(f"{where}.resources", data.get("resources")),
        namespaces=namespaces,
        cluster_scope=cluster,
    )


def _non_resource_rule(where: str, data: Any) -> NonResourceRule:
    data = _mapping(where, data, {"verbs", "non_resource_urls"})
    urls = _strings(f"{where}.non_resource_urls", data.get("non_resource_urls"))
    for i, url in enumerate(urls):
        if url != "*" and not url.startswith("/"):
            raise _fail(f"{where}.non_resource_urls[{i}]", "must be '*' or start with '/'")
    return NonResourceRule(_strings(f"{where}.verbs", data.get("verbs")), urls)


def _rules(where: str, data: Any) -> PolicyRules:
    data = _mapping(where, data, {"subjects", "resource_rules", "non_resource_rules"})
    subjects = data.get("subjects")
    if not isinstance(subjects, list) or not subjects:
        raise _fail(f"{where}.subjects", "must be a non-empty list")
    resource = data.get("resource_rules", [])
    non_resource = data.get("non_resource_rules", [])
    if not isinstance(resource, list) or not isinstance(non_resource, list):
        raise _fail(where, "resource_rules and non_resource_rules must be lists")
    if not resource and not non_resource:
        raise _fail(where, "needs resource_rules or non_resource_rules")
    return PolicyRules(
        tuple(_subject(f"{where}.subjects[{i}]", s) for i, s in enumerate(subjects)),
        tuple(_resource_rule(f"{where}.resource_rules[{i}]", r) for i, r in enumerate(resource)),
        tuple(
            _non_resource_rule(f"{where}.non_resource_rules[{i}]", r)
            for i, r in enumerate(non_resource)
        ),
    )


def _schema(where: str, data: Any) -> FlowSchema:
    data = _mapping(
        where,
        data,
        {"name", "priority_level", "matching_precedence", "distinguisher_method", "rules"},
    )
    method = data.get("distinguisher_method")
    if method is not None and method not in DISTINGUISHERS:
        raise _fail(f"{where}.distinguisher_method", f"must be one of {', '.join(DISTINGUISHERS)}")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise _fail(f"{where}.rules", "must be a list")
    return FlowSchema(
        name=_name(f"{where}.name", data.get("name")),
        priority_level=_name(f"{where}.priority_level", data.get("priority_level")),
        # kube: 1..10000; 1 is the mandatory `exempt` schema's own.
        matching_precedence=_int(
            f"{where}.matching_precedence", data.get("matching_precedence", 1000), 1, 10000
        ),
        distinguisher_method=method,
        rules=tuple(_rules(f"{where}.rules[{i}]", r) for i, r in enumerate(rules)),
    )


def parse_flow_control(data: Any) -> FlowControlSettings:
    """The `flow_control` mapping (None = defaults). Raises FlowControlConfigError."""
    if data is None:
        return FlowControlSettings()
    where = "flow_control"
    data = _mapping(
        where,
        data,
        {
            "enabled", "server_concurrency_limit", "queue_wait_limit_seconds", "use_suggested",
            "priority_levels", "flow_schemas",
        },
    )  # fmt: skip
    for flag in ("enabled", "use_suggested"):
        if not isinstance(data.get(flag, True), bool):
            raise _fail(f"{where}.{flag}", "must be true or false")
    wait = data.get("queue_wait_limit_seconds", DEFAULT_QUEUE_WAIT_LIMIT_SECONDS)
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 < wait <= 60:
        # kube caps any request's queue wait at one minute.
        raise _fail(f"{where}.queue_wait_limit_seconds", "must be a number of seconds, (0, 60]")
    levels_data = data.get("priority_levels", [])
    schemas_data = data.get("flow_schemas", [])
    if not isinstance(levels_data, list):
        raise _fail(f"{where}.priority_levels", "must be a list")
    if not isinstance(schemas_data, list):
        raise _fail(f"{where}.flow_schemas", "must be a list")
    levels = tuple(_level(f"{where}.priority_levels[{i}]", d) for i, d in enumerate(levels_data))
    schemas = tuple(_schema(f"{where}.flow_schemas[{i}]", d) for i, d in enumerate(schemas_data))
    for kind, names in (
        ("priority_levels", [p.name for p in levels]),
        ("flow_schemas", [s.name for s in schemas]),
    ):
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _fail(f"{where}.{kind}[{i}].name", f"{name!r} appears twice")
    return FlowControlSettings(
        enabled=data.get("enabled", True),
        server_concurrency_limit=_int(
            f"{where}.server_concurrency_limit",
            data.get("server_concurrency_limit", DEFAULT_SERVER_CONCURRENCY_LIMIT),
            1,
            10**6,
        ),
        queue_wait_limit_seconds=float(wait),
        use_suggested=data.get("use_suggested", True),
        priority_levels=levels,
        flow_schemas=schemas,
    )
