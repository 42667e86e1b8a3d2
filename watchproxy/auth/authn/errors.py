"""What authenticators answer besides a user, and the refusals of impersonation and TokenRequest.

Token authenticators follow kube's `authenticator.Token` contract
(apiserver/pkg/authentication/authenticator/interfaces.go): a `TokenResponse` when the token is
theirs and valid, None when the token is not theirs (the next authenticator is asked), and
`AuthenticationError` when the token is theirs and refused. A request whose credentials were
refused is 401 even when anonymous requests are allowed (kube's union.NewFailOnError in
pkg/kubeapiserver/authenticator/config.go).

Nothing here is sent to the client as is: kube answers every refused request with the same 401
Status (reason `Unauthorized`, message `UNAUTHORIZED_MESSAGE`); reasons go to logs, audit and
TokenReview's status.error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from watchproxy.auth.attributes import Attributes
from watchproxy.auth.user import UserInfo

# apimachinery NewUnauthorized("Unauthorized") as filters/authentication.go's unauthorized
# handler sends it: {"kind":"Status",...,"message":"Unauthorized","reason":"Unauthorized",
# "code":401}.
UNAUTHORIZED_MESSAGE: Final = "Unauthorized"


class AuthenticationError(Exception):
    """Credentials were presented and refused. `reason` is kube's error text (for logs, audit
    and TokenReview status.error); never a secret, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """authenticator.Response: the user and the audiences the token was accepted for (the
    intersection of the requested and the token's audiences; empty when the request named
    none)."""

    user: UserInfo
    audiences: tuple[str, ...] = ()


class StatusError(Exception):
    """A refusal the API layer answers with a Status of `code` and `reason` (kube's
    apierrors.StatusError); `details` are the Status details (name, group, kind)."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details: dict[str, Any] = details or {}


class ImpersonationBadRequest(StatusError):
    """400 BadRequest of impersonation headers kube refuses before any check
    (filters/impersonation.go buildImpersonationRequests)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)


class ImpersonationForbidden(StatusError):
    """403 Forbidden: the requestor may not impersonate what it asked for
    (responsewriters.Forbidden). `attributes` is the refused check."""

    def __init__(self, message: str, attributes: Attributes, details: dict[str, Any]) -> None:
        super().__init__(403, "Forbidden", message, details)
        self.attributes = attributes


class TokenRequestError(StatusError):
    """A TokenRequest kube refuses past validation: 400 BadRequest (bound object of another
    kind, pod of another ServiceAccount), 404 NotFound (bound object missing), 409 Conflict
    (bound object uid differs) (registry/core/serviceaccount/storage/token.go)."""
