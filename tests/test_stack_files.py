"""Every stack file renders offline, read exactly as `pulumi up` would read it (C10)."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml

from components.offline import read_stack_config, resolve_stack, run_offline
from components.render import key_summaries

PROJECT_DIR = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_renders_every_key(stack: str) -> None:
    """Each environment's keys register with alias, rotation, window and a policy."""
    run = run_offline(resolve_stack(stack, project_dir=PROJECT_DIR))
    summaries = {summary["name"]: summary for summary in key_summaries(run)}
    assert sorted(summaries) == ["data", "logs", "secrets"]
    for name, summary in summaries.items():
        assert [alias["name"] for alias in summary["aliases"]] == [f"alias/{stack}/{name}"]
        assert summary["rotation"]["enabled"] is True
        assert 90 <= summary["rotation"]["periodInDays"] <= 2560
        assert 7 <= summary["deletionWindowInDays"] <= 30
        assert summary["policy"]["Statement"][0]["Sid"] == "EnableIamPermissions"


def test_settings_differ_per_environment() -> None:
    """Deletion window, rotation period and protection follow each environment's file."""
    observed = {}
    for stack in STACKS:
        run = run_offline(resolve_stack(stack, project_dir=PROJECT_DIR))
        data = next(item for item in key_summaries(run) if item["name"] == "data")
        observed[stack] = (data["deletionWindowInDays"], data["rotation"]["periodInDays"],
                           data["protected"])
    assert observed == {"dev": (7, 365, False), "staging": (14, 365, False),
                        "prod": (30, 180, True)}


def test_prod_protects_every_key_and_alias() -> None:
    """Nothing in prod can be deleted by an accidental `pulumi destroy`."""
    run = run_offline(resolve_stack("prod", project_dir=PROJECT_DIR))
    kms = [res for res in run.resources if res.type.startswith("aws:kms/")]
    assert len(kms) == 6
    assert all(res.protect for res in kms)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_pins_its_account(stack: str) -> None:
    """aws:allowedAccountIds and accountId agree, and every ARN uses that account."""
    files = resolve_stack(stack, project_dir=PROJECT_DIR)
    config, _ = read_stack_config(files)
    account = config["kms-keys:accountId"]
    assert json.loads(config["aws:allowedAccountIds"]) == [account]
    run = run_offline(files)
    for summary in key_summaries(run):
        text = json.dumps(summary["policy"])
        accounts = {part for part in text.replace('"', ":").split(":") if part.isdigit()
                    and len(part) == 12}
        assert accounts == {account}


def test_program_runs_under_the_real_project_and_stack_names() -> None:
    """C10: the program sees project `kms-keys` and the stack named by the file."""
    files = resolve_stack(str(PROJECT_DIR / "Pulumi.staging.yaml"), project_dir=PROJECT_DIR)
    assert (files.project, files.stack) == ("kms-keys", "staging")
    run = run_offline(files)
    stack_resource_urn = run.resources[0].urn
    assert stack_resource_urn.startswith("urn:pulumi:staging::kms-keys::")


def test_bare_config_keys_belong_to_the_project(tmp_path: Path) -> None:
    """C10: keys written without a namespace are read as `kms-keys:<key>`, as the CLI does."""
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["accountId"] = config.pop("kms-keys:accountId")
    stack_file = tmp_path / "Pulumi.bare.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    run = run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))
    assert len(key_summaries(run)) == 3


def test_config_under_another_namespace_is_not_found(tmp_path: Path) -> None:
    """C10: config written for another project name is missing, and the error says which key."""
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace("kms-keys:", "other-proj:")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text)
    with pytest.raises(pulumi.RunError, match=r"kms-keys:accountId: got nothing"):
        run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR))


def test_bad_stack_file_registers_nothing(tmp_path: Path) -> None:
    """A bad value stops the program before its first resource."""
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace(
        "deletionWindowInDays: 7", "deletionWindowInDays: 45"
    )
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text)
    files = resolve_stack(str(stack_file), project_dir=PROJECT_DIR)
    from components.offline import KmsMocks, RecordingMonitor

    monitor = RecordingMonitor(KmsMocks(account_id="111122223333", region="us-west-2"))
    with pytest.raises(pulumi.RunError, match=r"defaults\.deletionWindowInDays: got 45"):
        run_offline(files, monitor=monitor)
    assert monitor.registered == []
