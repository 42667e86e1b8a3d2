"""kube-apiserver's mandatory and suggested priority levels and flow schemas, and their merge
with the `flow_control` section.

Source: staging/src/k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap/default.go (the levels'
shares and queuing, the schemas' precedences, subjects and rules), taken over as they are except:

- `global-default` and `service-accounts` distinguish flows `ByTenant` instead of `ByUser`: a
  tenant's users and ServiceAccounts are one flow, so a tenant that floods from many identities
  still gets one fair share (identities outside every tenant stay one flow per user).
- `probes` also covers `/metrics`: a scrape must not queue behind the load it is measuring.
"""

from __future__ import annotations

from typing import Final

from watchproxy.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    NODES_GROUP,
    SERVICE_ACCOUNTS_GROUP,
    SYSTEM_PRIVILEGED_GROUP,
)
from watchproxy.flowcontrol.settings import (
    FlowControlConfigError,
    FlowControlSettings,
    FlowSchema,
    LevelType,
    LimitResponse,
    NonResourceRule,
    PolicyRules,
    PriorityLevel,
    ResourceRule,
    Subject,
)

EXEMPT: Final = "exempt"
CATCH_ALL: Final = "catch-all"

_EVERYTHING = (ResourceRule(("*",), ("*",), ("*",), ("*",), True),)
_ALL_URLS = (NonResourceRule(("*",), ("*",)),)
_EVERYONE = (Subject("Group", ALL_UNAUTHENTICATED), Subject("Group", ALL_AUTHENTICATED))
_KUBE_SYSTEM_SAS = (Subject("ServiceAccount", "*", "kube-system"),)


def _queued(name: str, shares: int, queues: int, hand: int) -> PriorityLevel:
    return PriorityLevel(
        name, LevelType.LIMITED, shares, LimitResponse.QUEUE, queues, hand, queue_length_limit=50
    )


MANDATORY_LEVELS: Final = (
    PriorityLevel(EXEMPT, LevelType.EXEMPT, 0),
    PriorityLevel(CATCH_ALL, LevelType.LIMITED, 5, LimitResponse.REJECT),
)

SUGGESTED_LEVELS: Final = (
    _queued("system", 30, 64, 6),
    _queued("node-high", 40, 64, 6),
    _queued("leader-election", 10, 16, 4),
    _queued("workload-high", 40, 128, 6),
    _queued("workload-low", 100, 128, 6),
    _queued("global-default", 20, 128, 6),
)

MANDATORY_SCHEMAS: Final = (
    FlowSchema(
        EXEMPT,
        EXEMPT,
        1,
        None,
        (PolicyRules((Subject("Group", SYSTEM_PRIVILEGED_GROUP),), _EVERYTHING, _ALL_URLS),),
    ),
    FlowSchema(
        CATCH_ALL, CATCH_ALL, 10000, "ByUser", (PolicyRules(_EVERYONE, _EVERYTHING, _ALL_URLS),)
    ),
)

_LEASES = ResourceRule(("get", "create", "update"), ("coordination.k8s.io",), ("leases",), ("*",))

SUGGESTED_SCHEMAS: Final = (
    FlowSchema(
        "system-nodes",
        "system",
        500,
        "ByUser",
        (PolicyRules((Subject("Group", NODES_GROUP),), _EVERYTHING, _ALL_URLS),),
    ),
    FlowSchema(
        "system-node-high",
        "node-high",
        400,
        "ByUser",
        (
            PolicyRules(
                (Subject("Group", NODES_GROUP),),
                (
                    ResourceRule(("*",), ("",), ("nodes", "nodes/status"), ("*",), True),
                    ResourceRule(("*",), ("coordination.k8s.io",), ("leases",), ("*",)),
                ),
            ),
        ),
    ),
    FlowSchema(
        "probes",
        EXEMPT,
        2,
        None,
        (
            PolicyRules(
                _EVERYONE,
                non_resource_rules=(
                    NonResourceRule(("get",), ("/healthz", "/readyz", "/livez", "/metrics")),
                ),
            ),
        ),
    ),
    FlowSchema(
        "system-leader-election",
        "leader-election",
        100,
        "ByUser",
        (
            PolicyRules(
                (
                    Subject("User", "system:kube-controller-manager"),
                    Subject("User", "system:kube-scheduler"),
                    *_KUBE_SYSTEM_SAS,
                ),
                (_LEASES,),
            ),
        ),
    ),
    FlowSchema(
        "kube-controller-manager",
        "workload-high",
        800,
        "ByNamespace",
        (
            PolicyRules(
                (Subject("User", "system:kube-controller-manager"),), _EVERYTHING, _ALL_URLS
            ),
        ),
    ),
    FlowSchema(
        "kube-scheduler",
        "workload-high",
        800,
        "ByNamespace",
        (PolicyRules((Subject("User", "system:kube-scheduler"),), _EVERYTHING, _ALL_URLS),),
    ),
    FlowSchema(
        "kube-system-service-accounts",
        "workload-high",
        900,
        "ByNamespace",
        (PolicyRules(_KUBE_SYSTEM_SAS, _EVERYTHING, _ALL_URLS),),
    ),
    FlowSchema(
        "service-accounts",
        "workload-low",
        9000,
        "ByTenant",
        (PolicyRules((Subject("Group", SERVICE_ACCOUNTS_GROUP),), _EVERYTHING, _ALL_URLS),),
    ),
    FlowSchema(
        "global-default",
        "global-default",
        9900,
        "ByTenant",
        (PolicyRules(_EVERYONE, _EVERYTHING, _ALL_URLS),),
    ),
)


def effective_configuration(
    settings: FlowControlSettings,
) -> tuple[tuple[PriorityLevel, ...], tuple[FlowSchema, ...]]:
    """The levels and the schemas in matching order (precedence, then name, as kube sorts).

    Raises FlowControlConfigError when a schema names a level that does not exist, or when the
    section tries to change the mandatory `exempt` level's type."""
    levels = {
        p.name: p
        for p in (*MANDATORY_LEVELS, *(SUGGESTED_LEVELS if settings.use_suggested else ()))
    }
    schemas = {
        s.name: s
        for s in (*MANDATORY_SCHEMAS, *(SUGGESTED_SCHEMAS if settings.use_suggested else ()))
    }
    for i, level in enumerate(settings.priority_levels):
        if level.name == EXEMPT and level.type is not LevelType.EXEMPT:
            raise FlowControlConfigError(
                f"flow_control.priority_levels[{i}].type: the mandatory level 'exempt' stays Exempt"
            )
        levels[level.name] = level
    for schema in settings.flow_schemas:
        schemas[schema.name] = schema
    configured = {s.name: i for i, s in enumerate(settings.flow_schemas)}
    for schema in schemas.values():
        if schema.priority_level not in levels:
            where = (
                f"flow_control.flow_schemas[{configured[schema.name]}].priority_level"
                if schema.name in configured
                else f"flow_control: the suggested schema {schema.name!r}"
            )
            raise FlowControlConfigError(
                f"{where}: no priority level named {schema.priority_level!r}"
            )
    ordered = sorted(schemas.values(), key=lambda s: (s.matching_precedence, s.name))
    return tuple(levels.values()), tuple(ordered)
