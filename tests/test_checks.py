"""The static checks on a finished key policy catch the classic KMS mistakes, and only those."""

from __future__ import annotations

from typing import Any

import pytest
from support import statement

from components.checks import (
    Finding,
    analyse_policy,
    check_lockout,
    check_no_session_principals,
    check_size_and_characters,
    check_wildcard_principals,
    lint_policy,
)
from components.policy import render_policy

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-session"
S3 = "s3.us-west-2.amazonaws.com"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """A key policy made of these statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


ROOT_STATEMENT = statement("EnableIamPermissions", {"AWS": ROOT}, "kms:*")
APP_USE = statement("AllowKeyUse", {"AWS": APP}, ["kms:Decrypt", "kms:Encrypt"])
ADMIN_STATEMENT = statement(
    "AllowKeyAdministration", {"AWS": ADMIN}, ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]
)


def codes(findings: list[Finding]) -> list[str]:
    """The rule codes of some findings, in order."""
    return [finding.code for finding in findings]


# C1: lockout -------------------------------------------------------------------------------


def test_lockout_app_role_with_encrypt_decrypt_only_is_refused() -> None:
    """Only Encrypt/Decrypt for an app role, no root, no admins: one lockout error."""
    findings = check_lockout(policy(APP_USE), account_id=ACCOUNT)
    assert codes(findings) == ["policy-lockout"]
    assert findings[0].severity == "error"
    assert f"the account root {ROOT}" in findings[0].message
    assert "needs kms:PutKeyPolicy" in findings[0].message


def test_lockout_account_root_statement_is_enough() -> None:
    """The account-root statement lets the account manage the key later: no finding."""
    assert check_lockout(policy(ROOT_STATEMENT, APP_USE), account_id=ACCOUNT) == []


def test_lockout_named_administrator_is_enough() -> None:
    """An administrator with kms:PutKeyPolicy, without the root statement: no finding."""
    assert check_lockout(policy(ADMIN_STATEMENT, APP_USE), account_id=ACCOUNT) == []


def test_lockout_administrator_of_another_account_does_not_count() -> None:
    """PutKeyPolicy only for a role of another account still locks this account out."""
    foreign = statement("Foreign", {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/x"},
                        "kms:PutKeyPolicy")
    assert codes(check_lockout(policy(foreign, APP_USE), account_id=ACCOUNT)) == [
        "policy-lockout"
    ]


def test_lockout_explicit_deny_of_put_key_policy_is_refused() -> None:
    """A Deny of kms:PutKeyPolicy for everyone overrides the root and admin allows."""
    deny = statement("DenyPolicyChanges", "*", "kms:PutKeyPolicy", effect="Deny")
    findings = check_lockout(policy(ROOT_STATEMENT, ADMIN_STATEMENT, deny), account_id=ACCOUNT)
    assert codes(findings) == ["policy-lockout"]


def test_lockout_session_principal_does_not_count() -> None:
    """PutKeyPolicy only for an STS session (which ends) is no lasting administrator."""
    session_admin = statement("SessionAdmin", {"AWS": SESSION}, "kms:PutKeyPolicy")
    assert codes(check_lockout(policy(session_admin, APP_USE), account_id=ACCOUNT)) == [
        "policy-lockout"
    ]


# C2: STS session principals -----------------------------------------------------------------


def test_session_principals_assumed_role_is_refused() -> None:
    """An assumed-role session as principal is an error naming the session and statement."""
    findings = check_no_session_principals(policy(statement("Deployer", {"AWS": SESSION},
                                                            "kms:Decrypt")))
    assert codes(findings) == ["sts-session-principal"]
    assert findings[0].statement == "Deployer"
    assert SESSION in findings[0].message


def test_session_principals_in_a_list_are_each_refused() -> None:
    """Every session in a principal list is reported, and the role beside them is not."""
    other = f"arn:aws:sts::{ACCOUNT}:federated-user/alice"
    findings = check_no_session_principals(
        policy(statement("Mixed", {"AWS": [APP, SESSION, other]}, "kms:Decrypt"))
    )
    assert [finding.message.split("'")[1] for finding in findings] == [SESSION, other]


def test_session_principals_iam_roles_and_services_pass() -> None:
    """Role ARNs, the root and service principals are lasting: no finding."""
    service = statement("Logs", {"Service": "logs.us-west-2.amazonaws.com"}, "kms:Encrypt")
    assert check_no_session_principals(policy(ROOT_STATEMENT, APP_USE, service)) == []


# C8: wildcard principals --------------------------------------------------------------------


def wildcard(condition: dict[str, Any] | None, principal: Any = "*") -> list[Finding]:
    """C8 findings for one statement letting `*` decrypt under `condition`."""
    return check_wildcard_principals(
        policy(statement("Anyone", principal, "kms:Decrypt", condition)),
        allowed_accounts=[ACCOUNT],
    )


def test_wildcard_principal_without_condition_is_refused() -> None:
    """`*` may decrypt with no condition: an error on that statement."""
    findings = wildcard(None)
    assert codes(findings) == ["wildcard-principal"]
    assert findings[0].statement == "Anyone"
    assert ACCOUNT in findings[0].message


def test_wildcard_principal_aws_star_without_condition_is_refused() -> None:
    """{"AWS": "*"} is the same wildcard as "*"."""
    assert codes(wildcard(None, {"AWS": "*"})) == ["wildcard-principal"]


def test_wildcard_principal_limited_by_caller_account_is_accepted() -> None:
    """`*` limited by kms:CallerAccount=111122223333: no finding."""
    assert wildcard({"StringEquals": {"kms:CallerAccount": ACCOUNT}}) == []


def test_wildcard_principal_limited_by_caller_account_and_via_service_is_accepted() -> None:
    """`*` limited by kms:CallerAccount and kms:ViaService=s3.us-west-2: no finding."""
    condition = {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": S3}}
    assert wildcard(condition) == []


def test_wildcard_principal_limited_only_by_via_service_is_refused() -> None:
    """kms:ViaService alone lets any account's principals in through S3: refused."""
    assert codes(wildcard({"StringEquals": {"kms:ViaService": S3}})) == ["wildcard-principal"]


def test_wildcard_principal_limited_to_an_unknown_account_is_refused() -> None:
    """A condition naming another, unlisted account does not limit `*` to ours."""
    condition = {"StringEquals": {"kms:CallerAccount": OTHER_ACCOUNT}}
    assert codes(wildcard(condition)) == ["wildcard-principal"]


def test_wildcard_principal_longer_number_containing_the_account_is_refused() -> None:
    """A caller account that merely contains our id as a substring does not limit `*`."""
    condition = {"StringEquals": {"aws:PrincipalAccount": f"9{ACCOUNT}"}}
    assert codes(wildcard(condition)) == ["wildcard-principal"]


def test_wildcard_principal_arn_merely_containing_the_account_is_refused() -> None:
    """A principal ARN of another account whose name contains our id limits nothing."""
    arn = f"arn:aws:iam::{OTHER_ACCOUNT}:role/{ACCOUNT}"
    assert codes(wildcard({"ArnEquals": {"aws:PrincipalArn": arn}})) == ["wildcard-principal"]


def test_wildcard_principal_limited_by_principal_arn_pattern_is_accepted() -> None:
    """aws:PrincipalArn like arn:aws:iam::111122223333:role/app-* pins the account."""
    arn = f"arn:aws:iam::{ACCOUNT}:role/app-*"
    assert wildcard({"ArnLike": {"aws:PrincipalArn": arn}}) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"kms:CallerAccount": "1111*"}},
        {"StringEqualsIfExists": {"kms:CallerAccount": ACCOUNT}},
        {"StringNotEquals": {"kms:CallerAccount": OTHER_ACCOUNT}},
        {"StringEquals": {"kms:CallerAccount": [ACCOUNT, OTHER_ACCOUNT]}},
    ],
    ids=["wildcard-value", "if-exists", "negated", "one-unknown-account"],
)
def test_wildcard_principal_with_weak_account_condition_is_refused(
    condition: dict[str, Any],
) -> None:
    """Wildcard values, IfExists, negation or an extra unknown account do not limit `*`."""
    assert codes(wildcard(condition)) == ["wildcard-principal"]


def test_wildcard_principal_in_a_deny_statement_is_fine() -> None:
    """A Deny for `*` takes access away, so it needs no condition."""
    deny = statement("DenyAll", "*", "kms:ScheduleKeyDeletion", effect="Deny")
    assert check_wildcard_principals(policy(deny), allowed_accounts=[ACCOUNT]) == []


def test_wildcard_principal_external_account_in_the_allowed_list_is_accepted() -> None:
    """An external account the stack allows counts as a limiting account."""
    condition = {"StringEquals": {"kms:CallerAccount": OTHER_ACCOUNT}}
    findings = check_wildcard_principals(
        policy(statement("Partner", "*", "kms:Decrypt", condition)),
        allowed_accounts=[ACCOUNT, OTHER_ACCOUNT],
    )
    assert findings == []


# Size and characters ------------------------------------------------------------------------


def big_policy(padding_chars: int) -> dict[str, Any]:
    """A valid policy grown by a long encryption-context value of `padding_chars` letters."""
    padding = "a" * padding_chars
    return policy(
        ROOT_STATEMENT,
        statement("Padded", {"AWS": APP}, "kms:Decrypt",
                  {"StringEquals": {"kms:EncryptionContext:note": padding}}),
    )


def test_size_over_32768_bytes_is_refused() -> None:
    """A policy one byte over 32 KiB is an error that gives both numbers."""
    base = len(render_policy(big_policy(0)).encode())
    findings = check_size_and_characters(big_policy(32_768 - base + 1))
    assert codes(findings) == ["policy-size"]
    assert "32769 bytes" in findings[0].message
    assert "at most 32768" in findings[0].message


def test_size_of_exactly_32768_bytes_is_accepted() -> None:
    """A policy of exactly 32 KiB is still accepted."""
    base = len(render_policy(big_policy(0)).encode())
    assert check_size_and_characters(big_policy(32_768 - base)) == []


def test_size_counts_utf8_bytes_not_characters() -> None:
    """Latin-1 letters take two bytes each in UTF-8, and KMS counts bytes."""
    base = len(render_policy(big_policy(0)).encode())
    chars = (32_768 - base) // 2 + 1
    padded = policy(
        ROOT_STATEMENT,
        statement("Padded", {"AWS": APP}, "kms:Decrypt",
                  {"StringEquals": {"kms:EncryptionContext:note": "é" * chars}}),
    )
    assert codes(check_size_and_characters(padded)) == ["policy-size"]


@pytest.mark.parametrize("text", ["price in €", "snowman ☃", "emoji 🔑", "null\u0085"])
def test_characters_outside_latin1_printable_are_refused(text: str) -> None:
    """Characters beyond printable Latin-1 are an error that names them."""
    findings = check_size_and_characters(
        policy(statement(
            "Odd", {"AWS": APP}, "kms:Decrypt",
            {"StringEquals": {"kms:EncryptionContext:note": text}},
        ))
    )
    assert codes(findings) == ["policy-characters"]
    assert repr(text[-1])[1:-1] in findings[0].message


def test_characters_latin1_and_ascii_are_accepted() -> None:
    """Printable ASCII and Latin-1 letters such as é and ß pass."""
    accepted = policy(statement("Latin", {"AWS": APP}, "kms:Decrypt",
                                {"StringEquals": {"kms:EncryptionContext:city": "Köln-Straße"}}))
    assert check_size_and_characters(accepted) == []


# Lint (parliament) --------------------------------------------------------------------------


def test_lint_unknown_action_is_flagged() -> None:
    """kms:Bogus is not a KMS action: an error on its statement naming it."""
    findings = lint_policy(policy(statement("Typo", {"AWS": APP}, ["kms:Bogus", "kms:Decrypt"])))
    assert codes(findings) == ["lint-unknown_action"]
    assert findings[0].statement == "Typo"
    assert "kms:Bogus" in findings[0].message


def test_lint_unknown_condition_key_for_action_is_flagged() -> None:
    """A condition key that kms:Decrypt does not support is an error naming both."""
    condition = {"StringEquals": {"kms:Bogus": "x"}}
    findings = lint_policy(policy(statement("BadKey", {"AWS": APP}, "kms:Decrypt", condition)))
    assert codes(findings) == ["lint-unknown_condition_for_action"]
    assert "kms:Bogus" in findings[0].message
    assert "kms:Decrypt" in findings[0].message


def test_lint_known_actions_and_conditions_pass() -> None:
    """The statements the product generates lint clean (Resource "*" is ignored)."""
    via = statement("Via", {"AWS": APP}, ["kms:Decrypt", "kms:GenerateDataKey*"],
                    {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": S3}})
    grants = statement("Grants", {"AWS": APP}, ["kms:CreateGrant", "kms:ListGrants"],
                       {"Bool": {"kms:GrantIsForAWSResource": "true"}})
    assert lint_policy(policy(ROOT_STATEMENT, ADMIN_STATEMENT, via, grants)) == []


# All checks together ------------------------------------------------------------------------


def test_analyse_reports_every_check_in_a_fixed_order() -> None:
    """One policy with four mistakes gets all four findings, session check first."""
    broken = policy(
        statement("Session", {"AWS": SESSION}, "kms:Decrypt"),
        statement("Anyone", "*", ["kms:Bogus", "kms:Encrypt"]),
    )
    assert codes(analyse_policy(broken, account_id=ACCOUNT)) == [
        "sts-session-principal",
        "wildcard-principal",
        "policy-lockout",
        "lint-unknown_action",
    ]


def test_analyse_accepts_a_sound_policy() -> None:
    """Root, administrators and a user: no finding at all."""
    assert analyse_policy(policy(ROOT_STATEMENT, ADMIN_STATEMENT, APP_USE),
                          account_id=ACCOUNT) == []


def test_analyse_allows_listed_external_accounts() -> None:
    """external_accounts extends the accounts a wildcard principal may be limited to."""
    partner = statement("Partner", "*", "kms:Decrypt",
                        {"StringEquals": {"kms:CallerAccount": OTHER_ACCOUNT}})
    sound = policy(ROOT_STATEMENT, partner)
    assert codes(analyse_policy(sound, account_id=ACCOUNT)) == ["wildcard-principal"]
    assert analyse_policy(sound, account_id=ACCOUNT, external_accounts=[OTHER_ACCOUNT]) == []
