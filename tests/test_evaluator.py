"""Decisions of the key-policy evaluator on examples from the AWS KMS documentation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from components.evaluator import (
    ContextValue,
    Decision,
    Evaluation,
    PolicyEvaluationError,
    Principal,
    Request,
    evaluate,
)

ACCOUNT = "111122223333"
OTHER = "444455556666"
STRANGER = "999988887777"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
APP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/i-0abc"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/KMSAdminRole"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
OTHER_ROOT = f"arn:aws:iam::{OTHER}:root"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/consumer"
STRANGER_ROLE = f"arn:aws:iam::{STRANGER}:role/consumer"

ENABLE_IAM: dict[str, Any] = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": ROOT},
    "Action": "kms:*",
    "Resource": "*",
}
KEY_ADMINS: dict[str, Any] = {
    "Sid": "Allow access for Key Administrators",
    "Effect": "Allow",
    "Principal": {"AWS": ADMIN_ROLE},
    "Action": [
        "kms:Create*",
        "kms:Describe*",
        "kms:Enable*",
        "kms:List*",
        "kms:Put*",
        "kms:Update*",
        "kms:Revoke*",
        "kms:Disable*",
        "kms:Get*",
        "kms:Delete*",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion",
        "kms:RotateKeyOnDemand",
    ],
    "Resource": "*",
}
KEY_USERS: dict[str, Any] = {
    "Sid": "Allow use of the key",
    "Effect": "Allow",
    "Principal": {"AWS": APP_ROLE},
    "Action": [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    ],
    "Resource": "*",
}
PERSISTENT_GRANTS: dict[str, Any] = {
    "Sid": "Allow attachment of persistent resources",
    "Effect": "Allow",
    "Principal": {"AWS": APP_ROLE},
    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
    "Resource": "*",
    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """Wrap statements in a policy document."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(
    sid: str = "Test",
    *,
    principal: Any = None,
    action: Any = "kms:*",
    condition: dict[str, Any] | None = None,
    effect: str = "Allow",
) -> dict[str, Any]:
    """A statement for the app role (or ``principal``) with an optional condition."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Principal": {"AWS": APP_ROLE} if principal is None else principal,
        "Action": action,
        "Resource": "*",
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def run(
    document: dict[str, Any] | str,
    who: str | Principal = APP_ROLE,
    action: str = "kms:Decrypt",
    context: Mapping[str, ContextValue] | None = None,
    key_account: str = ACCOUNT,
) -> Evaluation:
    """Evaluate one request."""
    principal = who if isinstance(who, Principal) else Principal.parse(who)
    return evaluate(document, Request(principal, action, context or {}), key_account=key_account)


def decide(
    document: dict[str, Any] | str,
    who: str | Principal = APP_ROLE,
    action: str = "kms:Decrypt",
    context: Mapping[str, ContextValue] | None = None,
) -> Decision:
    """The decision for one request."""
    return run(document, who, action, context).decision


def holds(condition: dict[str, Any], context: Mapping[str, ContextValue] | None = None) -> bool:
    """Whether a condition block holds for the app role, via an otherwise unconditional allow."""
    return decide(policy(allow(condition=condition)), context=context) is Decision.ALLOW


# --- Decision and Principal -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "allowed", "possible"),
    [
        (Decision.ALLOW, True, True),
        (Decision.ALLOW_IF_IAM, False, True),
        (Decision.EXPLICIT_DENY, False, False),
        (Decision.IMPLICIT_DENY, False, False),
    ],
)
def test_decision_flags(decision: Decision, allowed: bool, possible: bool) -> None:
    """Only ALLOW is allowed on its own; ALLOW_IF_IAM is still possible."""
    assert decision.allowed is allowed
    assert decision.possible is possible


@pytest.mark.parametrize(
    ("text", "kind", "identifier", "account"),
    [
        (APP_ROLE, "aws", APP_ROLE, ACCOUNT),
        (ACCOUNT, "aws", ROOT, ACCOUNT),
        ("logs.us-west-2.amazonaws.com", "service", "logs.us-west-2.amazonaws.com", None),
        ("*", "anonymous", "*", None),
        (APP_SESSION, "aws", APP_SESSION, ACCOUNT),
    ],
)
def test_principal_parse_spellings(
    text: str, kind: str, identifier: str, account: str | None
) -> None:
    """ARNs, account ids, service names and * parse to the right kind and account."""
    parsed = Principal.parse(text)
    assert (parsed.kind, parsed.identifier, parsed.account) == (kind, identifier, account)


@pytest.mark.parametrize("text", ["", "bob", "arn:aws:s3:::bucket", "arn:aws:iam::12:role/x"])
def test_principal_parse_rejects_garbage(text: str) -> None:
    """Unparseable principals raise instead of silently never matching."""
    with pytest.raises(PolicyEvaluationError):
        Principal.parse(text)


def test_principal_session_reports_role_arn() -> None:
    """An assumed-role session's aws:PrincipalArn is the role ARN."""
    assert Principal.parse(APP_SESSION).arn_for_conditions == APP_ROLE


def test_principal_service_and_anonymous_have_no_condition_arn() -> None:
    """Services and anonymous callers carry no aws:PrincipalArn."""
    assert Principal.service("s3.amazonaws.com").arn_for_conditions is None
    assert Principal.anonymous().arn_for_conditions is None
    assert Principal.anonymous().account is None


# --- Default key policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ROOT, Decision.ALLOW),
        (ACCOUNT, Decision.ALLOW),
        (APP_ROLE, Decision.ALLOW_IF_IAM),
        (APP_SESSION, Decision.ALLOW_IF_IAM),
        (USER, Decision.ALLOW_IF_IAM),
        (OTHER_ROLE, Decision.IMPLICIT_DENY),
        (OTHER_ROOT, Decision.IMPLICIT_DENY),
        ("*", Decision.IMPLICIT_DENY),
        ("logs.us-west-2.amazonaws.com", Decision.IMPLICIT_DENY),
    ],
)
def test_default_policy_delegates_to_iam(who: str, expected: Decision) -> None:
    """Account root in the key policy: root is allowed, other identities need IAM too."""
    assert decide(policy(ENABLE_IAM), who, "kms:ScheduleKeyDeletion") is expected


def test_default_policy_names_deciding_statement() -> None:
    """The evaluation reports the Sid that decided and a readable explanation."""
    result = run(policy(ENABLE_IAM), APP_ROLE)
    assert result.deciding_statements == ("Enable IAM User Permissions",)
    assert "IAM" in result.explanation


def test_default_policy_account_id_principal_same_as_root_arn() -> None:
    """A bare account id in Principal means that account's root."""
    statement = dict(ENABLE_IAM, Principal={"AWS": ACCOUNT})
    assert decide(policy(statement), ROOT) is Decision.ALLOW
    assert decide(policy(statement), APP_ROLE) is Decision.ALLOW_IF_IAM


# --- Key administrators and key users ---------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("kms:ScheduleKeyDeletion", Decision.ALLOW),
        ("kms:PutKeyPolicy", Decision.ALLOW),
        ("kms:DescribeKey", Decision.ALLOW),
        ("kms:Decrypt", Decision.IMPLICIT_DENY),
        ("kms:Encrypt", Decision.IMPLICIT_DENY),
    ],
)
def test_key_administrators_manage_but_do_not_use(action: str, expected: Decision) -> None:
    """The documented key-administrator statement grants management, not cryptography."""
    assert decide(policy(KEY_ADMINS, KEY_USERS), ADMIN_ROLE, action) is expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("kms:Decrypt", Decision.ALLOW),
        ("kms:GenerateDataKeyWithoutPlaintext", Decision.ALLOW),
        ("kms:ReEncryptFrom", Decision.ALLOW),
        ("kms:ScheduleKeyDeletion", Decision.IMPLICIT_DENY),
        ("kms:PutKeyPolicy", Decision.IMPLICIT_DENY),
    ],
)
def test_key_users_use_but_do_not_manage(action: str, expected: Decision) -> None:
    """The documented key-user statement grants cryptography, not management."""
    assert decide(policy(KEY_ADMINS, KEY_USERS), APP_ROLE, action) is expected


def test_key_users_role_statement_covers_sessions() -> None:
    """A role ARN in Principal also matches that role's assumed-role sessions."""
    assert decide(policy(KEY_USERS), APP_SESSION) is Decision.ALLOW


def test_key_users_direct_allow_beats_delegation() -> None:
    """With both the root and a direct statement, the direct ALLOW wins over ALLOW_IF_IAM."""
    result = run(policy(ENABLE_IAM, KEY_USERS), APP_ROLE)
    assert result.decision is Decision.ALLOW
    assert result.deciding_statements == ("Allow use of the key",)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("true", Decision.ALLOW), ("false", Decision.IMPLICIT_DENY), (None, Decision.IMPLICIT_DENY)],
)
def test_key_users_grants_only_for_aws_resources(flag: str | None, expected: Decision) -> None:
    """CreateGrant needs kms:GrantIsForAWSResource true, as in the default console policy."""
    context: dict[str, ContextValue] = {} if flag is None else {"kms:GrantIsForAWSResource": flag}
    assert decide(policy(PERSISTENT_GRANTS), APP_ROLE, "kms:CreateGrant", context) is expected


# --- Actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("kms:*", "kms:Decrypt", True),
        ("*", "kms:Decrypt", True),
        ("kms:Generate*", "kms:GenerateDataKey", True),
        ("kms:Generate*", "kms:Decrypt", False),
        ("kms:decrypt", "KMS:DECRYPT", True),
        ("kms:?ncrypt", "kms:Encrypt", True),
        ("kms:?ncrypt", "kms:ReEncrypt", False),
        ("kms:Encrypt", "kms:EncryptX", False),
        ("s3:*", "kms:Decrypt", False),
    ],
)
def test_action_wildcards_case_insensitive(pattern: str, action: str, matches: bool) -> None:
    """Actions match case-insensitively with * and ? wildcards, whole string only."""
    expected = Decision.ALLOW if matches else Decision.IMPLICIT_DENY
    assert decide(policy(allow(action=pattern)), APP_ROLE, action) is expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("kms:Decrypt", Decision.ALLOW),
        ("kms:ScheduleKeyDeletion", Decision.IMPLICIT_DENY),
        ("kms:DeleteAlias", Decision.IMPLICIT_DENY),
    ],
)
def test_action_not_action_allows_everything_else(action: str, expected: Decision) -> None:
    """NotAction applies the statement to every action not listed."""
    statement = allow()
    del statement["Action"]
    statement["NotAction"] = ["kms:ScheduleKeyDeletion", "kms:Delete*"]
    assert decide(policy(statement), APP_ROLE, action) is expected


# --- Resources --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "value", "expected"),
    [
        ("Resource", "*", Decision.ALLOW),
        ("Resource", f"arn:aws:kms:us-west-2:{ACCOUNT}:key/*", Decision.ALLOW),
        ("Resource", "arn:aws:s3:::bucket", Decision.IMPLICIT_DENY),
        ("NotResource", "arn:aws:s3:::bucket", Decision.ALLOW),
        ("NotResource", "*", Decision.IMPLICIT_DENY),
    ],
)
def test_resource_key_policy_resources(element: str, value: str, expected: Decision) -> None:
    """Resource "*" and KMS ARNs cover the key; NotResource inverts that."""
    statement = allow()
    del statement["Resource"]
    statement[element] = value
    assert decide(policy(statement)) is expected


# --- Principals -------------------------------------------------------------------------------


@pytest.mark.parametrize("element", ["*", {"AWS": "*"}])
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (APP_ROLE, Decision.ALLOW),
        (ROOT, Decision.ALLOW),
        ("*", Decision.ALLOW),
        (OTHER_ROLE, Decision.ALLOW_IF_IAM),
        ("s3.amazonaws.com", Decision.ALLOW),
    ],
)
def test_principal_wildcard_matches_everyone(element: Any, who: str, expected: Decision) -> None:
    """A wildcard principal allows in-account callers outright; cross-account still needs IAM."""
    assert decide(policy(allow(principal=element)), who) is expected


@pytest.mark.parametrize(
    "entry",
    [f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:role/ap?", "arn:aws:iam::*:root"],
)
def test_principal_wildcard_arns_are_literal(entry: str) -> None:
    """AWS does not honour wildcards inside principal ARNs, so they match nobody real."""
    assert decide(policy(allow(principal={"AWS": entry}))) is Decision.IMPLICIT_DENY


def test_principal_list_values_any_matches() -> None:
    """A list of principals matches any of them."""
    statement = allow(principal={"AWS": [USER, APP_ROLE]})
    assert decide(policy(statement), APP_ROLE) is Decision.ALLOW
    assert decide(policy(statement), USER) is Decision.ALLOW
    assert decide(policy(statement), ADMIN_ROLE) is Decision.IMPLICIT_DENY


def test_principal_role_does_not_match_other_role() -> None:
    """A role statement does not cover a different role in the same account."""
    assert decide(policy(KEY_USERS), ADMIN_ROLE) is Decision.IMPLICIT_DENY


def test_principal_session_arn_matches_only_that_session() -> None:
    """Naming an assumed-role session matches that session, not the role or other sessions."""
    statement = allow(principal={"AWS": APP_SESSION})
    assert decide(policy(statement), APP_SESSION) is Decision.ALLOW
    other_session = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/other"
    assert decide(policy(statement), other_session) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (Principal.service("logs.us-west-2.amazonaws.com"), Decision.ALLOW),
        (Principal.service("s3.amazonaws.com"), Decision.IMPLICIT_DENY),
        (APP_ROLE, Decision.IMPLICIT_DENY),
    ],
)
def test_principal_service_statement(who: str | Principal, expected: Decision) -> None:
    """A Service principal statement matches only that service, and decides alone."""
    statement = allow(principal={"Service": "logs.us-west-2.amazonaws.com"})
    assert decide(policy(statement), who, "kms:Encrypt") is expected


def test_principal_service_gets_no_account_keys() -> None:
    """Services get no auto-filled aws:PrincipalAccount, so Null says it is absent."""
    condition = {"Null": {"aws:PrincipalAccount": "true"}}
    statement = allow(principal={"Service": "logs.us-west-2.amazonaws.com"}, condition=condition)
    assert decide(policy(statement), "logs.us-west-2.amazonaws.com") is Decision.ALLOW


def test_principal_federated_entry_matches_no_iam_principal() -> None:
    """A Federated entry is accepted but never matches IAM or service principals."""
    statement = allow(principal={"Federated": "cognito-identity.amazonaws.com"})
    assert decide(policy(statement)) is Decision.IMPLICIT_DENY


# --- Cross-account ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (OTHER_ROLE, Decision.ALLOW_IF_IAM),
        (f"arn:aws:sts::{OTHER}:assumed-role/consumer/s", Decision.ALLOW_IF_IAM),
        (OTHER_ROOT, Decision.ALLOW_IF_IAM),
        (STRANGER_ROLE, Decision.IMPLICIT_DENY),
        (APP_ROLE, Decision.IMPLICIT_DENY),
    ],
)
def test_cross_account_root_delegates_to_other_account(who: str, expected: Decision) -> None:
    """The other account's root in the key policy lets its identities in only via their IAM."""
    statement = allow("AllowExternalAccount", principal={"AWS": OTHER_ROOT})
    assert decide(policy(statement), who) is expected


def test_cross_account_direct_role_still_needs_iam() -> None:
    """Even a directly named external role needs its own account's IAM allow too."""
    assert decide(policy(allow(principal={"AWS": OTHER_ROLE})), OTHER_ROLE) is (
        Decision.ALLOW_IF_IAM
    )


def test_cross_account_key_account_decides_in_account() -> None:
    """The same statement is a full ALLOW when the key lives in the caller's account."""
    statement = allow(principal={"AWS": OTHER_ROLE})
    result = run(policy(statement), OTHER_ROLE, key_account=OTHER)
    assert result.decision is Decision.ALLOW


# --- kms:ViaService and kms:CallerAccount -----------------------------------------------------

VIA_SERVICES = ["ec2.us-west-2.amazonaws.com", "rds.us-west-2.amazonaws.com"]


@pytest.mark.parametrize(
    ("via", "expected"),
    [
        ("ec2.us-west-2.amazonaws.com", Decision.ALLOW),
        ("rds.us-west-2.amazonaws.com", Decision.ALLOW),
        ("s3.us-west-2.amazonaws.com", Decision.IMPLICIT_DENY),
        ("EC2.us-west-2.amazonaws.com", Decision.IMPLICIT_DENY),
        (None, Decision.IMPLICIT_DENY),
    ],
)
def test_via_service_limits_use_to_listed_services(via: str | None, expected: Decision) -> None:
    """kms:ViaService with StringEquals allows only calls made through the listed services."""
    statement = allow(condition={"StringEquals": {"kms:ViaService": VIA_SERVICES}})
    context: dict[str, ContextValue] = {} if via is None else {"kms:ViaService": via}
    assert decide(policy(statement), context=context) is expected


@pytest.mark.parametrize(
    ("via", "expected"),
    [
        ("ec2.us-west-2.amazonaws.com", Decision.ALLOW),
        ("s3.us-west-2.amazonaws.com", Decision.EXPLICIT_DENY),
        (None, Decision.EXPLICIT_DENY),
    ],
)
def test_via_service_deny_other_services(via: str | None, expected: Decision) -> None:
    """Deny with StringNotEqualsIfExists blocks other services and, key missing, direct calls."""
    deny = allow(
        "DenyOtherServices",
        effect="Deny",
        principal="*",
        condition={"StringNotEqualsIfExists": {"kms:ViaService": VIA_SERVICES}},
    )
    context: dict[str, ContextValue] = {} if via is None else {"kms:ViaService": via}
    assert decide(policy(KEY_USERS, deny), context=context) is expected


def test_via_service_deny_guarded_by_null_spares_direct_calls() -> None:
    """Adding Null kms:ViaService false to the Deny exempts calls made directly."""
    deny = allow(
        "DenyOtherServices",
        effect="Deny",
        principal="*",
        condition={
            "StringNotEquals": {"kms:ViaService": VIA_SERVICES},
            "Null": {"kms:ViaService": "false"},
        },
    )
    assert decide(policy(KEY_USERS, deny)) is Decision.ALLOW
    s3 = {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    assert decide(policy(KEY_USERS, deny), context=s3) is Decision.EXPLICIT_DENY


AWS_MANAGED_STYLE: dict[str, Any] = {
    "Sid": "Allow access through EBS for all principals in the account",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT,
            "kms:ViaService": "ec2.us-west-2.amazonaws.com",
        }
    },
}


@pytest.mark.parametrize(
    ("who", "via", "expected"),
    [
        (APP_ROLE, "ec2.us-west-2.amazonaws.com", Decision.ALLOW),
        (USER, "ec2.us-west-2.amazonaws.com", Decision.ALLOW),
        (APP_ROLE, None, Decision.IMPLICIT_DENY),
        (OTHER_ROLE, "ec2.us-west-2.amazonaws.com", Decision.IMPLICIT_DENY),
    ],
)
def test_caller_account_restricts_wildcard_principal(
    who: str, via: str | None, expected: Decision
) -> None:
    """kms:CallerAccount (auto-filled) keeps a wildcard principal inside the account."""
    context: dict[str, ContextValue] = {} if via is None else {"kms:ViaService": via}
    assert decide(policy(AWS_MANAGED_STYLE), who, context=context) is expected


def test_caller_account_context_overrides_autofill() -> None:
    """A supplied kms:CallerAccount overrides the value derived from the principal."""
    context: dict[str, ContextValue] = {
        "kms:CallerAccount": OTHER,
        "kms:ViaService": "ec2.us-west-2.amazonaws.com",
    }
    assert decide(policy(AWS_MANAGED_STYLE), APP_ROLE, context=context) is (Decision.IMPLICIT_DENY)


# --- Explicit deny ----------------------------------------------------------------------------


def test_explicit_deny_wins_over_allow() -> None:
    """A matching Deny overrides every Allow and names the deny statement."""
    deny = allow("DenyDecrypt", effect="Deny", principal="*", action="kms:Decrypt")
    result = run(policy(ENABLE_IAM, KEY_USERS, deny), APP_ROLE)
    assert result.decision is Decision.EXPLICIT_DENY
    assert result.deciding_statements == ("DenyDecrypt",)


def test_explicit_deny_only_for_matching_actions() -> None:
    """A Deny on one action leaves the others allowed."""
    deny = allow("DenyDecrypt", effect="Deny", principal="*", action="kms:Decrypt")
    assert decide(policy(KEY_USERS, deny), APP_ROLE, "kms:Encrypt") is Decision.ALLOW


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ADMIN_ROLE, Decision.ALLOW),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/KMSAdminRole/s", Decision.ALLOW),
        (ROOT, Decision.EXPLICIT_DENY),
        (APP_ROLE, Decision.EXPLICIT_DENY),
    ],
)
def test_explicit_deny_scheduled_deletion_except_admin(who: str, expected: Decision) -> None:
    """Deny + StringNotEquals aws:PrincipalArn protects deletion for everyone but the admin."""
    deny = allow(
        "DenyDeletionExceptAdmin",
        effect="Deny",
        principal={"AWS": "*"},
        action="kms:ScheduleKeyDeletion",
        condition={"StringNotEquals": {"aws:PrincipalArn": ADMIN_ROLE}},
    )
    assert decide(policy(ENABLE_IAM, KEY_ADMINS, deny), who, "kms:ScheduleKeyDeletion") is (
        expected
    )


def test_explicit_deny_lists_every_matching_deny() -> None:
    """All matching deny statements are reported, in policy order."""
    first = allow("D1", effect="Deny", principal="*")
    second = {k: v for k, v in allow(effect="Deny", principal="*").items() if k != "Sid"}
    result = run(policy(KEY_USERS, first, second))
    assert result.deciding_statements == ("D1", "#2")
    assert "D1" in result.explanation


def test_implicit_deny_explains_itself() -> None:
    """No matching allow gives IMPLICIT_DENY, no deciding statements, and says why."""
    result = run(policy(KEY_USERS), STRANGER_ROLE)
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.deciding_statements == ()
    assert result.explanation.startswith("denied: no statement")


# --- NotPrincipal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (APP_SESSION, Decision.ALLOW_IF_IAM),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/app/other", Decision.EXPLICIT_DENY),
        (USER, Decision.EXPLICIT_DENY),
        (ROOT, Decision.ALLOW),
    ],
)
def test_not_principal_deny_exempts_fully_listed_chain(who: str, expected: Decision) -> None:
    """NotPrincipal with Deny exempts a caller only when session, role and account are listed."""
    deny = {
        "Sid": "DenyAllButAuditSession",
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [APP_SESSION, APP_ROLE, ROOT]},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert decide(policy(ENABLE_IAM, deny), who) is expected


def test_not_principal_deny_without_account_denies_role() -> None:
    """Listing a role without its account does not exempt it (AWS checks the account too)."""
    deny = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [APP_ROLE]},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert decide(policy(KEY_USERS, deny), APP_ROLE) is Decision.EXPLICIT_DENY


def test_not_principal_deny_hits_anonymous_and_services() -> None:
    """Unlisted services and anonymous callers fall under a NotPrincipal deny."""
    deny = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [APP_ROLE, ROOT], "Service": "logs.us-west-2.amazonaws.com"},
        "Action": "kms:*",
        "Resource": "*",
    }
    everyone = allow(principal="*")
    assert decide(policy(everyone, deny), "*") is Decision.EXPLICIT_DENY
    assert decide(policy(everyone, deny), "s3.amazonaws.com") is Decision.EXPLICIT_DENY
    assert decide(policy(everyone, deny), "logs.us-west-2.amazonaws.com") is Decision.ALLOW
    assert decide(policy(everyone, deny), APP_ROLE) is Decision.ALLOW


def test_not_principal_allow_is_rejected() -> None:
    """AWS does not support NotPrincipal with Allow, so the evaluator refuses to guess."""
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": ROOT}, "Action": "*", "Resource": "*"}
    with pytest.raises(PolicyEvaluationError, match="NotPrincipal"):
        run(policy(statement))


# --- String operators -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "result"),
    [
        ("StringEquals", "Finance", "Finance", True),
        ("StringEquals", "Finance", "finance", False),
        ("StringNotEquals", "Finance", "finance", True),
        ("StringNotEquals", "Finance", "Finance", False),
        ("StringEqualsIgnoreCase", "Finance", "fINANCE", True),
        ("StringEqualsIgnoreCase", "Finance", "Financial", False),
        ("StringNotEqualsIgnoreCase", "Finance", "fINANCE", False),
        ("StringNotEqualsIgnoreCase", "Finance", "HR", True),
        ("StringLike", "Fin*", "Finance", True),
        ("StringLike", "Fin*", "finance", False),
        ("StringLike", "Fin?nce", "Finance", True),
        ("StringLike", "Fin?nce", "Finaance", False),
        ("StringLike", "*", "", True),
        ("StringNotLike", "Fin*", "HR", True),
        ("StringNotLike", "Fin*", "Finance", False),
    ],
)
def test_string_operators_case_rules(
    operator: str, expected: str, actual: str, result: bool
) -> None:
    """String values are case-sensitive except for the IgnoreCase operators."""
    condition = {operator: {"aws:PrincipalTag/Department": expected}}
    assert holds(condition, {"aws:PrincipalTag/Department": actual}) is result


def test_string_multiple_policy_values_or_together() -> None:
    """Several values for one key OR together."""
    condition = {"StringEquals": {"aws:PrincipalTag/Team": ["red", "blue"]}}
    assert holds(condition, {"aws:PrincipalTag/Team": "blue"})
    assert not holds(condition, {"aws:PrincipalTag/Team": "green"})


def test_string_negated_multiple_values_nor() -> None:
    """A negated operator with several values is true only if none match (NOR)."""
    condition = {"StringNotEquals": {"aws:PrincipalTag/Team": ["red", "blue"]}}
    assert holds(condition, {"aws:PrincipalTag/Team": "green"})
    assert not holds(condition, {"aws:PrincipalTag/Team": "red"})


def test_string_keys_in_operator_and_together() -> None:
    """Several keys under one operator AND together."""
    condition = {"StringEquals": {"aws:PrincipalTag/Team": "red", "aws:RequestedRegion": "eu"}}
    assert holds(condition, {"aws:PrincipalTag/Team": "red", "aws:RequestedRegion": "eu"})
    assert not holds(condition, {"aws:PrincipalTag/Team": "red", "aws:RequestedRegion": "us"})


def test_string_operators_in_block_and_together() -> None:
    """Several operators in one Condition block AND together."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/Team": "red"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    assert holds(condition, {"aws:PrincipalTag/Team": "red", "aws:SecureTransport": True})
    assert not holds(condition, {"aws:PrincipalTag/Team": "red", "aws:SecureTransport": False})


@pytest.mark.parametrize(
    ("key", "context_key"),
    [
        ("kms:ViaService", "KMS:VIASERVICE"),
        ("KMS:viaservice", "kms:ViaService"),
        ("kms:EncryptionContext:Department", "kms:encryptioncontext:department"),
    ],
)
def test_string_condition_key_names_case_insensitive(key: str, context_key: str) -> None:
    """Condition key names match the request context regardless of case."""
    condition = {"StringEquals": {key: "x"}}
    assert holds(condition, {context_key: "x"})


def test_string_json_scalars_compare_as_text() -> None:
    """Numbers and booleans in policy JSON compare as their text form."""
    assert holds({"StringEquals": {"aws:PrincipalAccount": int(ACCOUNT)}})
    assert holds({"StringEquals": {"aws:SecureTransport": True}}, {"aws:SecureTransport": True})


# --- Missing keys, IfExists and Null ----------------------------------------------------------


ROLE_X = f"arn:aws:iam::{ACCOUNT}:role/x"
WHEN = "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("operator", "value", "result"),
    [
        ("StringEquals", "x", False),
        ("StringLike", "*", False),
        ("StringNotEquals", "x", True),
        ("StringNotLike", "x*", True),
        ("StringNotEqualsIgnoreCase", "x", True),
        ("StringEqualsIfExists", "x", True),
        ("StringNotEqualsIfExists", "x", True),
        ("ArnLike", ROLE_X, False),
        ("ArnNotLike", ROLE_X, True),
        ("ArnNotEquals", ROLE_X, True),
        ("ArnLikeIfExists", ROLE_X, True),
        ("NumericLessThan", "5", False),
        ("NumericNotEquals", "5", True),
        ("DateGreaterThan", WHEN, False),
        ("DateNotEquals", WHEN, True),
        ("Bool", "true", False),
        ("BoolIfExists", "true", True),
        ("IpAddress", "10.0.0.0/8", False),
        ("NotIpAddress", "10.0.0.0/8", True),
        ("ForAnyValue:StringEquals", "x", False),
        ("ForAnyValue:StringNotEquals", "x", False),
        ("ForAllValues:StringEquals", "x", True),
        ("ForAllValues:StringNotEquals", "x", True),
        ("ForAnyValue:StringEqualsIfExists", "x", True),
    ],
)
def test_missing_key_documented_results(operator: str, value: str, result: bool) -> None:
    """Missing keys fail positive operators, satisfy negated ones, IfExists and ForAllValues."""
    assert holds({operator: {"aws:SourceArn": value}}) is result


def test_missing_key_empty_list_counts_as_missing() -> None:
    """An empty multi-valued key is treated like a missing one."""
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": "Owner"}}, {"aws:TagKeys": []})
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": "Owner"}}, {"aws:TagKeys": []})


@pytest.mark.parametrize(
    ("present", "value", "result"),
    [
        (False, "true", True),
        (True, "true", False),
        (False, "false", False),
        (True, "false", True),
        (True, True, False),
        (False, ["true", "false"], True),
    ],
)
def test_null_checks_presence(present: bool, value: Any, result: bool) -> None:
    """Null "true" requires the key to be absent, "false" requires it present."""
    context: dict[str, ContextValue] = {"aws:SourceVpce": "vpce-1"} if present else {}
    assert holds({"Null": {"aws:SourceVpce": value}}, context) is result


def test_null_sees_autofilled_keys() -> None:
    """aws:PrincipalArn is auto-filled for IAM principals, so Null false holds."""
    assert holds({"Null": {"aws:PrincipalArn": "false"}})


@pytest.mark.parametrize(
    ("operator", "value"),
    [("NullIfExists", "true"), ("ForAnyValue:Null", "true"), ("Null", "maybe")],
)
def test_null_misuse_raises(operator: str, value: str) -> None:
    """Null cannot take IfExists or set qualifiers, and needs a boolean value."""
    with pytest.raises(PolicyEvaluationError):
        holds({operator: {"aws:SourceVpce": value}})


# --- ARN operators ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "pattern", "actual", "result"),
    [
        ("ArnEquals", APP_ROLE, APP_ROLE, True),
        ("ArnEquals", f"arn:aws:iam::{ACCOUNT}:role/*", APP_ROLE, True),
        ("ArnLike", f"arn:aws:iam::{ACCOUNT}:role/*", APP_ROLE, True),
        ("ArnLike", f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:user/x", False),
        ("ArnLike", "arn:aws:iam::*:role/app", APP_ROLE, True),
        ("ArnLike", "arn:aws:iam::*:role/app", f"arn:aws:iam::{ACCOUNT}:role/App", False),
        ("ArnLike", "arn:aws:iam::1111*:role/app", APP_ROLE, True),
        ("ArnLike", "*", "anything", True),
        ("ArnLike", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b", True),
        ("ArnLike", "arn:*:iam::*:role/app", "not-an-arn", False),
        ("ArnNotEquals", APP_ROLE, ADMIN_ROLE, True),
        ("ArnNotLike", f"arn:aws:iam::{ACCOUNT}:role/*", APP_ROLE, False),
        ("ArnNotLike", f"arn:aws:iam::{OTHER}:role/*", APP_ROLE, True),
    ],
)
def test_arn_operators_per_component(
    operator: str, pattern: str, actual: str, result: bool
) -> None:
    """ARN operators compare each colon component separately and case-sensitively."""
    assert holds({operator: {"aws:SourceArn": pattern}}, {"aws:SourceArn": actual}) is result


def test_arn_principal_arn_for_session_is_role() -> None:
    """ArnEquals on aws:PrincipalArn matches a role's session through the auto-filled role ARN."""
    statement = allow(
        principal={"AWS": ROOT}, condition={"ArnEquals": {"aws:PrincipalArn": APP_ROLE}}
    )
    assert decide(policy(statement), APP_SESSION) is Decision.ALLOW_IF_IAM
    assert decide(policy(statement), USER) is Decision.IMPLICIT_DENY


# --- Bool, Numeric, Date, Binary, IP ----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy_value", "actual", "result"),
    [
        ("true", True, True),
        ("true", "TRUE", True),
        ("true", False, False),
        ("false", "false", True),
        (True, "true", True),
    ],
)
def test_bool_operator(policy_value: Any, actual: ContextValue, result: bool) -> None:
    """Bool compares true/false without regard to case."""
    condition = {"Bool": {"aws:MultiFactorAuthPresent": policy_value}}
    assert holds(condition, {"aws:MultiFactorAuthPresent": actual}) is result


@pytest.mark.parametrize(
    ("operator", "actual", "result"),
    [
        ("NumericEquals", 7, True),
        ("NumericEquals", "7.0", True),
        ("NumericEquals", 8, False),
        ("NumericNotEquals", 7, False),
        ("NumericNotEquals", 8, True),
        ("NumericLessThan", 6, True),
        ("NumericLessThan", 7, False),
        ("NumericLessThanEquals", 7, True),
        ("NumericLessThanEquals", 8, False),
        ("NumericGreaterThan", 8, True),
        ("NumericGreaterThan", 7, False),
        ("NumericGreaterThanEquals", 7, True),
        ("NumericGreaterThanEquals", 6, False),
        ("NumericGreaterThanEquals", "seven", False),
    ],
)
def test_numeric_operators_boundaries(operator: str, actual: ContextValue, result: bool) -> None:
    """Numeric operators around the boundary 7 (the minimum deletion window)."""
    key = "kms:ScheduleKeyDeletionPendingWindowInDays"
    assert holds({operator: {key: "7"}}, {key: actual}) is result


@pytest.mark.parametrize(
    ("operator", "actual", "result"),
    [
        ("DateEquals", "2024-06-01T00:00:00Z", True),
        ("DateEquals", "2024-06-01T02:00:00+02:00", True),
        ("DateEquals", "2024-06-01T00:00:01Z", False),
        ("DateNotEquals", "2024-06-01T00:00:01Z", True),
        ("DateLessThan", "2024-05-31T23:59:59Z", True),
        ("DateLessThan", "2024-06-01T00:00:00Z", False),
        ("DateLessThanEquals", "2024-06-01T00:00:00Z", True),
        ("DateGreaterThan", "2024-06-01T00:00:01Z", True),
        ("DateGreaterThan", "2024-06-01T00:00:00Z", False),
        ("DateGreaterThanEquals", "2024-06-01T00:00:00Z", True),
        ("DateGreaterThanEquals", "1717199999", False),
        ("DateGreaterThanEquals", "1717200000", True),
        ("DateLessThan", "not a date", False),
    ],
)
def test_date_operators_boundaries(operator: str, actual: str, result: bool) -> None:
    """Date operators compare instants, accepting ISO 8601 with offsets and epoch seconds."""
    condition = {operator: {"aws:CurrentTime": "2024-06-01T00:00:00Z"}}
    assert holds(condition, {"aws:CurrentTime": actual}) is result


def test_date_policy_epoch_and_date_only() -> None:
    """Policy dates may be epoch seconds or plain dates (midnight UTC)."""
    assert holds(
        {"DateEquals": {"aws:CurrentTime": "1717200000"}}, {"aws:CurrentTime": "2024-06-01"}
    )
    assert holds({"DateLessThan": {"kms:ValidTo": "2025-01-01"}}, {"kms:ValidTo": 1717200000})


@pytest.mark.parametrize(
    ("actual", "result"),
    [("QUJD", True), ("QUJE", False), ("not base64!", False)],
)
def test_binary_equals_compares_bytes(actual: str, result: bool) -> None:
    """BinaryEquals compares base64-decoded bytes."""
    condition = {"BinaryEquals": {"kms:EncryptionContext:blob": "QUJD"}}
    assert holds(condition, {"kms:EncryptionContext:blob": actual}) is result


@pytest.mark.parametrize(
    ("operator", "actual", "result"),
    [
        ("IpAddress", "203.0.113.7", True),
        ("IpAddress", "203.0.114.7", False),
        ("IpAddress", "2001:db8::1", False),
        ("IpAddress", "garbage", False),
        ("NotIpAddress", "203.0.114.7", True),
        ("NotIpAddress", "203.0.113.255", False),
    ],
)
def test_ip_operators_cidr(operator: str, actual: str, result: bool) -> None:
    """IpAddress/NotIpAddress test membership of aws:SourceIp in a CIDR block."""
    assert holds({operator: {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": actual}) is result


# --- Multi-valued keys: ForAnyValue / ForAllValues -------------------------------------------


@pytest.mark.parametrize(
    ("operator", "tags", "result"),
    [
        ("ForAllValues:StringEquals", ["Owner", "Project"], True),
        ("ForAllValues:StringEquals", ["Owner"], True),
        ("ForAllValues:StringEquals", ["Owner", "Secret"], False),
        ("ForAllValues:StringEquals", ["owner"], False),
        ("ForAllValues:StringEqualsIgnoreCase", ["owner", "PROJECT"], True),
        ("ForAnyValue:StringEquals", ["Secret", "Owner"], True),
        ("ForAnyValue:StringEquals", ["Secret"], False),
        ("ForAllValues:StringNotEquals", ["Secret", "Other"], True),
        ("ForAllValues:StringNotEquals", ["Secret", "Owner"], False),
        ("ForAnyValue:StringNotEquals", ["Secret", "Owner"], True),
        ("ForAnyValue:StringNotEquals", ["Owner", "Project"], False),
        ("ForAnyValue:StringLike", ["Proj-1"], True),
        ("ForAllValues:StringLike", ["Proj-1", "Owner"], True),
        ("ForAllValues:StringLike", ["Proj-1", "Cost"], False),
        ("StringEquals", ["Secret", "Owner"], True),
        ("StringNotEquals", ["Secret", "Owner"], False),
    ],
)
def test_multivalue_set_operators(operator: str, tags: list[str], result: bool) -> None:
    """ForAllValues needs every request value to match; ForAnyValue needs at least one."""
    values = ["Owner", "Project", "Proj*"] if "Like" in operator else ["Owner", "Project"]
    condition = {operator: {"aws:TagKeys": values}}
    assert holds(condition, {"aws:TagKeys": tags}) is result


def test_multivalue_encryption_context_keys() -> None:
    """kms:EncryptionContextKeys with ForAllValues limits which context keys are allowed."""
    condition = {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department"]}}
    assert holds(condition, {"kms:EncryptionContextKeys": ["Department"]})
    assert not holds(condition, {"kms:EncryptionContextKeys": ["Department", "Project"]})


def test_multivalue_grant_operations() -> None:
    """kms:GrantOperations with ForAllValues lets grants carry only listed operations."""
    condition = {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]}}
    assert holds(condition, {"kms:GrantOperations": ["Decrypt"]})
    assert not holds(condition, {"kms:GrantOperations": ["Decrypt", "CreateGrant"]})


# --- Context handling -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "arn", "account"),
    [
        (APP_SESSION, APP_ROLE, ACCOUNT),
        (ROOT, ROOT, ACCOUNT),
        (OTHER_ROLE, OTHER_ROLE, OTHER),
    ],
)
def test_context_autofill_principal_keys(who: str, arn: str, account: str) -> None:
    """aws:PrincipalArn, aws:PrincipalAccount and kms:CallerAccount are filled from the caller."""
    condition = {
        "StringEquals": {
            "aws:PrincipalArn": arn,
            "aws:PrincipalAccount": account,
            "kms:CallerAccount": account,
        }
    }
    statement = allow(principal="*", condition=condition)
    assert decide(policy(statement), who).possible


def test_context_anonymous_gets_no_autofill() -> None:
    """Anonymous callers have no principal keys, so a Null true condition holds."""
    condition = {"Null": {"aws:PrincipalArn": "true", "kms:CallerAccount": "true"}}
    assert decide(policy(allow(principal="*", condition=condition)), "*") is Decision.ALLOW


def test_context_unknown_request_key_raises() -> None:
    """A misspelt context key in the request raises rather than being ignored."""
    with pytest.raises(PolicyEvaluationError, match="kms:ViaServce"):
        run(policy(KEY_USERS), context={"kms:ViaServce": "s3.amazonaws.com"})


def test_context_bad_value_type_raises() -> None:
    """Context values must be strings, booleans, numbers or lists of strings."""
    with pytest.raises(PolicyEvaluationError):
        run(policy(KEY_USERS), context={"kms:ViaService": {"a": "b"}})  # type: ignore[dict-item]


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operator",
    [
        "StringEqualz",
        "stringequals",
        "ForSomeValues:StringEquals",
        "StringEqualsIfExist",
        "IfExists",
        "NumericBetween",
    ],
)
def test_error_unknown_operator_raises(operator: str) -> None:
    """Unknown (or wrongly cased) operators raise, naming the operator."""
    with pytest.raises(PolicyEvaluationError, match="unknown condition operator"):
        holds({operator: {"kms:ViaService": "x"}})


@pytest.mark.parametrize(
    "key",
    ["kms:ViaServce", "aws:SourceAcount", "kms:EncryptionContext:", "ec2:InstanceType", "Owner"],
)
def test_error_unknown_condition_key_raises(key: str) -> None:
    """Unknown condition keys raise, naming the key."""
    with pytest.raises(PolicyEvaluationError, match="unknown condition key"):
        holds({"StringEquals": {key: "x"}})


def test_error_unknown_key_in_non_matching_statement_raises() -> None:
    """Errors surface even when the faulty statement would not match this request."""
    bad = allow(principal={"AWS": OTHER_ROLE}, condition={"StringEquals": {"kms:Nope": "x"}})
    with pytest.raises(PolicyEvaluationError, match="kms:Nope"):
        run(policy(KEY_USERS, bad))


def with_condition(condition: Any) -> dict[str, Any]:
    """The default root statement carrying ``condition``."""
    return {"Statement": [dict(ENABLE_IAM, Condition=condition)]}


def without(element: str) -> dict[str, Any]:
    """The default root statement lacking ``element``."""
    return {"Statement": [{k: v for k, v in ENABLE_IAM.items() if k != element}]}


def changed(**elements: Any) -> dict[str, Any]:
    """The default root statement with some elements replaced or added."""
    return {"Statement": [dict(ENABLE_IAM, **elements)]}


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ({"Statement": []}, "Statement"),
        ({"Version": "2012-10-17"}, "Statement"),
        ({"Version": "2013-01-01", "Statement": [ENABLE_IAM]}, "Version"),
        ({"Statement": [ENABLE_IAM], "Extra": 1}, "unknown elements"),
        (changed(Effect="allow"), "Effect"),
        (changed(Actions="kms:*"), "unknown elements"),
        (changed(Sid=3), "Sid"),
        (without("Principal"), "Principal"),
        (changed(NotAction="kms:Decrypt"), "Action/NotAction"),
        (without("Resource"), "Resource"),
        (changed(Principal=f"arn:aws:iam::{ACCOUNT}:root"), "Principal"),
        (changed(Principal={"Aws": ROOT}), "principal type"),
        (changed(Principal={"AWS": []}), "Principal.AWS"),
        (changed(Action="Decrypt"), "invalid action"),
        (changed(Action=[]), "Action"),
        (with_condition([]), "Condition"),
        (with_condition({"Bool": {}}), "Bool"),
        (with_condition({"Bool": {"aws:SecureTransport": "yes"}}), "invalid value"),
        (with_condition({"NumericEquals": {"kms:KeySpec": "x"}}), "invalid value"),
        (with_condition({"DateEquals": {"kms:ValidTo": "x"}}), "invalid value"),
        (with_condition({"IpAddress": {"aws:SourceIp": "x"}}), "invalid value"),
        (with_condition({"ArnLike": {"aws:SourceArn": "arn:aws:iam:*:role/x"}}), "ARN"),
        (with_condition({"BinaryEquals": {"aws:SourceIp": "@@"}}), "invalid value"),
        (with_condition({"StringEquals": {"kms:ViaService": []}}), "empty"),
        (with_condition({"StringEquals": {"kms:ViaService": None}}), "value"),
        (with_condition({"StringLike": {"aws:PrincipalArn": "${aws:username}"}}), "variables"),
    ],
)
def test_error_malformed_policy_raises(document: Any, match: str) -> None:
    """Malformed policies raise PolicyEvaluationError with a pointer to the problem."""
    with pytest.raises(PolicyEvaluationError, match=match):
        run(document)


def test_error_bad_key_account_raises() -> None:
    """key_account must be a 12-digit account id."""
    with pytest.raises(PolicyEvaluationError, match="key_account"):
        run(policy(KEY_USERS), key_account="me")


def test_error_is_a_value_error() -> None:
    """PolicyEvaluationError is a ValueError, so generic handlers still catch it."""
    assert issubclass(PolicyEvaluationError, ValueError)


# --- Input forms and determinism --------------------------------------------------------------


def test_input_json_text_equals_mapping() -> None:
    """A policy given as JSON text evaluates exactly like the same mapping."""
    document = policy(ENABLE_IAM, KEY_USERS)
    assert run(json.dumps(document)) == run(document)


def test_input_single_statement_object() -> None:
    """Statement may be a single object instead of a list."""
    assert decide({"Version": "2012-10-17", "Statement": KEY_USERS}) is Decision.ALLOW


def test_input_tuple_containers_accepted() -> None:
    """Tuples and other sequences inside the policy are treated like JSON lists."""
    statement = dict(KEY_USERS, Action=("kms:Decrypt",))
    assert decide({"Statement": (statement,)}) is Decision.ALLOW


def test_input_evaluation_is_deterministic() -> None:
    """Repeated evaluations give identical results (compilation is cached, not stateful)."""
    document = policy(ENABLE_IAM, KEY_ADMINS, KEY_USERS)
    first = [run(document, who, "kms:Decrypt") for who in (ROOT, APP_ROLE, ADMIN_ROLE)]
    second = [run(document, who, "kms:Decrypt") for who in (ROOT, APP_ROLE, ADMIN_ROLE)]
    assert first == second
