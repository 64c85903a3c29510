"""Cold start on AWS Lambda: a fresh process to its first ack, ddb-bot beside bare Bolt.

Each run is one cold start as ``testkit.lambda_run`` stages it: a new interpreter imports
the handler and answers one signed ``/ddb`` slash command, an HTTP API (payload 2.0) event,
then exits. Measured from the spawn to the handler's response (the ack Slack waits for, 3 s
at most), with the CPU the process used (``wait4``: user + system), and the handler module's
import and the call as the process itself timed them. The variants run in turn, round by
round, so they share the machine's load (printed: wall time stretches with it, CPU less).

- ``python -c pass``: the interpreter alone, the floor under every row;
- bare Bolt: one ``App`` acking ``/ddb`` on ``SlackRequestHandler`` (benchmarks/bare_bolt_lambda.py);
- bare Bolt + lazy: the same with one lazy listener, so its ack also calls Lambda's Invoke API;
- ddb-bot: ``bot.aws_lambda.slack_events`` from the deployment zip (``deploy/lambda/package.py``:
  dependencies and bytecode as Lambda gets them), settings from the environment: the ack,
  the Invoke call for the work, and the ``auth.test`` a cold start makes.

The Invoke API is testkit's stand-in holding every asynchronous invocation (the work never
runs); the Slack Web API is the local fake, so a real ``auth.test`` round trip (tens of
milliseconds from AWS) and Lambda's own runtime start (~0.1-0.3 s) come on top.

    python benchmarks/cold_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from testkit.fake_slack import FakeSlack  # noqa: E402
from testkit.lambda_invoke import LambdaStub, http_api_event  # noqa: E402
from testkit.signed import SlackSender  # noqa: E402

SECRET = "cold-start-signing-secret-5e2c"
TOKEN = "xoxb-1-2-coldstart"


@dataclass
class Variant:
    name: str
    argv: list[str]  # after the interpreter
    pythonpath: str
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    import_ms: list[float] = field(default_factory=list)
    handler_ms: list[float] = field(default_factory=list)


def slash_event() -> str:
    """A signed ``/ddb help`` as API Gateway hands it to the function."""
    body: list[str] = []
    sender = SlackSender("http://unused", SECRET, "http://127.0.0.1:9/response/r1")
    sender.post = lambda b, **kw: body.append(b)  # type: ignore[method-assign,assignment,return-value]
    sender.slash("help")
    ts = str(int(time.time()))
    sig = sender.verifier.generate_signature(timestamp=ts, body=body[0])
    return json.dumps(http_api_event(body[0], {
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sig}))


def run_once(variant: Variant, env: dict[str, str], event: str | None) -> None:
    env = {**env, "PYTHONPATH": variant.pythonpath}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, *variant.argv], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(event or "")
    proc.stdin.close()
    out = proc.stdout.readline()  # the response: printed as the handler returned
    wall = (time.monotonic() - start) * 1000
    _, status, usage = os.wait4(proc.pid, 0)  # reaped here, with its CPU
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if event is not None:
        line = json.loads(out)
        status_code = (line.get("response") or {}).get("statusCode")
        if status_code != 200:
            raise SystemExit(f"{variant.name}: no ack ({line})")
        variant.import_ms.append(line["ms"]["import"])
        variant.handler_ms.append(line["ms"]["handler"])
    variant.wall_ms.append(wall)
    variant.cpu_ms.append((usage.ru_utime + usage.ru_stime) * 1000)


def deployed_zip(into: str) -> str:
    """The deployment package, built (or reused) and extracted: what Lambda's task root holds."""
    artifact = subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "lambda", "package.py")],
                              capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(artifact) as zf:
        zf.extractall(into)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    slack = FakeSlack().start()
    stub = LambdaStub({"bare-lazy": "benchmarks.bare_bolt_lambda.handler_lazy",
                       "ddb-bot-dev-slack": "bot.aws_lambda.slack_events"}).start_serving()
    stub.hold()  # the work is never run: only the ack is measured
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DDB_BOT_", "AWS_"))}
    env.update({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
                "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-west-2",
                "AWS_DEFAULT_REGION": "us-west-2",  # both set on Lambda; boto3 reads this one
                "AWS_ENDPOINT_URL_LAMBDA": stub.url, "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
                "DDB_BOT_OPEN_ACCESS": "true", "PYTHONDONTWRITEBYTECODE": "1"})
    with tempfile.TemporaryDirectory() as task:
        task_root = deployed_zip(task)
        run = ["-m", "testkit.lambda_run"]
        variants = [
            Variant("python -c pass", ["-c", "pass"], ROOT),
            Variant("bare Bolt (ack)", [*run, "benchmarks.bare_bolt_lambda.handler", "bare"], ROOT),
            Variant("bare Bolt + lazy (ack, Invoke)", [*run, "benchmarks.bare_bolt_lambda.handler_lazy",
                                                      "bare-lazy"], ROOT),
            Variant("ddb-bot (ack, Invoke, auth.test)", [*run, "bot.aws_lambda.slack_events",
                                                         "ddb-bot-dev-slack"], f"{task_root}{os.pathsep}{ROOT}"),
        ]
        for _ in range(args.runs):
            for v in variants:
                run_once(v, env, None if v.argv[0] == "-c" else slash_event())
    stub.stop()
    slack.stop()

    def q(values: list[float], pct: float) -> str:
        if not values:
            return "-"
        ordered = sorted(values)
        return f"{ordered[min(len(ordered) - 1, round(pct * (len(ordered) - 1)))]:.0f}"

    load = os.getloadavg()
    print(f"cold start, fresh process to the ack: {args.runs} runs each, {os.cpu_count()} CPUs, "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, Python {sys.version.split()[0]}")
    print(f"{'handler':34} {'wall p50':>9} {'p90':>6} {'max':>6} {'CPU p50':>8} {'import':>7} {'call':>6}  (ms)")
    for v in variants:
        print(f"{v.name:34} {q(v.wall_ms, 0.5):>9} {q(v.wall_ms, 0.9):>6} {q(v.wall_ms, 1):>6} "
              f"{q(v.cpu_ms, 0.5):>8} {q(v.import_ms, 0.5):>7} {q(v.handler_ms, 0.5):>6}")
    slowest = max(variants[-1].wall_ms)
    print(f"ddb-bot's slowest cold ack: {slowest:.0f} ms of Slack's 3000 ms"
          f" ({statistics.median(variants[-1].wall_ms) - statistics.median(variants[1].wall_ms):+.0f} ms"
          " median over bare Bolt)")


if __name__ == "__main__":
    main()
