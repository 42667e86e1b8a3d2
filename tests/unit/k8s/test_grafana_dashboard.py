"""k8s/grafana-dashboard.json cannot drift from what watchproxy exports: every PromQL expression
(panel targets and the template variables' queries) references only metric names of a registry
built by watchproxy's own code, as the app builds it (`build_registry` with flow control on).
The name parser is tested on its own, and a dashboard with a misspelt name is refused."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.k8s.manifests import K8S
from watchproxy.config import parse_settings
from watchproxy.flowcontrol.controller import FlowController
from watchproxy.observe.metrics import build_registry
from watchproxy.proxy import Proxy

DASHBOARD = K8S / "grafana-dashboard.json"

# PromQL's functions and aggregations the dashboard may call; an unknown name before "(" is an
# error (a typo such as `rte(` would otherwise be read as a metric name, or slip by).
FUNCTIONS = frozenset(
    {
        "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil",
        "changes", "clamp", "clamp_max", "clamp_min", "count", "count_over_time",
        "count_values", "delta", "deriv", "floor", "group", "histogram_quantile", "idelta",
        "increase", "irate", "label_join", "label_replace", "last_over_time", "max",
        "max_over_time", "min", "min_over_time", "predict_linear", "quantile",
        "quantile_over_time", "rate", "resets", "round", "scalar", "sort", "sort_desc",
        "stddev", "stdvar", "sum", "sum_over_time", "time", "timestamp", "topk", "vector",
    }
)  # fmt: skip
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
# Label lists that follow these words name labels, not metrics.
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?")
# Grafana's templating function: label_values(metric{matchers}, label) or label_values(label).
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<query>.*),)?\s*(?P<label>\w+)\s*\)\s*$")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (Grafana variables allowed)."""
    text = re.sub(r"\$\{?\w+\}?", "VAR", expr)  # $__rate_interval, ${datasource}, $pod
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # string literals (label values)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery durations
    text = _LABEL_LISTS.sub("", text)
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call:
            if name not in FUNCTIONS:
                raise ValueError(f"{expr!r}: unknown PromQL function {name!r}")
        elif name not in KEYWORDS and name != "VAR":
            names.add(name)
    return names


def template_names(query: str) -> set[str]:
    """The metric names of a template variable's query (`label_values(...)` or PromQL)."""
    match = _LABEL_VALUES.match(query)
    if match is None:
        return metric_names(query)
    return metric_names(match.group("query")) if match.group("query") else set()


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, set[str]]]:
    """(where, metric names) of every query in the dashboard."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", metric_names(target["expr"])
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            yield f"variable {variable['name']!r}", template_names(text)


def exported_names() -> set[str]:
    """The sample names /metrics serves, from a registry built as the app builds it."""
    settings = parse_settings({"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:1"]}]})
    metrics = build_registry(Proxy(settings), FlowController(settings.flow_control))
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
        "gauge": ("",),
        "info": ("_info",),
    }
    return {
        family.name + suffix
        for family in metrics.registry.collect()
        for suffix in suffixes[family.type]
    }


def unknown_names(dashboard: dict[str, Any], exported: set[str]) -> list[str]:
    return [
        f"{where}: {name}"
        for where, names in expressions(dashboard)
        for name in sorted(names - exported)
    ]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return exported_names()


def test_every_query_reads_only_exported_metrics(
    dashboard: dict[str, Any], exported: set[str]
) -> None:
    assert unknown_names(dashboard, exported) == []
    for where, names in expressions(dashboard):
        assert names, f"{where} reads no metric"


def test_a_misspelt_metric_is_refused(dashboard: dict[str, Any], exported: set[str]) -> None:
    drifted = copy.deepcopy(dashboard)
    target = next(t for p in panels(drifted) for t in p.get("targets", []))
    target["expr"] = target["expr"].replace("apiserver_request_total", "apiserver_requests_total")
    assert unknown_names(drifted, exported) == [
        f"panel {next(p for p in panels(drifted) if p.get('targets'))['title']!r} A:"
        " apiserver_requests_total"
    ]


def test_the_dashboard_covers_the_operators_questions(dashboard: dict[str, Any]) -> None:
    """The metrics every panel group is built on are all read somewhere."""
    read = {name for _where, names in expressions(dashboard) for name in names}
    wanted = {
        "apiserver_request_total",  # request rate by verb and code
        "apiserver_request_duration_seconds_bucket",  # latency p99 by verb
        "apiserver_longrunning_requests",
        "apiserver_registered_watchers",
        "apiserver_watch_events_total",
        "apiserver_storage_objects",
        "watchproxy_shard_revision_lag",
        "watchproxy_watch_cache_history_bytes",
        "watchproxy_etcd_watch_restarts_total",
        "apiserver_flowcontrol_current_inqueue_requests",
        "apiserver_flowcontrol_current_executing_seats",
        "apiserver_flowcontrol_rejected_requests_total",
        "apiserver_flowcontrol_request_wait_duration_seconds_bucket",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    }
    assert wanted - read == set()


def test_quantiles_keep_the_bucket_label(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if "histogram_quantile" in target["expr"]:
                assert re.search(r"by \([^)]*\ble\b", target["expr"]), target["expr"]
                assert "_bucket" in target["expr"], target["expr"]


def test_panels_are_laid_out_and_use_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert dashboard["uid"] == "watchproxy"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        taken = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not taken & cells, f"{panel['title']!r} overlaps another panel"
        cells |= taken
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            # Every query is scoped to the chosen namespace and pods (other apiservers'
            # apiserver_* series in the same Prometheus stay out).
            assert 'namespace="$namespace"' in target["expr"], target["expr"]
            assert 'pod=~"$pod"' in target["expr"], target["expr"]


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        pytest.param(
            'sum by (verb, code) (rate(apiserver_request_total{namespace="$namespace"}'
            "[$__rate_interval]))",
            {"apiserver_request_total"},
            id="aggregation, matchers and a Grafana interval",
        ),
        pytest.param(
            "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
            {"x_bucket"},
            id="number arguments and the le label",
        ),
        pytest.param(
            'sum(rate(a_total{code=~"5.."}[1m])) / sum(rate(a_total[1m])) > bool 0.5',
            {"a_total"},
            id="binary operators and bool",
        ),
        pytest.param(
            "max(b) by (shard) - on (shard) group_left (pod) c offset 5m",
            {"b", "c"},
            id="trailing by, vector matching and offset",
        ),
        pytest.param('d{label="rate(e)"}', {"d"}, id="a function call inside a label value"),
        pytest.param("1e3 * f", {"f"}, id="exponent numbers"),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_an_unknown_function_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown PromQL function 'rte'"):
        metric_names("sum(rte(apiserver_request_total[5m]))")


def test_template_queries() -> None:
    assert template_names('label_values(watchproxy_shard_revision{namespace="x"}, pod)') == {
        "watchproxy_shard_revision"
    }
    assert template_names("label_values(namespace)") == set()
    assert template_names("up") == {"up"}
