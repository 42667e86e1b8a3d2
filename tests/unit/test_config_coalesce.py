"""`watch_coalesce_window_seconds` (decision 0019): read from the YAML config, 0 allowed (no
coalescing), negative refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from watchproxy.config import ConfigError, Settings, load_settings

BASE = {
    "shards": [{"name": "shard-a", "endpoints": ["http://127.0.0.1:2379"]}],
    "tenants": [{"name": "acme", "shard": "shard-a", "namespaces": ["acme-*"]}],
}


def load(tmp_path: Path, **extra: object) -> Settings:
    path = tmp_path / "watchproxy.yaml"
    path.write_text(yaml.safe_dump({**BASE, **extra}))
    return load_settings(path)


def test_default_and_yaml(tmp_path: Path) -> None:
    assert load(tmp_path).watch_coalesce_window_seconds == 0.02
    assert (
        load(tmp_path, watch_coalesce_window_seconds=0.005).watch_coalesce_window_seconds == 0.005
    )
    assert load(tmp_path, watch_coalesce_window_seconds=0).watch_coalesce_window_seconds == 0


def test_negative_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="watch_coalesce_window_seconds"):
        load(tmp_path, watch_coalesce_window_seconds=-1)
