"""The priority-and-fairness filter of the handler chain (filters/priority-and-fairness.go).

After authentication, impersonation and authorization (api/guard.py), before the handler: the
request is classified by the flow schemas, estimated in seats, and waits for them at its
priority level (watchproxy/flowcontrol). A rejected request gets 429 `TooManyRequests` with
`Retry-After`. kube answers that 429 in plain text ("Too many requests, please try again
later."); here it is a Status with the same message, reason and `details.retryAfterSeconds`, so
every client's error path (client-go, kubectl, the Python client) shows kube's reason.

Order differs from kube's in one way: kube runs flow control before authorization, so a flood
of forbidden requests also queues; here a forbidden request is answered before it takes a
seat (authorization is an in-memory lookup here, cheaper than queuing it).

Every answer of a classified request carries kube's `X-Kubernetes-PF-FlowSchema-UID` and
`X-Kubernetes-PF-PriorityLevel-UID` headers. A WATCH holds its seats until its response starts
(the watcher is registered then: kube releases them at watch initialization), never for its life.
"""

from __future__ import annotations

from collections import deque
from typing import Final
from urllib.parse import parse_qsl

from watchproxy.api.http import Message, Receive
from watchproxy.api.requestinfo import RequestInfo
from watchproxy.api.status import ApiError
from watchproxy.auth.context import RequestAuth
from watchproxy.auth.user import ANONYMOUS_USER
from watchproxy.flowcontrol.controller import Admission, Classification, FlowController, Rejected
from watchproxy.flowcontrol.estimate import list_seats, watch_sends_initial_state
from watchproxy.flowcontrol.matching import RequestDigest
from watchproxy.proxy import Proxy

FLOW_SCHEMA_UID_HEADER: Final = b"x-kubernetes-pf-flowschema-uid"
PRIORITY_LEVEL_UID_HEADER: Final = b"x-kubernetes-pf-prioritylevel-uid"
TOO_MANY_REQUESTS: Final = "Too many requests, please try again later."


class FlowFilter:
    """Admission of one request at its priority level (see the module docstring)."""

    def __init__(self, controller: FlowController, proxy: Proxy) -> None:
        self.controller = controller
        self._proxy = proxy

    def digest(self, info: RequestInfo, auth: RequestAuth) -> RequestDigest:
        # Without authentication (loopback dev mode) every caller is an admin for authorization,
        # but not for flow control: it is classified as the anonymous user it is, never exempt.
        user = auth.user if auth.enforced else ANONYMOUS_USER
        resource = info.resource
        if info.subresource:
            resource = f"{resource}/{info.subresource}"
        return RequestDigest(
            user=user,
            verb=info.verb,
            is_resource_request=info.is_resource_request,
            path=info.path,
            api_group=info.api_group,
            resource=resource,
            namespace=info.namespace,
            tenant=auth.tenant,
        )

    def seats(self, info: RequestInfo, query: bytes) -> int:
        """The request's width (flowcontrol/estimate.py), from the watch cache's counts."""
        if info.verb not in ("list", "watch") or not info.is_resource_request:
            return 1
        params = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
        rv = params.get("resourceVersion", "")
        if info.verb == "watch" and not watch_sends_initial_state(
            rv, params.get("sendInitialEvents", "")
        ):
            return 1
        single = bool(info.name) or any(
            key == "metadata.name" and op == "=" for key, op, _ in info.field_requirements
        )
        limit = 0
        if info.verb == "list" and rv != "0":  # RV=0 lists ignore limit (served whole)
            try:
                limit = int(params.get("limit", "0") or 0)
            except ValueError:
                limit = 0
        return list_seats(self._objects(info), limit=limit, single=single)

    def _objects(self, info: RequestInfo) -> int:
        resource = self._proxy.registry.lookup(info.api_group, info.api_version, info.resource)
        if resource is None or resource.virtual:
            return 0
        cache = self._proxy.cache_of(resource)
        namespace = info.namespace or next(
            (v for k, op, v in info.field_requirements if k == "metadata.namespace" and op == "="),
            "",
        )
        node = next(
            (
                v
                for k, op, v in info.field_requirements
                if op == "=" and resource.trigger_field and k == resource.trigger_field
            ),
            None,
        )
        total = 0
        for state in cache.shards:
            if node is not None:
                total += len(state.by_trigger.get(node, ()))
            elif namespace:
                total += len(state.by_namespace.get(namespace, ()))
            else:
                total += len(state.objects)
        return total

    async def admit(
        self, info: RequestInfo, auth: RequestAuth, query: bytes, receive: Receive | None = None
    ) -> tuple[Admission, Receive | None]:
        """Wait for the request's seats; ApiError 429 TooManyRequests (with Retry-After) when
        the level rejects it, ClientGone when its client disconnects while it waits.

        `receive` (requests without a body only: GET, HEAD) lets a waiting request notice its
        client leaving; the messages read meanwhile are replayed by the `receive` returned,
        which the handler must use instead."""
        classification = self.controller.classify(self.digest(info, auth))
        watch = _DisconnectWatch(receive) if receive is not None else None
        try:
            admission = await self.controller.admit(
                classification, self.seats(info, query), watch.gone if watch is not None else None
            )
        except Rejected as exc:
            raise FlowRejected(exc) from exc
        if watch is None or not watch.started:
            # Admitted without waiting (the common case): nothing was read, so the handler
            # keeps the server's own `receive`. A watch needs that: it finds the connection's
            # `disconnected` flag through it, where a wrapper would cost it a task of its own
            # waiting on receive() for its whole life (decision 0023).
            return admission, receive
        return admission, watch.replay


class _DisconnectWatch:
    """`gone()` returns when the client disconnects (reading, and keeping, what comes before);
    `replay` gives the kept messages first, then reads on. `started` once `gone` has run:
    only then may messages have been read."""

    __slots__ = ("_receive", "kept", "started")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.kept: deque[Message] = deque()
        self.started = False

    async def gone(self) -> None:
        self.started = True
        while True:
            message = await self._receive()
            self.kept.append(message)
            if message["type"] == "http.disconnect":
                return

    async def replay(self) -> Message:
        if self.kept:
            return self.kept.popleft()
        return await self._receive()


class FlowRejected(ApiError):
    """429 from flow control: kube's reason and message, the level's Retry-After, and the
    classification for the PF headers."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(
            429, "TooManyRequests", TOO_MANY_REQUESTS, retry_after=rejected.retry_after
        )
        self.classification = rejected.classification
        self.flow_reason = rejected.reason


def pf_headers(classification: Classification) -> list[tuple[bytes, bytes]]:
    return [
        (FLOW_SCHEMA_UID_HEADER, classification.schema_uid.encode()),
        (PRIORITY_LEVEL_UID_HEADER, classification.level_uid.encode()),
    ]
