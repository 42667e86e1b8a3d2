"""The comparison behind managedFields (fieldmanager/walk.py) skips subtrees equal in both
objects without walking them, and still tells `true` from `1` (value.Equals) where Python's
`==` does not; 1 and 1.0 stay equal."""

from __future__ import annotations

import copy
from typing import Any

from watchproxy.registry.fieldmanager.typed import DEDUCED_ATOM
from watchproxy.registry.fieldmanager.walk import compare

OBJ: dict[str, Any] = {
    "spec": {"a": {"x": True, "n": 1}, "list": [{"k": 1}, {"k": 2}]},
    "status": {"phase": "Pending"},
}


def test_equal_copies_compare_same() -> None:
    assert compare(OBJ, copy.deepcopy(OBJ), DEDUCED_ATOM).same()


def test_a_change_beside_equal_subtrees_is_found() -> None:
    new = copy.deepcopy(OBJ)
    new["status"]["phase"] = "Running"
    result = compare(OBJ, new, DEDUCED_ATOM)
    assert "f:status" in result.modified
    assert "f:spec" not in result.modified and not result.added and not result.removed


def test_true_and_1_differ_though_python_says_equal() -> None:
    new = copy.deepcopy(OBJ)
    new["spec"]["a"]["x"] = 1
    assert new == OBJ  # Python's view
    result = compare(OBJ, new, DEDUCED_ATOM)
    assert not result.same()
    assert "f:spec" in result.modified


def test_1_and_1_0_are_equal() -> None:
    new = copy.deepcopy(OBJ)
    new["spec"]["a"]["n"] = 1.0
    assert compare(OBJ, new, DEDUCED_ATOM).same()
