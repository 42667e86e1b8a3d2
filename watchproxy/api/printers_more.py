"""The kinds printed by api/printers_apps.py, printers_batch.py, printers_rbac.py,
printers_policy.py, printers_networking.py, printers_storage.py and printers_admission.py: their
column definitions and printers by (group, kind), merged for api/printers.py and api/table.py.
"""

from __future__ import annotations

from watchproxy.api import (
    printers_admission,
    printers_apps,
    printers_batch,
    printers_networking,
    printers_policy,
    printers_rbac,
    printers_storage,
)
from watchproxy.api.printer_defs import Columns, Kinds

KINDS: Kinds = {
    **printers_apps.KINDS,
    **printers_batch.KINDS,
    **printers_rbac.KINDS,
    **printers_policy.KINDS,
    **printers_networking.KINDS,
    **printers_storage.KINDS,
    **printers_admission.KINDS,
}
COLUMNS: dict[tuple[str, str], Columns] = {key: columns for key, (columns, _) in KINDS.items()}
