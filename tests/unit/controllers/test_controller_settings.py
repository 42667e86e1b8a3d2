"""The `controllers:` config section: defaults are kube-controller-manager's, and a bad value
stops start-up with one line naming the field (config.py)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.config import ConfigError, ControllerSettings, parse_settings

SHARDS = {"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:2379"]}]}


def test_defaults_are_kube_controller_managers() -> None:
    assert parse_settings(SHARDS).controllers == ControllerSettings(
        namespace=True,
        garbage_collector=True,
        lease_duration_seconds=15,
        renew_deadline_seconds=10.0,
        retry_period_seconds=2.0,
    )


def test_switches_and_durations_are_read() -> None:
    got = parse_settings(
        {
            **SHARDS,
            "controllers": {
                "namespace": False,
                "lease_duration_seconds": 3,
                "renew_deadline_seconds": 2,
                "retry_period_seconds": 0.5,
            },
        }
    ).controllers
    assert (got.namespace, got.garbage_collector) == (False, True)
    assert (got.lease_duration_seconds, got.renew_deadline_seconds) == (3, 2.0)
    assert got.retry_period_seconds == 0.5


@pytest.mark.parametrize(
    ("section", "message"),
    [
        pytest.param([], "controllers: must be a mapping", id="not a mapping"),
        pytest.param({"namespaces": True}, "controllers.namespaces: unknown field", id="typo"),
        pytest.param(
            {"garbage_collector": "yes"},
            "controllers.garbage_collector: must be true or false",
            id="switch not a bool",
        ),
        pytest.param(
            {"lease_duration_seconds": 1.5},
            "controllers.lease_duration_seconds: must be a whole number from 1 to 2147483647",
            id="lease duration not whole seconds",
        ),
        pytest.param(
            {"retry_period_seconds": 0},
            "controllers.retry_period_seconds: must be a positive number",
            id="zero retry period",
        ),
        pytest.param(
            {"lease_duration_seconds": 10},
            "controllers.renew_deadline_seconds: 10 must be less than lease_duration_seconds",
            id="renew deadline not under the lease duration",
        ),
        pytest.param(
            {"retry_period_seconds": 9},
            "controllers.retry_period_seconds: 9 x 1.2 must be less than renew_deadline_seconds",
            id="retry period x jitter not under the renew deadline",
        ),
    ],
)
def test_bad_controllers_section_names_the_field(section: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({**SHARDS, "controllers": section})
    assert message in str(info.value)
    assert "\n" not in str(info.value)
