"""A CRD schema's `default`s checked against the schema they sit in, when the CRD is written.

kube-apiserver (apiextensions-apiserver pkg/apiserver/schema/defaulting/validation.go
`validate`, called by pkg/apis/apiextensions/validation/validation.go for every version's
schema): for each node with a `default`, walking `properties` and `items` (not
`additionalProperties`), the default must

* be pruned already: `<path>.default: Invalid value: <json>: must not have unknown fields`;
* pass the node's OpenAPI validation, reported at `<path>.default` with kube-openapi's words
  (the default is the validated root, so a type error reads
  `Invalid value: "integer":  in body must be of type string: "integer"`);
* pass the node's CEL rules, with `self` the default (as on a create: kube also runs them as
  an update from the default to itself, which changes nothing without transition rules).

Defaults inside `metadata` of a resource root are left out (kube checks them as ObjectMeta).
"""

from __future__ import annotations

from typing import Any

from watchproxy.schema import builtin
from watchproxy.schema.cel import compile_node
from watchproxy.schema.cel import validate as cel_validate
from watchproxy.schema.goformat import go_bad_value
from watchproxy.schema.pruning import Walk, compiler_for
from watchproxy.schema.validation import compile_validator, schema_causes

Cause = tuple[str, str, str]
JsonObject = dict[str, Any]


def default_causes(schema: JsonObject, path: str) -> list[Cause]:
    """The causes of every bad default in `schema` (an openAPIV3Schema), fields under `path`
    (`spec.versions[0].schema.openAPIV3Schema`). Never raises for any JSON value."""
    causes: list[Cause] = []
    _walk(schema, path, causes, root=True)
    return causes


def _walk(node: Any, path: str, causes: list[Cause], *, root: bool = False) -> None:
    if not isinstance(node, dict):
        return
    if "default" in node and node["default"] is not None:
        causes += _check(node, f"{path}.default")
    items = node.get("items")
    if isinstance(items, dict):
        _walk(items, f"{path}.items", causes)
    properties = node.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            if (root or node.get("x-kubernetes-embedded-resource")) and key == "metadata":
                continue  # ObjectMeta's own checks (not done here)
            _walk(sub, f"{path}.properties[{key}]", causes)


def _check(node: JsonObject, at: str) -> list[Cause]:
    value = node["default"]
    shown = go_bad_value(value)
    compiler = compiler_for(builtin.load().definitions)
    walk = Walk(compiler.meta(), remove=False)
    embedded = node.get("x-kubernetes-embedded-resource") is True
    walk.prune(value, compiler.node(node), "", root=embedded)
    if walk.found:
        return [("FieldValueInvalid", at, f"Invalid value: {shown}: must not have unknown fields")]
    try:
        validator, json_schema = compile_validator(node)
    except Exception:  # a pattern that is no regex: reported by the schema's own check
        return []
    causes = [_under(at, cause) for cause in schema_causes(validator, json_schema, value)]
    if causes:
        return causes
    rules = compile_node(node, resource_root=embedded)
    # As a create (no old value): cel.validate would ratchet failures of an unchanged value.
    return [_under(at, cause) for cause in cel_validate(rules, value, None)]


def _under(at: str, cause: Cause) -> Cause:
    """A cause of the default's own validation moved under `at` (field.Path.Child)."""
    reason, field, message = cause
    if field == "<nil>":
        return (reason, at, message)
    return (reason, f"{at}.{field}", message)
