"""docker-compose.yaml and the Dockerfile: valid for a real compose implementation, and in
agreement with the settings class, the app's ports and health paths, and the monitoring files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from hybridcrew.platform.cli import app as cli
from hybridcrew.platform.reference import settings_env_names
from hybridcrew.settings import Settings
from tests.deploy.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yaml"
OWN_IMAGE = "hybridcrew:latest"
STACK = {"gateway", "worker", "redis", "qdrant", "ollama", "ollama-init", "prometheus", "grafana"}


def _compose(*args: str) -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("needs docker-compose: apt-get install docker-compose")
    # The documented example, not a developer's .env or shell, fills in the variables.
    done = subprocess.run([binary, "--project-directory", str(ROOT), "--env-file",
                           str(ROOT / ".env.example"), "-f", str(COMPOSE), *args],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The file as compose understands it (anchors merged, variables filled in)."""
    config: dict[str, Any] = yaml.safe_load(_compose("config"))
    return config


def _ours(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in resolved["services"].items() if s.get("image") == OWN_IMAGE}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Target → source of a service's volumes (compose 1.29 prints ``source:target:mode``)."""
    return {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}


def _port(url: str) -> int:
    port = urlparse(url).port
    assert port is not None, url
    return port


def _health_url(service: dict[str, Any]) -> str:
    found = re.search(r"https?://[^'\" ]+", " ".join(service["healthcheck"]["test"]))
    assert found, service["healthcheck"]
    return found.group(0)


def test_the_stack_validates_with_and_without_the_gpu_profile(resolved: dict[str, Any]) -> None:
    default = {name for name, s in resolved["services"].items() if not s.get("profiles")}
    assert default == STACK
    assert resolved["services"]["ollama-gpu"]["profiles"] == ["gpu"]
    gpu = yaml.safe_load(_compose("--profile", "gpu", "config"))["services"]["ollama-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


def test_every_variable_our_services_get_is_a_setting(resolved: dict[str, Any]) -> None:
    known = settings_env_names()
    for name, service in _ours(resolved).items():
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} sets variables the settings class does not read: {unknown}"


def test_ports_and_health_paths_match_the_app(resolved: dict[str, Any],
                                              app_paths: set[str]) -> None:
    gateway = resolved["services"]["gateway"]
    port = int(gateway["environment"]["HYBRIDCREW_API_PORT"])
    assert port == Settings.model_fields["api_port"].default
    assert [p["target"] for p in gateway["ports"]] == [port]
    health = _health_url(gateway)
    assert (_port(health), urlparse(health).path) == (port, "/healthz")
    assert "/healthz" in app_paths
    worker = resolved["services"]["worker"]
    metrics_port = int(worker["environment"]["HYBRIDCREW_METRICS_PORT"])
    assert _port(_health_url(worker)) == metrics_port
    assert worker["command"] == ["worker"]
    assert resolved["services"]["ollama-init"]["command"] == ["pull"]
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in
                cli.registered_commands}
    assert {"serve", "worker", "pull"} <= commands


def test_backends_persist_and_are_reached_where_they_listen(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    redis = services["redis"]
    assert redis["image"] == "redis:8"
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert _mounts(redis)["/data"] in resolved["volumes"]
    assert _mounts(services["qdrant"])["/qdrant/storage"] in resolved["volumes"]
    env = services["gateway"]["environment"]
    assert urlparse(env["HYBRIDCREW_REDIS_URL"]).hostname == "redis"
    assert urlparse(env["HYBRIDCREW_QDRANT_URL"]).hostname == "qdrant"
    assert urlparse(env["HYBRIDCREW_OLLAMA_HOST"]).hostname == "ollama"


def test_services_start_in_order_of_health(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name, service in services.items():
        if name != "ollama-init":
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for needed, condition in service.get("depends_on", {}).items():
            assert condition["condition"] == "service_healthy", (name, needed)
            assert "healthcheck" in services[needed]
    assert set(services["gateway"]["depends_on"]) == {"redis", "qdrant", "ollama"}
    assert services["ollama-init"]["restart"] == "no"


def test_secrets_come_from_the_env_file_and_each_is_documented() -> None:
    raw = COMPOSE.read_text()
    used = set(re.findall(r"\$\{(\w+)", raw))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert used == documented, f"undocumented: {used - documented}; unused: {documented - used}"
    for secret in ("ANTHROPIC_API_KEY", "HYBRIDCREW_ADMIN_TOKEN", "GRAFANA_ADMIN_PASSWORD"):
        assert re.search(rf"^{secret}=$", example, re.MULTILINE), f"{secret} has a value"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_monitoring_scrapes_our_services_and_provisions_the_dashboards(
        resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    gateway_target = jobs["hybridcrew-gateway"]["static_configs"][0]["targets"][0]
    assert gateway_target == f"gateway:{services['gateway']['environment']['HYBRIDCREW_API_PORT']}"
    workers = jobs["hybridcrew-worker"]["dns_sd_configs"][0]
    assert workers["names"] == ["worker"]
    assert workers["port"] == int(services["worker"]["environment"]["HYBRIDCREW_METRICS_PORT"])

    mounts = {target: Path(source) for target, source in _mounts(services["grafana"]).items()}
    provisioning = mounts["/etc/grafana/provisioning"]
    assert provisioning == ROOT / "deploy/grafana/provisioning"
    provider = yaml.safe_load((provisioning / "dashboards/hybridcrew.yaml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert mounts[dashboards_path] == ROOT / "deploy/grafana/dashboards"
    source = yaml.safe_load((provisioning / "datasources/prometheus.yaml").read_text())
    url = urlparse(source["datasources"][0]["url"])
    assert url.hostname == "prometheus"
    assert url.port == services["prometheus"]["ports"][0]["target"]


def test_the_dockerfile_builds_small_and_runs_unprivileged() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage: the compiler stays out of the runtime image"
    assert all("slim" in image for image, _ in stages)
    runtime = text[text.rindex("\nFROM "):]
    assert "build-essential" not in runtime
    user = re.search(r"^USER (\S+)", runtime, re.MULTILINE)
    assert user is not None
    assert user.group(1) not in {"root", "0"}
    assert "HEALTHCHECK" in runtime
    assert "/healthz" in runtime
    exposed = re.search(r"^EXPOSE (.+)$", runtime, re.MULTILINE)
    assert exposed is not None
    assert str(Settings.model_fields["api_port"].default) in exposed.group(1).split()
    for env in re.findall(r"\b(HYBRIDCREW_\w+)=", runtime):
        assert env in settings_env_names()
    # Only what the build needs goes into the context.
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1:][:3] == ["!pyproject.toml", "!README.md",
                                                   "!hybridcrew/"]
