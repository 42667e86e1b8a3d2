"""A small kopf operator, run unchanged against watchproxy by test_real_controllers.py.

On a Widget's creation it writes `status.phase: Ready` and `status.size` through the status
subresource; it holds kopf's finalizer, so deleting a Widget waits until the delete handler ran
and kopf removed the finalizer. Peering is off (`--standalone`): no KopfPeering CRD needed.
"""

from __future__ import annotations

from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.enabled = False  # no Events; the test reads the Widgets only
    settings.watching.server_timeout = 30
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage()
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage()


@kopf.on.create("example.com", "v1", "widgets")
def created(spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = "Ready"
    patch.status["size"] = spec.get("size", 0)


@kopf.on.update("example.com", "v1", "widgets", field="spec.size")
def resized(new: Any, patch: kopf.Patch, **_: Any) -> None:
    patch.status["size"] = new


@kopf.on.delete("example.com", "v1", "widgets")
def deleted(name: str, logger: Any, **_: Any) -> None:
    logger.info("widget %s deleted", name)
