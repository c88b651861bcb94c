"""The `kms-keys preview` command: exit codes, text, JSON and secrets."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.cli import main

PROJECT_DIR = Path(__file__).resolve().parents[1]


def preview(*arguments: str) -> tuple[int, str, str]:
    """Run the command in-process and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["preview", *arguments, "--project-dir", str(PROJECT_DIR)])
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_preview_shows_each_key_with_its_settings(stack: str) -> None:
    """Every key's alias, rotation, deletion window, protection and policy are printed."""
    code, out, _ = preview(stack)
    assert code == 0
    for key in ("data", "logs", "secrets"):
        assert f"Key {key}  (aws:kms/key:Key {key}-key)" in out
        assert f"alias/{stack}/{key}" in out
    assert "rotation          on, every" in out
    assert "deletion window" in out and '"Sid": "AllowKeyAdministration"' in out
    assert ("protected         yes" in out) == (stack == "prod")


def test_preview_json_has_keys_resources_and_policy() -> None:
    """--json prints one document a program can read."""
    code, out, _ = preview("prod", "--json")
    document = json.loads(out)
    assert code == 0
    assert document["stack"] == "prod" and document["project"] == "kms-keys"
    assert {key["name"] for key in document["keys"]} == {"data", "logs", "secrets"}
    data = next(key for key in document["keys"] if key["name"] == "data")
    assert data["protected"] is True and data["rotation"] == {"enabled": True,
                                                             "periodInDays": 180}
    assert sorted(document["outputs"]["keys"]) == ["data", "logs", "secrets"]


def test_preview_accepts_a_stack_file_path() -> None:
    """The stack can be named by its file."""
    code, out, _ = preview(str(PROJECT_DIR / "Pulumi.staging.yaml"))
    assert code == 0 and "stack 'staging'" in out


def test_bad_value_exits_2_with_the_precise_error(tmp_path: Path) -> None:
    """A bad stack file exits 2 and names stack, path, value and what is allowed."""
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace(
        "rotationPeriodInDays: 365", "rotationPeriodInDays: 30"))
    code, out, err = preview(str(bad))
    assert code == 2 and out == ""
    assert "stack 'broken': 1 configuration error" in err
    assert "kms-keys:defaults.rotationPeriodInDays: got 30; allowed: a whole number of days " \
           "from 90 to 2560" in err
    assert "Traceback" not in err


def test_unknown_stack_exits_2_and_lists_the_stacks() -> None:
    """A typo in the stack name says which stacks exist."""
    code, _, err = preview("qa")
    assert code == 2
    assert "no stack file Pulumi.qa.yaml" in err and "dev, prod, staging" in err


def test_secure_values_are_never_printed(tmp_path: Path) -> None:
    """A `secure:` value shows as [secret]; its ciphertext never appears."""
    ciphertext = "v1:Zm9vYmFyYmF6:c2VjcmV0LWtleS1tYXRlcmlhbA=="
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    text = text.replace("  kms-keys:keys:\n", f"""  kms-keys:importedMaterial:
    secure: {ciphertext}
  kms-keys:keys:
    imported:
      description: Key with imported material
      origin: EXTERNAL
      keyMaterialConfigKey: importedMaterial
""")
    stack_file = tmp_path / "Pulumi.secret.yaml"
    stack_file.write_text(text)
    for arguments in ((str(stack_file),), (str(stack_file), "--json")):
        code, out, err = preview(*arguments)
        assert code == 0, err
        assert ciphertext not in out + err
        assert "Zm9vYmFyYmF6" not in out + err
        assert "[secret]" in out


def test_console_script_exits_cleanly_without_traceback(tmp_path: Path) -> None:
    """The installed command ends with the right code and no event-loop noise."""
    ok = subprocess.run([sys.executable, "-m", "components.cli", "preview", "dev"],
                        capture_output=True, text=True, cwd=PROJECT_DIR, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  aws:region: us-west-2\n")
    failed = subprocess.run([sys.executable, "-m", "components.cli", "preview", str(bad)],
                            capture_output=True, text=True, cwd=PROJECT_DIR, check=False)
    assert failed.returncode == 2
    assert "kms-keys:accountId: got nothing" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_preview_output_is_identical_across_runs() -> None:
    """The tree and policies print in the same order every time, whatever the event loop did."""
    outputs = {preview("prod")[1] for _ in range(3)}
    assert len(outputs) == 1
