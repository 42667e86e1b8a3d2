"""api/yaml_body.py parses with libyaml (_CLoader) and falls back to PyYAML's pure parser
(_Loader) for what libyaml refuses: on every body below both give the same object, the same
duplicate-key lines, and a refused body answers the pure parser's words."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from watchproxy.api import yaml_body
from watchproxy.api.status import ApiError
from watchproxy.api.yaml_body import _CLoader, _decode, _Loader, decode_yaml_object, yaml_duplicates

BODIES = [
    b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}}}',
    b'{"a": 1.0, "b": 1e3, "c": -0, "d": "\\u00e9\\n", "e": [true, false, null], "f": {}}',
    b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: |\n    line1\n    line2\n",
    b"a: yes\nb: no\nc: on\nd: off\ne: ~\nf: 0o12\ng: 012\nh: 0x1F\ni: .5\nj: 1e3\nk: 1_000\n",
    b"t: 2026-01-01T00:00:00Z\nd: 2026-01-01\nq: '100m'\nr: 100Mi\ns: \"quoted\"\n",
    b"base: &b {x: 1, y: [1, 2]}\nuse:\n  <<: *b\n  z: 3\nlist: [*b, *b]\n",
    b"bin: !!binary aGVsbG8=\nset: !!set {a, b}\nfloat: !!float 3\nstr: !!str 7\n",
    b"spec:\n  replicas: 1\n  replicas: 2\n  template:\n    metadata: {labels: {a: 1, a: 2}}\n",
    b"- a\n- b\n",
    b"key with spaces: v\n'quoted key': v\n? complex\n: v\n\"\\t\": tab\n",
    b"nested:\n  - name: c\n    ports:\n      - {containerPort: 80, name: http}\n"
    b"      - containerPort: 81\n",
    b"emoji: \xf0\x9f\x98\x80\nlong: " + b"x" * 5000 + b"\n",
    b"",
    b"# only a comment\n",
]  # fmt: skip
REFUSED = [b"a: [1, 2\n", b"a: b: c\n", b"\tkey: v\n", b"a: !!python/object {}\n", b"x: .inf\n"]


def decoded(body: bytes, loader: type[_Loader] | type[_CLoader]) -> Any:
    try:
        return ("ok", _decode(body, loader))
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return ("error", type(exc).__name__)


@pytest.mark.parametrize("body", BODIES)
def test_libyaml_and_pure_python_agree(body: bytes) -> None:
    assert decoded(body, _CLoader) == decoded(body, _Loader)


@pytest.mark.parametrize("body", BODIES)
def test_duplicate_lines_agree(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = yaml_duplicates(body)
    monkeypatch.setattr(yaml_body, "_CLoader", _Loader)
    assert fast == yaml_duplicates(body)


def test_duplicates_are_found_with_their_lines() -> None:
    body = b"spec:\n  replicas: 1\n  replicas: 2\n"
    assert yaml_duplicates(body) == ['line 3: key "replicas" already set in map']


@pytest.mark.parametrize("body", REFUSED)
def test_refused_bodies_answer_the_pure_parsers_words(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ApiError) as fast:
        decode_yaml_object(body)
    monkeypatch.setattr(yaml_body, "_CLoader", _Loader)
    with pytest.raises(ApiError) as pure:
        decode_yaml_object(body)
    assert str(fast.value) == str(pure.value)
