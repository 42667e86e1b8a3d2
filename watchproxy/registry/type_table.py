"""The README's table of served types, generated from the registry so it cannot drift.

`python -m watchproxy.registry.type_table` prints the markdown table; `--write` replaces
README.md's section between `<!-- types:begin -->` and `<!-- types:end -->` with it. A unit test
(tests/unit/registry/test_type_table.py) fails while the README differs from the output. It
lives in the registry because its "validation" column is the strategies' (`validation_level`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watchproxy.registry.strategy import validation_level
from watchproxy.resources import Registry, ResourceType

BEGIN = "<!-- types:begin -->"
END = "<!-- types:end -->"
README = Path(__file__).resolve().parents[2] / "README.md"

COLUMNS = (
    "group/version",
    "kind",
    "resource",
    "scope",
    "shortNames",
    "verbs",
    "subresources",
    "validation",
)


ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _row(r: ResourceType) -> list[str]:
    subresources = ", ".join(sorted(r.subresources))
    verbs = "all" if sorted(r.verbs) == sorted(ALL_VERBS) else ", ".join(r.verbs)
    return [
        f"`{r.api_version}`",
        r.kind,
        f"`{r.plural}`",
        "namespaced" if r.namespaced else "cluster",
        ", ".join(r.short_names),
        verbs,
        subresources,
        validation_level(r),
    ]


def markdown(registry: Registry | None = None) -> str:
    """The table (one row per built-in served type, core first, then by group), ending in a
    newline."""
    resources = (registry or Registry()).all
    ordered = sorted(resources, key=lambda r: (r.group != "", r.group, r.version, r.plural))
    lines = [
        f"Verbs `all`: {', '.join(ALL_VERBS)}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in ordered]
    return "\n".join(lines) + "\n"


def replace_section(text: str, table: str) -> str:
    """`text` with the part between the markers replaced by `table`.

    Raises ValueError when a marker is missing or they are out of order."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs {BEGIN} ... {END} around the type table")
    return text[: start + len(BEGIN)] + "\n" + table + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    table = markdown()
    if not args.write:
        sys.stdout.write(table)
        return 0
    text = README.read_text()
    updated = replace_section(text, table)
    if updated != text:
        README.write_text(updated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
