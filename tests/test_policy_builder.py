"""The policy builder: statements by role, canonical text, and no dependence on the caller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import ACCOUNT, ADMIN, APP, one_key

from components.policy import build_policy, render_policy
from components.specs import use_actions

PROJECT_DIR = Path(__file__).resolve().parents[1]


def statements_by_sid(settings: dict) -> dict:
    policy = build_policy(one_key(settings))
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_policy_has_root_admin_and_user_statements() -> None:
    """The default policy: account root, administrators, users, grants for AWS resources."""
    statements = statements_by_sid({})
    assert list(statements) == [
        "EnableIamPermissions", "AllowKeyAdministration", "AllowKeyUse",
        "AllowGrantsForAwsResources",
    ]
    assert statements["EnableIamPermissions"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"
    }
    assert statements["AllowKeyUse"]["Principal"] == {"AWS": APP}


def test_single_principal_is_a_string_and_several_a_sorted_list() -> None:
    """C7: a lone principal is written as AWS stores it back; several are sorted."""
    second = f"arn:aws:iam::{ACCOUNT}:role/Aaa"
    statements = statements_by_sid({"users": [APP, second, APP]})
    assert statements["AllowKeyAdministration"]["Principal"]["AWS"] == ADMIN
    assert statements["AllowKeyUse"]["Principal"]["AWS"] == [second, APP]


def test_account_root_statement_can_be_left_out() -> None:
    """allowAccountRoot: false drops the IAM delegation statement."""
    statements = statements_by_sid({"allowAccountRoot": False})
    assert "EnableIamPermissions" not in statements


def test_administrators_cannot_use_the_key() -> None:
    """Administration actions never include cryptographic use."""
    actions = statements_by_sid({})["AllowKeyAdministration"]["Action"]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:Sign"} & set(actions)
    assert "kms:PutKeyPolicy" in actions


def test_signing_key_users_get_sign_and_verify_never_encrypt() -> None:
    """The key-user statement fits the key: no Encrypt on a signing key."""
    statements = statements_by_sid({"keySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY"})
    assert statements["AllowKeyUse"]["Action"] == [
        "kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify",
    ]
    assert "AllowGrantsForAwsResources" not in statements
    assert "kms:EnableKeyRotation" not in statements["AllowKeyAdministration"]["Action"]


def test_via_service_without_principals_is_limited_to_the_account() -> None:
    """Use through a service by anyone in the account carries both limiting conditions."""
    statement = statements_by_sid({"services": [{"service": "s3"}]})["AllowUseViaS3"]
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT,
            "kms:ViaService": "s3.us-west-2.amazonaws.com",
        }
    }
    assert statement["Action"] == sorted(use_actions(key_spec="SYMMETRIC_DEFAULT",
                                                     key_usage="ENCRYPT_DECRYPT"))


def test_session_administrator_becomes_its_role() -> None:
    """C2: an assumed-role session ARN is rewritten to its role; no sts ARN remains."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-session"
    plan = one_key({"administrators": [session]})
    text = render_policy(build_policy(plan))
    assert f"arn:aws:iam::{ACCOUNT}:role/deployer" in text
    assert "arn:aws:sts:" not in text
    assert any("rewritten to its role" in note for note in plan.notes)


def test_two_callers_produce_the_identical_policy() -> None:
    """C2: the policy does not depend on who runs the deploy."""
    first = one_key({"administrators": [f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/alice"]})
    second = one_key({"administrators": [f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/bob"]})
    assert render_policy(build_policy(first)) == render_policy(build_policy(second))


def test_policy_text_is_canonical_json() -> None:
    """C7: sorted keys and no insignificant white space."""
    text = render_policy(build_policy(one_key({})))
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_input_order_does_not_change_the_policy() -> None:
    """C7: reordering principals in the stack file changes nothing."""
    other = f"arn:aws:iam::{ACCOUNT}:role/Other"
    first = one_key({"users": [APP, other], "administrators": [ADMIN, other]})
    second = one_key({"users": [other, APP], "administrators": [other, ADMIN]})
    assert render_policy(build_policy(first)) == render_policy(build_policy(second))


_RENDER_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from support import one_key
from components.policy import build_policy, render_policy
settings = {{"users": ["arn:aws:iam::111122223333:role/B", "arn:aws:iam::111122223333:role/A"],
            "services": [{{"service": "s3"}}, {{"service": "rds"}}],
            "tags": {{"b": "2", "a": "1"}}}}
print(render_policy(build_policy(one_key(settings))))
"""


def test_policy_bytes_are_identical_across_hash_seeds() -> None:
    """C7: separate processes with different PYTHONHASHSEED write the same bytes."""
    script = _RENDER_SCRIPT.format(tests=str(PROJECT_DIR / "tests"))
    outputs = set()
    for seed in ("0", "1", "12345"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True,
            env=environment, cwd=PROJECT_DIR,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    assert '"Sid":"AllowUseViaRds"' in outputs.pop()
