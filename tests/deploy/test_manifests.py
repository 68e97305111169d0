"""What the rendered Kubernetes overlays promise, checked on `kubectl kustomize` output.

scripts/validate-deploy.sh validates the same renders against the schemas (kubernetes-validate
--strict) and checkov's policies; these tests check the relay's own rules: the drain fits in the
grace period, the HPA alone owns the API's replica count, secrets are files, only the relay's pods
reach Redis, and Redis never evicts.
"""

from __future__ import annotations

import subprocess
from functools import cache
from typing import Any

import pytest
import yaml

from tests.procs import ROOT
from tests.tools import require_tool

OVERLAYS = ("dev", "prod")


@cache
def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = require_tool("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def config(docs: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(docs, "ConfigMap", "agent-relay-config")["data"]
    return data


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in docs if d["kind"] in ("Deployment", "StatefulSet")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_restricted_and_mounts_no_token_and_reads_secrets_as_files(overlay: str) -> None:
    docs = render(overlay)
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert namespaces == {f"agent-relay{'-dev' if overlay == 'dev' else ''}"}
    for name, spec in pod_specs(docs):
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] >= 10000, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert "limits" in container["resources"] and "requests" in container["resources"], name
            assert container.get("readinessProbe") and container.get("livenessProbe"), name
            for env in container.get("env", []):
                assert "secretKeyRef" not in env.get("valueFrom", {}), (name, env)  # files, not env
            assert all("secretRef" not in src for src in container.get("envFrom", [])), name
    for key, value in config(docs).items():
        assert "@" not in value and "PASSWORD=" not in key and not key.endswith(("_TOKEN", "_SECRET")), key


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_drain_fits_in_the_grace_period_and_the_hpa_owns_the_replicas(overlay: str) -> None:
    docs = render(overlay)
    settings = config(docs)
    api = one(docs, "Deployment", "agent-relay-api")
    assert "replicas" not in api["spec"]  # the HPA alone decides: no fight on every apply
    hpa = one(docs, "HorizontalPodAutoscaler", "agent-relay-api")
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pod = api["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = float(pre_stop[1]) + float(settings["AGENT_RELAY_DRAIN_DELAY_S"]) + float(settings["AGENT_RELAY_SHUTDOWN_TIMEOUT_S"])
    assert pod["terminationGracePeriodSeconds"] > drain
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    worker = one(docs, "Deployment", "agent-relay-worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > float(settings["AGENT_RELAY_SHUTDOWN_TIMEOUT_S"])
    assert worker["containers"][0]["livenessProbe"]["exec"]["command"] == ["relay", "worker", "--check"]
    for name in ("agent-relay-api", "agent-relay-worker"):
        assert one(docs, "PodDisruptionBudget", name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_relay_reaches_redis_and_redis_never_evicts(overlay: str) -> None:
    docs = render(overlay)
    policy = one(docs, "NetworkPolicy", "agent-relay-redis")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "agent-relay-redis"
    sources = [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in policy["ingress"][0]["from"]]
    assert sorted(sources) == ["api", "worker"] and len(policy["ingress"]) == 1
    deny = one(docs, "NetworkPolicy", "agent-relay-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    conf = one(docs, "ConfigMap", "agent-relay-redis")["data"]["redis.conf"].splitlines()
    for line in ("appendonly yes", "maxmemory-policy noeviction", "include /run/redis/auth.conf"):
        assert line in conf
    assert any(line.startswith("maxmemory ") for line in conf)
    redis = one(docs, "StatefulSet", "agent-relay-redis")
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert "@sha256:" in redis["spec"]["template"]["spec"]["containers"][0]["image"]
    assert one(docs, "Service", "agent-relay-redis")["spec"]["clusterIP"] == "None"


def test_prod_serves_sse_through_its_ingress_and_keeps_its_data_on_an_external_redis() -> None:
    docs = render("prod")
    annotations = one(docs, "Ingress", "agent-relay")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    settings = config(docs)
    assert "REDIS_URL" not in settings  # the data Redis URL (with its password) is a Secret file
    assert settings["REDIS_URL_FILE"] == "/run/secrets/agent-relay-data-redis/url"
    assert settings["AGENT_RELAY_QUEUE_REDIS_URL"] == "redis://agent-relay-redis:6379/0"
    for name in ("agent-relay-api", "agent-relay-worker"):
        spec = one(docs, "Deployment", name)["spec"]["template"]["spec"]
        mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert "/run/secrets/agent-relay-data-redis" in mounts
    assert not [d for d in docs if d["kind"] == "Secret"]  # created out of band, never in git


def test_dev_generates_its_throwaway_secret() -> None:
    secret = one(render("dev"), "Secret", "agent-relay")
    assert set(secret["data"]) == {"admin-token", "token-secret", "redis-password"}
