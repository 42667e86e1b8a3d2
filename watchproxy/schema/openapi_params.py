"""Query parameters of the OpenAPI operations: the fields of metav1 ListOptions, CreateOptions,
UpdateOptions, PatchOptions and DeleteOptions that kube-apiserver lists per verb
(`staging/src/k8s.io/apiserver/pkg/endpoints/installer.go` `AddObjectParams`), with their
descriptions from `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go`.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

# name -> (type, description)
_PARAMS: dict[str, tuple[str, str]] = {
    "pretty": (
        "string",
        "If 'true', then the output is pretty printed. Defaults to 'false' unless the "
        "user-agent indicates a browser or command-line HTTP tool (curl and wget).",
    ),
    "labelSelector": (
        "string",
        "A selector to restrict the list of returned objects by their labels. Defaults to"
        " everything.",
    ),
    "fieldSelector": (
        "string",
        "A selector to restrict the list of returned objects by their fields. Defaults to"
        " everything.",
    ),
    "watch": (
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add,"
        " update, and remove notifications. Specify resourceVersion.",
    ),
    "allowWatchBookmarks": (
        "boolean",
        'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do '
        "not implement bookmarks may ignore this flag and bookmarks are sent at the "
        "server's discretion.",
    ),
    "resourceVersion": (
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be "
        "served from. See "
        "https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions "
        "for details.\n\nDefaults to unset",
    ),
    "resourceVersionMatch": (
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls. "
        "See "
        "https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions "
        "for details.\n\nDefaults to unset",
    ),
    "sendInitialEvents": (
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`. In that case, "
        "the watch stream will begin with synthetic events to produce the current state "
        "of objects in the collection, followed by a bookmark annotated with "
        '"k8s.io/initial-events-end".',
    ),
    "timeoutSeconds": (
        "integer",
        "Timeout for the list/watch call. This limits the duration of the call, "
        "regardless of any activity or inactivity.",
    ),
    "limit": (
        "integer",
        "limit is a maximum number of responses to return for a list call. If more items "
        "exist, the server will set the `continue` field on the list metadata to a value "
        "that can be used with the same initial query to retrieve the next set of "
        "results.",
    ),
    "continue": (
        "string",
        "The continue option should be set when retrieving more results from the server. "
        "Since this value is server defined, clients may only use the continue value from"
        " a previous query result with identical query parameters (except for the value "
        "of continue).",
    ),
    "dryRun": (
        "string",
        "When present, indicates that modifications should not be persisted. An invalid "
        "or unrecognized dryRun directive will result in an error response and no further"
        " processing of the request. Valid values are: - All: all dry run stages will be "
        "processed",
    ),
    "fieldManager": (
        "string",
        "fieldManager is a name associated with the actor or entity that is making these "
        "changes. The value must be less than or 128 characters long, and only contain "
        "printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
    ),
    "fieldValidation": (
        "string",
        "fieldValidation instructs the server on how to handle objects in the request "
        "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - "
        "Ignore: This will ignore any unknown fields that are silently dropped from the "
        "object, and will ignore all but the last duplicate field that the decoder "
        "encounters. - Warn: This will send a warning via the standard warning response "
        "header for each unknown field that is dropped from the object, and for each "
        "duplicate field that is encountered. - Strict: This will fail the request with a"
        " BadRequest error if any unknown fields would be dropped from the object, or if "
        "any duplicate fields are present.",
    ),
    "force": (
        "boolean",
        'Force is going to "force" Apply requests. It means user will re-acquire '
        "conflicting fields owned by other people. Force flag must be unset for non-apply"
        " patch requests.",
    ),
    "gracePeriodSeconds": (
        "integer",
        "The duration in seconds before the object should be deleted. Value must be "
        "non-negative integer. The value zero indicates delete immediately. If this value"
        " is nil, the default grace period for the specified type will be used. Defaults "
        "to a per object value if not specified. zero means delete immediately.",
    ),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "boolean",
        "if set to true, it will trigger an unsafe deletion of the resource in case the "
        "normal deletion flow fails with a corrupt object error.",
    ),
    "orphanDependents": (
        "boolean",
        "Deprecated: please use the PropagationPolicy, this field will be deprecated in "
        "1.7. Should the dependent objects be orphaned.",
    ),
    "propagationPolicy": (
        "string",
        "Whether and how garbage collection will be performed. Either this field or "
        "OrphanDependents may be set, but not both. Acceptable values are: 'Orphan', "
        "'Background', 'Foreground'.",
    ),
}

LIST = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
WRITE = ("dryRun", "fieldManager", "fieldValidation")
PATCH = (*WRITE, "force")
DELETE = (
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
)
DELETE_COLLECTION = tuple(sorted({*LIST, *DELETE} - {"allowWatchBookmarks", "watch"}))


def v2_param(name: str, where: str = "query", description: str = "") -> JsonObject:
    """A Swagger 2.0 parameter: `type` inline (kube-openapi `pkg/builder/parameters.go`)."""
    kind, text = _PARAMS.get(name, ("string", ""))
    out: JsonObject = {
        "uniqueItems": True,
        "type": kind,
        "description": description or text,
        "name": name,
        "in": where,
    }
    if where == "path":
        out["required"] = True
    return out


def v3_param(name: str, where: str = "query", description: str = "") -> JsonObject:
    """An OpenAPI 3.0 parameter: the type under `schema` (kube-openapi `pkg/builder3`)."""
    kind, text = _PARAMS.get(name, ("string", ""))
    out: JsonObject = {"description": description or text, "in": where, "name": name}
    if where == "path":
        out["required"] = True
    out["schema"] = {"type": kind, "uniqueItems": True}
    return out
