"""ConfigMaps (kube: pkg/apis/core/validation ValidateConfigMap, ValidateConfigMapUpdate):
config-map keys in `data` and `binaryData`, no key in both, and 1 MiB of values in all (the same
limit as Secrets, kept well under etcd's request limit so an oversized ConfigMap is a 422, not
an etcd refusal); once `immutable` is true, the data and the flag are frozen."""

from __future__ import annotations

from typing import Any

from watchproxy.core.validation import config_key_errors, invalid_value
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.secret import (
    MAX_SECRET_SIZE,
    decoded_size,
    frozen_when_immutable,
)
from watchproxy.registry.strategy import JsonObject, Strategy, register


@register("configmaps")
class ConfigMapStrategy(Strategy):
    kube_validation = True

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        """ValidateConfigMapUpdate: once `immutable` is true, neither it nor `data` nor
        `binaryData` may change."""
        causes = frozen_when_immutable(new, old, ("data", "binaryData"))
        return causes + self.validate(new)

    def validate(self, obj: JsonObject) -> list[Cause]:
        data: dict[str, Any] = obj.get("data") or {}
        binary: dict[str, Any] = obj.get("binaryData") or {}
        causes: list[Cause] = []
        total = 0
        for key, value in data.items():
            total += len(value.encode()) if isinstance(value, str) else 0
            causes += [invalid_value(f"data[{key}]", key, m) for m in config_key_errors(key)]
            if key in binary:
                causes.append(
                    invalid_value(f"data[{key}]", key, "duplicate of key present in binaryData")
                )
        for key, value in binary.items():
            total += decoded_size(value) if isinstance(value, str) else 0
            causes += [invalid_value(f"binaryData[{key}]", key, m) for m in config_key_errors(key)]
        if total > MAX_SECRET_SIZE:
            # kube passes the empty path: the error is about the whole object.
            causes.append(
                ("FieldValueTooLong", "", f"Too long: may not be more than {MAX_SECRET_SIZE} bytes")
            )
        return causes
