"""The access matrix shows, cell by cell, what the evaluator decides for each principal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import statement

from components import specs
from components.evaluator import PolicyEvaluationError
from components.loader import load_stack
from components.matrix import (
    ALLOWED,
    ALLOWED_IF_IAM,
    CONDITIONAL,
    DENIED,
    AccessMatrix,
    Cell,
    access_matrix,
    render_matrix,
)
from components.offline import read_stack_config, resolve_stack
from components.policy import build_policy

ACCOUNT = "111122223333"
PARTNER_ACCOUNT = "999988887777"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
PARTNER = f"arn:aws:iam::{PARTNER_ACCOUNT}:role/partner"
ANY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/any-other-role"
STRANGER = "arn:aws:iam::444455556666:role/any-role"
LOGS = "logs.us-west-2.amazonaws.com"
S3 = "s3.us-west-2.amazonaws.com"
LOG_GROUPS = f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:*"
PROJECT_DIR = Path(__file__).parents[1]


ROOT_STATEMENT = statement("EnableIamPermissions", {"AWS": ROOT}, "kms:*")
ADMIN_STATEMENT = statement(
    "AllowKeyAdministration", {"AWS": ADMIN}, ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]
)
APP_VIA_S3 = statement(
    "AllowUseViaS3", {"AWS": APP}, ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
    {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": S3}},
)
PARTNER_DECRYPT = statement(
    "AllowPartnerDecrypt", {"AWS": PARTNER}, ["kms:Decrypt", "kms:CreateGrant"]
)
PARTNER_NO_GRANTS = statement(
    "DenyPartnerGrants", {"AWS": PARTNER}, "kms:CreateGrant", effect="Deny"
)
LOGS_STATEMENT = statement(
    "AllowServiceLogs", {"Service": LOGS}, "kms:Encrypt",
    {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "StringLike": {"kms:EncryptionContext:aws:logs:arn": LOG_GROUPS},
    },
)


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """A key policy made of these statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


KNOWN = policy(
    ROOT_STATEMENT, ADMIN_STATEMENT, APP_VIA_S3, PARTNER_DECRYPT, PARTNER_NO_GRANTS,
    LOGS_STATEMENT,
)


def matrix_of(document: dict[str, Any], key_usage: str | None = "ENCRYPT_DECRYPT") -> AccessMatrix:
    """The matrix of a key of account 111122223333 in us-west-2."""
    return access_matrix(document, key_account=ACCOUNT, region="us-west-2", key_usage=key_usage)


def outcomes(matrix: AccessMatrix, principal: str) -> dict[str, str]:
    """One row of a matrix: capability -> outcome."""
    return {name: matrix.cell(principal, name).outcome for name in matrix.capabilities}


# Rows and columns ---------------------------------------------------------------------------


def test_matrix_rows_are_named_principals_then_synthetic_ones() -> None:
    """Rows: the root, named ARNs, services, any other role, another account's role, anyone."""
    assert matrix_of(KNOWN).principals == (
        ROOT, ADMIN, APP, PARTNER, LOGS, ANY_ROLE, STRANGER, "*"
    )


def test_matrix_other_account_row_avoids_accounts_in_the_policy() -> None:
    """When 444455556666 is in the policy, the stranger comes from an unmentioned account."""
    known_partner = statement("Partner", {"AWS": "arn:aws:iam::444455556666:role/p"}, "kms:Decrypt")
    rows = matrix_of(policy(ROOT_STATEMENT, known_partner)).principals
    strangers = [row for row in rows if row.endswith(":role/any-role")]
    assert len(strangers) == 1
    assert strangers[0].split(":")[4] not in (ACCOUNT, "444455556666")


def test_matrix_anonymous_row_is_always_last_and_denied_unless_a_statement_allows() -> None:
    """Row "*" is in every matrix, so matrices compare row by row; it is denied here."""
    anyone = statement("Anyone", "*", "kms:Decrypt")
    assert matrix_of(KNOWN).principals[-1] == "*"
    assert matrix_of(KNOWN).cell("*", "decrypt").outcome == DENIED
    assert matrix_of(policy(ROOT_STATEMENT, anyone)).cell("*", "decrypt").outcome == ALLOWED


def test_matrix_asymmetric_key_has_no_data_key_column() -> None:
    """An RSA encryption key cannot generate data keys, so that column is left out."""
    matrix = access_matrix(KNOWN, key_account=ACCOUNT, region="us-west-2",
                           key_usage="ENCRYPT_DECRYPT", key_spec="RSA_3072")
    assert "generate data key" not in matrix.capabilities
    assert "generate data key" in matrix.omitted


def test_matrix_bare_account_id_principal_becomes_its_root_row() -> None:
    """A principal written as an account id is shown as that account's root ARN."""
    by_id = statement("Partner", {"AWS": PARTNER_ACCOUNT}, "kms:Decrypt")
    matrix = matrix_of(policy(ROOT_STATEMENT, by_id))
    partner_root = f"arn:aws:iam::{PARTNER_ACCOUNT}:root"
    assert partner_root in matrix.principals
    assert matrix.cell(partner_root, "decrypt").outcome == ALLOWED_IF_IAM


def test_matrix_key_usage_drops_capabilities_that_cannot_apply() -> None:
    """An ENCRYPT_DECRYPT key has no sign, verify or mac columns; they are listed as omitted."""
    matrix = matrix_of(KNOWN)
    assert matrix.capabilities == (
        "administer", "encrypt", "decrypt", "generate data key", "re-encrypt", "create grant",
        "schedule deletion",
    )
    assert matrix.omitted == ("sign", "verify", "mac")


def test_matrix_sign_verify_key_drops_encryption_columns() -> None:
    """A SIGN_VERIFY key shows sign and verify but no encrypt, decrypt or mac."""
    matrix = matrix_of(KNOWN, key_usage="SIGN_VERIFY")
    assert "sign" in matrix.capabilities and "verify" in matrix.capabilities
    assert {"encrypt", "decrypt", "mac"} <= set(matrix.omitted)


def test_matrix_without_key_usage_shows_every_capability() -> None:
    """Without a key usage every capability of specs.CAPABILITIES is a column."""
    matrix = matrix_of(KNOWN, key_usage=None)
    assert matrix.capabilities == tuple(specs.CAPABILITIES)
    assert matrix.omitted == ()


def test_matrix_unknown_key_usage_is_refused() -> None:
    """A key usage KMS does not have is an error, not an empty matrix."""
    with pytest.raises(ValueError, match="key_usage"):
        matrix_of(KNOWN, key_usage="ENCRYPT")


# Cells --------------------------------------------------------------------------------------


def test_matrix_account_root_is_allowed_everything() -> None:
    """The account root named by kms:* is allowed every capability by the key policy."""
    assert set(outcomes(matrix_of(KNOWN), ROOT).values()) == {ALLOWED}


def test_matrix_administrator_administers_and_uses_only_via_iam() -> None:
    """The administrator may administer outright; using the key needs its IAM policies."""
    row = outcomes(matrix_of(KNOWN), ADMIN)
    assert row["administer"] == ALLOWED
    assert row["schedule deletion"] == ALLOWED
    assert row["decrypt"] == ALLOWED_IF_IAM
    assert matrix_of(KNOWN).cell(ADMIN, "decrypt").statements == ("EnableIamPermissions",)


def test_matrix_app_decrypt_is_conditional_on_via_service() -> None:
    """The app may decrypt under kms:ViaService=s3.us-west-2, else only if IAM allows."""
    cell = matrix_of(KNOWN).cell(APP, "decrypt")
    assert cell == Cell(
        CONDITIONAL, f"kms:ViaService={S3}", ("AllowUseViaS3",), otherwise=ALLOWED_IF_IAM
    )
    assert cell.code == "I/C"


def test_matrix_conditional_without_root_is_otherwise_denied() -> None:
    """Without the root statement, the app's via-S3 decrypt is conditional, else denied."""
    matrix = matrix_of(policy(ADMIN_STATEMENT, APP_VIA_S3))
    cell = matrix.cell(APP, "decrypt")
    assert cell == Cell(CONDITIONAL, f"kms:ViaService={S3}", ("AllowUseViaS3",))
    assert cell.code == "C"
    assert matrix.cell(APP, "administer").outcome == DENIED
    assert matrix.cell(ANY_ROLE, "decrypt").outcome == DENIED


def test_matrix_caller_account_is_never_invented_for_another_account() -> None:
    """A `*` statement pinned to this account stays denied for other accounts and anonymous."""
    anyone = statement("AllowViaS3", "*", "kms:Decrypt",
                       {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": S3}})
    matrix = matrix_of(policy(ADMIN_STATEMENT, anyone))
    assert matrix.cell(ANY_ROLE, "decrypt") == Cell(
        CONDITIONAL, f"kms:ViaService={S3}", ("AllowViaS3",)
    )
    assert matrix.cell(STRANGER, "decrypt").outcome == DENIED
    assert matrix.cell("*", "decrypt").outcome == DENIED


def test_matrix_service_principal_is_conditional_on_source_and_context() -> None:
    """CloudWatch Logs may encrypt only with its source account and log-group context."""
    cell = matrix_of(KNOWN).cell(LOGS, "encrypt")
    assert cell.outcome == CONDITIONAL
    assert cell.condition == (
        f"aws:SourceAccount={ACCOUNT} and kms:EncryptionContext:aws:logs:arn={LOG_GROUPS}"
    )
    assert cell.otherwise == DENIED
    assert matrix_of(KNOWN).cell(LOGS, "decrypt").outcome == DENIED


def test_matrix_cross_account_grant_is_allowed_if_iam_and_deny_wins() -> None:
    """The partner may decrypt if its IAM allows; its grants are explicitly denied."""
    matrix = matrix_of(KNOWN)
    assert matrix.cell(PARTNER, "decrypt") == Cell(
        ALLOWED_IF_IAM, None, ("AllowPartnerDecrypt",)
    )
    assert matrix.cell(PARTNER, "create grant") == Cell(DENIED, None, ("DenyPartnerGrants",))
    assert matrix.cell(PARTNER, "encrypt") == Cell(DENIED)


def test_matrix_synthetic_rows_show_the_delegation_and_the_outside() -> None:
    """Any other role of the account gets everything via IAM; a stranger gets nothing."""
    matrix = matrix_of(KNOWN)
    assert set(outcomes(matrix, ANY_ROLE).values()) == {ALLOWED_IF_IAM}
    assert set(outcomes(matrix, STRANGER).values()) == {DENIED}


def test_matrix_deny_under_the_same_condition_defeats_the_conditional() -> None:
    """A Deny that fires under the very condition of the Allow leaves the cell denied."""
    deny = statement("DenyViaS3", "*", "kms:Decrypt", {"StringEquals": {"kms:ViaService": S3}},
                     effect="Deny")
    matrix = matrix_of(policy(ADMIN_STATEMENT, APP_VIA_S3, deny))
    assert matrix.cell(APP, "decrypt") == Cell(DENIED)
    assert matrix.cell(APP, "encrypt").outcome == CONDITIONAL


def test_matrix_deny_outside_a_service_leaves_the_service_path_conditional() -> None:
    """A Deny unless kms:ViaService=s3 turns the delegated cell into "via S3, else denied"."""
    confine = statement("DenyUseOutsideServices", {"AWS": APP}, ["kms:Decrypt", "kms:Encrypt"],
                        {"StringNotEquals": {"kms:ViaService": S3}}, effect="Deny")
    matrix = matrix_of(policy(ROOT_STATEMENT, APP_VIA_S3, confine))
    assert matrix.cell(APP, "decrypt") == Cell(CONDITIONAL, f"kms:ViaService={S3}",
                                               ("AllowUseViaS3",))
    assert matrix.cell(APP, "re-encrypt") == Cell(ALLOWED_IF_IAM, None,
                                                  ("EnableIamPermissions",))
    confine_all = statement("DenyAll", {"AWS": APP}, "kms:Decrypt", effect="Deny")
    matrix = matrix_of(policy(ROOT_STATEMENT, APP_VIA_S3, confine_all))
    assert matrix.cell(APP, "decrypt") == Cell(DENIED, None, ("DenyAll",))


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        ({"Bool": {"kms:GrantIsForAWSResource": True}}, "kms:GrantIsForAWSResource=true"),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket-*"}},
         "aws:SourceArn=arn:aws:s3:::bucket-*"),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, "aws:PrincipalOrgID=o-abc123"),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "300"}}, "aws:MultiFactorAuthAge<300"),
        ({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["tenant", "app"]}},
         "ForAnyValue:kms:EncryptionContextKeys={tenant|app}"),
    ],
    ids=["bool", "arn-like", "org-id", "numeric", "for-any-value"],
)
def test_matrix_conditions_of_each_kind_are_satisfied_and_shown(
    condition: dict[str, Any], text: str
) -> None:
    """For each supported operator the matrix finds the condition and writes it compactly."""
    conditional = statement("Conditional", {"AWS": APP}, "kms:CreateGrant", condition)
    assert matrix_of(policy(ADMIN_STATEMENT, conditional)).cell(APP, "create grant") == Cell(
        CONDITIONAL, text, ("Conditional",)
    )


def test_matrix_caller_facts_are_not_forged() -> None:
    """A condition on aws:PrincipalArn of somebody else is no path for the app."""
    other = f"arn:aws:iam::{ACCOUNT}:role/other"
    pinned = statement("Pinned", {"AWS": APP}, "kms:Decrypt",
                       {"ArnEquals": {"aws:PrincipalArn": other}})
    assert matrix_of(policy(ADMIN_STATEMENT, pinned)).cell(APP, "decrypt") == Cell(DENIED)


def test_matrix_capability_of_several_actions_is_its_weakest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A capability needing Encrypt and CreateGrant is only as open as the weaker action."""
    monkeypatch.setitem(specs.CAPABILITIES, "create grant", ("kms:Encrypt", "kms:CreateGrant"))
    app_encrypts = statement("AllowEncrypt", {"AWS": APP}, "kms:Encrypt")
    grants = statement("AllowGrants", {"AWS": APP}, "kms:CreateGrant",
                       {"Bool": {"kms:GrantIsForAWSResource": "true"}})
    matrix = matrix_of(policy(ADMIN_STATEMENT, app_encrypts, grants))
    assert matrix.cell(APP, "encrypt").outcome == ALLOWED
    assert matrix.cell(APP, "create grant") == Cell(
        CONDITIONAL, "kms:GrantIsForAWSResource=true", ("AllowGrants",)
    )


def test_matrix_unreadable_policy_raises_instead_of_guessing() -> None:
    """An operator the evaluator does not know is an error, never a guessed cell."""
    odd = statement("Odd", {"AWS": APP}, "kms:Decrypt", {"StringSortOf": {"kms:ViaService": S3}})
    with pytest.raises(PolicyEvaluationError, match="StringSortOf"):
        matrix_of(policy(ROOT_STATEMENT, odd))


def test_matrix_to_json_lists_rows_in_order_with_every_cell() -> None:
    """The JSON form holds every row, every cell and the actions behind each column."""
    document = matrix_of(KNOWN).to_json()
    json.dumps(document)
    assert [row["principal"] for row in document["rows"]] == list(matrix_of(KNOWN).principals)
    app_row = document["rows"][2]
    assert app_row["label"] == "named in the policy"
    assert app_row["cells"]["decrypt"] == {
        "outcome": CONDITIONAL,
        "condition": f"kms:ViaService={S3}",
        "statements": ["AllowUseViaS3"],
        "otherwise": ALLOWED_IF_IAM,
    }
    assert document["capabilities"][0] == {"name": "administer", "actions": ["kms:PutKeyPolicy"]}
    assert document["omittedCapabilities"] == ["sign", "verify", "mac"]


# Text ---------------------------------------------------------------------------------------

EXPECTED_TEXT = [
    "access matrix: 8 principals x 7 capabilities (key account 111122223333, us-west-2)",
    "    admin   encrypt decrypt gen-dk  re-enc  grant   delete",
    "  arn:aws:iam::111122223333:root  (account root)",
    "    A       A       A       A       A       A       A",
    "  arn:aws:iam::111122223333:role/KeyAdmin  (named in the policy)",
    "    A       I       I       I       I       I       A",
    "  arn:aws:iam::111122223333:role/app  (named in the policy)",
    "    I       I/C1    I/C1    I/C1    I       I       I",
    "  arn:aws:iam::999988887777:role/partner  (named in the policy)",
    "    -       -       I       -       -       -       -",
    "  logs.us-west-2.amazonaws.com  (service principal)",
    "    -       C2      -       -       -       -       -",
    "  arn:aws:iam::111122223333:role/any-other-role"
    "  (synthetic: any other principal of the account)",
    "    I       I       I       I       I       I       I",
    "  arn:aws:iam::444455556666:role/any-role  (synthetic: a principal of another account)",
    "    -       -       -       -       -       -       -",
    "  *  (any principal, e.g. an anonymous caller)",
    "    -       -       -       -       -       -       -",
    "legend: A allowed by the key policy alone; I allowed if the principal's IAM policies"
    " also allow;",
    "        Cn allowed by the key policy under condition n, else denied; I/Cn allowed under",
    "        condition n, else only if IAM allows; - denied",
    "columns: admin=kms:PutKeyPolicy, encrypt=kms:Encrypt, decrypt=kms:Decrypt,",
    "         gen-dk=kms:GenerateDataKey, re-enc=kms:ReEncryptFrom, grant=kms:CreateGrant,",
    "         delete=kms:ScheduleKeyDeletion",
    "not applicable to ENCRYPT_DECRYPT keys: sign, verify, mac",
    "conditions:",
    "  C1  kms:ViaService=s3.us-west-2.amazonaws.com  [AllowUseViaS3]",
    "  C2  aws:SourceAccount=111122223333 and",
    "      kms:EncryptionContext:aws:logs:arn=arn:aws:logs:us-west-2:111122223333:log-group:*",
    "      [AllowServiceLogs]",
]


def test_render_known_policy_gives_the_expected_table() -> None:
    """The table, legend and condition footnotes of the known policy, line for line."""
    assert render_matrix(matrix_of(KNOWN)) == EXPECTED_TEXT


def test_render_is_stable_whatever_the_order_of_json_keys() -> None:
    """Rendering twice, or from a policy with reordered JSON keys, gives the same lines."""
    reordered = json.loads(json.dumps(KNOWN, sort_keys=True))
    assert render_matrix(matrix_of(KNOWN)) == render_matrix(matrix_of(reordered))
    assert render_matrix(matrix_of(KNOWN)) == render_matrix(matrix_of(KNOWN))


def test_render_fits_in_100_columns() -> None:
    """Every line of the known policy's table is at most 100 characters wide."""
    assert max(len(line) for line in render_matrix(matrix_of(KNOWN, key_usage=None))) <= 100


def test_render_columns_stay_aligned_under_their_headers() -> None:
    """Each code starts in the same column as its capability's header."""
    lines = render_matrix(matrix_of(KNOWN))
    header = lines[1]
    starts = [header.index(name) for name in ("admin", "encrypt", "decrypt", "delete")]
    codes_line = lines[7]
    assert [codes_line[start] for start in starts] == ["I", "I", "I", "I"]
    assert codes_line[starts[1]:starts[1] + 4] == "I/C1"


def test_render_prod_data_key_shows_orders_service_via_s3_or_dynamodb() -> None:
    """The prod data key's table: orders-service uses it via S3 or DynamoDB, never deletes."""
    files = resolve_stack("prod", project_dir=PROJECT_DIR)
    config, _ = read_stack_config(files)
    plan = load_stack(config.get, project=files.project, stack=files.stack)
    key = next(key for key in plan.keys if key.name == "data")
    lines = render_matrix(access_matrix(
        build_policy(key), key_account=key.account_id, region=key.region, key_usage=key.key_usage
    ))
    assert max(len(line) for line in lines) <= 100
    orders = lines.index(
        "  arn:aws:iam::555566667777:role/orders-service  (named in the policy)"
    )
    assert lines[orders + 1].split() == ["I", "C1", "C1", "C1", "C1", "I", "-"]
    assert (
        "  C1  kms:ViaService=dynamodb.us-west-2.amazonaws.com or "
        "kms:ViaService=s3.us-west-2.amazonaws.com"
    ) in lines
