"""Summaries of py-spy's raw (collapsed) stacks: which functions the samples were in.

    .venv/bin/python -m bench.write_profile STACKS.raw [--top 40]

A raw file has one line per distinct stack, `frame;frame;...;leaf COUNT`, outermost first, each
frame `function (file:line)`. The summary gives, per function (line numbers dropped, paths
shortened to the package), the share of samples with it anywhere on the stack (inclusive,
counted once per stack) and as the leaf (self).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def _frame(frame: str) -> str:
    """`fn (/long/path/site-packages/pkg/mod.py:12)` -> `fn (pkg/mod.py)`."""
    frame = _LINE.sub(")", frame.strip())
    for marker in ("site-packages/", "/watchproxy/", "/lib/python3.11/"):
        head, sep, tail = frame.partition(marker)
        if sep:
            prefix = "watchproxy/" if marker == "/watchproxy/" else ""
            name = head.split(" (", 1)[0]
            return f"{name} ({prefix}{tail}"
    return frame


def summarize(raw: str, *, title: str = "py-spy", top: int = 40) -> str:
    """The text summary of a raw py-spy file's contents."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";") if f]
        total += count
        for name in set(frames):
            inclusive[name] += count
        if frames:
            leaf[frames[-1]] += count
    if not total:
        return f"{title}: no samples\n"
    out = [f"{title}: {total} samples", "", f"inclusive (top {top}):"]
    out += [f"{100 * n / total:6.1f}%  {name}" for name, n in inclusive.most_common(top)]
    ours = [(name, n) for name, n in inclusive.most_common() if "(watchproxy/" in name]
    out += ["", f"inclusive, watchproxy's own functions (top {top}):"]
    out += [f"{100 * n / total:6.1f}%  {name}" for name, n in ours[:top]]
    out += ["", f"self (top {top}):"]
    out += [f"{100 * n / total:6.1f}%  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_profile", description=__doc__)
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    print(summarize(args.raw.read_text(), title=str(args.raw), top=args.top), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
