"""kube's defaults for CustomResourceDefinitions (k8s.io/apiextensions-apiserver
pkg/apis/apiextensions/v1/defaults.go): SetDefaults_CustomResourceDefinitionSpec and
SetDefaults_ServiceReference, run on create, update and patch like every type's defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JsonObject = dict[str, Any]


def custom_resource_definition(obj: JsonObject) -> None:
    """`names.singular` = lower-case kind, `names.listKind` = kind + "List",
    `conversion.strategy` = None, a conversion webhook's service port 443."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        kind = names.get("kind")
        if isinstance(kind, str) and kind:
            if not names.get("singular"):
                names["singular"] = kind.lower()
            if not names.get("listKind"):
                names["listKind"] = kind + "List"
    conversion = spec.get("conversion")
    if conversion is None:
        spec["conversion"] = {"strategy": "None"}
    elif isinstance(conversion, dict):
        webhook = conversion.get("webhook")
        config = webhook.get("clientConfig") if isinstance(webhook, dict) else None
        service = config.get("service") if isinstance(config, dict) else None
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443


DEFAULTERS: dict[str, Callable[[JsonObject], None]] = {
    "customresourcedefinitions.apiextensions.k8s.io": custom_resource_definition,
}
