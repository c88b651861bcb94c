"""The key policies of one stack, loaded as `pulumi up` loads them, and the helpers sentences use.

Not a test module: tests/test_policy_<stack>.py build a `StackPolicies(stack)` from the stack
file through the real loader and policy builder; the sentence classes of policy_sentences.py
hand it to every sentence taking a `stack` argument, once per row of its case list. Case lists
are computed from the stack file, so a key added to it is covered without touching any test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

import pytest

from components import specs
from components.loader import load_stack
from components.offline import read_stack_config, resolve_stack
from components.policy import build_policy
from components.policy_assertions import PolicyExpectation, expect
from components.rules import KeyPlan, StackPlan

PROJECT_DIR = Path(__file__).parents[1]
OUTSIDER = "arn:aws:iam::444455556666:role/outsider"
ANONYMOUS = "*"
ADMINISTRATION = ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey")
DELETION = ("kms:ScheduleKeyDeletion", "kms:DisableKey")

Sentence = TypeVar("Sentence", bound=Callable[..., None])
_CASES = "stack_policies_cases"


def load_plan(stack: str, project_dir: Path = PROJECT_DIR) -> StackPlan:
    """The stack's key plans, read from its stack file as `pulumi up` reads them."""
    files = resolve_stack(stack, project_dir=project_dir)
    config, _ = read_stack_config(files)
    return load_stack(config.get, project=files.project, stack=files.stack)


def use_actions(key: KeyPlan) -> tuple[str, ...]:
    """The concrete calls a user of this kind of key makes, written out independently."""
    if key.key_usage == specs.ENCRYPT_DECRYPT and key.key_spec == specs.SYMMETRIC_DEFAULT:
        return ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                "kms:DescribeKey")
    return {
        specs.ENCRYPT_DECRYPT: ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom",
                                "kms:GetPublicKey", "kms:DescribeKey"),
        specs.SIGN_VERIFY: ("kms:Sign", "kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"),
        specs.GENERATE_VERIFY_MAC: ("kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"),
        specs.KEY_AGREEMENT: ("kms:DeriveSharedSecret", "kms:GetPublicKey", "kms:DescribeKey"),
    }[key.key_usage]


def covered(actions: tuple[str, ...], patterns: tuple[str, ...]) -> list[str]:
    """The concrete actions some configured pattern (kms:GenerateDataKey*...) covers."""
    return [action for action in actions if any(fnmatchcase(action, p) for p in patterns)]


def every_action(key: KeyPlan) -> tuple[str, ...]:
    """Every call worth refusing to a stranger: capabilities, administration and use."""
    listed = [action for actions in specs.CAPABILITIES.values() for action in actions]
    return tuple(dict.fromkeys([*listed, *ADMINISTRATION, *use_actions(key)]))


def named_iam_principals(policy: dict[str, Any]) -> set[str]:
    """Every IAM principal (not `*`) the policy names in some statement."""
    found: set[str] = set()
    for statement in policy["Statement"]:
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            entries = principal.get("AWS", [])
            found.update([entries] if isinstance(entries, str) else entries)
    found.discard("*")
    return found


def ids(case: Any) -> str:
    """A short test id: the key, then the role or service name."""
    return str(case).rsplit("/", 1)[-1].removesuffix(".amazonaws.com")


def for_each(cases: str) -> Callable[[Sentence], Sentence]:
    """Run the sentence once per row of the `StackPolicies` case list named *cases*."""

    def mark(sentence: Sentence) -> Sentence:
        setattr(sentence, _CASES, cases)
        return sentence

    return mark


class StackPolicies:
    """The keys of one stack file, their built policies, and the cases sentences run over."""

    def __init__(self, stack: str, project_dir: Path = PROJECT_DIR) -> None:
        self.name = stack
        self.plan = load_plan(stack, project_dir)
        self.account: str = self.plan.context.account_id
        self.region: str = self.plan.context.region
        self.root = f"arn:aws:iam::{self.account}:root"
        self.any_role = f"arn:aws:iam::{self.account}:role/any-other-role"
        keys = self.plan.keys
        self.keys: dict[str, KeyPlan] = {key.name: key for key in keys}
        self.policies: dict[str, dict[str, Any]] = {key.name: build_policy(key) for key in keys}
        self.key_names = sorted(self.keys)
        self.administrators = [(key.name, admin) for key in keys for admin in key.administrators]
        self.users = [(key.name, user) for key in keys for user in key.users]
        self.pure_administrators = [
            (key, admin) for key, admin in self.administrators if admin not in self.keys[key].users
        ]
        self.via_service_principals = [
            (key.name, service.service, principal)
            for key in keys for service in key.services for principal in service.principals or ()
        ]
        self.via_service_for_anyone = [
            (key.name, service.service) for key in keys for service in key.services
            if service.principals is None
        ]
        self.service_principals = [
            (key.name, access.service) for key in keys for access in key.service_principals
        ]

    def key_policy(self, key: str) -> PolicyExpectation:
        """Start a sentence about the policy of one key of the stack."""
        return expect(self.policies[key], key_account=self.account)

    def via(self, service: str) -> str:
        """The kms:ViaService value of a service in the stack's region."""
        return f"{service}.{self.region}.amazonaws.com"

    def others(self, key: str) -> list[str]:
        """The IAM principals the key's policy names, less its administrators and the root."""
        named = named_iam_principals(self.policies[key])
        return sorted(named - set(self.keys[key].administrators) - {self.root})

    def parametrize(self, metafunc: pytest.Metafunc) -> None:
        """Give a sentence taking `stack` this stack, once per row of its `for_each` cases."""
        if "stack" not in metafunc.fixturenames:
            return
        names = [name for name in inspect.signature(metafunc.function).parameters
                 if name not in ("self", "stack")]
        cases = getattr(metafunc.function, _CASES, None)
        if cases is None and names:
            raise TypeError(f"{metafunc.function.__name__} takes {names} but has no @for_each")
        rows = [pytest.param(id=self.name)] if cases is None else self.cases(cases)
        metafunc.parametrize(
            ["stack", *names], [pytest.param(self, *row.values, id=row.id) for row in rows]
        )

    def cases(self, name: str) -> list[Any]:
        """The rows of case list *name* as pytest params, with ids that start with the stack."""
        rows = [row if isinstance(row, tuple) else (row,) for row in getattr(self, name)]
        return [pytest.param(*row, id="-".join([self.name, *map(ids, row)])) for row in rows]
