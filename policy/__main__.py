"""The kms-keys guardrails as a CrossGuard policy pack, started by the Pulumi CLI.

`pulumi preview --policy-pack policy` runs this program; the rules are those of
`components.guardrails`, which `kms-keys preview` also runs offline. Constructing `PolicyPack`
starts the pack's gRPC server for the CLI and never returns, so only the CLI runs this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from components.guardrails import PACK_NAME, build_policies
except ImportError:  # the project is not installed in the pack's venv: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from components.guardrails import PACK_NAME, build_policies

from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own default level
    policies=build_policies(),
)
