"""k8s/: the termination timings of the Deployment and the ConfigMap's config fit together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from watchproxy.config import Settings

K8S = Path(__file__).resolve().parents[2] / "k8s"


def load(name: str) -> Any:
    return yaml.safe_load((K8S / name).read_text())


def test_shutdown_timings_fit_in_the_grace_period() -> None:
    config = yaml.safe_load(load("configmap.yaml")["data"]["config.yaml"])
    assert "shutdown_delay_seconds" in Settings.__dataclass_fields__
    delay = float(config["shutdown_delay_seconds"])
    assert delay > 0
    pod = load("deployment.yaml")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    graceful_requests = 2  # serving/server.py graceful_shutdown_seconds
    budget = float(pre_stop[1]) + delay + graceful_requests
    assert budget + 3 <= pod["terminationGracePeriodSeconds"]
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
