"""`kms-keys preview STACK`: run the stack offline and print what it would create."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import pulumi

from .changes import KeyChange, compare_previews, malformed_keys
from .errors import KmsConfigError
from .guardrails import (
    GuardrailConfig,
    GuardrailConfigError,
    evaluate_offline_run,
    exit_code,
    load_pack_config,
    render_violations,
)
from .offline import OfflineRun, StackFileError, resolve_stack, run_offline
from .policy import pretty_policy
from .program import StackConfigError
from .render import as_json as preview_document
from .render import key_lines, key_summaries, tree_lines

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG, EXIT_REPLACEMENT = 0, 1, 2, 4


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
    if run.outputs:
        lines += ["", "Outputs:"]
        lines += ["  " + line for line in json.dumps(run.outputs, indent=2,
                                                       sort_keys=True).splitlines()]
    messages = [(level, text) for level, text in run.log if level != "debug"]
    if messages:
        lines += ["", "Messages:"] + [f"  {level}: {text}" for level, text in messages]
    return "\n".join(lines)


def preview_command(
    stack: str,
    *,
    as_json: bool = False,
    project_dir: Path | None = None,
    against: Path | None = None,
    policy_pack_config: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one stack offline and print it.

    Exit codes: 0 rendered; 1 the program failed; 2 bad configuration or arguments; 3 a
    mandatory guardrail of the policy pack is broken; 4 `--against` found a key that would be
    replaced or deleted.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        previous = _read_previous(against) if against is not None else None
        guardrail_config = (
            load_pack_config(policy_pack_config) if policy_pack_config else GuardrailConfig()
        )
        files = resolve_stack(stack, project_dir=project_dir)
        run = run_offline(files)
    except (StackFileError, GuardrailConfigError) as error:
        print(f"kms-keys: {error}", file=err)
        return EXIT_BAD_CONFIG
    except (KmsConfigError, StackConfigError) as error:
        print(f"kms-keys: {error}", file=err)
        return EXIT_BAD_CONFIG
    except pulumi.RunError as error:
        print(f"kms-keys: {error}", file=err)
        return EXIT_FAILED
    except Exception as error:  # the program itself failed: say what, without a traceback
        print(f"kms-keys: the stack program failed: {type(error).__name__}: {error}", file=err)
        return EXIT_FAILED
    document: dict[str, Any] = preview_document(run)
    if previous is not None and (
        (previous.get("project"), previous.get("stack"))
        != (document["project"], document["stack"])
    ):
        print(
            f"kms-keys: --against {against}: that preview is of stack "
            f"{previous.get('project')!r}/{previous.get('stack')!r}, not "
            f"{document['project']!r}/{document['stack']!r}; compare a stack with its own "
            "earlier preview",
            file=err,
        )
        return EXIT_BAD_CONFIG
    changes = compare_previews(previous, document) if previous is not None else None
    violations = evaluate_offline_run(run, guardrail_config)
    document["guardrails"] = [asdict(violation) for violation in violations]
    if as_json:
        if changes is not None:
            document["changes"] = [
                {"key": change.key, "kind": change.kind, "details": list(change.details),
                 "message": change.render()}
                for change in changes
            ]
        print(json.dumps(document, indent=2, sort_keys=True), file=out)
    else:
        text = render_text(run) + "\n\n" + "\n".join(render_violations(violations))
        if changes is not None:
            text += "\n\n" + "\n".join(_change_lines(changes, against))
        print(text, file=out)
    guardrail_code = exit_code(violations)
    if guardrail_code:
        return guardrail_code
    if changes and any(change.destructive for change in changes):
        return EXIT_REPLACEMENT
    return EXIT_OK


def _read_previous(path: Path) -> dict[str, Any]:
    """A preview saved earlier with `kms-keys preview STACK --json > PREVIOUS.json`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise StackFileError(f"--against {path}: not a saved preview ({error})") from None
    problems = malformed_keys(document) if isinstance(document, dict) else ["not a mapping"]
    if problems:
        raise StackFileError(
            f"--against {path}: not a saved preview of this version ({'; '.join(problems[:3])}); "
            "allowed: the output of `kms-keys preview STACK --json`"
        )
    return document


def _change_lines(changes: list[KeyChange], against: Path | None) -> list[str]:
    lines = [f"Changes against {against}:"]
    if not changes:
        return [*lines, "  none"]
    return [*lines, *(f"  {change.render()}" for change in changes)]

