"""The `flow_control` config section: defaults, merge by name, one-line errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.config import ConfigError, parse_settings
from watchproxy.flowcontrol.bootstrap import effective_configuration
from watchproxy.flowcontrol.settings import FlowControlSettings, LevelType, parse_flow_control


def settings_with(flow_control: Any) -> dict[str, Any]:
    return {"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:2379"]}],
            "flow_control": flow_control}  # fmt: skip


def test_defaults_are_kubes_levels() -> None:
    levels, schemas = effective_configuration(FlowControlSettings())
    names = {p.name: p for p in levels}
    assert set(names) == {
        "exempt", "catch-all", "system", "node-high", "leader-election", "workload-high",
        "workload-low", "global-default",
    }  # fmt: skip
    assert names["exempt"].type is LevelType.EXEMPT
    assert (names["workload-low"].nominal_concurrency_shares, names["workload-low"].queues) == (
        100,
        128,
    )
    precedences = [s.matching_precedence for s in schemas]
    assert precedences == sorted(precedences)
    assert schemas[0].name == "exempt" and schemas[-1].name == "catch-all"


def test_a_configured_level_replaces_the_default_of_its_name() -> None:
    fc = parse_flow_control({"priority_levels": [{"name": "global-default", "queues": 8,
                                                  "hand_size": 2}]})  # fmt: skip
    levels, _ = effective_configuration(fc)
    level = next(p for p in levels if p.name == "global-default")
    assert (level.queues, level.hand_size) == (8, 2)
    only_mandatory = effective_configuration(parse_flow_control({"use_suggested": False}))
    assert {p.name for p in only_mandatory[0]} == {"exempt", "catch-all"}


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"bogus": 1}, "flow_control.bogus: unknown field"),
        ({"enabled": "yes"}, "flow_control.enabled: must be true or false"),
        ({"server_concurrency_limit": 0}, "flow_control.server_concurrency_limit: must be"),
        ({"queue_wait_limit_seconds": 120}, "flow_control.queue_wait_limit_seconds: must be"),
        ({"priority_levels": [{"name": "x", "type": "Nope"}]},
         "flow_control.priority_levels[0].type: must be Limited or Exempt"),
        ({"priority_levels": [{"name": "x", "queues": 128, "hand_size": 64}]},
         "flow_control.priority_levels[0].hand_size: 64 of 128 queues needs more than 60 bits"),
        ({"priority_levels": [{"name": "x"}, {"name": "x"}]},
         "flow_control.priority_levels[1].name: 'x' appears twice"),
        ({"priority_levels": [{"name": "exempt", "type": "Limited"}]},
         "flow_control.priority_levels[0].type: the mandatory level 'exempt' stays Exempt"),
        ({"flow_schemas": [{"name": "s", "priority_level": "nowhere"}]},
         "flow_control.flow_schemas[0].priority_level: no priority level named 'nowhere'"),
        ({"flow_schemas": [{"name": "s", "priority_level": "exempt",
                            "distinguisher_method": "ByColour"}]},
         "flow_control.flow_schemas[0].distinguisher_method: must be one of"),
        ({"flow_schemas": [{"name": "s", "priority_level": "exempt",
                            "rules": [{"subjects": [{"kind": "Robot", "name": "r"}],
                                       "non_resource_rules": [{"verbs": ["*"],
                                                               "non_resource_urls": ["*"]}]}]}]},
         "flow_control.flow_schemas[0].rules[0].subjects[0].kind: must be User, Group or"),
        ({"flow_schemas": [{"name": "s", "priority_level": "exempt",
                            "rules": [{"subjects": [{"kind": "User", "name": "u"}],
                                       "resource_rules": [{"verbs": ["get"], "api_groups": [""],
                                                           "resources": ["pods"]}]}]}]},
         "flow_control.flow_schemas[0].rules[0].resource_rules[0]: needs namespaces or"),
    ],
)  # fmt: skip
def test_mistakes_stop_start_up_naming_the_field(section: Any, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(settings_with(section))
    assert str(caught.value).startswith(error)
    assert "\n" not in str(caught.value)


def test_the_section_is_optional() -> None:
    settings = parse_settings(settings_with(None))
    assert settings.flow_control == FlowControlSettings()
    assert parse_settings(settings_with({"enabled": False})).flow_control.enabled is False
