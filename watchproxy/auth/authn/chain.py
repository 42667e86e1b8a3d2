"""Who a request is: kube's authenticator union, built from `AuthenticationSettings`.

Order and rules of pkg/kubeapiserver/authenticator/config.go `Config.New`,
apiserver/pkg/authentication/request/union/union.go, .../bearertoken/bearertoken.go,
.../group/authenticated_group_adder.go and .../request/anonymous/anonymous.go:

1. the client certificate (when `client_ca_file` is set and the TLS layer passed one): a valid
   certificate with a CN authenticates the request; an invalid one is an error remembered for
   the end, and the bearer token is still tried; an empty CN counts as no certificate;
2. the bearer token (when any token authenticator is configured) through the token union, in
   kube's order: token file -> ServiceAccount JWTs -> webhook. Each answers "not mine" (next),
   a user (done) or an error (remembered, next); a token nobody accepts is refused;
3. the authenticated user gets `system:authenticated`;
4. nothing authenticated: with errors, 401 (a bad certificate or token is never anonymous:
   kube's union.NewFailOnError); without credentials, `system:anonymous` in
   `system:unauthenticated` when `anonymous` is on, else 401.

Every request of the API audiences (`--api-audiences`, defaulting to the issuers) is
audience-limited to them, as kube's WithAuthentication filter does when they are set.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from watchproxy.auth.authn import x509
from watchproxy.auth.authn.bearer import parse_authorization_header
from watchproxy.auth.authn.errors import AuthenticationError, TokenResponse
from watchproxy.auth.authn.serviceaccount import ServiceAccountAuthenticator
from watchproxy.auth.authn.tokenfile import TokenFile
from watchproxy.auth.authn.webhook import WebhookTokenAuthenticator
from watchproxy.auth.settings import AuthenticationSettings
from watchproxy.auth.sources import ObjectSource
from watchproxy.auth.user import ANONYMOUS_USER, UserInfo

log = logging.getLogger(__name__)

# A token authenticator: (token, audiences or None) -> TokenResponse, None ("not mine"), or
# AuthenticationError; sync or async.
TokenAuthenticatorFn = Callable[
    [str, tuple[str, ...] | None], TokenResponse | Awaitable[TokenResponse | None] | None
]


class Outcome(enum.Enum):
    AUTHENTICATED = "authenticated"  # user set (system:authenticated added)
    ANONYMOUS = "anonymous"  # no credentials, anonymous allowed: user is system:anonymous
    NO_CREDENTIALS = "no_credentials"  # no credentials, anonymous off: 401
    REFUSED = "refused"  # credentials presented and refused: 401 even with anonymous on


@dataclass(frozen=True, slots=True)
class AuthResult:
    """What `Authenticator.authenticate` decided.

    `user` is set for AUTHENTICATED and ANONYMOUS; `reason` says why a REFUSED request was
    refused (kube's aggregated error text: for logs and audit, never for the client, which gets
    `Unauthorized`); `method` names what authenticated the user (`x509`, `tokenfile`,
    `serviceaccount`, `webhook`, `anonymous`); `audiences` are those the token was accepted for.
    """

    outcome: Outcome
    user: UserInfo | None = None
    reason: str = ""
    method: str = ""
    audiences: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the request may go on (authenticated or anonymous)."""
        return self.user is not None


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """A TokenReview's status: `authenticated`, `user` (with system:authenticated), the
    `audiences` the token was accepted for and kube's `error` text."""

    authenticated: bool
    user: UserInfo | None = None
    audiences: tuple[str, ...] = ()
    error: str = ""

    def to_status(self) -> dict[str, object]:
        """The `authentication.k8s.io/v1` TokenReviewStatus wire shape."""
        out: dict[str, object] = {"authenticated": self.authenticated}
        if self.user is not None:
            out["user"] = self.user.to_json()
        if self.audiences:
            out["audiences"] = list(self.audiences)
        if self.error:
            out["error"] = self.error
        return out


def _aggregate(errors: Sequence[str]) -> str:
    """utilerrors.NewAggregate(...).Error()."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


class Authenticator:
    """kube's request authenticator. Build it with `from_settings`, or directly with the
    authenticators (tests). `token_authenticators` are (method name, function) in union order.
    """

    def __init__(
        self,
        *,
        client_certificates: bool,
        token_authenticators: Sequence[tuple[str, TokenAuthenticatorFn]],
        api_audiences: Sequence[str] = (),
        anonymous: bool = False,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self._x509 = client_certificates
        self._tokens = list(token_authenticators)
        self._audiences = tuple(api_audiences)
        self._anonymous = anonymous
        self._closers = list(closers)

    @classmethod
    def from_settings(cls, settings: AuthenticationSettings, source: ObjectSource) -> Authenticator:
        """Reads the token file and key files (ValueError/OSError when one is malformed or
        unreadable, as kube refuses to start)."""
        tokens: list[tuple[str, TokenAuthenticatorFn]] = []
        closers: list[Callable[[], Awaitable[None]]] = []
        audiences = settings.audiences
        if settings.token_auth_file:
            token_file = TokenFile.load(settings.token_auth_file)

            def by_file(token: str, auds: tuple[str, ...] | None) -> TokenResponse | None:
                return token_file.authenticate_token(token, auds, audiences)

            tokens.append(("tokenfile", by_file))
        service_accounts = ServiceAccountAuthenticator.from_settings(settings, source)
        if service_accounts is not None:
            tokens.append(("serviceaccount", service_accounts.authenticate_token))
        if settings.webhook is not None:
            webhook = WebhookTokenAuthenticator(settings.webhook, api_audiences=audiences)
            tokens.append(("webhook", webhook.authenticate_token))
            closers.append(webhook.aclose)
        return cls(
            client_certificates=bool(settings.client_ca_file),
            token_authenticators=tokens,
            api_audiences=audiences,
            anonymous=settings.anonymous,
            closers=closers,
        )

    async def aclose(self) -> None:
        for close in self._closers:
            await close()

    async def authenticate(
        self, *, client_cert_der: bytes | None, authorization: str | None
    ) -> AuthResult:
        """Authenticate a request from its client certificate (DER, as verified by the TLS
        layer; None when none was sent) and its Authorization header value."""
        errors: list[str] = []
        if self._x509 and client_cert_der is not None:
            try:
                user = x509.user_from_certificate(client_cert_der)
            except AuthenticationError as exc:
                errors.append(exc.reason)
            else:
                if user is not None:
                    return AuthResult(
                        Outcome.AUTHENTICATED, user.with_authenticated_group(), method="x509"
                    )
        token = parse_authorization_header(authorization) if authorization else None
        if token is not None and self._tokens:
            method, response, error = await self._authenticate_token(token, self._audiences or None)
            if response is not None:
                return AuthResult(
                    Outcome.AUTHENTICATED,
                    response.user.with_authenticated_group(),
                    method=method,
                    audiences=response.audiences,
                )
            errors.append(error)
        if errors:
            reason = _aggregate(errors)
            log.debug("request refused: %s", reason)
            return AuthResult(Outcome.REFUSED, reason=reason)
        if self._anonymous:
            return AuthResult(Outcome.ANONYMOUS, ANONYMOUS_USER, method="anonymous")
        return AuthResult(Outcome.NO_CREDENTIALS)

    async def review(self, token: str, audiences: Sequence[str] = ()) -> UserInfo | None:
        """The user a TokenReview of `token` finds (with system:authenticated), or None."""
        return (await self.review_status(token, audiences)).user

    async def review_status(self, token: str, audiences: Sequence[str] = ()) -> ReviewResult:
        """TokenReview (pkg/registry/authentication/tokenreview/storage.go): the token goes
        through the same token union as a request's bearer token, audience-limited to
        `audiences` or, when empty, to the API audiences. The token is taken as kube takes it,
        from `Bearer <token>` (so `a b` reviews `a`); one that yields no bearer token at all is
        simply not authenticated (kube would fall to anonymous there). An empty token is the
        API layer's 400 (`token is required for TokenReview in authentication`)."""
        parsed = parse_authorization_header("Bearer " + token)
        if parsed is None or not self._tokens:
            return ReviewResult(False)
        auds = tuple(audiences) or self._audiences
        _, response, error = await self._authenticate_token(parsed, auds or None)
        if response is None:
            return ReviewResult(False, error=error)
        return ReviewResult(True, response.user.with_authenticated_group(), response.audiences)

    async def _authenticate_token(
        self, token: str, audiences: tuple[str, ...] | None
    ) -> tuple[str, TokenResponse | None, str]:
        """The token union (token/union/union.go) and bearertoken.go's default error: (method,
        response, error text)."""
        errors: list[str] = []
        for method, authenticate in self._tokens:
            try:
                answer = authenticate(token, audiences)
                if inspect.isawaitable(answer):
                    answer = await answer
            except AuthenticationError as exc:
                errors.append(exc.reason)
                continue
            if answer is not None:
                return method, answer, ""
        if not errors:
            errors.append("invalid bearer token")
        return "", None, _aggregate(errors)
