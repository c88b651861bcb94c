"""Who can use the keys of stack staging: each test is one sentence a security reviewer can check.

The keys come from Pulumi.staging.yaml (account 222233334444) through the real loader and policy
builder, so a key added to the stack file is covered without touching this file. The sentences
true of every stack are written once in tests/policy_sentences.py and run here on staging, once per
key, role or service, with ids that start with `staging-`: administrators can administer but the
key policy alone does not let them use the key; users can use but not administer; no principal
outside the account, and no anonymous caller, can do anything; services and the roles allowed
through them use the key only through their service; the account root is never locked out.
Staging keys are not protected, so for every principal but the administrators and the root,
disabling or scheduling deletion of one is possible only if its IAM policies allow it.
"""

from __future__ import annotations

from policy_sentences import EveryStack, UnprotectedKeys
from stack_policies import StackPolicies

STACK = StackPolicies("staging")


class TestStagingLikeEveryStack(EveryStack):
    """The sentences true of every stack, run on each key of staging."""

    stack = STACK


class TestStagingKeysAreNotProtected(UnprotectedKeys):
    """Users and other roles of the account may disable or delete a staging key only via IAM."""

    stack = STACK


def test_staging_keys_are_in_account_222233334444_and_not_protected() -> None:
    """Staging keys belong to account 222233334444; none keeps deletion to its administrators."""
    assert STACK.account == "222233334444"
    assert not any(key.deletion_by_administrators_only for key in STACK.keys.values())
