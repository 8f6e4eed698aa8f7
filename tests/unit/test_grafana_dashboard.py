"""The Grafana dashboard, its provisioning, Prometheus's scrape config and the `monitoring`
profile of docker-compose.yml agree with each other and with the metrics the code registers.

A metric renamed in bot/core/metrics.py (or a connector) without the dashboard, a panel on a
datasource Grafana does not have, or a mount of a file that is not in the repository fails
here: Docker cannot run on the development machines, so the files are checked, not started.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import bot.core.metrics  # registers the core's metrics
import bot.runtime.gateway  # noqa: F401 (serves /metrics: what it registers, Prometheus sees)
import connectors
from bot.config import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD_FILE = GRAFANA / "dashboards" / "lotsen.json"
DATASOURCES_FILE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS_FILE = GRAFANA / "provisioning" / "dashboards" / "lotsen.yml"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
MONITORING = ("prometheus", "grafana")

# The series names prometheus_client exposes for each metric type (`_created` left out: a
# dashboard has no use for it).
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum"),
            "summary": ("", "_count", "_sum"), "info": ("_info",), "stateset": ("",),
            "gaugehistogram": ("_bucket", "_gcount", "_gsum"), "unknown": ("",)}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^}]*\}")
RANGE = re.compile(r"\[[^\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
VARIABLE = re.compile(r"\$\{?\w+\}?")
IDENTIFIER = re.compile(r"(?<![\w.:])[A-Za-z_:][\w:]*+(?!\s*\()")  # not a function


def registered_metrics() -> set[str]:
    """Every series name the gateway's registry exposes, after importing the metric
    definitions in the core and in every connector module."""
    for module in pkgutil.iter_modules(connectors.__path__):
        importlib.import_module(f"connectors.{module.name}")
    return {family.name + suffix for family in REGISTRY.collect()
            for suffix in SUFFIXES[family.type]}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label
    matchers, ranges, grouping labels, Grafana variables, functions and keywords are gone."""
    text = STRING.sub(" ", expr)
    text = MATCHERS.sub(" ", text)
    text = RANGE.sub(" ", text)
    text = GROUPING.sub(" ", text)
    text = VARIABLE.sub(" ", text)
    return {name for name in IDENTIFIER.findall(text) if name.lower() not in PROMQL_WORDS}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in panels(dashboard)
            for target in panel.get("targets", [])]


def unknown_metrics(dashboard: dict[str, Any], registered: set[str]) -> list[str]:
    """`panel title: metric` for each metric the dashboard reads that the code does not expose."""
    return [f"{title}: {name}" for title, expr in expressions(dashboard)
            for name in sorted(metric_names(expr)) if name not in registered]


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return dashboard


def provisioned_datasource() -> dict[str, Any]:
    sources = yaml.safe_load(DATASOURCES_FILE.read_text())["datasources"]
    assert len(sources) == 1, "one datasource: the dashboard names it by uid"
    source: dict[str, Any] = sources[0]
    return source


def bind_mounts(service: str) -> dict[str, tuple[Path, str]]:
    """Container path -> (path in the repository, options) for a service's bind mounts."""
    mounts = {}
    for volume in COMPOSE["services"][service]["volumes"]:
        source, target, *options = volume.split(":")
        if source.startswith("./"):
            mounts[target] = (ROOT / source, ",".join(options))
    return mounts


def test_the_expression_parser_finds_metrics_and_nothing_else() -> None:
    expr = ('histogram_quantile(0.95, sum by (team, le) (rate(lotsen_lead_time_to_claim_seconds'
            '_bucket{team=~"a|b", job="x"}[$__rate_interval] offset 5m))) / on(team) '
            'group_left sum(increase(lotsen_messages_total[1h])) by (channel) * 1e3 '
            '+ max without (instance) (lotsen_leads_waiting) and up')
    assert metric_names(expr) == {"lotsen_lead_time_to_claim_seconds_bucket",
                                  "lotsen_messages_total", "lotsen_leads_waiting", "up"}


def test_the_registry_names_counters_with_total_and_histograms_with_buckets() -> None:
    registered = registered_metrics()
    assert {"lotsen_messages_total", "lotsen_nlu_latency_seconds_bucket",
            "lotsen_nlu_latency_seconds_count", "lotsen_leads_waiting",
            "lotsen_delivery_failures_total", "lotsen_sms_segments_total"} <= registered
    assert "lotsen_messages" not in registered and "lotsen_nlu_latency_seconds" not in registered


def test_every_metric_on_the_dashboard_is_one_the_code_registers() -> None:
    dashboard = load_dashboard()
    assert len(expressions(dashboard)) >= 20
    for title, expr in expressions(dashboard):
        assert {n for n in metric_names(expr) if n.startswith("lotsen_")}, (title, expr)
    assert unknown_metrics(dashboard, registered_metrics()) == []


@pytest.mark.parametrize("renamed", ["lotsen_fallbacks_total", "lotsen_leads_waiting",
                                     "lotsen_nlu_latency_seconds_bucket"])
def test_a_metric_renamed_on_either_side_is_caught(renamed: str) -> None:
    dashboard, registered = load_dashboard(), registered_metrics()
    assert any(renamed in expr for _, expr in expressions(dashboard)), renamed
    assert unknown_metrics(dashboard, registered - {renamed})  # renamed in the code
    changed = copy.deepcopy(dashboard)  # renamed in a copy of the dashboard
    for panel in panels(changed):
        for target in panel.get("targets", []):
            target["expr"] = target["expr"].replace(renamed, renamed.replace("lotsen_", "lotse_"))
    assert unknown_metrics(changed, registered)


def test_the_dashboard_covers_the_product_metrics() -> None:
    """Spec §8's /metrics list and the issue's engineer view: each has a panel."""
    read = set().union(*(metric_names(expr) for _, expr in expressions(load_dashboard())))
    assert {"lotsen_messages_total", "lotsen_fallbacks_total",
            "lotsen_nlu_latency_seconds_bucket", "lotsen_leads_waiting",
            "lotsen_leads_over_sla", "lotsen_lead_time_to_claim_seconds_bucket",
            "lotsen_bookings_total", "lotsen_delivery_statuses_total",
            "lotsen_delivery_failures_total", "lotsen_campaign_messages",
            "lotsen_not_understood_share", "lotsen_nlu_replicas",
            "lotsen_redis_memory_ratio"} <= read


def test_every_panel_uses_the_provisioned_datasource_and_has_a_title_and_unit() -> None:
    dashboard, uid = load_dashboard(), provisioned_datasource()["uid"]
    assert uid == "lotsen-prometheus"
    assert 36 <= dashboard["schemaVersion"] <= 41  # Grafana 10 to 12
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels(dashboard):
        assert panel.get("title"), panel["id"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == uid, panel["title"]


def test_monitoring_runs_only_with_its_profile_on_pinned_images() -> None:
    services = COMPOSE["services"]
    for name in MONITORING:
        assert services[name]["profiles"] == ["monitoring"], name
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name}: pin {image}"
    app = [name for name in services if name not in MONITORING]
    assert {"redis", "rasa", "gateway", "worker", "lb"} <= set(app)
    for name in app:  # a plain `docker compose up` still starts all of Lotsen
        assert "profiles" not in services[name], name


def test_mounted_files_exist_read_only() -> None:
    for name in MONITORING:
        mounts = bind_mounts(name)
        assert mounts, name
        for target, (source, options) in mounts.items():
            assert source.exists(), f"{name}: {source.relative_to(ROOT)} ({target})"
            assert options == "ro", f"{name}: mount {target} read-only"


def test_grafana_provisioning_matches_the_mounts() -> None:
    mounts = bind_mounts("grafana")
    assert mounts["/etc/grafana/provisioning"][0] == GRAFANA / "provisioning"
    providers = yaml.safe_load(PROVIDERS_FILE.read_text())["providers"]
    for provider in providers:
        assert provider["type"] == "file"
        folder = mounts[provider["options"]["path"]][0]
        assert (folder / DASHBOARD_FILE.name).samefile(DASHBOARD_FILE)
    environment = COMPOSE["services"]["grafana"]["environment"]
    home = environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{providers[0]['options']['path']}/{DASHBOARD_FILE.name}"


def test_grafana_has_no_anonymous_access_and_no_fixed_password() -> None:
    grafana = COMPOSE["services"]["grafana"]
    environment = grafana["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert re.fullmatch(r"\$\{[A-Z_]+:-[^}]*\}", environment["GF_SECURITY_ADMIN_PASSWORD"])
    assert all(port.startswith("127.0.0.1:") for port in grafana["ports"]), "this machine only"


def test_the_datasource_reaches_prometheus() -> None:
    prometheus = COMPOSE["services"]["prometheus"]
    url = provisioned_datasource()["url"]
    assert url == f"http://prometheus:{prometheus['expose'][0]}"
    config = bind_mounts("prometheus")["/etc/prometheus/prometheus.yml"][0]
    assert config == ROOT / "deploy" / "prometheus" / "prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def test_prometheus_scrapes_what_serves_metrics() -> None:
    """Every gateway replica (Docker's DNS gives one address per replica) on the port the
    gateway listens on; the worker serves no /metrics (bot/runtime/worker.py)."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    services = COMPOSE["services"]
    scraped = set()
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for discovery in job["dns_sd_configs"]:
            for name in discovery["names"]:
                assert str(discovery["port"]) in services[name]["expose"], name
                scraped.add(name)
    assert scraped == {"gateway"}
    assert services["gateway"]["environment"]["LOTSEN_PORT"] in services["gateway"]["expose"]
