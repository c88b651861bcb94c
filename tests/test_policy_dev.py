"""Who can use the keys of stack dev: each test is one sentence a security reviewer can check.

The keys come from Pulumi.dev.yaml (account 111122223333) through the real loader and policy
builder, so a key added to the stack file is covered without touching this file. The sentences
true of every stack are written once in tests/policy_sentences.py and run here on dev, once per
key, role or service, with ids that start with `dev-`: administrators can administer but the
key policy alone does not let them use the key; users can use but not administer; no principal
outside the account, and no anonymous caller, can do anything; services and the roles allowed
through them use the key only through their service; the account root is never locked out.
Dev keys are not protected, so for every principal but the administrators and the root,
disabling or scheduling deletion of one is possible only if its IAM policies allow it.
"""

from __future__ import annotations

from policy_sentences import EveryStack, UnprotectedKeys
from stack_policies import StackPolicies

STACK = StackPolicies("dev")


class TestDevLikeEveryStack(EveryStack):
    """The sentences true of every stack, run on each key of dev."""

    stack = STACK


class TestDevKeysAreNotProtected(UnprotectedKeys):
    """Users and other roles of the account may disable or delete a dev key only via IAM."""

    stack = STACK


def test_dev_keys_are_in_account_111122223333_and_not_protected() -> None:
    """Dev's keys belong to account 111122223333; none keeps deletion to its administrators."""
    assert STACK.account == "111122223333"
    assert not any(key.deletion_by_administrators_only for key in STACK.keys.values())
