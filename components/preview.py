"""`kms-keys preview STACK`: run the stack offline and print what it would create."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import pulumi

from .errors import KmsConfigError
from .offline import OfflineRun, StackFileError, resolve_stack, run_offline
from .policy import pretty_policy
from .render import as_json, key_lines, key_summaries, tree_lines

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2


def render_text(run: OfflineRun) -> str:
    files = run.files
    lines = [
        f"kms-keys preview: stack {files.stack!r} of project {files.project!r} "
        f"({files.stack_file.name})",
        "offline: Pulumi mock engine, nothing sent to AWS, no credentials used",
        "",
        f"Resources ({len(run.resources)}):",
        *tree_lines(run),
    ]
    for summary in key_summaries(run):
        lines.append("")
        lines += key_lines(summary, pretty_policy(summary["policy"] or {}))
    messages = [(level, text) for level, text in run.log if level in ("warning", "error")]
    if messages:
        lines += ["", "Messages:"] + [f"  {level}: {text}" for level, text in messages]
    return "\n".join(lines)


def preview_command(
    stack: str,
    *,
    as_json: bool = False,
    project_dir: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one stack offline; 0 on success, 2 on bad config, 1 on any other failure."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        files = resolve_stack(stack, project_dir=project_dir)
        run = run_offline(files)
    except StackFileError as error:
        print(f"kms-keys: {error}", file=err)
        return EXIT_BAD_CONFIG
    except (KmsConfigError, pulumi.RunError) as error:
        print(f"kms-keys: {error}", file=err)
        return EXIT_BAD_CONFIG if _is_config_error(error) else EXIT_FAILED
    if as_json:
        document: dict[str, Any] = as_json_document(run)
        print(json.dumps(document, indent=2, sort_keys=True), file=out)
    else:
        print(render_text(run), file=out)
    return EXIT_OK


def as_json_document(run: OfflineRun) -> dict[str, Any]:
    return as_json(run)


def _is_config_error(error: Exception) -> bool:
    return isinstance(error, KmsConfigError) or "configuration error" in str(error)
