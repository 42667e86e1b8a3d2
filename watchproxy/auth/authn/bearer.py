"""The `Authorization: Bearer` header (apiserver/pkg/authentication/request/bearertoken/
bearertoken.go).

kube also reads a bearer token from the `Sec-WebSocket-Protocol` header of websocket requests
(`base64url.bearer.authorization.k8s.io.<token>`, request/websocket/protocol.go); this proxy
serves no websockets, so that header is not read.
"""

from __future__ import annotations

# Go's strings.TrimSpace (unicode.IsSpace) for the characters a header value can hold.
_GO_SPACE = " \t\n\v\f\r\x85\xa0"


def parse_authorization_header(value: str) -> str | None:
    """The bearer token of an Authorization header value, or None when the header carries no
    bearer token for kube: empty or blank, another scheme (`Basic ...`), or an empty token
    (`Bearer` alone, or two spaces after it). None means "no credentials here" (the request may
    still be anonymous), not "invalid": kube's bearer authenticator answers those cases with
    (nil, false, nil). The scheme is case-insensitive; the value is split on single spaces into
    at most 3 parts and the token is the second (`Bearer a b` -> "a"), as `strings.SplitN(auth,
    " ", 3)`.
    """
    auth = value.strip(_GO_SPACE)
    if not auth:
        return None
    parts = auth.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return None
    return parts[1] or None
