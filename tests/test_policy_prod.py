"""Who can use the keys of stack prod: each test is one sentence a security reviewer can check.

The keys come from Pulumi.prod.yaml (account 555566667777) through the real loader and policy
builder, so a key added to the stack file is covered without touching this file. The sentences
true of every stack are written once in tests/policy_sentences.py and run here on prod, once per
key, role or service, with ids that start with `prod-`: administrators can administer but the
key policy alone does not let them use the key; users can use but not administer; no principal
outside the account, and no anonymous caller, can do anything; services and the roles allowed
through them use the key only through their service (orders-service decrypts the data key only
via S3 or DynamoDB); the account root is never locked out. Prod keys are protected: only their
administrators and the root can disable them or schedule their deletion, whatever IAM says,
and it is the DenyDeletionByOthers statement that refuses everyone else.
"""

from __future__ import annotations

import pytest
from policy_sentences import EveryStack
from stack_policies import DELETION, StackPolicies

from components.evaluator import Decision, Principal, Request, evaluate

STACK = StackPolicies("prod")


class TestProdLikeEveryStack(EveryStack):
    """The sentences true of every stack, run on each key of prod."""

    stack = STACK


def test_prod_keys_are_in_account_555566667777_and_protected() -> None:
    """Prod's keys belong to account 555566667777; each keeps deletion to its administrators."""
    assert STACK.account == "555566667777"
    assert all(key.deletion_by_administrators_only for key in STACK.keys.values())


@pytest.mark.parametrize(("key", "user"), STACK.cases("users"))
def test_prod_users_can_never_disable_or_delete_the_key(key: str, user: str) -> None:
    """A user can never disable or schedule deletion of a prod key, whatever its IAM says."""
    (
        STACK.key_policy(key).principal(user)
        .cannot("kms:ScheduleKeyDeletion")
        .cannot("kms:DisableKey")
    )


@pytest.mark.parametrize("key", STACK.cases("key_names"))
def test_prod_only_administrators_can_disable_or_delete_the_key(key: str) -> None:
    """Only administrators and the root may disable or delete a prod key, whatever IAM says."""
    administrators = sorted(STACK.keys[key].administrators)
    for action in DELETION:
        STACK.key_policy(key).principal(STACK.root).can(action)
        for admin in administrators:
            STACK.key_policy(key).principal(admin).can(action)
        for other in [*STACK.others(key), STACK.any_role]:
            STACK.key_policy(key).principal(other).cannot(action)
        for service in STACK.keys[key].services:
            STACK.key_policy(key).principal(STACK.any_role).cannot(
                action, via=STACK.via(service.service)
            )
        for access in STACK.keys[key].service_principals:
            STACK.key_policy(key).principal(access.service).cannot(action)


@pytest.mark.parametrize("key", STACK.cases("key_names"))
def test_prod_deletion_by_others_is_refused_by_deny_deletion_by_others(key: str) -> None:
    """Others are refused by an explicit DenyDeletionByOthers, not by a missing allow."""
    for other in [*STACK.others(key), STACK.any_role]:
        for action in DELETION:
            request = Request(Principal.parse(other), action)
            result = evaluate(STACK.policies[key], request, key_account=STACK.account)
            assert result.decision is Decision.EXPLICIT_DENY, (other, action)
            assert "DenyDeletionByOthers" in result.deciding_statements, (other, action)
