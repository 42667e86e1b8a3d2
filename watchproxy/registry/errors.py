"""The write path's refusals as kube words them (apimachinery pkg/api/errors/errors.go): 409
Conflict and AlreadyExists, 403 Forbidden, 422 Invalid. Where a 409 or 403 comes from is here;
the type-specific causes come from each strategy.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.status import ApiError, invalid
from watchproxy.resources import ResourceType

# (reason, field path, message): apimachinery field.Error as a Status cause.
Cause = tuple[str, str, str]
# storage.OptimisticLockErrorMsg
OPTIMISTIC_LOCK = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def conflict(resource: ResourceType, name: str, cause: str = OPTIMISTIC_LOCK) -> ApiError:
    """apierrors.NewConflict(resource, name, cause): 409 Conflict."""
    return precondition_conflict(resource.plural, resource.group, name, cause)


def precondition_conflict(kind: str, group: str, name: str, cause: str) -> ApiError:
    """apierrors.NewConflict(GroupResource{group, kind}, name, cause); `kind` is what kube puts
    there (a resource, or for BeforeDelete's precondition messages the Kind)."""
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": {cause}',
        details={"name": name, "group": group, "kind": kind},
    )


class PreconditionFailed(ApiError):
    """The 409 Conflict of a DELETE whose uid or resourceVersion precondition does not hold,
    as a type of its own: the caller knows the object changed (or was replaced) without
    reading it again. Code, reason, message and details are the wrapped error's."""

    @classmethod
    def of(cls, error: ApiError) -> PreconditionFailed:
        return cls(error.code, error.reason, error.message, details=error.details)


def already_exists(resource: ResourceType, name: str) -> ApiError:
    """apierrors.NewAlreadyExists: 409 AlreadyExists."""
    return ApiError(
        409,
        "AlreadyExists",
        f'{resource.key} "{name}" already exists',
        details={"name": name, "group": resource.group, "kind": resource.plural},
    )


def forbidden(resource: ResourceType, name: str, message: str, **details: Any) -> ApiError:
    """apierrors.NewForbidden / admission.NewForbidden: 403 Forbidden."""
    return ApiError(
        403,
        "Forbidden",
        f'{resource.key} "{name}" is forbidden: {message}',
        details={"name": name, "group": resource.group, "kind": resource.plural, **details},
    )


def raise_invalid(resource: ResourceType, name: str, causes: list[Cause]) -> None:
    """422 Invalid naming every cause, if there is any."""
    if causes:
        raise invalid(resource.kind, name, causes, resource.group)
