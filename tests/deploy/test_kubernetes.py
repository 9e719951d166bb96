"""The Kubernetes manifests: valid against the Kubernetes API schemas, wired together, and in
agreement with the settings class, the app's probes and the metrics it serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from hybridcrew.platform.reference import settings_env_names
from tests.deploy.conftest import ROOT
from tests.support.crew import crew_config
from tests.support.gateway import gateway

K8S = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.31"


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def _kustomization() -> dict[str, Any]:
    return _documents("kustomization.yaml")[0]


def _applied() -> list[dict[str, Any]]:
    return [d for name in _kustomization()["resources"] for d in _documents(name)]


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _applied() if d["kind"] == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _probes(container: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in container:
            yield container[kind]["httpGet"]


def test_every_manifest_is_valid_kubernetes() -> None:
    files = sorted(p.name for p in K8S.glob("*.yaml"))
    applied = _kustomization()["resources"]
    assert sorted([*applied, "kustomization.yaml", "secret.example.yaml"]) == files
    for name in files:
        if name == "kustomization.yaml":
            continue
        for document in _documents(name):
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_selectors_services_and_ports_fit_together() -> None:
    deployments = _by_kind("Deployment")
    assert set(deployments) == {"hybridcrew-gateway", "hybridcrew-worker"}
    for deployment in deployments.values():
        template_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = _container(deployment)
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        port_names = {p["name"] for p in container["ports"]}
        for probe in _probes(container):
            assert probe["port"] in port_names
        mounted = {m["name"] for m in container["volumeMounts"]}
        assert mounted == {v["name"] for v in pod["volumes"]}
    gateway_pod = deployments["hybridcrew-gateway"]["spec"]["template"]
    service = _by_kind("Service")["hybridcrew-gateway"]
    assert service["spec"]["selector"].items() <= gateway_pod["metadata"]["labels"].items()
    gateway_ports = {p["name"] for p in _container(deployments["hybridcrew-gateway"])["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= gateway_ports


def test_probes_and_ports_match_the_app(app_paths: set[str]) -> None:
    deployments = _by_kind("Deployment")
    gateway_container = _container(deployments["hybridcrew-gateway"])
    env = {e["name"]: e["value"] for e in gateway_container["env"]}
    assert [p["containerPort"] for p in gateway_container["ports"]] == [
        int(env["HYBRIDCREW_API_PORT"])]
    paths = {p["path"] for p in _probes(gateway_container)}
    assert paths == {"/healthz", "/readyz"}
    assert paths <= app_paths
    worker = _container(deployments["hybridcrew-worker"])
    worker_env = {e["name"]: e["value"] for e in worker["env"]}
    assert [p["containerPort"] for p in worker["ports"]] == [
        int(worker_env["HYBRIDCREW_METRICS_PORT"])]
    assert worker["args"] == ["worker"]
    assert gateway_container["args"] == ["serve"]


def test_settings_come_from_the_configmap_and_keys_from_a_secret() -> None:
    known = settings_env_names()
    config = _by_kind("ConfigMap")["hybridcrew-env"]["data"]
    assert set(config) <= known
    # Redis and Qdrant are external services, by URL: nothing here runs them.
    assert config["HYBRIDCREW_REDIS_URL"].startswith("redis://")
    assert config["HYBRIDCREW_QDRANT_URL"].startswith("http")
    assert not _by_kind("StatefulSet")
    secret = _documents("secret.example.yaml")[0]
    assert set(secret["stringData"]) <= known
    assert all(value == "" for value in secret["stringData"].values()), "no secret committed"
    for deployment in _by_kind("Deployment").values():
        container = _container(deployment)
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {"hybridcrew-env", secret["metadata"]["name"]}
        assert {e["name"] for e in container["env"]} <= known


def test_the_worker_autoscaler_uses_a_metric_the_gateway_serves(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    hpa = _by_kind("HorizontalPodAutoscaler")["hybridcrew-worker"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "hybridcrew-worker"}
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]["name"]
    with gateway(crew_config(), data_dir=tmp_path_factory.mktemp("hpa"), memory=False) as base:
        served = httpx.get(f"{base}/metrics", timeout=10).text
    assert f"\n{metric} " in served
