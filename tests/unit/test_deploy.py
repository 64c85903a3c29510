"""The deployment examples in ``deploy/`` hold the bot's operational promises.

The ECS task definition and service are validated against botocore's own model of
``RegisterTaskDefinition`` / ``CreateService`` (the API's schema: unknown keys and wrong
types fail). No Kubernetes schema ships offline, so the manifests are checked for
structure: known field names, selectors that match, readiness on ``/readyz`` and liveness
on ``/healthz`` at the port the image serves, two replicas with a disruption budget, a grace period above the slowest
stop, the image's user, and memory sized from the measured RSS and the server's limits.
"""

from __future__ import annotations

import fnmatch
import json
import re
import string
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
    kinds = [d["kind"] for d in docs if d]
    assert len(kinds) == len(set(kinds)), kinds  # one of each: the map below keeps the last
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
    assert set(docs) == {"ServiceAccount", "Secret", "Deployment", "PodDisruptionBudget", "Service",
                         "Ingress", "NetworkPolicy"}
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


# --- every value to fill is a ${VAR} that envsubst fills; nothing else to write ----------

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
FILLED_FILES = ("kubernetes.yaml", "ecs-task-definition.json", "ecs-service.json",
                "ecs-target-group.json", "ecs-task-role-trust.json", "ecs-execution-role-trust.json",
                "ecs-execution-role-policy.json", "eks-role-trust.json")
# example values of the kind the old files hard-coded, which envsubst could not fill
HARD_CODED = re.compile(r"subnet-|sg-|vpc-|0123456789abcdef|:latest\b|\b\d{12}\b")


def _placeholders(name: str) -> set[str]:
    return set(PLACEHOLDER.findall((DEPLOY / name).read_text()))


def _filled(name: str) -> str:
    """The file as envsubst leaves it, every placeholder given a value named after it."""
    text = (DEPLOY / name).read_text()
    values = {var: f"x{var.lower().replace('_', '-')}" for var in _placeholders(name)}
    values |= {"ACCOUNT_ID": "570331155915", "AWS_REGION": "us-west-2", "STAGE": "dev"}
    return string.Template(text).substitute(values)  # KeyError/ValueError: a bare or odd $


def test_deploy_files_hold_only_dollar_brace_placeholders() -> None:
    for name in FILLED_FILES:
        text = (DEPLOY / name).read_text()
        assert text.count("$") == len(PLACEHOLDER.findall(text)), f"{name}: a $ that is not ${{VAR}}"
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        assert not HARD_CODED.search(body), (name, HARD_CODED.search(body))
        assert "$" not in _filled(name)


def test_filled_ecs_files_are_valid_api_input(ecs: Any) -> None:
    elbv2 = botocore.session.get_session().get_service_model("elbv2")
    for name, model, op in (("ecs-task-definition.json", ecs, "RegisterTaskDefinition"),
                            ("ecs-service.json", ecs, "CreateService"),
                            ("ecs-target-group.json", elbv2, "CreateTargetGroup")):
        validate_parameters(json.loads(_filled(name)), model.operation_model(op).input_shape)
    assert any(d for d in yaml.safe_load_all(_filled("kubernetes.yaml")))


def _readme_block(start: str, end: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index(start):text.index(end, text.index(start))]


def test_the_readme_sets_every_placeholder_and_registers_every_file() -> None:
    k8s = _readme_block("**Kubernetes from zero", "**ECS on Fargate from zero")
    ecs_block = _readme_block("**ECS on Fargate from zero", "**IAM.**")
    for block, names in ((k8s, ("kubernetes.yaml", "eks-role-trust.json")),
                         (ecs_block, [n for n in FILLED_FILES if n.startswith("ecs-")])):
        exported = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", block))
        for name in names:
            assert f"envsubst < deploy/{name}" in block, name
            assert _placeholders(name) <= exported, (name, _placeholders(name) - exported)
    assert "envsubst < deploy/kubernetes.yaml | kubectl apply" in k8s
    for command in ("aws ecs register-task-definition --cli-input-json file:///dev/stdin",
                    "aws elbv2 create-target-group", "aws ecs create-service --cli-input-json"):
        assert command in ecs_block, command


def test_kubernetes_defines_the_service_account_and_the_secret_it_references() -> None:
    docs = _docs()
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert docs["ServiceAccount"]["metadata"]["name"] == pod["serviceAccountName"]
    role = docs["ServiceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role == "arn:aws:iam::${ACCOUNT_ID}:role/ddb-bot"
    trust = json.loads((DEPLOY / "eks-role-trust.json").read_text())["Statement"][0]
    subject = "system:serviceaccount:ddb-bot:" + pod["serviceAccountName"]
    assert subject in trust["Condition"]["StringEquals"].values()
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    secret = docs["Secret"]
    refs = [e["secretRef"]["name"] for e in _container()["envFrom"]]
    assert refs == [secret["metadata"]["name"]]
    # a template: every value a placeholder named after its key, no value in the file
    assert secret["stringData"] == {k: "${" + k + "}" for k in secret["stringData"]}
    assert "data" not in secret


def test_the_ingress_serves_only_slack_events_over_tls() -> None:
    docs = _docs()
    ing, svc = docs["Ingress"]["spec"], docs["Service"]
    hosts = {r["host"] for r in ing["rules"]}
    assert hosts and all(hosts <= set(t["hosts"]) and t["secretName"] for t in ing["tls"])
    assert "cert-manager.io/cluster-issuer" in docs["Ingress"]["metadata"]["annotations"]
    paths = [p for r in ing["rules"] for p in r["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/slack/events", "Exact")]
    backend = paths[0]["backend"]["service"]
    assert backend["name"] == svc["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}


def test_the_network_policy_admits_the_ingress_controller_and_lets_out_dns_and_https() -> None:
    docs = _docs()
    policy = docs["NetworkPolicy"]["spec"]
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    [rule] = policy["ingress"]
    assert [p["port"] for p in rule["ports"]] == [c["containerPort"] for c in _container()["ports"]]
    assert rule["from"] and all("namespaceSelector" in f for f in rule["from"])
    out = {(p["protocol"], p["port"]) for r in policy["egress"] for p in r["ports"]}
    assert out == {("UDP", 53), ("TCP", 53), ("TCP", 443)}
    dns = next(r for r in policy["egress"]
               if ("UDP", 53) in {(p["protocol"], p["port"]) for p in r["ports"]})
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


def test_the_manifest_and_every_deploy_file_agree_on_http_mode() -> None:
    """Install the manifest as shipped, deploy any file, and Slack reaches the bot."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = {settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"],
            *(c["url"] for c in manifest["features"]["slash_commands"])}
    paths = {re.sub(r"^https://[^/]+", "", u) for u in urls}
    assert paths == {"/slack/events"} and all(u.startswith("https://") for u in urls)
    # HTTP mode: a signing secret and no app token (its presence switches to Socket Mode)
    k8s_keys = set(_docs()["Secret"]["stringData"])
    container = json.loads((DEPLOY / "ecs-task-definition.json").read_text())["containerDefinitions"][0]
    ecs_keys = {s["name"] for s in container["secrets"]}
    for keys in (k8s_keys, ecs_keys):
        assert "SLACK_SIGNING_SECRET" in keys and "SLACK_APP_TOKEN" not in keys, keys
    assert _docs()["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["path"] in paths
    serverless = (ROOT / "serverless.yml").read_text()
    assert "/slack/events" in serverless and "SLACK_APP_TOKEN" not in serverless


def test_ecs_roles_trust_ecs_tasks_and_grant_what_the_task_definition_uses() -> None:
    task = json.loads(_filled("ecs-task-definition.json"))
    readme = _readme_block("**ECS on Fargate from zero", "**IAM.**")
    for arn_key, trust_file in (("taskRoleArn", "ecs-task-role-trust.json"),
                                ("executionRoleArn", "ecs-execution-role-trust.json")):
        role = task[arn_key].rsplit("/", 1)[1]
        assert re.search(rf"--role-name {role} (\\\n\s*)?--assume-role-policy-document "
                         rf"\"\$\(envsubst < deploy/{trust_file}\)\"", readme), role
        [stmt] = json.loads(_filled(trust_file))["Statement"]
        assert stmt["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert stmt["Action"] == "sts:AssumeRole"
        assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == "570331155915"
    grants = json.loads(_filled("ecs-execution-role-policy.json"))["Statement"]

    def allowed(action: str, resource: str) -> bool:
        return any(action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
                   and fnmatch.fnmatchcase(resource, s["Resource"]) for s in grants)

    c = task["containerDefinitions"][0]
    for secret in c["secrets"]:  # a secret's full ARN ends in a random six-character suffix
        partial = ":".join(secret["valueFrom"].split(":")[:7])
        assert allowed("secretsmanager:GetSecretValue", partial + "-AbCdEf"), secret
    group = c["logConfiguration"]["options"]["awslogs-group"]
    assert allowed("logs:PutLogEvents",
                   f"arn:aws:logs:us-west-2:570331155915:log-group:{group}:log-stream:x")
    repo = c["image"].split("/", 1)[1].split(":")[0]
    assert allowed("ecr:BatchGetImage", f"arn:aws:ecr:us-west-2:570331155915:repository/{repo}")
    other = "arn:aws:secretsmanager:us-west-2:570331155915:secret:other-AbCdEf"
    assert not allowed("secretsmanager:GetSecretValue", other)  # only the bot's own secret
