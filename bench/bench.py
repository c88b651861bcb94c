"""Benchmark: what kms-keys costs per key, as ratios measured in one run.

For N keys (each: rotation on, a description, alias `alias/app-<i>`, 30-day deletion window,
an administrator and a user, as in the CDK peer harness) it times, in this one process:

  baseline   the SDK mock engine registering N bare aws.kms.Key + aws.kms.Alias (fixed policy)
  product    `kms-keys preview`'s engine run: the real program, config checks, policy build,
             static checks, component tree (2 resources per key plus the component)
  core       the pure core only: load + check + build the N policies, no engine

and prints product/baseline: the overhead of the product over the engine it runs on. With
`--cdk DIR` (a copy of ../shared/bench/cdk-kms with `npm ci` done) it also runs `node synth.js N`
and prints product/CDK synth time.

usage: python bench/bench.py [--ns 1 10 100 1000] [--repeat 3] [--cdk DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from components.loader import load_stack  # noqa: E402
from components.offline import KmsMocks, RecordingMonitor, resolve_stack, run_offline  # noqa: E402
from components.policy import build_policy, render_policy  # noqa: E402

ACCOUNT = "111122223333"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
USER = f"arn:aws:iam::{ACCOUNT}:role/App"


def stack_document(n: int) -> dict:
    keys = {
        f"app-{i}": {
            "description": f"benchmark key {i} of {n}",
            "aliases": [f"alias/bench/app-{i}"],
            "enableKeyRotation": True,
            "deletionWindowInDays": 30,
            "administrators": [ADMIN],
            "users": [USER],
        }
        for i in range(1, n + 1)
    }
    return {
        "config": {
            "aws:region": "us-west-2",
            "aws:allowedAccountIds": [ACCOUNT],
            "kms-keys:accountId": ACCOUNT,
            "kms-keys:keys": keys,
        }
    }


def time_it(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of *repeat* runs after one warm-up."""
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run_product(stack_file: Path) -> None:
    run = run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))
    assert run.resources


def run_baseline(n: int) -> None:
    """The same resources registered straight on the SDK, no product code at all."""
    monitor = RecordingMonitor(KmsMocks(account_id=ACCOUNT, region="us-west-2"))
    pulumi.runtime.set_mocks(monitor.kms_mocks, project="kms-keys", stack="bench",
                             preview=True, monitor=monitor)
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})

    @pulumi.runtime.test
    def program() -> None:
        for i in range(1, n + 1):
            key = aws.kms.Key(f"app-{i}-key", description=f"benchmark key {i} of {n}",
                              enable_key_rotation=True, deletion_window_in_days=30,
                              policy=policy)
            aws.kms.Alias(f"app-{i}-alias", name=f"alias/bench/app-{i}", target_key_id=key.id)

    program()
    assert len(monitor.registered) == 2 * n


def run_core(document: dict) -> None:
    config = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in document["config"].items()
    }
    plan = load_stack(config.get, project="kms-keys", stack="bench")
    for key in plan.keys:
        render_policy(build_policy(key))


def run_cdk(cdk_dir: Path, n: int) -> float | None:
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(["node", "synth.js", str(n), out], cwd=cdk_dir,
                                capture_output=True, text=True, check=True,
                                env={"CDK_VALIDATION": "false", "PATH": "/usr/bin:/bin:"
                                     "/usr/local/bin"})
    line = result.stdout.strip().splitlines()[-1]
    return float(line.split("synth_s=")[1].split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cdk", type=Path, default=None, help="cdk-kms harness with npm ci done")
    arguments = parser.parse_args()

    print(f"kms-keys benchmark, medians of {arguments.repeat} runs after a warm-up")
    header = ("| N | bare engine s | product s | product / bare engine | product ms per key "
              "| pure core s |")
    if arguments.cdk:
        header += " CDK synth s | product / CDK |"
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory() as folder:
        for n in arguments.ns:
            document = stack_document(n)
            stack_file = Path(folder) / "Pulumi.bench.yaml"
            stack_file.write_text(yaml.safe_dump(document))
            baseline = time_it(lambda n=n: run_baseline(n), arguments.repeat)
            product = time_it(lambda path=stack_file: run_product(path), arguments.repeat)
            core = time_it(lambda doc=document: run_core(doc), arguments.repeat)
            row = (f"| {n} | {baseline:.4f} | {product:.4f} | {product / baseline:.2f} | "
                   f"{1000 * product / n:.2f} | {core:.4f} |")
            if arguments.cdk:
                cdk = statistics.median(run_cdk(arguments.cdk, n) or 0.0
                                        for _ in range(arguments.repeat))
                row += f" {cdk:.4f} | {product / cdk:.2f} |"
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
