"""The schema engine of one custom resource version: prune, default, validate.

A CRD version's `openAPIV3Schema` is compiled once into a `CustomResourceSchema`; the custom
resource strategy calls it on every write in kube-apiserver's order (the CR codec's decode
prunes, then defaults; the strategy validates: apiextensions-apiserver
pkg/apiserver/customresource_handler.go `unstructuredSchemaCoercer.apply` and
`unstructuredDefaulter`, pkg/registry/customresource/strategy.go `Validate`/`ValidateUpdate`):

    schema = CustomResourceSchema(version["schema"]["openAPIV3Schema"])
    unknown = schema.prune(obj)        # ["spec.foo", "metadata.bogus"]: warnings / Strict
    schema.default(obj)
    causes = schema.validate(obj, old)  # [(reason, field, message)] -> 422 Invalid

What validate() covers (TypeMeta and the root's ObjectMeta are the store's): the OpenAPI value
validations (validation.py), embedded resources and list-type uniqueness (invariants.py), then
the CEL rules (cel.py) unless an earlier error is "blocking" (a wrong type, a missing required
field, an unsupported enum value, too long, too many), in which case kube adds one cause
instead: `some validation rules were not checked because the object was invalid; correct the
existing errors to complete validation`. On updates, errors in what the update left unchanged
are ratcheted away, as kube's CRDValidationRatcheting does (ratcheting.py).

Compiling raises ValueError only for a schema jsonschema-rs cannot compile at all (a pattern
that is not a regular expression); the CRD strategy is expected to have refused such a schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from watchproxy.schema import builtin
from watchproxy.schema.cel import compile_errors as cel_compile_errors
from watchproxy.schema.cel import compile_node
from watchproxy.schema.cel import validate as cel_validate
from watchproxy.schema.default_check import default_causes
from watchproxy.schema.defaulting import apply_defaults, compile_defaults, prune_nulls
from watchproxy.schema.invariants import embedded_causes, list_causes, spine
from watchproxy.schema.pruning import unknown_fields
from watchproxy.schema.ratcheting import unchanged
from watchproxy.schema.validation import compile_validator, schema_causes

Cause = tuple[str, str, str]  # watchproxy.registry.errors.Cause: (reason, field, message)
JsonObject = dict[str, Any]

# strategy.go hasBlockingErr
_BLOCKING = frozenset(
    {
        "FieldValueNotSupported",
        "FieldValueRequired",
        "FieldValueTooLong",
        "FieldValueTooMany",
        "FieldValueTypeInvalid",
    }
)
RULES_NOT_CHECKED: Cause = (
    "FieldValueInvalid",
    "<nil>",
    'Invalid value: "null": some validation rules were not checked because the object was '
    "invalid; correct the existing errors to complete validation",
)


class CustomResourceSchema:
    """One CRD version's structural schema, compiled (validators cached for its lifetime)."""

    def __init__(self, openapi_v3_schema: dict[str, Any]) -> None:
        """`openapi_v3_schema`: `spec.versions[].schema.openAPIV3Schema` (a structural schema;
        {} when the version has none). Raises ValueError for a schema jsonschema-rs refuses."""
        schema = openapi_v3_schema if isinstance(openapi_v3_schema, dict) else {}
        self.schema = schema
        try:
            self._validator, self._json_schema = compile_validator(schema)
        except Exception as exc:  # jsonschema-rs raises ValidationError (a ValueError) or others
            raise ValueError(f"openAPIV3Schema cannot be compiled: {exc}") from exc
        self._defaults = compile_defaults(schema)
        self._cel = compile_node(schema, resource_root=True)
        # Only the paths that lead to list-type / embedded-resource nodes are walked.
        self._lists = spine(schema, "x-kubernetes-list-type", ("set", "map"))
        self._embedded = spine(schema, "x-kubernetes-embedded-resource")
        self._definitions = builtin.load().definitions

    def compile_errors(self, path: str = "openAPIV3Schema") -> list[Cause]:
        """The CEL rules (and messageExpressions, fieldPaths) that do not compile, as the CRD's
        validation reports them: `<path>.properties[spec].x-kubernetes-validations[0].rule`;
        pass `spec.versions[i].schema.openAPIV3Schema` as `path`."""
        return cel_compile_errors(self._cel, path)

    def default_causes(self, path: str = "openAPIV3Schema") -> list[Cause]:
        """The schema's `default`s that its own validation refuses (default_check.py), fields
        under `path` as for compile_errors()."""
        return default_causes(self.schema, path)

    def default(self, obj: dict[str, Any]) -> None:
        """Apply the schema's defaults to `obj` in place (kube's structural defaulting)."""
        apply_defaults(obj, self._defaults)

    def prune(self, obj: dict[str, Any]) -> list[str]:
        """Drop, in place, the fields the schema does not know and return their paths, sorted
        (`spec.foo`, `spec.items[0].bar`, `metadata.bogus`): apiVersion, kind and metadata
        stay at the root and in embedded resources, where metadata keeps ObjectMeta's fields
        only; `x-kubernetes-preserve-unknown-fields` keeps unknown fields below it. Then,
        as kube's codec does next, drops `null`s the schema neither allows nor defaults."""
        paths = unknown_fields(obj, self.schema, self._definitions, remove=True)
        prune_nulls(obj, self._defaults)
        return sorted(paths)

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
        """Every cause against `obj`. On an update `old` is the stored object: errors in parts
        the update left unchanged are ratcheted away (ratcheting.py), and CEL transition rules
        see it as `oldSelf`. Never raises for any JSON object."""
        ratcheted = None
        if old is not None:
            schema = self.schema

            def ratcheted(path: list[str | int]) -> bool:
                return unchanged(schema, obj, old, path)

        causes = schema_causes(self._validator, self._json_schema, obj, ratcheted)
        if self._embedded is not None:
            causes += embedded_causes("", self._embedded, obj)
        if self._lists is not None and (old is None or not list_causes("", self._lists, old)):
            causes += list_causes("", self._lists, obj)
        if self._cel is not None:
            if any(reason in _BLOCKING for reason, _, _ in causes):
                causes.append(RULES_NOT_CHECKED)
            else:
                causes += cel_validate(self._cel, obj, old)
        return causes


def read_decoder(openapi_v3_schema: JsonObject) -> Callable[[JsonObject], JsonObject]:
    """What kube's storage codec does to a custom resource read from etcd
    (customresource_handler.go crdConversionRESTOptionsGetter: schemaCoercingDecoder prunes
    unknown fields and non-nullable nulls, unstructuredDefaulter applies the defaults), for
    objects stored before the schema changed. The returned function gives a new object when
    something changes (the decoded value may be shared by other versions' builds), else the
    same one. Only pruning and defaulting are compiled (no validators)."""
    schema = openapi_v3_schema if isinstance(openapi_v3_schema, dict) else {}
    defaults = compile_defaults(schema)
    definitions = builtin.load().definitions

    def decode(obj: JsonObject) -> JsonObject:
        copied = orjson.loads(orjson.dumps(obj))
        unknown_fields(copied, schema, definitions, remove=True)
        prune_nulls(copied, defaults)
        apply_defaults(copied, defaults)
        return obj if copied == obj else copied

    return decode
