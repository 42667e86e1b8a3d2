"""Bad configuration stops start-up with one line that names the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from watchproxy.config import ConfigError, parse_settings

GOOD: dict[str, Any] = {
    "listen": "127.0.0.1:8080",
    "shards": [
        {"name": "shard-a", "endpoints": ["http://127.0.0.1:2379"]},
        {"name": "shard-b", "endpoints": ["http://127.0.0.1:22379"]},
    ],
    "tenants": [
        {"name": "acme", "shard": "shard-a", "namespaces": ["acme-*"]},
        {"name": "globex", "shard": "shard-b", "namespaces": ["globex-*", "gx"]},
    ],
    "default_shard": "shard-a",
}


def test_issue_example_is_a_working_config() -> None:
    settings = parse_settings(GOOD)
    assert settings.port == 8080 and settings.history_size > 0


def mutate(path: str, value: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(
            "tenants.0.shard",
            "shard-z",
            "tenants[0].shard: unknown shard 'shard-z'",
            id="unknown shard",
        ),
        pytest.param(
            "tenants.1.namespaces",
            ["globex-*", "acme-x"],
            "tenants[1].namespaces:",
            id="namespace matched by two tenants",
        ),
        pytest.param(
            "shards.1.endpoints",
            ["127.0.0.1:22379"],
            "shards[1].endpoints[0]:",
            id="endpoint without scheme",
        ),
        pytest.param(
            "shards.1.endpoints",
            ["http://127.0.0.1:99999"],
            "shards[1].endpoints[0]:",
            id="endpoint port out of range",
        ),
        pytest.param("shards.0.endpoints", [], "shards[0].endpoints:", id="no endpoints"),
        pytest.param("shards.0.bogus", 1, "shards[0].bogus: unknown field", id="unknown shard key"),
        pytest.param("tenant", [], "tenant: unknown field", id="unknown top-level key"),
        pytest.param("default_shard", "nope", "default_shard: unknown shard", id="bad default"),
        pytest.param("listen", "nowhere", "listen:", id="bad listen"),
        pytest.param("history_size", 0, "history_size: must be a positive number", id="bad size"),
        pytest.param(
            "watcher_queue_max_bytes",
            0,
            "watcher_queue_max_bytes: must be a positive number",
            id="bad watcher queue bytes",
        ),
        pytest.param(
            "max_header_bytes",
            10,
            "max_header_bytes: must be at least 4096",
            id="max_header_bytes makes every request 431",
        ),
        pytest.param("shards.1.name", "shard-a", "shards[1].name: duplicate", id="duplicate shard"),
        pytest.param("shards", DELETE, "shards: at least one shard is required", id="no shards"),
        pytest.param(
            "shutdown_delay_seconds", -1, "shutdown_delay_seconds: must be", id="negative delay"
        ),
        pytest.param(
            "shutdown_delay_seconds", "5s", "shutdown_delay_seconds: must be", id="delay unit"
        ),
        pytest.param(
            "shutdown_delay_seconds",
            float("inf"),
            "shutdown_delay_seconds: must be at most",
            id="infinite delay",
        ),
    ],
)
def test_bad_config_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(mutate(path, value))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(mutate("tenants.0.shard", "shard-z")))
    result = subprocess.run(
        [sys.executable, "-m", "watchproxy", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "watchproxy: tenants[0].shard: unknown shard 'shard-z'"
    ]


def test_cli_unreachable_shard_names_it(tmp_path: Path) -> None:
    data = mutate("shards.1.endpoints", ["http://127.0.0.1:9"])  # nothing listens on port 9
    data["connect_timeout_seconds"] = 1
    config = tmp_path / "unreachable.yaml"
    config.write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, "-m", "watchproxy", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("watchproxy: shards[")
    assert "etcd not reachable" in lines[0]


@pytest.mark.parametrize(
    ("version", "trusted"),
    [
        ("3.5.1", False),
        ("3.5.12", False),
        ("3.5.13", True),
        ("3.4.30", False),
        ("3.4.31", True),
        ("3.6.0", True),
        ("3.6.0-alpha.0", True),
        ("garbage", False),
    ],
)
def test_requested_progress_trust_by_etcd_version(version: str, trusted: bool) -> None:
    from watchproxy.shard import progress_request_is_ordered

    assert progress_request_is_ordered(version) is trusted


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"bookmark_interval_seconds": float("nan")}, "bookmark_interval_seconds"),
        ({"freshness_timeout_seconds": float("inf")}, "freshness_timeout_seconds"),
        ({"controllers": {"renew_deadline_seconds": float("nan")}}, "controllers.renew_deadline"),
        ({"controllers": {"lease_duration_seconds": 99999999999}}, "controllers.lease_duration"),
    ],
)
def test_nan_infinite_and_out_of_range_durations_stop_start_up(
    extra: dict[str, object], field: str
) -> None:
    data = {"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:2379"]}], **extra}
    with pytest.raises(ConfigError) as info:
        parse_settings(data)
    assert str(info.value).startswith(field)


def test_shutdown_delay_defaults_to_5_and_may_be_0() -> None:
    assert parse_settings(mutate("history_size", 10)).shutdown_delay_seconds == 5.0
    assert parse_settings(mutate("shutdown_delay_seconds", 0)).shutdown_delay_seconds == 0.0
    assert parse_settings(mutate("shutdown_delay_seconds", 1.5)).shutdown_delay_seconds == 1.5
