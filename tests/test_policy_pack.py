"""The pack's rules on whole stacks: every stack file passes, a bad one is stopped.

Each stack runs offline (`resolve_stack` + `run_offline`, Pulumi's mock engine), then the rules
run on what it registered, as `kms-keys preview` and CrossGuard run them.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from components.guardrails import (
    EXIT_GUARDRAIL_VIOLATION,
    PACK_NAME,
    evaluate_offline_run,
    exit_code,
    load_pack_config,
    render_violations,
)
from components.offline import resolve_stack, run_offline

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACK_FILES = sorted(PROJECT_DIR.glob("Pulumi.*.yaml"))

BAD_PROD_STACK = """\
# A prod stack that breaks three guardrails on key `data`, yet passes the project's own checks.
config:
  aws:region: us-west-2
  aws:allowedAccountIds:
    - "555566667777"
  kms-keys:accountId: "555566667777"
  kms-keys:owner: platform-team
  kms-keys:defaults:
    deletionWindowInDays: 30
    administrators:
      - arn:aws:iam::555566667777:role/KmsKeyAdmin
  kms-keys:keys:
    data:
      rotationPeriodInDays: 400
      deletionWindowInDays: 7
      aliases:
        - alias/orders-data
      users:
        - arn:aws:iam::555566667777:role/orders-service
    logs:
      servicePrincipals:
        - service: logs.us-west-2.amazonaws.com
"""


def test_stack_files_include_every_environment() -> None:
    """The stacks checked below are the project's dev, staging and prod."""
    assert {path.name for path in STACK_FILES} >= {
        "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"
    }


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_stack_file_passes_every_rule(stack_file: Path) -> None:
    """Each stack file of the project breaks no guardrail."""
    run = run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))
    assert run.resources, "the stack registered nothing"
    violations = evaluate_offline_run(run)
    assert violations == [], "\n".join(render_violations(violations))


def test_bad_stack_file_yields_three_violations(tmp_path: Path) -> None:
    """Rotation period, deletion window and alias naming are broken on key `data`, and stop.

    Each is reported once, on the component that declares it, not again on its children.
    """
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(BAD_PROD_STACK, encoding="utf-8")
    run = run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))
    violations = evaluate_offline_run(run)
    assert sorted((item.rule, item.resource_name) for item in violations) == [
        ("kms-alias-naming", "data"),
        ("kms-key-deletion-window", "data"),
        ("kms-key-rotation-period", "data"),
    ]
    assert {item.level for item in violations} == {"mandatory"}
    assert all(item.urn and item.urn.startswith("urn:pulumi:prod::") for item in violations)
    assert exit_code(violations) == EXIT_GUARDRAIL_VIOLATION


def test_bad_stack_file_report_names_rules_and_fixes(tmp_path: Path) -> None:
    """The report says what is wrong and what to set instead."""
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(BAD_PROD_STACK, encoding="utf-8")
    run = run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))
    report = "\n".join(render_violations(evaluate_offline_run(run)))
    assert report.startswith(f"Guardrails ({PACK_NAME}): 3 violations, 3 mandatory, 0 advisory")
    assert "set rotationPeriodInDays to 365 or less" in report
    assert "set deletionWindowInDays to at least 30" in report
    assert "alias 'alias/orders-data' does not follow the naming convention" in report


def test_pack_config_file_tightens_stack_check(tmp_path: Path) -> None:
    """A pack config with a 180-day maximum, advisory, reports dev's keys without stopping."""
    config_file = tmp_path / "policy-config.json"
    config_file.write_text(json.dumps({
        "kms-key-rotation-period": {"enforcementLevel": "advisory", "maxRotationPeriodInDays": 180}
    }))
    run = run_offline(resolve_stack("dev", project_dir=PROJECT_DIR))
    violations = evaluate_offline_run(run, load_pack_config(config_file))
    assert sorted(item.resource_name for item in violations) == ["data", "logs", "secrets"]
    assert {(item.rule, item.level) for item in violations} == {
        ("kms-key-rotation-period", "advisory")
    }
    assert exit_code(violations) == 0


def test_pack_program_registers_build_policies() -> None:
    """policy/__main__.py builds the PolicyPack from build_policies() under PACK_NAME."""
    tree = ast.parse((PROJECT_DIR / "policy" / "__main__.py").read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PolicyPack"]
    assert len(calls) == 1
    keywords = {keyword.arg: keyword.value for keyword in calls[0].keywords}
    assert getattr(keywords["name"], "id", None) == "PACK_NAME"
    assert getattr(getattr(keywords["policies"], "func", None), "id", None) == "build_policies"


def test_pack_project_file_is_python_with_its_requirements() -> None:
    """PulumiPolicy.yaml names the Python runtime; requirements bring pulumi-policy and us."""
    project = yaml.safe_load((PROJECT_DIR / "policy" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    lines = (PROJECT_DIR / "policy" / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert any(line.startswith("pulumi-policy") for line in requirements)
    assert "-e .." in requirements


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_repository_pack_config_passes_every_stack(stack_file: Path) -> None:
    """policy/config.json, the config the README's CI example uses, parses and passes."""
    config = load_pack_config(PROJECT_DIR / "policy" / "config.json")
    assert config.level("kms-key-required-tags") == "mandatory"
    run = run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))
    violations = evaluate_offline_run(run, config)
    assert violations == [], "\n".join(render_violations(violations))
