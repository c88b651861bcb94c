"""The README quotes the product; these tests keep the quotes true."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

from components.cli import main

PROJECT_DIR = Path(__file__).resolve().parents[1]
README = (PROJECT_DIR / "README.md").read_text()


def test_quoted_pack_config_is_the_shipped_file() -> None:
    """The JSON shown under Configuration is policy/config.json."""
    section = README.split("### Configuration", 1)[1]
    quoted = re.search(r"```json\n(.*?)```", section, re.S)
    assert quoted is not None
    shipped = (PROJECT_DIR / "policy" / "config.json").read_text()
    assert json.loads(quoted.group(1)) == json.loads(shipped)


def test_quoted_bad_value_error_is_what_the_command_prints(tmp_path: Path) -> None:
    """The README's example error for `rotationPeriodInDays: 30` in dev is printed verbatim."""
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace(
        "rotationPeriodInDays: 365", "rotationPeriodInDays: 30"))
    err = io.StringIO()
    saved = sys.stderr
    sys.stderr = err
    try:
        code = main(["preview", str(stack_file), "--project-dir", str(PROJECT_DIR)])
    finally:
        sys.stderr = saved
    assert code == 2
    for line in err.getvalue().splitlines():
        assert f"    {line}" in README
