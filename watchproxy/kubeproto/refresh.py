"""Refresh proto/ and the Go-facts tables from upstream k8s.io/api and k8s.io/apimachinery.

A developer tool, never imported by the proxy. Run as

    python -m watchproxy.kubeproto.refresh --api DIR --apimachinery DIR --tag v0.37.0-beta.0 \\
        [k8s.io.api.GROUP.VERSION.Kind ...]

with DIR git clones (or bare mirrors) of github.com/kubernetes/api and kubernetes/apimachinery;
then `python -m watchproxy.etcd.generate` and `ruff format watchproxy/kubeproto`. It keeps every
message proto/ already has, adds the named root messages (new kinds), takes the closure of the
messages they reference, and writes:

- proto/<stem>.proto: each package's kept messages as upstream's generated.proto has them (same
  names, field numbers and order), without comments and options, imports flattened;
- go_facts_core.py / go_facts_groups.py / go_facts_storage.py: per message, the flags of
  kubeproto/go_facts.py derived from the Go struct in the package's *.go files: a field's
  `json:` tag (`omitempty`, its name), whether it is a pointer, and whether it is embedded (an
  anonymous field tagged `json:",inline"` or `json:""`).

It prints the fields whose JSON name is not their protobuf name (go_facts.py's `_JSON_NAMES` is
kept by hand) and the messages without a Go struct (kubeproto/special.py's, by hand too).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE / "proto"

# protobuf package -> (repository, directory in it, flattened file stem).
_API_GROUPS = (
    "admissionregistration/v1 apps/v1 authentication/v1 authorization/v1 autoscaling/v1 "
    "autoscaling/v2 batch/v1 certificates/v1 coordination/v1 core/v1 discovery/v1 events/v1 "
    "flowcontrol/v1 networking/v1 node/v1 policy/v1 rbac/v1 resource/v1 scheduling/v1 "
    "storage/v1 storagemigration/v1"
).split()
PACKAGES: dict[str, tuple[str, str, str]] = {
    "k8s.io.api." + path.replace("/", "."): ("api", path, "k8s_" + path.replace("/", "_"))
    for path in _API_GROUPS
}
for _path, _stem in (
    ("pkg/apis/meta/v1", "k8s_meta_v1"),
    ("pkg/util/intstr", "k8s_intstr"),
    ("pkg/api/resource", "k8s_resource"),
    ("pkg/runtime", "k8s_runtime"),
):
    PACKAGES["k8s.io.apimachinery." + _path.replace("/", ".")] = ("apimachinery", _path, _stem)
# Messages with their own JSON form (kubeproto/special.py): no Go facts.
_SPECIAL_JSON = {"Time", "MicroTime", "FieldsV1", "Duration", "RawExtension", "Quantity"}
# Packages whose messages are not walked: the envelope (runtime.Unknown) and special.py's types.
_NO_FACTS = frozenset(
    {
        "k8s.io.apimachinery.pkg.runtime",
        "k8s.io.apimachinery.pkg.util.intstr",
        "k8s.io.apimachinery.pkg.api.resource",
    }
)
_SCALARS = frozenset(
    "string bytes bool int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 double float".split()
)
_FIELD = re.compile(r"^\s*(optional|repeated|required)\s+(\S+)\s+(\w+)\s*=\s*(\d+)\s*;")
_MAP = re.compile(r"^\s*map<\s*(\S+)\s*,\s*(\S+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")


@dataclass(frozen=True)
class Field:
    """One protobuf field: label `optional`/`repeated`/`map`, fully qualified type names."""

    label: str
    types: tuple[str, ...]  # (type,) or (key type, value type) for a map
    name: str
    number: str

    @property
    def is_message(self) -> bool:
        return self.label == "optional" and self.types[0] not in _SCALARS


@dataclass(frozen=True)
class GoField:
    """One Go struct field with a protobuf tag: its protobuf and JSON names and facts."""

    proto_name: str
    json_name: str
    omitempty: bool
    embedded: bool
    pointer: bool


def parse_proto(text: str, package: str) -> dict[str, list[Field]]:
    """Messages of a generated.proto, in file order, with type names fully qualified."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    messages: dict[str, list[Field]] = {}
    for match in re.finditer(r"^message (\w+) \{(.*?)^\}", text, flags=re.S | re.M):
        fields: list[Field] = []
        for line in filter(str.strip, match.group(2).splitlines()):
            if found := _FIELD.match(line):
                label = "optional" if found.group(1) == "required" else found.group(1)
                fields.append(
                    Field(label, (_qualify(found.group(2), package),), found[3], found[4])
                )
            elif found := _MAP.match(line):
                types = (_qualify(found[1], package), _qualify(found[2], package))
                fields.append(Field("map", types, found[3], found[4]))
            else:
                raise ValueError(f"{package}.{match.group(1)}: cannot parse {line.strip()!r}")
        messages[match.group(1)] = fields
    return messages


def _qualify(name: str, package: str) -> str:
    if name in _SCALARS:
        return name
    return name[1:] if name.startswith(".") else f"{package}.{name}"


def parse_go_structs(sources: Iterable[str]) -> dict[str, list[GoField]]:
    """The protobuf-tagged fields of every `type X struct` in the Go sources."""
    structs: dict[str, list[GoField]] = {}
    for source in sources:
        source = re.sub(r"(?m)^\s*//.*$", "", source)
        for match in re.finditer(r"(?ms)^type (\w+) struct \{(.*?)^\}", source):
            structs[match.group(1)] = [
                field for line in match.group(2).splitlines() if (field := _go_field(line))
            ]
    return structs


def _go_field(line: str) -> GoField | None:
    if "`" not in line:
        return None
    decl, tag = line.strip().split("`", 1)
    parts = decl.split()
    protobuf = re.search(r'protobuf:"([^"]*)"', tag)
    json_tag = re.search(r'json:"([^"]*)"', tag)
    if protobuf is None or json_tag is None or not parts:
        return None
    json_name, *options = json_tag.group(1).split(",")
    go_type = parts[-1]
    embedded = len(parts) == 1 and (not json_name or "inline" in options)
    named = re.search(r"name=(\w+)", protobuf.group(1))
    if named is not None:
        proto_name = named.group(1)
    elif embedded:  # go-to-protobuf names an embedded field after its type
        type_name = go_type.lstrip("*").rpartition(".")[2]
        proto_name = type_name[0].lower() + type_name[1:]
    else:
        return None
    return GoField(proto_name, json_name, "omitempty" in options, embedded, go_type[0] == "*")


def field_flags(field: Field, go: GoField) -> str:
    """kubeproto/go_facts.py's flags (K, P, PK, S, I or none) of one field."""
    if go.embedded:
        return "I"
    if field.label != "optional":
        return "" if go.omitempty else "K"
    if field.is_message:
        if go.pointer:
            return "" if go.omitempty else "K"
        return "S"  # encoding/json writes a struct value even with omitempty
    return ("P" if go.pointer else "") + ("" if go.omitempty else "K")


def closure(parsed: dict[str, dict[str, list[Field]]], roots: Iterable[str]) -> dict[str, set[str]]:
    """The messages reachable from `roots` (full names), by package."""
    keep: dict[str, set[str]] = {}
    todo = list(roots)
    while todo:
        package, _, name = todo.pop().rpartition(".")
        if name in keep.setdefault(package, set()):
            continue
        if name not in parsed[package]:
            raise KeyError(f"{package}.{name} is not in the upstream schema")
        keep[package].add(name)
        for field in parsed[package][name]:
            todo += [t for t in field.types if t not in _SCALARS]
    return keep


def render_proto(package: str, messages: dict[str, list[Field]], keep: set[str], tag: str) -> str:
    """A trimmed proto/ file: header, package, flattened imports, the kept messages."""
    repo, path, _ = PACKAGES[package]
    imports: set[str] = set()
    body: list[str] = []
    for name, fields in messages.items():
        if name not in keep:
            continue
        body.append(f"message {name} {{")
        for field in fields:
            local = []
            for type_name in field.types:
                owner = type_name.rpartition(".")[0]
                if owner == package:
                    type_name = type_name.rpartition(".")[2]
                elif type_name not in _SCALARS:
                    imports.add(PACKAGES[owner][2] + ".proto")
                local.append(type_name)
            spec = f"map<{local[0]}, {local[1]}>" if field.label == "map" else local[0]
            label = "" if field.label == "map" else field.label + " "
            body.append(f"  {label}{spec} {field.name} = {field.number};")
        body += ["}", ""]
    header = [
        f"// Trimmed copy of k8s.io/{repo}/{path}/generated.proto at {tag},",
        "// written by watchproxy/kubeproto/refresh.py. Kept: the messages reachable from the",
        "// kinds watchproxy/kubeproto/decode.py decodes, with package, message and field names",
        "// and field numbers unchanged. Dropped: all other messages, the comments and the Go",
        "// (gogoproto) options. Imports point at the flattened copies in this directory.",
        "",
        'syntax = "proto2";',
        "",
        f"package {package};",
        "",
    ]
    if imports:
        header += [f'import "{name}";' for name in sorted(imports)] + [""]
    return "\n".join(header + body[:-1]) + "\n"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {repo}: {done.stderr.strip()}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", type=Path, required=True, help="a clone of kubernetes/api")
    parser.add_argument("--apimachinery", type=Path, required=True)
    parser.add_argument("--tag", required=True, help="e.g. v0.37.0-beta.0")
    parser.add_argument("roots", nargs="*", help="new root messages, e.g. k8s.io.api.batch.v1.Job")
    args = parser.parse_args(argv)
    repos = {"api": args.api, "apimachinery": args.apimachinery}
    parsed: dict[str, dict[str, list[Field]]] = {}
    for package, (repo, path, _) in PACKAGES.items():
        text = _git(repos[repo], "show", f"{args.tag}:{path}/generated.proto")
        parsed[package] = parse_proto(text, package)
    roots = list(args.roots)
    for package, (_, _, stem) in PACKAGES.items():
        existing = PROTO_DIR / f"{stem}.proto"
        if existing.exists():
            kept = re.findall(r"^message (\w+) \{", existing.read_text(), flags=re.M)
            roots += [f"{package}.{name}" for name in kept]
    keep = closure(parsed, roots)
    tables: dict[str, dict[str, str]] = {"core": {}, "groups": {}, "storage": {}}
    for package, names in sorted(keep.items()):
        repo, path, stem = PACKAGES[package]
        proto_text = render_proto(package, parsed[package], names, args.tag)
        (PROTO_DIR / f"{stem}.proto").write_text(proto_text)
        if package in _NO_FACTS:
            continue
        files = _git(repos[repo], "ls-tree", "--name-only", args.tag, f"{path}/").split()
        structs = parse_go_structs(
            _git(repos[repo], "show", f"{args.tag}:{name}")
            for name in files
            if name.endswith(".go") and not name.endswith("_test.go") and "generated" not in name
        )
        tables[_table_of(package)].update(go_facts(package, parsed[package], names, structs))
    for table_name, table in tables.items():
        _write_table(HERE / f"go_facts_{table_name}.py", table)
    return 0


def go_facts(
    package: str,
    messages: dict[str, list[Field]],
    names: set[str],
    structs: dict[str, list[GoField]],
) -> dict[str, str]:
    """The go_facts table entries of one package's kept messages; prints what needs a hand."""
    table: dict[str, str] = {}
    for name in sorted(names - _SPECIAL_JSON):
        if name not in structs:
            print(f"no Go struct: {package}.{name} (kubeproto/special.py?)", file=sys.stderr)
            continue
        by_proto = {go.proto_name: go for go in structs[name]}
        flags = []
        for field in messages[name]:
            go = by_proto.get(field.name)
            if go is None:
                print(f"no Go field: {package}.{name}.{field.name}", file=sys.stderr)
                continue
            if go.json_name not in ("", "-", field.name):
                print(f"JSON name (go_facts._JSON_NAMES): {package}.{name}.{field.name}")
            if flag := field_flags(field, go):
                flags.append(f"{field.name}:{flag}")
        if flags:
            table[f"{package}.{name}"] = " ".join(flags)
    return table


def _table_of(package: str) -> str:
    if package.startswith(("k8s.io.api.core.", "k8s.io.apimachinery.")):
        return "core"
    storage = ("k8s.io.api.storage.", "k8s.io.api.resource.", "k8s.io.api.storagemigration.")
    return "storage" if package.startswith(storage) else "groups"


def _write_table(path: Path, table: dict[str, str]) -> None:
    # Only the dict's body is rewritten: the module docstring and name stay as they are.
    text = path.read_text()
    start = text.index(": Final[dict[str, str]] = {\n") + len(": Final[dict[str, str]] = {\n")
    end = text.index("\n}\n", start)
    lines: list[str] = []
    for name, flags in sorted(table.items()):
        one = f'    "{name}": "{flags}",'
        if len(one) <= 100:
            lines.append(one)
            continue
        # Too long for one line: implicit concatenation, as ruff format leaves it.
        lines.append(f'    "{name}": (')
        chunk = ""
        for word in flags.split():
            if chunk and len(chunk) + len(word) + 13 > 96:
                lines.append(f'        "{chunk} "')
                chunk = word
            else:
                chunk = f"{chunk} {word}" if chunk else word
        lines += [f'        "{chunk}"', "    ),"]
    path.write_text(text[:start] + "\n".join(lines) + text[end:])


if __name__ == "__main__":
    sys.exit(main())
