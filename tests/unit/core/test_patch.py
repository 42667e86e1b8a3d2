"""Tests for watchproxy.core.patch: the three PATCH types and the HTTP codes of their failures.

Strategic-merge cases are apimachinery's strategicpatch test cases (apply half: the "current" and
"threeWay"/"twoWay" documents in, the "result"/"modified" document out, compared in order), run
against a schema equal to its test struct MergeItem, plus cases on the real Pod/Deployment/...
schemas.  Merge-patch and JSON-patch cases are the RFC 7386 and RFC 6902 appendix examples.
"""

from __future__ import annotations

import copy
import textwrap
from typing import Any

import orjson
import pytest
import yaml

from watchproxy.core.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MAX_JSON_PATCH_OPERATIONS,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    SUPPORTED_PATCH_TYPES,
    PatchError,
    apply_patch,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)
from watchproxy.core.patch_schema import (
    MERGE,
    PATCH_SCHEMAS,
    POD_SPEC,
    RETAIN_KEYS,
    FieldSchema,
    Schema,
    schema_for_kind,
)


def y(text: str) -> Any:
    return yaml.safe_load(textwrap.dedent(text))


# apimachinery's MergeItem / RetainKeysMergeItem test structs (patch_test.go), as schemas.
_MERGE_ITEM_FIELDS: dict[str, FieldSchema] = {}
MERGE_ITEM = Schema(_MERGE_ITEM_FIELDS)
_MERGING_LIST = FieldSchema("name", frozenset({MERGE}), MERGE_ITEM)
RETAIN_KEYS_ITEM = Schema(
    {"mergingIntList": FieldSchema(strategy=frozenset({MERGE})), "mergingList": _MERGING_LIST}
)
_MERGE_ITEM_FIELDS.update(
    mergingList=_MERGING_LIST,
    mergingIntList=FieldSchema(strategy=frozenset({MERGE})),
    mergeItemPtr=_MERGING_LIST,
    replacingItem=FieldSchema(strategy=frozenset({"replace"})),
    retainKeysMap=FieldSchema(strategy=frozenset({RETAIN_KEYS}), element=RETAIN_KEYS_ITEM),
    retainKeysMergingList=FieldSchema("name", frozenset({MERGE, RETAIN_KEYS}), MERGE_ITEM),
)


def smp(current: str, patch: str, result: str, id: str) -> Any:
    return pytest.param(y(current), y(patch), y(result), id=id)


APIMACHINERY_CASES = [
    # customStrategicMergePatchTestCaseData (original + twoWay -> modified)
    smp(
        "mergingIntList: [1, 2]",
        "mergingIntList: [2, 3]",
        "mergingIntList: [1, 2, 3]",
        id="unique scalars when merging lists",
    ),
    smp(
        "simpleMap: {key1: 1, key2: 1}",
        "simpleMap: {$patch: delete}",
        "simpleMap: {}",
        id="delete map from nested map",
    ),
    smp(
        "mergingList: [{name: 1}, {name: 2}]",
        "mergingList: [{$patch: replace}]",
        "mergingList: []",
        id="delete all items from merging list",
    ),
    smp("mergingList: []", "mergingList: []", "mergingList: []", id="merge empty merging lists"),
    smp("{name: 1, value: 1}", "{$patch: replace}", "{}", id="delete all keys from map"),
    smp(
        "{name: 1, value: 1}",
        "{other: a, $patch: replace}",
        "{other: a}",
        id="add key and delete all keys from map",
    ),
    smp(
        """
        mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]
        """,
        "mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]",
        "mergingList: [{name: 2, value: a}]",
        id="delete all duplicate entries in a merging list",
    ),
    smp(
        "retainKeysMap: {name: foo}",
        "retainKeysMap: {value: bar}",
        "retainKeysMap: {name: foo, value: bar}",
        id="retainKeys map adds field without directive",
    ),
    smp(
        "retainKeysMap: {name: foo, value: a}",
        "retainKeysMap: {value: null}",
        "retainKeysMap: {name: foo}",
        id="retainKeys map deletes field without directive",
    ),
    smp(
        "retainKeysMap: {name: foo, value: a}",
        "retainKeysMap: {}",
        "retainKeysMap: {name: foo, value: a}",
        id="retainKeys map merge an empty map",
    ),
    smp(
        "retainKeysMergingList: [{name: bar}, {name: foo, value: a}]",
        "retainKeysMergingList: [{name: foo, value: null}]",
        "retainKeysMergingList: [{name: bar}, {name: foo}]",
        id="retainKeys list deletes field without directive",
    ),
    smp(
        "mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]",
        "mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]",
        "mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, value: b, other: x}]",
        id="preserve the order from the patch in a merging list",
    ),
    smp(
        "mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]",
        "mergingList: [{name: 3, value: c}, {name: 1, value: a}]",
        "mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]",
        id="preserve the order from the patch in a merging list 2",
    ),
    smp(
        "mergingIntList: [1, 2, 3]",
        "mergingIntList: [3, 1]",
        "mergingIntList: [2, 3, 1]",
        id="preserve the order from the patch in a merging int list",
    ),
    smp(
        "mergingList: [{name: 1}, {name: 3}]",
        """
        $setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}]
        mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]
        """,
        "mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]",
        id="setElementOrder contains item not present in the list to be merged",
    ),
    smp(
        "mergingIntList: [1, 3]",
        "$setElementOrder/mergingIntList: [3, 2, 1]",
        "mergingIntList: [3, 1]",
        id="setElementOrder contains item not present in int list",
    ),
    # createStrategicMergePatchTestCaseData (original + twoWay -> modified)
    smp("{name: 1}", "{name: null, value: 1}", "{value: 1}", id="add field and delete field"),
    smp(
        "simpleMap: {key1: 1, key2: 1}",
        "simpleMap: {key2: null}",
        "simpleMap: {key1: 1}",
        id="delete field from nested map",
    ),
    smp(
        "nonMergingIntList: [1, 2]",
        "nonMergingIntList: [2, 3]",
        "nonMergingIntList: [2, 3]",
        id="replace list of scalars",
    ),
    smp(
        "{name: 2}",
        "{name: 1, value: 1, other: null}",
        "{name: 1, value: 1}",
        id="defined null values are dropped",
    ),
    # strategicMergePatchRawTestCases (current + threeWay -> result)
    smp(
        "mergingIntList: [1, 2, 3, 4]",
        """
        $setElementOrder/mergingIntList: [1, 2]
        $deleteFromPrimitiveList/mergingIntList: [3]
        """,
        "mergingIntList: [1, 2, 4]",
        id="delete items in lists of scalars",
    ),
    smp(
        "mergingIntList: [1, 2, 3, 3, 4]",
        """
        $setElementOrder/mergingIntList: [1, 2]
        $deleteFromPrimitiveList/mergingIntList: [3]
        """,
        "mergingIntList: [1, 2, 4]",
        id="delete all duplicate items in lists of scalars",
    ),
    smp(
        "mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]",
        """
        $setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}]
        mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]
        """,
        """
        mergingList:
          - {name: 4, value: 4}
          - {name: 1, other: a}
          - {name: 2, value: 2, other: b}
          - {name: 3, value: 3}
        """,
        id="merge lists of maps",
    ),
    smp(
        "mergingList: [{name: 1, other: a}, {name: 3, value: 2, other: b}]",
        """
        $setElementOrder/mergingList: [{name: 1}, {name: 2}]
        mergingList: [{name: 1, value: 1}, {name: 2, value: 2}]
        """,
        """
        mergingList:
          - {name: 1, value: 1, other: a}
          - {name: 2, value: 2}
          - {name: 3, value: 2, other: b}
        """,
        id="add field to map in merging list with conflict",
    ),
    smp(
        "mergingList: [{name: 1}, {name: 2, other: b}]",
        """
        $setElementOrder/mergingList: [{name: 2}]
        mergingList: [{name: 1, $patch: delete}]
        """,
        "mergingList: [{name: 2, other: b}]",
        id="delete map from merging list",
    ),
    smp(
        "mergingList: [{name: 3, other: a}]",
        """
        $setElementOrder/mergingList: [{name: 2}]
        mergingList: [{name: 2}, {name: 1, $patch: delete}]
        """,
        "mergingList: [{name: 2}, {name: 3, other: a}]",
        id="delete missing map from merging list with conflict",
    ),
    smp(
        "mergingList: [{name: 1}, {name: 2, other: b}, {name: 4, other: c}]",
        """
        $setElementOrder/mergingList: [{name: 2}, {name: 3}]
        mergingList: [{name: 3}, {name: 1, $patch: delete}]
        """,
        "mergingList: [{name: 2, other: b}, {name: 4, other: c}, {name: 3}]",
        id="add map and delete map from merging list",
    ),
    smp(
        "mergingList: [{name: 1, other: a}, {name: 4, other: c}]",
        """
        $setElementOrder/mergingList: [{name: 2}, {name: 3}]
        mergingList: [{name: 2}, {name: 3}, {name: 1, $patch: delete}]
        """,
        "mergingList: [{name: 4, other: c}, {name: 2}, {name: 3}]",
        id="add map and delete map from merging list with conflict",
    ),
    smp(
        "mergingList: [{name: 1, value: 1, other: a}, {name: 2, value: 2, other: b}]",
        """
        $setElementOrder/mergingList: [{name: 1}, {name: 2}]
        mergingList: [{name: 1, value: null}]
        """,
        "mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]",
        id="delete field from map in merging list",
    ),
    smp(
        """
        mergingList:
          - {name: 1, other: a, nonMergingList: [{name: 1}, {name: 2, value: 2}]}
          - {name: 2, other: b}
        """,
        """
        $setElementOrder/mergingList: [{name: 1}, {name: 2}]
        mergingList: [{name: 1, nonMergingList: [{name: 1, value: 1}]}]
        """,
        """
        mergingList:
          - {name: 1, other: a, nonMergingList: [{name: 1, value: 1}]}
          - {name: 2, other: b}
        """,
        id="replace non merging list nested in merging list",
    ),
    smp(
        """
        mergingList:
          - {name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}]}
          - {name: 2, other: b}
        """,
        """
        $setElementOrder/mergingList: [{name: 1}, {name: 2}]
        mergingList:
          - $setElementOrder/mergingList: [{name: 2}, {name: 1}]
            name: 1
            mergingList: [{name: 1, value: 1}]
        """,
        """
        mergingList:
          - name: 1
            other: a
            mergingList: [{name: 2, value: 2, other: d}, {name: 1, value: 1}]
          - {name: 2, other: b}
        """,
        id="add field to map in merging list nested in merging list",
    ),
    smp(
        "mergeItemPtr: [{name: 1, other: a}, {name: 3}]",
        """
        $setElementOrder/mergeItemPtr: [{name: 1}, {name: 2}]
        mergeItemPtr: [{name: 2}]
        """,
        "mergeItemPtr: [{name: 1, other: a}, {name: 2}, {name: 3}]",
        id="add map to merging list by pointer",
    ),
    smp(
        "mergingIntList: [1, 2, 4]",
        """
        $setElementOrder/mergingIntList: [1, 2, 3]
        mergingIntList: [3]
        """,
        "mergingIntList: [1, 2, 3, 4]",
        id="merge lists of scalars",
    ),
    smp(
        "mergingIntList: [1, 4, 2]",
        """
        $setElementOrder/mergingIntList: [3, 1, 2]
        mergingIntList: [3]
        """,
        "mergingIntList: [3, 1, 4, 2]",
        id="add an item in a list of primitives and preserve order",
    ),
    smp(
        """
        mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]
        """,
        """
        $setElementOrder/mergingList: [{name: 4}, {name: 2}, {name: 1}]
        mergingList: [{name: 4, value: 4}, {name: 3, $patch: delete}]
        """,
        "mergingList: [{name: 4, value: 4}, {name: 2, value: 2, other: b}, {name: 1, other: a}]",
        id="add and delete an item in a list and preserve order",
    ),
    smp(
        """
        mergingList:
          [{name: 1, other: a}, {name: 2, value: 2}, {name: 7}, {name: 9}, {name: 8},
           {name: 3, value: 3}, {name: 4, value: 4}]
        """,
        "$setElementOrder/mergingList: [{name: 2}, {name: 1}, {name: 4}, {name: 3}]",
        """
        mergingList:
          [{name: 2, value: 2}, {name: 1, other: a}, {name: 7}, {name: 9}, {name: 8},
           {name: 4, value: 4}, {name: 3, value: 3}]
        """,
        id="set elements order in a list with server-only items 3",
    ),
    smp(
        "mergingIntList: [1, 2, 9, 3, 4]",
        "$setElementOrder/mergingIntList: [2, 1, 4, 3]",
        "mergingIntList: [2, 1, 9, 4, 3]",
        id="set elements order in a int list with server-only items 2",
    ),
    smp(
        """
        mergingList:
          [{name: 1}, {name: 2, value: dup1}, {name: 3}, {name: 2, value: dup2}, {name: 4}]
        """,
        "$setElementOrder/mergingList: [{name: 2}, {name: 1}, {name: 4}, {name: 3}, {name: 2}]",
        """
        mergingList:
          [{name: 2, value: dup1}, {name: 2, value: dup2}, {name: 1}, {name: 4}, {name: 3}]
        """,
        id="behavior of set element order for a merging list with duplicate",
    ),
    smp(
        "retainKeysMap: {name: type1, value: foo}",
        "retainKeysMap: {$retainKeys: [name, other], name: type2, other: bar}",
        "retainKeysMap: {name: type2, other: bar}",
        id="retainKeys map should clear defaulted field (discriminated union)",
    ),
    smp(
        "retainKeysMap: {name: foo, value: bar, other: a}",
        "retainKeysMap: {$retainKeys: [name], value: null}",
        "retainKeysMap: {name: foo}",
        id="retainKeys map deletes a field and clears a field",
    ),
    smp(
        "retainKeysMap: {name: foo, value: bar, simpleMap: {key1: a, key2: b, key3: c}}",
        "retainKeysMap: {$retainKeys: [name, simpleMap, value], simpleMap: {key1: x}}",
        "retainKeysMap: {name: foo, value: bar, simpleMap: {key1: x, key2: b, key3: c}}",
        id="retainKeys map changes a field in a nested map",
    ),
    # not from apimachinery: a `$patch: replace` item needs no merge key, even with an order list
    smp(
        "mergingList: [{name: 1}, {name: 2, value: a}]",
        """
        $setElementOrder/mergingList: [{name: 2}]
        mergingList: [{$patch: replace}, {name: 2}]
        """,
        "mergingList: [{name: 2}]",
        id="replace directive alongside setElementOrder",
    ),
    # TestReplaceWithRawExtension: patchStrategy=replace maps are not merged
    smp(
        "{name: my-object, replacingItem: {Some: Generic, Field: Period}}",
        "replacingItem: {Newly: Modified}",
        "{name: my-object, replacingItem: {Newly: Modified}}",
        id="replace RawExtension field",
    ),
]


@pytest.mark.parametrize(("current", "patch", "expected"), APIMACHINERY_CASES)
def test_strategic_merge_apimachinery_cases(current: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(current)
    assert strategic_merge_patch(current, patch, MERGE_ITEM) == expected
    assert current == before


POD = y("""
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      labels: {app: web, tier: front}
      finalizers: [example.com/a]
      ownerReferences: [{uid: u1, kind: ReplicaSet, name: rs1}]
    spec:
      tolerations: [{key: a, operator: Exists}]
      volumes: [{name: data, emptyDir: {}}]
      containers:
        - name: app
          image: app:v1
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
          ports: [{containerPort: 80, protocol: TCP}]
        - name: sidecar
          image: side:v1
    status:
      conditions:
        - {type: Ready, status: "False"}
        - {type: PodScheduled, status: "True"}
    """)


def pod_case(patch: str, expected_changes: str, id: str) -> Any:
    return pytest.param(y(patch), y(expected_changes), id=id)


def merged(base: Any, changes: Any) -> Any:
    """`base` with each top-level path in `changes` overwritten (test helper, not a patch)."""
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = out
        for part in parents:
            node = node[part]
        if value == "<absent>":
            del node[last]
        else:
            node[last] = value
    return out


POD_CASES = [
    pod_case(
        "spec: {containers: [{name: app, image: app:v2}]}",
        "spec.containers: [{name: app, image: app:v2, env: [{name: A, value: '1'},"
        " {name: B, value: '2'}], ports: [{containerPort: 80, protocol: TCP}]},"
        " {name: sidecar, image: side:v1}]",
        id="containers merged by name (python client dict patch)",
    ),
    pod_case(
        "spec: {containers: [{name: app, env: [{name: B, value: '3'}, {name: C, value: '4'}]}]}",
        "spec.containers: [{name: app, image: app:v1, env: [{name: A, value: '1'},"
        " {name: B, value: '3'}, {name: C, value: '4'}], ports: [{containerPort: 80,"
        " protocol: TCP}]}, {name: sidecar, image: side:v1}]",
        id="env merged by name",
    ),
    pod_case(
        "spec: {containers: [{name: sidecar, $patch: delete}]}",
        "spec.containers: [{name: app, image: app:v1, env: [{name: A, value: '1'},"
        " {name: B, value: '2'}], ports: [{containerPort: 80, protocol: TCP}]}]",
        id="$patch delete on a container",
    ),
    pod_case(
        """
             spec:
               $setElementOrder/containers: [{name: sidecar}, {name: app}]
               containers: [{name: sidecar, image: side:v2}]
             """,
        "spec.containers: [{name: sidecar, image: side:v2}, {name: app, image: app:v1,"
        " env: [{name: A, value: '1'}, {name: B, value: '2'}], ports: [{containerPort: 80,"
        " protocol: TCP}]}]",
        id="kubectl apply $setElementOrder reorders containers",
    ),
    pod_case(
        "spec: {tolerations: [{key: b, operator: Exists}]}",
        "spec.tolerations: [{key: b, operator: Exists}]",
        id="tolerations are atomic",
    ),
    pod_case(
        "metadata: {labels: {tier: null, track: stable}}",
        "metadata.labels: {app: web, track: stable}",
        id="null deletes a map key",
    ),
    pod_case(
        "metadata: {annotations: {gone: null, kept: x}}",
        "metadata.annotations: {kept: x}",
        id="nulls inside a new map are dropped",
    ),
    pod_case(
        "metadata: {finalizers: [example.com/b]}",
        "metadata.finalizers: [example.com/b, example.com/a]",
        id="finalizers merge as a set",
    ),
    pod_case(
        "metadata: {$deleteFromPrimitiveList/finalizers: [example.com/a]}",
        "metadata.finalizers: []",
        id="$deleteFromPrimitiveList finalizers",
    ),
    pod_case(
        "metadata: {$deleteFromPrimitiveList/labels2: [x]}",
        "{}",
        id="$deleteFromPrimitiveList on an absent list is a no-op",
    ),
    pod_case(
        "metadata: {ownerReferences: [{uid: u1, controller: true}]}",
        "metadata.ownerReferences: [{uid: u1, kind: ReplicaSet, name: rs1, controller: true}]",
        id="ownerReferences merged by uid",
    ),
    pod_case(
        "status: {conditions: [{type: Ready, status: 'True'}]}",
        "status.conditions: [{type: Ready, status: 'True'}, {type: PodScheduled, status: 'True'}]",
        id="conditions merged by type",
    ),
    pod_case(
        "spec: {volumes: [{name: data, $retainKeys: [configMap, name], configMap: {name: cm}}]}",
        "spec.volumes: [{name: data, configMap: {name: cm}}]",
        id="$retainKeys drops the old volume source",
    ),
    pod_case(
        "spec: {containers: [{name: app, ports: [{containerPort: 443}]}]}",
        "spec.containers: [{name: app, image: app:v1, env: [{name: A, value: '1'},"
        " {name: B, value: '2'}], ports: [{containerPort: 443}, {containerPort: 80,"
        " protocol: TCP}]}, {name: sidecar, image: side:v1}]",
        id="ports merged by containerPort",
    ),
    pod_case(
        "spec: {containers: [{name: app, $patch: replace}]}",
        "spec.containers: []",
        id="$patch replace marker replaces the whole list",
    ),
    pod_case(
        "spec: {$patch: replace, restartPolicy: Never}",
        "spec: {restartPolicy: Never}",
        id="$patch replace on a map",
    ),
    pod_case(
        "metadata: {labels: {$patch: delete}}",
        "metadata.labels: {}",
        id="$patch delete on a map empties it",
    ),
    pod_case("null", "{}", id="null patch is a no-op"),
]


@pytest.mark.parametrize(("patch", "changes"), POD_CASES)
def test_strategic_merge_pod(patch: Any, changes: Any) -> None:
    original = copy.deepcopy(POD)
    result = apply_patch(original, orjson.dumps(patch), STRATEGIC_MERGE_PATCH, kind="Pod")
    assert result == merged(POD, changes)
    assert original == POD


def test_strategic_merge_absent_map_with_nulls() -> None:
    # apimachinery copies {"x": null} in and Go decoding turns it into x="" (kubernetes#105689).
    pod = {"metadata": {"name": "p"}}
    patch = b'{"metadata": {"labels": {"x": null}}}'
    assert apply_patch(pod, patch, STRATEGIC_MERGE_PATCH, kind="Pod") == {
        "metadata": {"name": "p", "labels": {}}
    }


def test_strategic_merge_deployment_template_and_strategy() -> None:
    deploy = y("""
        kind: Deployment
        metadata: {name: d}
        spec:
          strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}
          template:
            metadata: {labels: {app: d}}
            spec:
              containers: [{name: app, image: v1, env: [{name: A, value: a}]}]
        status:
          conditions: [{type: Available, status: "True"}, {type: Progressing, status: "True"}]
        """)
    patch = y("""
        spec:
          strategy: {$retainKeys: [type], type: Recreate}
          template:
            spec:
              containers: [{name: app, image: v2, env: [{name: B, value: b}]}]
        status:
          conditions: [{type: Available, status: "False"}]
        """)
    result = apply_patch(deploy, orjson.dumps(patch), STRATEGIC_MERGE_PATCH, kind="Deployment")
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["spec"]["template"]["spec"]["containers"] == [
        {
            "name": "app",
            "image": "v2",
            "env": [{"name": "B", "value": "b"}, {"name": "A", "value": "a"}],
        }
    ]
    assert result["status"]["conditions"] == [
        {"type": "Available", "status": "False"},
        {"type": "Progressing", "status": "True"},
    ]


@pytest.mark.parametrize(
    ("kind", "obj", "patch", "expected"),
    [
        pytest.param(
            "Node",
            "status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}",
            "status: {addresses: [{type: Hostname, address: n1}]}",
            "status: {addresses: [{type: Hostname, address: n1},"
            " {type: InternalIP, address: 10.0.0.1}]}",
            id="node addresses by type",
        ),
        pytest.param(
            "Node",
            "spec: {taints: [{key: a, effect: NoSchedule}]}",
            "spec: {taints: [{key: b, effect: NoSchedule}]}",
            "spec: {taints: [{key: b, effect: NoSchedule}]}",
            id="node taints atomic",
        ),
        pytest.param(
            "Service",
            "spec: {ports: [{port: 80, targetPort: 8080}]}",
            "spec: {ports: [{port: 80, targetPort: 9090}]}",
            "spec: {ports: [{port: 80, targetPort: 9090}]}",
            id="service ports by port",
        ),
        pytest.param(
            "Namespace",
            "status: {conditions: [{type: A, status: 'True'}]}",
            "status: {conditions: [{type: B, status: 'True'}]}",
            "status: {conditions: [{type: B, status: 'True'}, {type: A, status: 'True'}]}",
            id="namespace conditions by type",
        ),
        pytest.param(
            "Endpoints",
            "subsets: [{addresses: [{ip: 1.1.1.1}]}]",
            "subsets: [{addresses: [{ip: 2.2.2.2}]}]",
            "subsets: [{addresses: [{ip: 2.2.2.2}]}]",
            id="endpoints subsets atomic",
        ),
        pytest.param(
            "ConfigMap",
            "data: {a: '1', b: '2'}",
            "data: {a: null, c: '3'}",
            "data: {b: '2', c: '3'}",
            id="configmap data merged",
        ),
        pytest.param(
            "Widget",
            "metadata: {finalizers: [a]}, spec: {items: [1, 2]}",
            "metadata: {finalizers: [b]}, spec: {items: [3]}",
            "metadata: {finalizers: [b, a]}, spec: {items: [3]}",
            id="unknown kind keeps ObjectMeta keys, lists atomic",
        ),
    ],
)
def test_strategic_merge_other_kinds(kind: str, obj: str, patch: str, expected: str) -> None:
    wrap = "{%s}"
    result = apply_patch(
        y(wrap % obj), orjson.dumps(y(wrap % patch)), STRATEGIC_MERGE_PATCH, kind=kind
    )
    assert result == y(wrap % expected)


@pytest.mark.parametrize(
    ("current", "patch", "code", "message"),
    [
        pytest.param(
            "mergingList: [{name: 1, value: a}]",
            "mergingList: [{value: b}]",
            500,
            "does not contain declared merge key",
            id="missing merge key",
        ),
        pytest.param(
            "mergingList: [{name: 1}, {name: 3}, {name: 2}]",
            """
                     $setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}]
                     mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]
                     """,
            500,
            "doesn't match",
            id="setElementOrder contradicts the patch list",
        ),
        pytest.param(
            "mergingIntList: [1, 3, 2]",
            """
                     $setElementOrder/mergingIntList: [1, 2, 3]
                     mergingIntList: [3, 1]
                     """,
            500,
            "doesn't match",
            id="setElementOrder contradicts the int list",
        ),
        pytest.param(
            "mergingList: [{name: 1}]",
            "mergingList: [{name: 1, $patch: merge}]",
            500,
            "merging lists cannot yet be specified",
            id="$patch merge in a list",
        ),
        pytest.param(
            "simpleMap: {a: b}",
            "simpleMap: {$patch: merge}",
            500,
            "unknown patch type",
            id="$patch merge in a map",
        ),
        pytest.param(
            "mergingList: [{name: 1}]",
            "mergingList: [{name: 2, $patch: bogus}]",
            500,
            "unknown patch type",
            id="unknown $patch in a list item",
        ),
        pytest.param(
            "mergingIntList: [1]",
            "mergingIntList: [a]",
            500,
            "list element types are not identical",
            id="element types differ",
        ),
        pytest.param(
            "{}",
            "mergingIntList: [[2]]",
            422,
            "lists of lists are not supported",
            id="list of lists",
        ),
        pytest.param(
            "retainKeysMap: {name: a}",
            "retainKeysMap: {$retainKeys: name}",
            400,
            "invalid patch format of retainKeys",
            id="$retainKeys not a list",
        ),
        pytest.param(
            "retainKeysMap: {name: a}",
            "retainKeysMap: {$retainKeys: [name], value: b}",
            400,
            "invalid patch format of retainKeys",
            id="patch key outside $retainKeys",
        ),
        pytest.param(
            "mergingIntList: [1]",
            "$deleteFromPrimitiveListmergingIntList: [1]",
            400,
            "invalid patch format of primitive list",
            id="bad $deleteFromPrimitiveList key",
        ),
        pytest.param(
            "mergingIntList: [1]",
            "$deleteFromPrimitiveList/mergingIntList: 1",
            400,
            "invalid patch format of primitive list",
            id="$deleteFromPrimitiveList not a list",
        ),
        pytest.param(
            "mergingIntList: [1]",
            "$setElementOrdermergingIntList: [1]",
            400,
            "invalid patch format of setElementOrder list",
            id="bad $setElementOrder key",
        ),
    ],
)
def test_strategic_merge_errors(current: str, patch: str, code: int, message: str) -> None:
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch(y(current), y(patch), MERGE_ITEM)
    assert caught.value.code == code
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"[1, 2]", 400, id="array body"),
        pytest.param(b'"str"', 400, id="string body"),
        pytest.param(b"{not json", 400, id="invalid JSON"),
        pytest.param(b"", 400, id="empty body"),
    ],
)
def test_strategic_merge_bad_bodies(body: bytes, code: int) -> None:
    with pytest.raises(PatchError) as caught:
        apply_patch({"a": 1}, body, STRATEGIC_MERGE_PATCH, kind="Pod")
    assert caught.value.code == code
    assert caught.value.reason == "BadRequest"


# --- RFC 7386 appendix A (object-level examples) ---


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="replace member"),
        pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="add member"),
        pytest.param({"a": "b"}, {"a": None}, {}, id="remove member"),
        pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="remove one member"),
        pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="array replaced by string"),
        pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="string replaced by array"),
        pytest.param(
            {"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}, id="nested merge"
        ),
        pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="arrays are replaced"),
        pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="existing null kept"),
        pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="nulls pruned"),
        pytest.param(
            {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}},
            {"spec": {"containers": [{"name": "b", "image": "x"}]}},
            {"spec": {"containers": [{"name": "b", "image": "x"}]}},
            id="merge patch replaces keyed lists too",
        ),
    ],
)
def test_json_merge_patch_rfc7386(original: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(original)
    assert apply_patch(original, orjson.dumps(patch), MERGE_PATCH, kind="Pod") == expected
    assert original == before


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        pytest.param(["c"], 422, id="array replaces the object"),
        pytest.param(None, 400, id="null"),
        pytest.param("bar", 400, id="string"),
    ],
)
def test_json_merge_patch_top_level_types(patch: Any, code: int) -> None:
    with pytest.raises(PatchError) as caught:
        json_merge_patch({"a": "foo"}, patch)
    assert caught.value.code == code


# --- RFC 6902 appendix A, plus kube-apiserver (evanphx/json-patch v4) specifics ---


@pytest.mark.parametrize(
    ("original", "ops", "expected"),
    [
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"baz": "qux", "foo": "bar"},
            id="A.1 add object member",
        ),
        pytest.param(
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
            id="A.2 add array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "remove", "path": "/baz"}],
            {"foo": "bar"},
            id="A.3 remove object member",
        ),
        pytest.param(
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
            id="A.4 remove array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
            id="A.5 replace a value",
        ),
        pytest.param(
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
            id="A.6 move a value",
        ),
        pytest.param(
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
            id="A.7 move an array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
            id="A.8 test success",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
            id="A.10 add nested member",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
            id="A.11 ignore unrecognized elements",
        ),
        pytest.param(
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": 10}],
            {"/": 9, "~1": 10},
            id="A.14 escape ordering",
        ),
        pytest.param(
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
            id="A.16 add an array value",
        ),
        pytest.param(
            {"a": {"b": [1]}},
            [{"op": "copy", "from": "/a", "path": "/c"}],
            {"a": {"b": [1]}, "c": {"b": [1]}},
            id="copy",
        ),
        pytest.param(
            {"a": 1},
            [{"op": "replace", "path": "/b", "value": 2}],
            {"a": 1, "b": 2},
            id="replace of a missing member adds it (evanphx v4)",
        ),
        pytest.param(
            {"a": 1},
            [{"op": "test", "path": "/b", "value": None}],
            {"a": 1},
            id="missing member tests equal to null (evanphx v4)",
        ),
        pytest.param(
            {"l": [1, 2]},
            [{"op": "add", "path": "/l/-1", "value": 3}],
            {"l": [1, 2, 3]},
            id="negative index (evanphx v4)",
        ),
        pytest.param(
            {"n": 1},
            [{"op": "test", "path": "/n", "value": 1.0}],
            {"n": 1},
            id="numbers compare by value",
        ),
        pytest.param(
            {"metadata": {"labels": {"a/b": "x"}}},
            [{"op": "remove", "path": "/metadata/labels/a~1b"}],
            {"metadata": {"labels": {}}},
            id="escaped label key",
        ),
    ],
)
def test_json_patch_rfc6902(original: Any, ops: Any, expected: Any) -> None:
    before = copy.deepcopy(original)
    assert apply_patch(original, orjson.dumps(ops), JSON_PATCH, kind="Pod") == expected
    assert original == before


@pytest.mark.parametrize(
    ("original", "ops", "code", "message"),
    [
        pytest.param(
            {"baz": "qux"},
            [{"op": "test", "path": "/baz", "value": "bar"}],
            422,
            "testing value /baz failed",
            id="A.9 failed test",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz/bat", "value": "qux"}],
            422,
            "doc is missing path",
            id="A.12 add to a nonexistent target",
        ),
        pytest.param(
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": "10"}],
            422,
            "testing value",
            id="A.15 strings are not numbers",
        ),
        pytest.param(
            {"b": True},
            [{"op": "test", "path": "/b", "value": 1}],
            422,
            "testing value",
            id="booleans are not numbers",
        ),
        pytest.param(
            {"a": 1},
            [{"op": "remove", "path": "/b"}],
            422,
            "Unable to remove nonexistent key",
            id="remove a missing member",
        ),
        pytest.param(
            {"a": 1}, [{"op": "frobnicate", "path": "/a"}], 422, "Unexpected kind", id="unknown op"
        ),
        pytest.param({"a": 1}, [{"path": "/a"}], 422, "Unexpected kind: unknown", id="no op"),
        pytest.param({"a": 1}, [{"op": "remove"}], 422, "failed to decode path", id="missing path"),
        pytest.param(
            {"a": 1}, [{"op": "add", "path": "/b"}], 422, "missing its value", id="missing value"
        ),
        pytest.param(
            {"l": [1]},
            [{"op": "add", "path": "/l/5", "value": 1}],
            422,
            "invalid index",
            id="index out of range",
        ),
        pytest.param(
            {"l": [1]},
            [{"op": "replace", "path": "/l/x", "value": 1}],
            422,
            "not a proper array index",
            id="non-numeric index",
        ),
        pytest.param(
            {"a": 1},
            [{"op": "copy", "from": "/x", "path": "/b"}],
            422,
            "nonexistent key",
            id="copy from a missing member",
        ),
        pytest.param(
            {"a": 1},
            [{"op": "replace", "path": "", "value": {}}],
            422,
            "doc is missing path",
            id="whole-document replace",
        ),
        pytest.param({"a": 1}, {"op": "add"}, 400, "cannot unmarshal object", id="not an array"),
        pytest.param({"a": 1}, ["add"], 400, "not an object", id="operation not an object"),
        pytest.param(
            {"a": 1},
            [{"op": "test", "path": "/a", "value": 1}] * (MAX_JSON_PATCH_OPERATIONS + 1),
            413,
            "maximum operations",
            id="too many operations",
        ),
    ],
)
def test_json_patch_errors(original: Any, ops: Any, code: int, message: str) -> None:
    with pytest.raises(PatchError) as caught:
        json_patch(original, ops)
    assert caught.value.code == code
    assert message in str(caught.value)


def test_failed_json_patch_status_matches_apiserver() -> None:
    with pytest.raises(PatchError) as caught:
        apply_patch(
            {"baz": "qux"}, b'[{"op":"test","path":"/baz","value":"bar"}]', JSON_PATCH, kind="Pod"
        )
    status = caught.value.status()
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["message"] == "the server rejected our request due to an error in our request"
    assert status["details"]["causes"] == [
        {"reason": "UnexpectedServerResponse", "message": "testing value /baz failed: test failed"}
    ]


def test_bad_request_status() -> None:
    with pytest.raises(PatchError) as caught:
        apply_patch({}, b"nope", MERGE_PATCH, kind="Pod")
    status = caught.value.status()
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert "details" not in status


@pytest.mark.parametrize(
    "content_type",
    [
        "application/merge-patch+json; charset=utf-8",
        " Application/Merge-Patch+JSON ",
    ],
)
def test_content_type_parameters_are_ignored(content_type: str) -> None:
    assert apply_patch({"a": 1}, b'{"b": 2}', content_type, kind="Pod") == {"a": 1, "b": 2}


@pytest.mark.parametrize("content_type", [APPLY_PATCH, "application/json", "text/plain"])
def test_unsupported_patch_types(content_type: str) -> None:
    assert content_type not in SUPPORTED_PATCH_TYPES
    with pytest.raises(PatchError) as caught:
        apply_patch({"a": 1}, b"{}", content_type, kind="Pod")
    assert (caught.value.code, caught.value.reason) == (415, "UnsupportedMediaType")


def test_supported_patch_types() -> None:
    assert SUPPORTED_PATCH_TYPES == {MERGE_PATCH, JSON_PATCH, STRATEGIC_MERGE_PATCH}


@pytest.mark.parametrize("content_type", sorted(SUPPORTED_PATCH_TYPES))
def test_result_shares_nothing_with_original(content_type: str) -> None:
    original = {"spec": {"containers": [{"name": "a", "env": [{"name": "X"}]}]}}
    body = b'[{"op":"add","path":"/x","value":1}]' if content_type == JSON_PATCH else b'{"x": 1}'
    result = apply_patch(original, body, content_type, kind="Pod")
    result["spec"]["containers"][0]["env"].append({"name": "Y"})
    assert original == {"spec": {"containers": [{"name": "a", "env": [{"name": "X"}]}]}}


def test_schema_tree_reuses_pod_spec() -> None:
    for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        template = PATCH_SCHEMAS[kind].lookup("spec").element
        assert template is not None
        pod_template = template.lookup("template").element
        assert pod_template is not None
        assert pod_template.lookup("spec").element is POD_SPEC
    pod_spec = PATCH_SCHEMAS["Pod"].lookup("spec").element
    assert pod_spec is POD_SPEC
    assert POD_SPEC.lookup("volumes").strategy == {MERGE, RETAIN_KEYS}
    assert POD_SPEC.lookup("tolerations") == FieldSchema()
    for kind in (
        "Pod",
        "Node",
        "Deployment",
        "Service",
        "Endpoints",
        "Namespace",
        "Event",
        "ConfigMap",
        "Secret",
        "Lease",
    ):
        assert kind in PATCH_SCHEMAS
    assert schema_for_kind("NoSuchKind").lookup("metadata").element is not None
