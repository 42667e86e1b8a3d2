"""CertificateSigningRequests (kube: pkg/registry/certificates/certificates/strategy.go;
ValidateCertificateSigningRequestCreate / ...ApprovalUpdate in
pkg/apis/certificates/validation/validation.go).

Create: status cleared; `spec.username`, `uid`, `groups` and `extra` are the requester's
(clients cannot claim another identity). An update of the object keeps spec and status; of
`/status` keeps spec and the Approved/Denied conditions; of `/approval` keeps spec and
everything in status but the conditions. Conditions get their timestamps; Approved and Denied
are mutually exclusive, neither can be removed once set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from watchproxy.auth.context import request_auth
from watchproxy.core.validation import go_quote, invalid_value, not_supported
from watchproxy.registry.deletion import timestamp
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.csr_certificate import certificate_causes
from watchproxy.registry.strategies.podspec import as_dict, duplicate, required
from watchproxy.registry.strategy import JsonObject, Strategy, register

DECISIONS = ("Approved", "Denied")
_PERMANENT = ("Approved", "Denied", "Failed")


def _conditions(obj: JsonObject) -> list[Any]:
    found = as_dict(obj.get("status")).get("conditions")
    return found if isinstance(found, list) else []


@register("certificatesigningrequests.certificates.k8s.io")
class CertificateSigningRequestStrategy(Strategy):
    clear_status_on_create = True
    kube_validation = True

    def prepare_for_create(self, obj: JsonObject) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        auth = request_auth()
        if auth is not None:
            user = auth.user
            spec["username"] = user.name
            if user.uid:
                spec["uid"] = user.uid
            if user.groups:
                spec["groups"] = list(user.groups)
            if user.extra:
                spec["extra"] = {k: list(v) for k, v in user.extra.items()}

    def reset_fields(self, subresource: str) -> tuple[tuple[str, ...], ...]:
        """csrStatusStrategy and csrApprovalStrategy GetResetFields (certificates/strategy.go):
        each subresource owns only its part of status."""
        if subresource == "status":
            return (("spec",), ("status", "conditions"))
        if subresource == "approval":
            return (("spec",), ("status", "certificate"))
        return super().reset_fields(subresource)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        self.apply_defaults(new)
        new["spec"] = old.get("spec")
        old_status = as_dict(old.get("status"))
        if subresource == "approval":
            new["status"] = {**old_status, "conditions": _conditions(new)}
        elif subresource == "status":
            kept = [
                c for c in _conditions(old) if isinstance(c, dict) and c.get("type") in DECISIONS
            ]
            others = [
                c
                for c in _conditions(new)
                if not (isinstance(c, dict) and c.get("type") in DECISIONS)
            ]
            new["status"] = {**as_dict(new.get("status")), "conditions": kept + others}
        elif "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
        status = new.get("status")
        if isinstance(status, dict) and not status.get("conditions"):
            status.pop("conditions", None)
        now = timestamp(datetime.now(UTC))
        for c in _conditions(new):
            if isinstance(c, dict):
                # A Go client sends a zero time as null (kubectl certificate approve does).
                if not c.get("lastUpdateTime"):
                    c["lastUpdateTime"] = now
                if not c.get("lastTransitionTime"):
                    c["lastTransitionTime"] = c["lastUpdateTime"]

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        return False

    def validate(self, obj: JsonObject) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        causes: list[Cause] = []
        if not spec.get("request"):
            causes.append(required("spec.request"))
        if not spec.get("signerName"):
            causes.append(required("spec.signerName"))
        return causes + self._condition_causes(obj)

    def _condition_causes(self, obj: JsonObject) -> list[Cause]:
        causes: list[Cause] = []
        seen: set[str] = set()
        for i, c in enumerate(_conditions(obj)):
            c = as_dict(c)
            kind = str(c.get("type") or "")
            path = f"status.conditions[{i}]"
            if not kind:
                causes.append(required(f"{path}.type"))
                continue
            if kind in seen and kind in _PERMANENT:
                causes.append(duplicate(f"{path}.type", kind))
            seen.add(kind)
            if kind in _PERMANENT and c.get("status") != "True":
                causes.append(not_supported(f"{path}.status", str(c.get("status", "")), ["True"]))
        if "Approved" in seen and "Denied" in seen:
            index = next(
                i for i, c in enumerate(_conditions(obj)) if as_dict(c).get("type") == "Denied"
            )
            causes.append(
                invalid_value(
                    f"status.conditions[{index}].type",
                    "Denied",
                    "Approved and Denied conditions are mutually exclusive",
                )
            )
        return causes

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new) + certificate_causes(new, old)
        have = {as_dict(c).get("type") for c in _conditions(new)}
        for kind in _PERMANENT:
            if kind not in have and any(as_dict(c).get("type") == kind for c in _conditions(old)):
                causes.append(
                    (
                        "FieldValueForbidden",
                        "status.conditions",
                        f"Forbidden: updates may not remove a condition of type {go_quote(kind)}",
                    )
                )
        return causes
