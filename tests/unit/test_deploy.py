"""The deployment examples in ``deploy/`` hold the bot's operational promises.

The ECS task definition and service are validated against botocore's own model of
``RegisterTaskDefinition`` / ``CreateService`` (the API's schema: unknown keys and wrong
types fail). No Kubernetes schema ships offline, so the manifests are checked for
structure: known field names, selectors that match, readiness on ``/readyz`` and liveness
on ``/healthz`` at the port the image serves, two replicas with a disruption budget, a grace period above the slowest
stop, the image's user, and memory sized from the measured RSS and the server's limits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import validate_parameters

from bot.config import Settings
from bot.server import ACK_DRAIN_S, Limits
from tests.unit.test_dockerfile import _final_stage, _healthcheck_command

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# the slowest command or scheduled job a stop must wait for (count --exact at its cap,
# a digest run); README, Operations, says how it was chosen
SLOWEST_WORK_S = 60
MEASURED_RSS_MIB = 72  # benchmarks/stalled.py: 1,000 stalled connections held
CONTAINER_FIELDS = {
    "name", "image", "command", "args", "workingDir", "ports", "env", "envFrom", "resources",
    "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "securityContext", "imagePullPolicy", "terminationMessagePath", "terminationMessagePolicy",
}
POD_FIELDS = {"serviceAccountName", "terminationGracePeriodSeconds", "securityContext",
              "containers", "volumes", "affinity", "topologySpreadConstraints", "nodeSelector"}


def _docs() -> dict[str, dict[str, Any]]:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))
    return {d["kind"]: d for d in docs if d}


def _container() -> dict[str, Any]:
    return _docs()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def _mib(quantity: str) -> float:
    m = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert m, quantity
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


def _stop_budget(pre_stop_s: float) -> float:
    max_wait = Settings.model_fields["ddb_bot_work_max_wait"].default
    return pre_stop_s + ACK_DRAIN_S + max_wait + SLOWEST_WORK_S


def test_kubernetes_objects_and_selectors() -> None:
    docs = _docs()
    assert set(docs) == {"Deployment", "PodDisruptionBudget", "Service"}
    dep, pdb, svc = docs["Deployment"], docs["PodDisruptionBudget"], docs["Service"]
    assert (dep["apiVersion"], pdb["apiVersion"], svc["apiVersion"]) == ("apps/v1", "policy/v1", "v1")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    # two replicas, and a voluntary disruption (node drain) never takes both
    assert dep["spec"]["replicas"] == 2
    assert pdb["spec"]["minAvailable"] == 1
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = dep["spec"]["template"]["spec"]
    assert set(pod) <= POD_FIELDS, set(pod) - POD_FIELDS
    assert set(_container()) <= CONTAINER_FIELDS, set(_container()) - CONTAINER_FIELDS
    ports = {p["name"]: p["containerPort"] for p in _container()["ports"]}
    assert svc["spec"]["ports"][0]["targetPort"] in ports


def test_probes_hit_healthz_on_the_port_the_image_serves() -> None:
    c = _container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    env = {e["name"]: e["value"] for e in c["env"]}
    assert ("EXPOSE", str(ports["http"])) in _final_stage() and env["PORT"] == str(ports["http"])
    # readiness checks the dependencies (/readyz), liveness only that the process serves
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path and ports.get(get["port"], get["port"]) == ports["http"]
    # a readiness check waits up to its dependencies' timeouts (bot.health), never longer
    from bot.health import TIMEOUT_S

    assert c["readinessProbe"]["timeoutSeconds"] > 2 * TIMEOUT_S  # connect + read
    # readiness drops first (503 while draining), liveness tolerates a busy minute
    ready, live = c["readinessProbe"], c["livenessProbe"]
    assert ready["periodSeconds"] * ready["failureThreshold"] < \
        live["periodSeconds"] * live["failureThreshold"]
    assert "command" not in c and c.get("args") == []  # the image's CMD: python -m bot


def test_grace_period_covers_the_slowest_stop() -> None:
    pod = _docs()["Deployment"]["spec"]["template"]["spec"]
    pre_stop = " ".join(_container()["lifecycle"]["preStop"]["exec"]["command"])
    sleep = float(re.search(r"sleep\((\d+(?:\.\d+)?)\)", pre_stop).group(1))  # type: ignore[union-attr]
    assert pod["terminationGracePeriodSeconds"] > _stop_budget(sleep)


def test_runs_as_the_image_user_with_a_read_only_root_and_a_tmp() -> None:
    uid = next(args for word, args in _final_stage() if word == "USER").split(":")[0]
    pod = _docs()["Deployment"]["spec"]["template"]["spec"]
    assert str(pod["securityContext"]["runAsUser"]) == uid and pod["securityContext"]["runAsNonRoot"]
    c = _container()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"])  # large bodies spill here


def test_memory_is_sized_from_the_measured_rss_and_the_server_limits() -> None:
    res = _container()["resources"]
    lim = Limits()
    worst_buffers_mib = lim.connections * (lim.max_header_bytes + lim.in_memory_body) / 2**20
    assert _mib(res["requests"]["memory"]) >= MEASURED_RSS_MIB
    assert _mib(res["limits"]["memory"]) >= MEASURED_RSS_MIB + worst_buffers_mib


@pytest.fixture(scope="module")
def ecs() -> Any:
    return botocore.session.get_session().get_service_model("ecs")


def test_ecs_task_definition_is_valid_and_matches_the_image(ecs: Any) -> None:
    task = json.loads((DEPLOY / "ecs-task-definition.json").read_text())
    validate_parameters(task, ecs.operation_model("RegisterTaskDefinition").input_shape)
    c = task["containerDefinitions"][0]
    assert c["portMappings"][0]["containerPort"] == 3000
    assert {e["name"]: e["value"] for e in c["environment"]}["PORT"] == "3000"
    # the container health check is the image's HEALTHCHECK command
    assert c["healthCheck"]["command"] == ["CMD", *_healthcheck_command()]
    uid = next(args for word, args in _final_stage() if word == "USER").split(":")[0]
    assert c["user"] == uid
    # tokens come from the secret store, never as plain environment values
    assert {s["name"] for s in c["secrets"]} == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
    assert not any(e["name"].startswith("SLACK_") for e in c["environment"])
    k8s = _docs()["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert c["stopTimeout"] == k8s and c["stopTimeout"] <= 120  # ECS's maximum
    assert c["stopTimeout"] > _stop_budget(0)
    assert c["memoryReservation"] >= MEASURED_RSS_MIB


def test_ecs_service_runs_two_replicas(ecs: Any) -> None:
    service = json.loads((DEPLOY / "ecs-service.json").read_text())
    validate_parameters(service, ecs.operation_model("CreateService").input_shape)
    assert service["desiredCount"] == 2
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert service["loadBalancers"][0]["containerPort"] == 3000


def test_the_load_balancer_routes_on_readiness_and_ecs_restarts_on_liveness(ecs: Any) -> None:
    """ECS: the target group's health check (routing) is ``/readyz``; the container health
    check (ECS replaces the task) stays ``/healthz``, which no dependency can fail."""
    from bot.health import TIMEOUT_S

    elbv2 = botocore.session.get_session().get_service_model("elbv2")
    group = json.loads((DEPLOY / "ecs-target-group.json").read_text())
    validate_parameters(group, elbv2.operation_model("CreateTargetGroup").input_shape)
    assert group["HealthCheckPath"] == "/readyz" and group["Port"] == 3000
    assert group["HealthCheckTimeoutSeconds"] > 2 * TIMEOUT_S  # connect + read
    task = json.loads((DEPLOY / "ecs-task-definition.json").read_text())
    assert "/healthz" in task["containerDefinitions"][0]["healthCheck"]["command"][-1]
    service = json.loads((DEPLOY / "ecs-service.json").read_text())
    assert service["loadBalancers"][0]["containerPort"] == group["Port"]
