"""Reset fields: what a write's strategy sets whatever the request sends, which no manager may
own (apimachinery util/managedfields/internal/structuredmerge.go passes them to
structured-merge-diff's Updater as its IgnoreFilter; apiserver endpoints/installer.go builds
them from the strategy's GetResetFields with fieldpath.NewExcludeFilterSetMap).

So a create that sends `status` to a type with a status subresource owns no status field, and a
status write owns no spec field: the filter is taken out of the comparison (nobody loses those
fields) and out of the writer's own set (Set.RecursiveDifference).
"""

from __future__ import annotations

from watchproxy.registry.fieldmanager import fieldpath as fp
from watchproxy.registry.fieldmanager.fieldpath import FieldSet
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import ResourceType


def reset_fields(resource: ResourceType, subresource: str = "") -> FieldSet:
    """The reset fields of `resource`'s strategy for `subresource` ("": the main resource) as a
    field set whose members are the reset paths (empty: nothing is reset)."""
    fields: FieldSet = {}
    for path in strategy_for(resource).reset_fields(subresource):
        fp.insert(fields, tuple(fp.field_pe(name) for name in path))
    return fields
