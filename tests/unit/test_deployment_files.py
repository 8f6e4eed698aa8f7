"""docker-compose.yml, the Dockerfiles and .env.example agree with each other and the code.
(Docker cannot run on the development machines, so the file is checked, not started.)"""

from __future__ import annotations

import re
from dataclasses import fields

import yaml

from bot.config import ROOT, Settings

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
    if line and not line.startswith("#"))
SETTINGS_VARS = {f"LOTSEN_{f.name.upper()}" for f in fields(Settings)}
SCRIPT_VARS = {"LOTSEN_NLU_PORT"}  # read by scripts/run.py, not by the services


def test_has_the_five_services_each_with_image_or_build() -> None:
    services = COMPOSE["services"]
    app = {name for name, service in services.items() if "profiles" not in service}
    assert app == {"redis", "rasa", "gateway", "worker", "lb"}
    assert set(services) - app == {"prometheus", "grafana"}  # profile `monitoring`
    for name, service in services.items():
        assert "image" in service or "build" in service, name


def test_build_files_exist() -> None:
    for service in COMPOSE["services"].values():
        build = service.get("build")
        if build is None:
            continue
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile",
                                                                             "Dockerfile")
        assert (context / dockerfile).exists(), dockerfile


def test_redis_keeps_an_append_only_file() -> None:
    command = COMPOSE["services"]["redis"]["command"]
    assert "--appendonly" in command and command[command.index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in COMPOSE["services"]["redis"]["volumes"])


def test_redis_has_a_memory_limit_and_never_evicts() -> None:
    command = COMPOSE["services"]["redis"]["command"]
    assert command[command.index("--maxmemory") + 1].endswith("mb")
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_every_variable_is_documented_and_known() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    referenced = set(re.findall(r"\$\{(\w+)", text))
    for service in COMPOSE["services"].values():
        referenced |= set(service.get("environment", {}))
    lotsen = {v for v in referenced if v.startswith("LOTSEN_")}
    assert lotsen <= set(ENV_EXAMPLE), lotsen - set(ENV_EXAMPLE)
    assert lotsen <= SETTINGS_VARS, lotsen - SETTINGS_VARS
    assert set(ENV_EXAMPLE) <= SETTINGS_VARS | SCRIPT_VARS, set(ENV_EXAMPLE) - SETTINGS_VARS


def test_env_example_defaults_are_the_code_defaults() -> None:
    defaults = Settings()
    for var, value in ENV_EXAMPLE.items():
        if var in SCRIPT_VARS or value == "":
            continue
        field = var.removeprefix("LOTSEN_").lower()
        assert str(getattr(defaults, field)) == value, var


def test_the_load_balancer_publishes_the_port_and_reaches_the_gateways() -> None:
    gateway, lb = COMPOSE["services"]["gateway"], COMPOSE["services"]["lb"]
    container_port = gateway["environment"]["LOTSEN_PORT"]
    assert "ports" not in gateway  # several replicas: only the load balancer publishes a port
    assert container_port in gateway["expose"]
    assert lb["ports"] == [f"${{LOTSEN_PORT:-{ENV_EXAMPLE['LOTSEN_PORT']}}}:8080"]
    mount = next(v for v in lb["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro"))
    nginx = (ROOT / mount.split(":")[0]).read_text()
    assert f"server gateway:{container_port} resolve" in nginx and "listen 8080;" in nginx
    assert "proxy_buffering off" in nginx  # the staff event stream (SSE)


def test_rasa_and_gateways_scale_with_replicas() -> None:
    services = COMPOSE["services"]
    assert services["rasa"]["deploy"]["replicas"] >= 2
    assert services["gateway"]["deploy"]["replicas"] >= 2
    gateway_env = services["gateway"]["environment"]
    assert gateway_env["LOTSEN_RASA_URL"].endswith(":5005")
    assert gateway_env["LOTSEN_RASA_RESOLVE"] == "true"
    assert "5005" in services["rasa"]["expose"]
