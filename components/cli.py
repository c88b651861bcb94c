"""The `kms-keys` command: an offline preview of a stack's keys, no credentials needed."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kms-keys",
        description="Offline tools for the kms-keys Pulumi project (no AWS calls).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser(
        "preview",
        help="run a stack's program under Pulumi's mock engine and show its keys",
        description="Render what `pulumi up -s STACK` would create, offline.",
    )
    preview.add_argument("stack", help="a stack name (dev) or a stack file (Pulumi.dev.yaml)")
    preview.add_argument("--json", action="store_true", help="print the preview as JSON")
    preview.add_argument(
        "--against", type=Path, default=None, metavar="PREVIOUS.json",
        help="compare with a saved `--json` preview and report keys that would be replaced",
    )
    preview.add_argument(
        "--policy-pack-config", type=Path, default=None, metavar="FILE",
        help="guardrail settings, as given to `pulumi preview --policy-pack-config`",
    )
    preview.add_argument(
        "--project-dir", type=Path, default=None,
        help="folder holding Pulumi.yaml (default: the nearest one at or above the cwd)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    arguments = _parser().parse_args(argv)
    from .preview import preview_command

    return preview_command(
        arguments.stack, as_json=arguments.json, project_dir=arguments.project_dir,
        against=arguments.against, policy_pack_config=arguments.policy_pack_config,
    )


def run() -> None:
    """Console-script wrapper: flush, then leave without the SDK's event-loop teardown noise."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and closed early
        code = EXIT_OK
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()

__all__ = ["EXIT_BAD_CONFIG", "EXIT_FAILED", "EXIT_OK", "main", "run"]
