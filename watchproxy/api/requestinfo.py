"""What a request is, parsed once from its method, path and query: kube's RequestInfo
(staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), the input of
authorization, tenant scoping and audit.

Resource requests are `/api/v1/...` and `/apis/GROUP/VERSION/...`; everything else (discovery
roots, /healthz, /metrics, /debug/...) is a non-resource request whose verb is the lower-cased
HTTP method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote

# requestinfo.go: namespaceSubresources and the verbs of each HTTP method.
_NAMESPACE_SUBRESOURCES: Final = frozenset({"status", "finalize"})
_VERBS: Final = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_SPECIAL_PREFIXES: Final = frozenset({"proxy", "watch"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """One request, as requestinfo.go describes it. Strings are "" when absent."""

    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    field_requirements: tuple[tuple[str, str, str], ...] = ()
    label_requirements: tuple[tuple[str, str, str], ...] = ()


def _requirements(text: str) -> tuple[tuple[str, str, str], ...]:
    """Exact requirements `k=v`, `k==v`, `k!=v` of a selector; other terms are kept with operator
    "other" so a checker that needs an exact match sees there is more to the selector."""
    out: list[tuple[str, str, str]] = []
    for term in (t.strip() for t in text.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, _, value = term.partition("!=")
            out.append((key.strip(), "!=", value.strip()))
        elif "==" in term:
            key, _, value = term.partition("==")
            out.append((key.strip(), "=", value.strip()))
        elif "=" in term and "(" not in term:
            key, _, value = term.partition("=")
            out.append((key.strip(), "=", value.strip()))
        else:
            out.append((term, "other", ""))
    return tuple(out)


def request_info(method: str, path: str, query: bytes) -> RequestInfo:
    """Parse as requestinfo.go NewRequestInfo: verb from the method (GET on a collection is
    list, or watch with `watch=true`/the /watch/ prefix; DELETE on a collection is
    deletecollection), namespace from /namespaces/NS (for the namespaces resource itself the
    namespace is its name), and for list/watch the name from `fieldSelector=metadata.name=X`."""
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    verb = method.lower()
    if not parts or parts[0] not in ("api", "apis"):
        return RequestInfo(False, path, verb)
    prefix = parts[0]
    rest = parts[1:]
    if prefix == "apis":
        if len(rest) < 2:
            return RequestInfo(False, path, verb)
        group, version, rest = rest[0], rest[1], rest[2:]
    else:
        if len(rest) < 1:
            return RequestInfo(False, path, verb)
        group, version, rest = "", rest[0], rest[1:]
    if not rest:
        return RequestInfo(False, path, verb)
    # An unknown method (HTTP methods are case-sensitive: `get` is not GET) stays a resource
    # request with no verb, which no RBAC rule but `*` matches (requestinfo.go's default).
    kube_verb = _VERBS.get(method, "")
    special = ""
    if rest[0] in _SPECIAL_PREFIXES:
        if len(rest) < 2:
            return RequestInfo(False, path, verb)
        special, rest = rest[0], rest[1:]
        kube_verb = special
    namespace = ""
    if rest[0] == "namespaces":
        if len(rest) > 1:
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        params.setdefault(key, value)
    fields = _requirements(params.get("fieldSelector", ""))
    labels = _requirements(params.get("labelSelector", ""))
    if not name and kube_verb == "get":
        watch = params.get("watch", "").lower() in ("1", "true")
        kube_verb = "watch" if watch else "list"
    if not name and kube_verb == "delete":
        kube_verb = "deletecollection"
    if kube_verb in ("list", "watch") and not name:
        name = next((v for k, op, v in fields if k == "metadata.name" and op == "="), "")
    return RequestInfo(
        True,
        path,
        kube_verb,
        api_prefix=prefix,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        field_requirements=fields,
        label_requirements=labels,
    )
