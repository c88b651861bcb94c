"""Config rules at their boundaries: each bad value is refused with path, value and allowed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import ACCOUNT, ADMIN, APP, OTHER_ACCOUNT, load, one_key, stack_config

from components import specs
from components.errors import KmsConfigError


def error_for(settings: dict[str, Any], **stack_settings: Any) -> KmsConfigError:
    with pytest.raises(KmsConfigError) as caught:
        one_key(settings, **stack_settings)
    return caught.value


@pytest.mark.parametrize("days", [30, 89, 2561, 3000])
def test_rotation_period_outside_range_is_refused(days: int) -> None:
    """C4: periods outside 90-2560 are refused and the message states the range."""
    error = error_for({"rotationPeriodInDays": days})
    text = str(error)
    assert f"kms-keys:keys.data.rotationPeriodInDays: got {days}" in text
    assert f"from {specs.ROTATION_PERIOD_MIN_DAYS} to {specs.ROTATION_PERIOD_MAX_DAYS}" in text
    assert "from 90 to 2560" in text


@pytest.mark.parametrize("days", [90, 2560])
def test_rotation_period_at_bounds_is_accepted(days: int) -> None:
    """C4: the bounds themselves are valid periods."""
    assert one_key({"rotationPeriodInDays": days}).rotation_period_in_days == days


def test_rotation_defaults_on_with_365_days() -> None:
    """C3/C4: a symmetric KMS key rotates yearly unless told otherwise."""
    plan = one_key({})
    assert plan.rotation is True
    assert plan.rotation_period_in_days == 365


def test_rotation_period_with_rotation_off_is_refused() -> None:
    """C4: a period is never sent silently when rotation is off."""
    error = error_for({"enableKeyRotation": False, "rotationPeriodInDays": 180})
    assert "rotationPeriodInDays: got 180; allowed: no period when rotation is off" in str(error)


@pytest.mark.parametrize(
    ("key_spec", "key_usage", "origin"),
    [
        ("RSA_4096", "SIGN_VERIFY", "AWS_KMS"),
        ("HMAC_256", "GENERATE_VERIFY_MAC", "AWS_KMS"),
        ("ECC_NIST_P256", "SIGN_VERIFY", "AWS_KMS"),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL"),
    ],
)
def test_rotation_on_a_key_that_cannot_rotate_is_refused(
    key_spec: str, key_usage: str, origin: str
) -> None:
    """C3: asking for rotation on a key KMS cannot rotate is an error."""
    settings: dict[str, Any] = {
        "keySpec": key_spec, "keyUsage": key_usage, "origin": origin,
        "enableKeyRotation": True, "users": [],
    }
    if origin == "EXTERNAL":
        settings["keyMaterialConfigKey"] = "material"
    error = error_for(settings)
    assert "keys.data.enableKeyRotation: got True" in str(error)
    assert "KMS rotates only symmetric keys with KMS-generated material" in str(error)


@pytest.mark.parametrize(
    ("key_spec", "key_usage"),
    [("RSA_4096", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC"),
     ("ECC_NIST_P256", "SIGN_VERIFY")],
)
def test_rotation_left_at_default_is_off_for_asymmetric_and_hmac(
    key_spec: str, key_usage: str
) -> None:
    """C3: the default follows the key: off (and no period) where KMS cannot rotate."""
    plan = one_key({"keySpec": key_spec, "keyUsage": key_usage})
    assert plan.rotation is False
    assert plan.rotation_period_in_days is None


def test_rotation_default_is_off_for_imported_material() -> None:
    """C3: origin EXTERNAL cannot rotate automatically, so the default is off."""
    plan = one_key({"origin": "EXTERNAL", "keyMaterialConfigKey": "material"})
    assert plan.rotation is False


@pytest.mark.parametrize("days", [5, 6, 31, 45])
def test_deletion_window_outside_range_is_refused(days: int) -> None:
    """C6: deletion windows outside 7-30 days are refused, naming the range."""
    error = error_for({"deletionWindowInDays": days})
    assert f"keys.data.deletionWindowInDays: got {days}" in str(error)
    assert "from 7 to 30" in str(error)


@pytest.mark.parametrize("days", [7, 30])
def test_deletion_window_at_bounds_is_accepted(days: int) -> None:
    """C6: 7 and 30 are valid windows."""
    assert one_key({"deletionWindowInDays": days}).deletion_window_in_days == days


def test_deletion_window_defaults_to_30() -> None:
    """C6: the longest window is the default."""
    assert one_key({}).deletion_window_in_days == 30


@pytest.mark.parametrize(
    ("alias", "reason"),
    [
        ("app-data", "starting with 'alias/'"),
        ("alias/Service:Test", "no dots, colons or spaces"),
        ("alias/bastion.vpc.example.net", "no dots, colons or spaces"),
        ("alias/aws/app", "reserves for its keys"),
        ("alias/", "only letters, digits"),
        ("alias/" + "a" * 251, "at most 256 characters"),
    ],
)
def test_alias_breaking_kms_rules_is_refused(alias: str, reason: str) -> None:
    """C5: aliases without prefix, with bad characters, reserved or too long are refused."""
    error = error_for({"aliases": [alias]})
    assert f"keys.data.aliases[0]: got {alias[:40]!r}"[:-1] in str(error)
    assert reason in str(error)


@pytest.mark.parametrize("alias", ["alias/aws-prod", "alias/team/app_1", "alias/app-data",
                                   "alias/" + "a" * 250])
def test_alias_following_kms_rules_is_accepted(alias: str) -> None:
    """C5: valid aliases, including one that merely starts with 'aws-', pass."""
    assert one_key({"aliases": [alias]}).aliases == (alias,)


def test_default_alias_carries_the_environment() -> None:
    """Two stacks in one account never collide: the default alias names the environment."""
    assert one_key({}, stack="staging").aliases == ("alias/staging/data",)


def test_two_keys_with_the_same_alias_are_refused() -> None:
    """One alias can point at one key only."""
    keys = {
        "data": {"administrators": [ADMIN], "aliases": ["alias/shared"]},
        "logs": {"administrators": [ADMIN], "aliases": ["alias/shared"]},
    }
    with pytest.raises(KmsConfigError, match=r"keys\.logs\.aliases\[0\].*used by key 'data'"):
        load(stack_config(keys))


def test_unknown_setting_is_refused_with_the_known_ones() -> None:
    """A misspelt setting never falls back to a default silently."""
    error = error_for({"rotationPeriod": 100})
    text = str(error)
    assert "keys.data.rotationPeriod: got 100" in text
    assert "rotationPeriodInDays" in text


def test_wrong_type_names_the_expected_type() -> None:
    """A string where a number belongs is refused, not coerced."""
    error = error_for({"deletionWindowInDays": "30"})
    assert "keys.data.deletionWindowInDays: got '30'; allowed: a whole number" in str(error)


def test_invalid_key_spec_lists_the_choices() -> None:
    """An unknown key spec names every spec the provider accepts."""
    error = error_for({"keySpec": "RSA_1024"})
    assert "keys.data.keySpec: got 'RSA_1024'" in str(error)
    assert "'RSA_2048'" in str(error) and "'ML_DSA_44'" in str(error)


def test_every_bad_value_is_reported_at_once() -> None:
    """The operator sees all mistakes in one run, one line each."""
    error = error_for({"deletionWindowInDays": 3, "rotationPeriodInDays": 10,
                       "aliases": ["nope"]})
    assert len(error.issues) == 3
    assert str(error).startswith("stack 'dev': 3 configuration errors, nothing was registered")


def test_error_names_stack_path_value_and_allowed() -> None:
    """The message format: stack, namespaced path, the value given, what is allowed."""
    error = error_for({"deletionWindowInDays": 45}, stack="prod")
    line = str(error).splitlines()[1]
    assert re.fullmatch(
        r"  - kms-keys:keys\.data\.deletionWindowInDays: got 45; allowed: .*7 to 30", line
    )
    assert error.stack == "prod"


def test_bad_value_in_defaults_points_at_defaults() -> None:
    """A value inherited from `defaults` is reported where it was written."""
    config = stack_config(defaults={"deletionWindowInDays": 3})
    with pytest.raises(KmsConfigError, match=r"kms-keys:defaults\.deletionWindowInDays: got 3"):
        load(config)


def test_key_setting_overrides_default() -> None:
    """A key's own value wins over the stack's default."""
    config = stack_config(
        {"data": {"administrators": [ADMIN], "deletionWindowInDays": 20}},
        defaults={"deletionWindowInDays": 10},
    )
    assert load(config).keys[0].deletion_window_in_days == 20


def test_missing_account_id_names_the_config_key() -> None:
    """C10: a missing required value fails with the key it wanted."""
    config = stack_config()
    del config["kms-keys:accountId"]
    with pytest.raises(KmsConfigError, match=r"kms-keys:accountId: got nothing; allowed: a value"):
        load(config)


def test_account_outside_allowed_account_ids_is_refused() -> None:
    """aws:allowedAccountIds pins the environment's account; the two must agree."""
    config = stack_config()
    config["aws:allowedAccountIds"] = f'["{OTHER_ACCOUNT}"]'
    with pytest.raises(KmsConfigError, match=r"aws:allowedAccountIds: got \['444455556666'\]"):
        load(config)


def test_missing_region_is_refused() -> None:
    """Without aws:region nothing can be placed."""
    config = stack_config()
    del config["aws:region"]
    with pytest.raises(KmsConfigError, match=r"aws:region: got nothing"):
        load(config)


def test_principal_of_another_account_needs_an_explicit_allowance() -> None:
    """No principal outside the account appears unless the stack says so."""
    outsider = f"arn:aws:iam::{OTHER_ACCOUNT}:role/Reader"
    error = error_for({"users": [outsider]})
    assert "keys.data.users[0]" in str(error) and "allowedExternalAccounts" in str(error)
    plan = one_key({"users": [outsider], "allowedExternalAccounts": [OTHER_ACCOUNT]})
    assert outsider in plan.users


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::111122223333:role/*",
        "arn:aws:sts::111122223333:federated-user/bob",
        "not-an-arn",
        "arn:aws:iam::1234:role/short-account",
        " arn:aws:iam::111122223333:role/App",
    ],
)
def test_malformed_principal_is_refused(principal: str) -> None:
    """Wildcard ARNs, federated sessions and garbage never reach a policy."""
    error = error_for({"users": [principal]})
    assert f"keys.data.users[0]: got {principal!r}" in str(error)


def test_account_id_principal_is_written_as_root_arn() -> None:
    """A bare account id is stored the way AWS writes it back."""
    assert one_key({"users": [ACCOUNT]}).users == (f"arn:aws:iam::{ACCOUNT}:root",)


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ({"aws:team": "x"}, "not starting with 'aws:'"),
        ({"k" * 129: "x"}, "1 to 128 characters"),
        ({"team": "v" * 257}, "at most 256"),
        ({"team": "a|b"}, "letters, digits, spaces"),
    ],
)
def test_bad_tags_are_refused(tags: dict[str, str], fragment: str) -> None:
    """Tag keys and values follow the KMS tagging rules."""
    error = error_for({"tags": tags})
    assert "keys.data.tags." in str(error) and fragment in str(error)


def test_stack_tags_and_defaults_reach_every_key() -> None:
    """Environment, project and owner tags are added to each key."""
    plan = one_key({"tags": {"team": "orders"}}, owner="platform")
    assert dict(plan.tags) == {
        "environment": "dev", "owner": "platform", "project": "kms-keys", "team": "orders",
    }


def test_prod_keys_are_protected_by_default() -> None:
    """Production keys are protected from accidental deletion unless a key opts out."""
    assert one_key({}, stack="prod").protect is True
    assert one_key({}, stack="dev").protect is False
    assert one_key({"protect": False}, stack="prod").protect is False


def test_key_name_must_be_resource_safe() -> None:
    """Key names become resource names and aliases, so they are restricted."""
    with pytest.raises(KmsConfigError, match=r"kms-keys:keys\.Bad Name: got 'Bad Name'"):
        load(stack_config({"Bad Name": {"administrators": [ADMIN]}}))


def test_extra_statement_is_checked_like_the_rest() -> None:
    """An extra statement with an unknown field or a duplicate Sid is refused."""
    statement = {"Sid": "AllowKeyUse", "Effect": "Allow", "Principal": {"AWS": APP},
                 "Action": "kms:Decrypt", "Resource": "*"}
    error = error_for({"extraStatements": [statement]})
    assert "extraStatements[0].Sid: got 'AllowKeyUse'" in str(error)
    bad = dict(statement, Sid="Extra", Actions="kms:Decrypt")
    assert "extraStatements[0].Actions" in str(error_for({"extraStatements": [bad]}))
