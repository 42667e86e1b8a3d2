"""The README's served-types table is the generated one (watchproxy/registry/type_table.py)."""

from __future__ import annotations

import pytest

from watchproxy.registry import type_table as table
from watchproxy.resources import Registry, ResourceType


def test_readme_table_matches_the_registry() -> None:
    text = table.README.read_text()
    assert table.replace_section(text, table.markdown()) == text, (
        "README.md's served-types table is stale:"
        " run `python -m watchproxy.registry.type_table --write`"
    )


def test_table_rows() -> None:
    out = table.markdown()
    assert (
        "| `apps/v1` | Deployment | `deployments` | namespaced | deploy | all | scale, status |"
        in out
    )
    namespaces = "create, delete, get, list, patch, update, watch | finalize, status | kube |"
    assert "| `v1` | Namespace | `namespaces` | cluster | ns | " + namespaces in out
    assert "| `autoscaling/v1` | HorizontalPodAutoscaler | `horizontalpodautoscalers` |" in out
    # One row per served type, plus the verbs note, a blank line, the header and the rule.
    assert len(out.splitlines()) == len(Registry().all) + 4


def test_validation_column_comes_from_validation_level(monkeypatch: pytest.MonkeyPatch) -> None:
    def level(resource: ResourceType) -> str:
        return "kube" if resource.kind == "Pod" else "schema"

    monkeypatch.setattr(table, "validation_level", level)
    assert "| `v1` | Pod | `pods` | namespaced | po | all | binding, eviction, status | kube |" in (
        table.markdown()
    )


def test_replace_section_needs_both_markers() -> None:
    with pytest.raises(ValueError, match="types:begin"):
        table.replace_section("no markers here", "| t |\n")
    text = f"a\n{table.BEGIN}\nold\n{table.END}\nb\n"
    assert table.replace_section(text, "new\n") == f"a\n{table.BEGIN}\nnew\n{table.END}\nb\n"
