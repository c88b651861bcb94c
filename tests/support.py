"""Small builders shared by tests: stack configs in memory, and loading them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.loader import load_stack
from components.rules import StackPlan

SECRET = "[secret]"  # what a config source hands the loader for a secret value
ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
APP = f"arn:aws:iam::{ACCOUNT}:role/App"


def stack_config(
    keys: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    account_id: str = ACCOUNT,
    region: str = "us-west-2",
    project: str = "kms-keys",
    **settings: Any,
) -> dict[str, str]:
    """The config map a Pulumi program would see for a stack with these keys."""
    if keys is None:
        keys = {"data": {"administrators": [ADMIN], "users": [APP]}}
    config = {
        "aws:region": region,
        "aws:allowedAccountIds": json.dumps([account_id]),
        f"{project}:accountId": account_id,
        f"{project}:keys": json.dumps(keys),
    }
    for name, value in settings.items():
        config[f"{project}:{name}"] = value if isinstance(value, str) else json.dumps(value)
    return config


def load(config: Mapping[str, str], *, stack: str = "dev", project: str = "kms-keys") -> StackPlan:
    """Load a stack plan from an in-memory config map."""
    return load_stack(config.get, project=project, stack=stack)


def one_key(settings: Mapping[str, Any], *, stack: str = "dev", **stack_settings: Any) -> Any:
    """Load a stack holding a single key `data` with the given settings; return its plan."""
    base: dict[str, Any] = {"administrators": [ADMIN], "users": [APP]}
    base.update(settings)
    config = stack_config({"data": base}, **stack_settings)
    material = base.get("keyMaterialConfigKey")
    if isinstance(material, str):
        config[f"kms-keys:{material}"] = SECRET  # set with `pulumi config set --secret`
    plan = load(config, stack=stack)
    return plan.keys[0]


def statement(
    sid: str,
    principal: Any,
    actions: str | list[str],
    condition: dict[str, Any] | None = None,
    *,
    effect: str = "Allow",
) -> dict[str, Any]:
    """One key policy statement on this key."""
    result: dict[str, Any] = {
        "Sid": sid, "Effect": effect, "Principal": principal, "Action": actions, "Resource": "*",
    }
    if condition is not None:
        result["Condition"] = condition
    return result
