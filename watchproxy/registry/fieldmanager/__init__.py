"""managedFields and server-side apply (kube's apiserver endpoints/handlers/fieldmanager,
apimachinery util/managedfields, sigs.k8s.io/structured-merge-diff).

`fieldpath.py` field sets and FieldsV1; `typed.py` merge rules from schemas; `walk.py` field sets
of objects and comparisons; `merge.py` merging and removing; `managed.py` managedFields entries
and Update tracking; `reset.py` the strategies' reset fields, which nobody owns; `tracking.py`
the create/update/patch hook; `apply.py` apply itself; `scale.py` managers through /scale.
"""

from watchproxy.registry.fieldmanager.apply import Applied, apply
from watchproxy.registry.fieldmanager.tracking import (
    keep_times_if_unchanged,
    manager_name,
    track,
    user_agent,
    validate_field_manager,
)

__all__ = [
    "Applied",
    "apply",
    "keep_times_if_unchanged",
    "manager_name",
    "track",
    "user_agent",
    "validate_field_manager",
]
