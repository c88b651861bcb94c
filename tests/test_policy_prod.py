"""Who can use the keys of stack prod: each test is one sentence a security reviewer can check.

The keys come from Pulumi.prod.yaml through the real loader and policy builder, so a key added
to the stack file is covered by every parametrized sentence below without touching this file.
"I" sentences ("... only if its IAM policies allow it") are the account-root statement at work:
it hands the decision for principals of the account to their IAM policies, as AWS's default key
policy does; the key policy itself grants them nothing more. Roles named only under `services`
are the exception: DenyUseOutsideServices keeps them to those services whatever IAM says.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from components import specs
from components.evaluator import Decision, Principal, Request, evaluate
from components.loader import load_stack
from components.offline import read_stack_config, resolve_stack
from components.policy import build_policy
from components.policy_assertions import PolicyExpectation, expect
from components.rules import KeyPlan, StackPlan

STACK = "prod"
PROJECT_DIR = Path(__file__).parents[1]
OUTSIDER = "arn:aws:iam::444455556666:role/outsider"
ANONYMOUS = "*"
ADMINISTRATION = ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey")
DELETION = ("kms:ScheduleKeyDeletion", "kms:DisableKey")


def load_plan() -> StackPlan:
    """The stack's key plans, read from its stack file as `pulumi up` reads them."""
    files = resolve_stack(STACK, project_dir=PROJECT_DIR)
    config, _ = read_stack_config(files)
    return load_stack(config.get, project=files.project, stack=files.stack)


PLAN = load_plan()
ACCOUNT = PLAN.context.account_id
REGION = PLAN.context.region
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ANY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/any-other-role"
KEYS: dict[str, KeyPlan] = {key.name: key for key in PLAN.keys}
POLICIES: dict[str, dict[str, Any]] = {key.name: build_policy(key) for key in PLAN.keys}


def key_policy(key: str) -> PolicyExpectation:
    """Start a sentence about the policy of one key of the stack."""
    return expect(POLICIES[key], key_account=ACCOUNT)


def via(service: str) -> str:
    """The kms:ViaService value of a service in the stack's region."""
    return f"{service}.{REGION}.amazonaws.com"


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


ADMINISTRATORS = [(key.name, admin) for key in PLAN.keys for admin in key.administrators]
USERS = [(key.name, user) for key in PLAN.keys for user in key.users]
PURE_ADMINISTRATORS = [(key, admin) for key, admin in ADMINISTRATORS
                       if admin not in KEYS[key].users]
VIA_SERVICE_PRINCIPALS = [
    (key.name, service.service, principal)
    for key in PLAN.keys for service in key.services for principal in service.principals or ()
]
VIA_SERVICE_FOR_ANYONE = [
    (key.name, service.service) for key in PLAN.keys for service in key.services
    if service.principals is None
]
SERVICE_PRINCIPALS = [
    (key.name, access.service) for key in PLAN.keys for access in key.service_principals
]
KEY_NAMES = sorted(KEYS)


def ids(case: Any) -> str:
    """A short test id: the key, then the role or service name."""
    return str(case).rsplit("/", 1)[-1].removesuffix(".amazonaws.com")


def test_prod_stack_has_the_keys_named_below() -> None:
    """The stack holds the data, logs and secrets keys that the sentences below name."""
    assert {"data", "logs", "secrets"} <= set(KEY_NAMES)


@pytest.mark.parametrize(("key", "admin"), ADMINISTRATORS, ids=ids)
def test_prod_administrators_can_administer(key: str, admin: str) -> None:
    """Each administrator can change the policy, schedule deletion and disable the key."""
    (
        key_policy(key).principal(admin)
        .can("kms:PutKeyPolicy")
        .can("kms:ScheduleKeyDeletion")
        .can("kms:DisableKey")
    )


@pytest.mark.parametrize(("key", "admin"), PURE_ADMINISTRATORS, ids=ids)
def test_prod_administrators_who_are_not_users_cannot_use_by_the_key_policy(
    key: str, admin: str
) -> None:
    """An administrator may encrypt or decrypt only if its IAM policies allow it."""
    (
        key_policy(key).principal(admin)
        .can_if_iam_allows("kms:Decrypt")
        .can_if_iam_allows("kms:Encrypt")
        .can_if_iam_allows("kms:GenerateDataKey")
    )


@pytest.mark.parametrize(("key", "user"), USERS, ids=ids)
def test_prod_users_can_use_the_key(key: str, user: str) -> None:
    """Each user can make every call its key's usage offers, by the key policy alone."""
    sentence = key_policy(key).principal(user)
    for action in use_actions(KEYS[key]):
        sentence.can(action)


@pytest.mark.parametrize(("key", "user"), USERS, ids=ids)
def test_prod_users_cannot_administer_by_the_key_policy(key: str, user: str) -> None:
    """A user may change the policy only if its IAM allows it, and never disable or delete."""
    (
        key_policy(key).principal(user)
        .can_if_iam_allows("kms:PutKeyPolicy")
        .cannot("kms:ScheduleKeyDeletion")
        .cannot("kms:DisableKey")
    )


def test_prod_orders_service_decrypts_data_only_via_s3_or_dynamodb() -> None:
    """orders-service can decrypt the data key only through S3 or DynamoDB in us-west-2."""
    orders = f"arn:aws:iam::{ACCOUNT}:role/orders-service"
    elsewhere = [via("ec2"), via("lambda"), "s3.us-east-1.amazonaws.com"]
    (
        key_policy("data").principal(orders)
        .can_only_via("kms:Decrypt", via("s3"), other_services=elsewhere)
        .can_only_via("kms:Decrypt", via("dynamodb"), other_services=elsewhere)
    )


@pytest.mark.parametrize(("key", "service", "principal"), VIA_SERVICE_PRINCIPALS, ids=ids)
def test_prod_service_restricted_principals_use_the_key_only_through_their_service(
    key: str, service: str, principal: str
) -> None:
    """A role allowed via a service uses the key through it and, unless a user, nowhere else."""
    sentence = key_policy(key).principal(principal)
    plan = KEYS[key]
    access = next(item for item in plan.services if item.service == service)
    for action in covered(use_actions(plan), access.actions):
        sentence.can(action, via=via(service))
        if principal in plan.users:
            continue
        if plan.confine_to_services:
            sentence.cannot(action).cannot(action, via=via("ec2"))
        else:
            sentence.can_if_iam_allows(action).can_if_iam_allows(action, via=via("ec2"))


@pytest.mark.parametrize(("key", "service"), VIA_SERVICE_FOR_ANYONE, ids=ids)
def test_prod_any_role_of_the_account_uses_the_key_only_through_the_service(
    key: str, service: str
) -> None:
    """Any role of the account may use the key via the service; directly only via its IAM."""
    access = next(item for item in KEYS[key].services if item.service == service)
    sentence = key_policy(key).principal(ANY_ROLE)
    for action in covered(use_actions(KEYS[key]), access.actions):
        sentence.can(action, via=via(service))
        sentence.can_if_iam_allows(action)
        sentence.can_if_iam_allows(action, via=via("ec2"))


@pytest.mark.parametrize(("key", "service"), VIA_SERVICE_FOR_ANYONE, ids=ids)
def test_prod_service_open_to_the_account_is_closed_to_everyone_else(
    key: str, service: str
) -> None:
    """Through the service, neither another account's role nor an anonymous caller gets in."""
    for stranger in (OUTSIDER, ANONYMOUS):
        sentence = key_policy(key).principal(stranger)
        sentence.cannot("kms:Decrypt", via=via(service))
        sentence.cannot("kms:Encrypt", via=via(service))


def test_prod_logs_service_encrypts_only_for_log_groups_of_the_account() -> None:
    """CloudWatch Logs can encrypt only with a log group of this account as context."""
    logs = "logs.us-west-2.amazonaws.com"
    own_group = f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:/prod/orders"
    foreign_group = "arn:aws:logs:us-west-2:444455556666:log-group:/prod/orders"
    context = {"aws:SourceAccount": ACCOUNT, "kms:EncryptionContext:aws:logs:arn": own_group}
    (
        key_policy("logs").principal(logs)
        .can("kms:Encrypt", context=context)
        .can("kms:Decrypt", context=context)
        .can("kms:GenerateDataKey", context=context)
        .cannot("kms:Encrypt")
        .cannot("kms:Encrypt", context={"aws:SourceAccount": ACCOUNT})
        .cannot("kms:Encrypt", context={**context, "kms:EncryptionContext:aws:logs:arn":
                                        foreign_group})
        .cannot("kms:Encrypt", context={**context, "aws:SourceAccount": "444455556666"})
        .cannot("kms:DescribeKey", context=context)
    )


@pytest.mark.parametrize(("key", "service"), SERVICE_PRINCIPALS, ids=ids)
def test_prod_service_principals_cannot_administer(key: str, service: str) -> None:
    """No AWS service can change, disable or delete a key, whatever the context."""
    context = {"aws:SourceAccount": ACCOUNT}
    sentence = key_policy(key).principal(service)
    for action in ADMINISTRATION:
        sentence.cannot(action).cannot(action, context=context)


@pytest.mark.parametrize(("key", "service"), SERVICE_PRINCIPALS, ids=ids)
def test_prod_service_principals_need_a_source_of_this_account(key: str, service: str) -> None:
    """A service acting for another account, or for no account, cannot use the key."""
    sentence = key_policy(key).principal(service)
    for action in use_actions(KEYS[key]):
        sentence.cannot(action).cannot(action, context={"aws:SourceAccount": "444455556666"})


@pytest.mark.parametrize("key", KEY_NAMES)
def test_prod_no_principal_outside_the_account_can_do_anything(key: str) -> None:
    """A role of account 444455556666 and an anonymous caller are denied every call."""
    services = [via(service.service) for service in KEYS[key].services]
    for stranger in (OUTSIDER, ANONYMOUS):
        sentence = key_policy(key).principal(stranger)
        for action in every_action(KEYS[key]):
            sentence.cannot(action)
            for service in services:
                sentence.cannot(action, via=service)


@pytest.mark.parametrize("key", KEY_NAMES)
def test_prod_account_root_can_always_manage_the_key(key: str) -> None:
    """The account root can change the policy and use the key, so it is never locked out."""
    (
        key_policy(key).principal(ROOT)
        .can("kms:PutKeyPolicy")
        .can("kms:ScheduleKeyDeletion")
        .can("kms:Decrypt")
    )


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


@pytest.mark.parametrize("key", KEY_NAMES)
def test_prod_only_administrators_can_disable_or_delete_the_key(key: str) -> None:
    """Only administrators and the root may disable or delete a prod key, whatever IAM says."""
    administrators = set(KEYS[key].administrators)
    others = named_iam_principals(POLICIES[key]) - administrators - {ROOT}
    for action in DELETION:
        key_policy(key).principal(ROOT).can(action)
        for admin in sorted(administrators):
            key_policy(key).principal(admin).can(action)
        for other in sorted(others | {ANY_ROLE}):
            key_policy(key).principal(other).cannot(action)
        for service in KEYS[key].services:
            key_policy(key).principal(ANY_ROLE).cannot(action, via=via(service.service))
        for access in KEYS[key].service_principals:
            key_policy(key).principal(access.service).cannot(action)


@pytest.mark.parametrize("key", KEY_NAMES)
def test_prod_iam_delegation_comes_only_from_the_account_root_statement(key: str) -> None:
    """"Only if its IAM policies allow it" is always the work of EnableIamPermissions."""
    principals = sorted(named_iam_principals(POLICIES[key]) - {ROOT}) + [ANY_ROLE]
    for principal in principals:
        for action in every_action(KEYS[key]):
            result = evaluate(
                POLICIES[key], Request(Principal.parse(principal), action), key_account=ACCOUNT
            )
            if result.decision is Decision.ALLOW_IF_IAM:
                assert result.deciding_statements == ("EnableIamPermissions",), (principal, action)
