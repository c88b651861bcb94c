"""The sentences about key policies that hold for every stack, written once.

Not a test module. Each tests/test_policy_<stack>.py subclasses `EveryStack` (and, if its keys
are not protected, `UnprotectedKeys`) with `stack = StackPolicies("<stack>")`; the classes'
`pytest_generate_tests` then run every sentence on that stack, once per row of the case list
its `@for_each` names, with test ids that start with the stack, e.g. `[prod-data-BreakGlass]`.
A sentence added here therefore runs on every stack; none can be forgotten in one of them.
"I" sentences ("... only if its IAM policies allow it") are the account-root statement at work:
it hands the decision for principals of the account to their IAM policies, as AWS's default key
policy does; the key policy itself grants them nothing more. Roles named only under `services`
are the exception: DenyUseOutsideServices keeps them to those services whatever IAM says.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from stack_policies import (
    ADMINISTRATION,
    ANONYMOUS,
    DELETION,
    OUTSIDER,
    StackPolicies,
    covered,
    every_action,
    for_each,
    named_iam_principals,
    use_actions,
)

from components.evaluator import Decision, Principal, Request, evaluate


class StackSentences:
    """Sentences about the keys of one stack; a subclass sets `stack` to the one to run on."""

    stack: ClassVar[StackPolicies]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Give each sentence the subclass's stack, once per row of its `@for_each` cases."""
        self.stack.parametrize(metafunc)


class EveryStack(StackSentences):
    """What holds for every key of every stack."""

    def test_stack_has_the_keys_named_below(self, stack: StackPolicies) -> None:
        """The stack holds the data, logs and secrets keys that the sentences below name."""
        assert {"data", "logs", "secrets"} <= set(stack.key_names)

    @for_each("administrators")
    def test_administrators_can_administer(
        self, stack: StackPolicies, key: str, admin: str
    ) -> None:
        """Each administrator can change the policy, schedule deletion and disable the key."""
        (
            stack.key_policy(key).principal(admin)
            .can("kms:PutKeyPolicy")
            .can("kms:ScheduleKeyDeletion")
            .can("kms:DisableKey")
        )

    @for_each("pure_administrators")
    def test_administrators_who_are_not_users_cannot_use_by_the_key_policy(
        self, stack: StackPolicies, key: str, admin: str
    ) -> None:
        """An administrator may encrypt or decrypt only if its IAM policies allow it."""
        (
            stack.key_policy(key).principal(admin)
            .can_if_iam_allows("kms:Decrypt")
            .can_if_iam_allows("kms:Encrypt")
            .can_if_iam_allows("kms:GenerateDataKey")
        )

    @for_each("users")
    def test_users_can_use_the_key(self, stack: StackPolicies, key: str, user: str) -> None:
        """Each user can make every call its key's usage offers, by the key policy alone."""
        sentence = stack.key_policy(key).principal(user)
        for action in use_actions(stack.keys[key]):
            sentence.can(action)

    @for_each("users")
    def test_users_cannot_change_the_policy_by_the_key_policy(
        self, stack: StackPolicies, key: str, user: str
    ) -> None:
        """A user may change the key policy only if its IAM policies allow it."""
        stack.key_policy(key).principal(user).can_if_iam_allows("kms:PutKeyPolicy")

    def test_orders_service_decrypts_data_only_via_s3_or_dynamodb(
        self, stack: StackPolicies
    ) -> None:
        """orders-service can decrypt the data key only through S3 or DynamoDB in us-west-2."""
        orders = f"arn:aws:iam::{stack.account}:role/orders-service"
        elsewhere = [stack.via("ec2"), stack.via("lambda"), "s3.us-east-1.amazonaws.com"]
        (
            stack.key_policy("data").principal(orders)
            .can_only_via("kms:Decrypt", stack.via("s3"), other_services=elsewhere)
            .can_only_via("kms:Decrypt", stack.via("dynamodb"), other_services=elsewhere)
        )

    @for_each("via_service_principals")
    def test_service_restricted_principals_use_the_key_only_through_their_service(
        self, stack: StackPolicies, key: str, service: str, principal: str
    ) -> None:
        """A role allowed via a service uses the key through it and, unless a user, nowhere else."""
        sentence = stack.key_policy(key).principal(principal)
        plan = stack.keys[key]
        access = next(item for item in plan.services if item.service == service)
        for action in covered(use_actions(plan), access.actions):
            sentence.can(action, via=stack.via(service))
            if principal in plan.users:
                continue
            if plan.confine_to_services:
                sentence.cannot(action).cannot(action, via=stack.via("ec2"))
            else:
                sentence.can_if_iam_allows(action).can_if_iam_allows(action, via=stack.via("ec2"))

    @for_each("via_service_for_anyone")
    def test_any_role_of_the_account_uses_the_key_only_through_the_service(
        self, stack: StackPolicies, key: str, service: str
    ) -> None:
        """Any role of the account may use the key via the service; directly only via its IAM."""
        access = next(item for item in stack.keys[key].services if item.service == service)
        sentence = stack.key_policy(key).principal(stack.any_role)
        for action in covered(use_actions(stack.keys[key]), access.actions):
            sentence.can(action, via=stack.via(service))
            sentence.can_if_iam_allows(action)
            sentence.can_if_iam_allows(action, via=stack.via("ec2"))

    @for_each("via_service_for_anyone")
    def test_service_open_to_the_account_is_closed_to_everyone_else(
        self, stack: StackPolicies, key: str, service: str
    ) -> None:
        """Through the service, neither another account's role nor an anonymous caller gets in."""
        for stranger in (OUTSIDER, ANONYMOUS):
            sentence = stack.key_policy(key).principal(stranger)
            sentence.cannot("kms:Decrypt", via=stack.via(service))
            sentence.cannot("kms:Encrypt", via=stack.via(service))

    def test_logs_service_encrypts_only_for_log_groups_of_the_account(
        self, stack: StackPolicies
    ) -> None:
        """CloudWatch Logs can encrypt only with a log group of this account as context."""
        logs = "logs.us-west-2.amazonaws.com"
        own_group = f"arn:aws:logs:us-west-2:{stack.account}:log-group:/{stack.name}/orders"
        foreign_group = f"arn:aws:logs:us-west-2:444455556666:log-group:/{stack.name}/orders"
        context = {
            "aws:SourceAccount": stack.account, "kms:EncryptionContext:aws:logs:arn": own_group
        }
        (
            stack.key_policy("logs").principal(logs)
            .can("kms:Encrypt", context=context)
            .can("kms:Decrypt", context=context)
            .can("kms:GenerateDataKey", context=context)
            .cannot("kms:Encrypt")
            .cannot("kms:Encrypt", context={"aws:SourceAccount": stack.account})
            .cannot("kms:Encrypt", context={**context, "kms:EncryptionContext:aws:logs:arn":
                                            foreign_group})
            .cannot("kms:Encrypt", context={**context, "aws:SourceAccount": "444455556666"})
            .cannot("kms:DescribeKey", context=context)
        )

    @for_each("service_principals")
    def test_service_principals_cannot_administer(
        self, stack: StackPolicies, key: str, service: str
    ) -> None:
        """No AWS service can change, disable or delete a key, whatever the context."""
        context = {"aws:SourceAccount": stack.account}
        sentence = stack.key_policy(key).principal(service)
        for action in ADMINISTRATION:
            sentence.cannot(action).cannot(action, context=context)

    @for_each("service_principals")
    def test_service_principals_need_a_source_of_this_account(
        self, stack: StackPolicies, key: str, service: str
    ) -> None:
        """A service acting for another account, or for no account, cannot use the key."""
        sentence = stack.key_policy(key).principal(service)
        for action in use_actions(stack.keys[key]):
            sentence.cannot(action).cannot(action, context={"aws:SourceAccount": "444455556666"})

    @for_each("key_names")
    def test_no_principal_outside_the_account_can_do_anything(
        self, stack: StackPolicies, key: str
    ) -> None:
        """A role of account 444455556666 and an anonymous caller are denied every call."""
        services = [stack.via(service.service) for service in stack.keys[key].services]
        for stranger in (OUTSIDER, ANONYMOUS):
            sentence = stack.key_policy(key).principal(stranger)
            for action in every_action(stack.keys[key]):
                sentence.cannot(action)
                for service in services:
                    sentence.cannot(action, via=service)

    @for_each("key_names")
    def test_account_root_can_always_manage_the_key(self, stack: StackPolicies, key: str) -> None:
        """The account root can change the policy and use the key, so it is never locked out."""
        (
            stack.key_policy(key).principal(stack.root)
            .can("kms:PutKeyPolicy")
            .can("kms:ScheduleKeyDeletion")
            .can("kms:Decrypt")
        )

    @for_each("key_names")
    def test_iam_delegation_comes_only_from_the_account_root_statement(
        self, stack: StackPolicies, key: str
    ) -> None:
        """"Only if its IAM policies allow it" is always the work of EnableIamPermissions."""
        policy = stack.policies[key]
        principals = sorted(named_iam_principals(policy) - {stack.root}) + [stack.any_role]
        for principal in principals:
            for action in every_action(stack.keys[key]):
                result = evaluate(
                    policy, Request(Principal.parse(principal), action), key_account=stack.account
                )
                if result.decision is Decision.ALLOW_IF_IAM:
                    deciding = result.deciding_statements
                    assert deciding == ("EnableIamPermissions",), (principal, action)


class UnprotectedKeys(StackSentences):
    """Stacks whose keys are not protected (dev, staging): deletion is left to IAM."""

    @for_each("users")
    def test_users_can_disable_or_delete_an_unprotected_key_only_if_iam_allows(
        self, stack: StackPolicies, key: str, user: str
    ) -> None:
        """A user may disable or schedule deletion of the key only if its IAM policies allow it."""
        (
            stack.key_policy(key).principal(user)
            .can_if_iam_allows("kms:ScheduleKeyDeletion")
            .can_if_iam_allows("kms:DisableKey")
        )

    @for_each("key_names")
    def test_others_can_disable_or_delete_an_unprotected_key_only_if_iam_allows(
        self, stack: StackPolicies, key: str
    ) -> None:
        """Roles of the account but administrators may disable or delete the key only via IAM."""
        for action in DELETION:
            for other in [*stack.others(key), stack.any_role]:
                stack.key_policy(key).principal(other).can_if_iam_allows(action)
            for service in stack.keys[key].services:
                sentence = stack.key_policy(key).principal(stack.any_role)
                sentence.can_if_iam_allows(action, via=stack.via(service.service))
            for access in stack.keys[key].service_principals:
                stack.key_policy(key).principal(access.service).cannot(action)
