"""The built-in `ResourceType`s, built from the generated type table and `kube_tables`.

Every GA REST resource of the Kubernetes version in `builtin.load()` is served, except those
listed at the end.

Types served at several versions from one etcd prefix carry a `Conversion` (`CONVERSIONS`):
autoscaling/v1 and v2 HorizontalPodAutoscalers share `/registry/horizontalpodautoscalers`,
stored as v2 (kube's storage version), v1 converted by `schema/hpa_conversion.py`
(docs/decisions/0018-builtin-conversion.md). The storage version comes first in the table, so
discovery lists it first and `Registry.by_group_kind` finds it. events.k8s.io/v1 Events are
stored with core v1 Events under `/registry/events`, in the core shape (`involvedObject`,
`message`, `source`), and converted by `schema/event_conversion.py` (storage group "").

Not served (`kube_tables.NOT_SERVED`):
- v1 ComponentStatus (deprecated, never stored) and v1 Binding (never stored; pods/binding is).

Subresources are listed only when watchproxy answers them (`kube_tables.SERVED_SUBRESOURCES`):
pods/log, pods/exec, pods/ephemeralcontainers and pods/resize are not.
"""

from __future__ import annotations

import functools
from typing import Any

from watchproxy.resources import Conversion, ResourceType
from watchproxy.schema import event_conversion, hpa_conversion
from watchproxy.schema import kube_tables as kt
from watchproxy.schema.builtin import load

# (group, plural) -> how its served versions convert (kube's scheme conversion functions).
CONVERSIONS: dict[tuple[str, str], Conversion] = {
    ("autoscaling", "horizontalpodautoscalers"): Conversion("v2", hpa_conversion.convert),
    ("events.k8s.io", "events"): Conversion("v1", event_conversion.convert, storage_group=""),
}


def build(entry: dict[str, Any], definition: str | None) -> ResourceType:
    """One ResourceType from a generated table entry ({group, version, kind, plural, namespaced,
    verbs, subresources: [{name, group, version, kind, verbs}]}) and its OpenAPI definition."""
    group, plural = entry["group"], entry["plural"]
    gp = (group, plural)
    virtual = gp in kt.VIRTUAL
    subs = [s for s in entry["subresources"] if s["name"] in kt.SERVED_SUBRESOURCES]
    extra = tuple((s["name"], s["kind"], tuple(s["verbs"])) for s in subs if s["name"] != "status")
    versions = {
        s["name"]: (s["group"], s["version"])
        for s in subs
        if (s["group"], s["version"]) != (group, entry["version"])
    }
    selectors = kt.FIELD_SELECTORS.get(gp)
    return ResourceType(
        group,
        entry["version"],
        entry["kind"],
        plural,
        bool(entry["namespaced"]),
        "" if virtual else kt.STORAGE_PREFIXES.get(gp, plural),
        kt.SHORT_NAMES.get(gp, ()),
        fields=dict(selectors.fields) if selectors else {},
        field_aliases=dict(selectors.aliases) if selectors else {},
        field_error=selectors.error if selectors else "",
        trigger_field=kt.TRIGGER_FIELDS.get(gp),
        status_subresource=any(s["name"] == "status" for s in subs),
        extra_subresources=extra,
        subresource_versions=versions,
        reset_status_on_create=kt.RESET_STATUS_ON_CREATE.get(gp),
        virtual=virtual,
        categories=kt.CATEGORIES.get(gp, ()),
        definition=definition,
        conversion=CONVERSIONS.get(gp),
        verbs=tuple(entry["verbs"]),
    )


@functools.cache
def builtin_resources() -> tuple[ResourceType, ...]:
    """Every served built-in type, in the generated table's order (core first, then by group).

    Raises RuntimeError when the generated table is missing (`builtin.load`)."""
    table = load()
    out = []
    for entry in table.types:
        if (entry["group"], entry["version"], entry["plural"]) in kt.NOT_SERVED:
            continue
        definition = table.definition_name(entry["group"], entry["version"], entry["kind"])
        out.append(build(entry, definition))
    # A converted type's storage version first (the table lists versions ascending).
    out.sort(key=lambda r: r.converted)
    return tuple(out)
