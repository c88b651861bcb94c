"""The cases from the field (../shared/cases/README.md), one test each, with their inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import EngineFactory, run_program
from support import ACCOUNT, ADMIN, APP, load, one_key, stack_config

from components import CustomerManagedKey, KeySettings, KmsConfigError, specs
from components.checks import check_wildcard_principals
from components.offline import RecordingMonitor, resolve_stack, run_offline
from components.policy import build_policy, render_policy

PROJECT_DIR = Path(__file__).resolve().parents[1]


def test_c1_policy_that_locks_out_its_administrators_is_refused() -> None:
    """C1: only Encrypt/Decrypt for an app role, no root, no administrator: refused."""
    settings = {"allowAccountRoot": False, "administrators": [], "users": [APP]}
    with pytest.raises(KmsConfigError) as caught:
        one_key(settings)
    text = str(caught.value)
    assert "kms-keys:keys.data.administrators: got []" in text
    assert f"the account root arn:aws:iam::{ACCOUNT}:root" in text
    assert "needs kms:PutKeyPolicy" in text


def test_c1_refused_before_any_resource_is_registered(engine: RecordingMonitor) -> None:
    """C1: the component raises before registering anything."""
    locked = KeySettings(allow_account_root=False, users=[APP])
    with pytest.raises(KmsConfigError, match="needs kms:PutKeyPolicy"):
        CustomerManagedKey("locked", locked)
    assert engine.registered == []


def test_c1_bypass_flag_is_off_by_default_and_loud_when_on(engine: RecordingMonitor) -> None:
    """C1: the bypass stays off unless a stack turns it on; then it warns and is shown."""
    assert one_key({}).bypass_policy_lockout_safety_check is False
    plan = one_key({"allowAccountRoot": False, "administrators": [], "users": [APP],
                    "bypassPolicyLockoutSafetyCheck": True})
    assert any("lockout check bypassed" in note for note in plan.notes)
    assert any("bypassPolicyLockoutSafetyCheck is ON" in note for note in plan.notes)

    run_program(lambda: CustomerManagedKey("risky", plan=plan).key_arn)
    key = next(res for res in engine.registered if res.type == "aws:kms/key:Key")
    assert key.inputs["bypassPolicyLockoutSafetyCheck"] is True


def test_c2_assumed_role_session_becomes_its_role() -> None:
    """C2: the deploying session given as administrator is written as its role."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-session"
    text = render_policy(build_policy(one_key({"administrators": [session]})))
    assert f'"AWS":"arn:aws:iam::{ACCOUNT}:role/deployer"' in text
    assert "arn:aws:sts:" not in text


def test_c2_policy_does_not_depend_on_the_caller(make_engine: EngineFactory) -> None:
    """C2: two different callers in the same account produce the identical policy text."""
    policies = []
    for caller in ("alice", "bob"):
        make_engine()
        session = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/{caller}"
        key_settings = KeySettings(administrators=[session], users=[APP])
        run_program(lambda chosen=key_settings: CustomerManagedKey("data", chosen).policy.apply(
            policies.append))
    assert len(policies) == 2 and policies[0] == policies[1]


@pytest.mark.parametrize(
    "settings",
    [
        {"keySpec": "RSA_4096", "keyUsage": "SIGN_VERIFY"},
        {"keySpec": "HMAC_256", "keyUsage": "GENERATE_VERIFY_MAC"},
        {"keySpec": "ECC_NIST_P256", "keyUsage": "SIGN_VERIFY"},
        {"origin": "EXTERNAL", "keyMaterialConfigKey": "material"},
    ],
    ids=["rsa-sign", "hmac", "ecc-sign", "external"],
)
def test_c3_rotation_on_a_key_that_cannot_rotate(settings: dict[str, Any]) -> None:
    """C3: rotation on is an error; left at its default it is off (and nothing is sent)."""
    with pytest.raises(KmsConfigError, match=r"keys\.data\.enableKeyRotation: got True"):
        one_key({**settings, "enableKeyRotation": True})
    assert one_key(settings).rotation is False
    assert one_key({}).rotation is True


@pytest.mark.parametrize(("days", "accepted"),
                         [(30, False), (89, False), (90, True), (2560, True), (2561, False),
                          (3000, False)])
def test_c4_rotation_period_range(days: int, accepted: bool) -> None:
    """C4: 90-2560 accepted, everything else refused with the range in the message."""
    if accepted:
        assert one_key({"rotationPeriodInDays": days}).rotation_period_in_days == days
    else:
        with pytest.raises(KmsConfigError, match="from 90 to 2560"):
            one_key({"rotationPeriodInDays": days})


def test_c4_default_period_and_period_without_rotation() -> None:
    """C4: default 365; a period with rotation off is refused, never sent silently."""
    assert one_key({}).rotation_period_in_days == 365
    with pytest.raises(KmsConfigError, match="no period when rotation is off"):
        one_key({"enableKeyRotation": False, "rotationPeriodInDays": 365})


@pytest.mark.parametrize(("alias", "accepted"), [
    ("app-data", False), ("alias/Service:Test", False), ("alias/bastion.vpc.example.net", False),
    ("alias/aws/app", False), ("alias/aws-prod", True), ("alias/team/app_1", True),
    ("alias/app-data", True),
])
def test_c5_alias_rules(alias: str, accepted: bool) -> None:
    """C5: the KMS CreateAlias rules, with a reason for each refusal."""
    if accepted:
        assert one_key({"aliases": [alias]}).aliases == (alias,)
    else:
        with pytest.raises(KmsConfigError, match=r"aliases\[0\]: got '.*'; allowed: "):
            one_key({"aliases": [alias]})


@pytest.mark.parametrize("days", [5, 45])
def test_c6_deletion_window_out_of_range(days: int) -> None:
    """C6: 5 and 45 refused (allowed 7-30); default 30."""
    with pytest.raises(KmsConfigError, match=f"got {days}; allowed: .* from 7 to 30"):
        one_key({"deletionWindowInDays": days})
    assert one_key({}).deletion_window_in_days == 30


def test_c7_policy_text_is_stable_across_runs() -> None:
    """C7: the rendered prod stack policies are byte-identical across two runs."""
    texts = []
    for _ in range(2):
        run = run_offline(resolve_stack("prod", project_dir=PROJECT_DIR))
        texts.append([res.inputs["policy"] for res in run.resources
                      if res.type == "aws:kms/key:Key"])
    assert texts[0] == texts[1] and len(texts[0]) == 3
    for text in texts[0]:
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def _statement(condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "AnyoneDecrypt", "Effect": "Allow", "Principal": "*",
                                 "Action": "kms:Decrypt", "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement


def test_c8_wildcard_principal_without_condition_is_refused() -> None:
    """C8: `*` allowed kms:Decrypt with no condition is refused."""
    with pytest.raises(KmsConfigError, match=r"extraStatements\[0\]: got 'AnyoneDecrypt'"):
        one_key({"extraStatements": [_statement(None)]})


def test_c8_wildcard_principal_limited_to_the_account_is_accepted() -> None:
    """C8: the same with kms:CallerAccount and kms:ViaService conditions is accepted."""
    condition = {"StringEquals": {"kms:CallerAccount": ACCOUNT,
                                  "kms:ViaService": "s3.us-west-2.amazonaws.com"}}
    plan = one_key({"extraStatements": [_statement(condition)]})
    policy = build_policy(plan)
    assert check_wildcard_principals(policy, allowed_accounts=[ACCOUNT]) == []
    assert policy["Statement"][-1]["Sid"] == "AnyoneDecrypt"


def test_c9_check_inside_a_returned_apply_really_runs(engine: RecordingMonitor) -> None:
    """C9: an assertion inside the returned apply fails the test when it is false."""

    def program() -> Any:
        key = CustomerManagedKey("data", KeySettings(administrators=[ADMIN], users=[APP]))

        def check(policy_text: str) -> None:
            assert "arn:aws:iam::000000000000:root" in policy_text  # deliberately false

        return key.policy.apply(check)

    with pytest.raises(AssertionError, match="000000000000"):
        run_program(program)


def test_c9_account_id_from_the_mocks_reaches_the_policy(engine: RecordingMonitor) -> None:
    """C9: the caller identity answered by the mocks (camelCase) is the policy's account."""
    seen: list[str] = []
    run_program(lambda: CustomerManagedKey(
        "data", KeySettings(administrators=[ADMIN], users=[APP])).policy.apply(seen.append))
    assert f"arn:aws:iam::{ACCOUNT}:root" in seen[0] and "None" not in seen[0]


def test_c10_stack_files_are_read_under_the_real_names() -> None:
    """C10: project kms-keys and the stack name; a missing value names its key."""
    run = run_offline(resolve_stack("dev", project_dir=PROJECT_DIR))
    assert run.files.project == "kms-keys" and run.files.stack == "dev"
    config = stack_config()
    del config["kms-keys:keys"]
    with pytest.raises(KmsConfigError, match=r"kms-keys:keys: got nothing; allowed: a value"):
        load(config)
    with pytest.raises(pulumi.RunError):
        wrong = PROJECT_DIR / "tests" / "data" / "Pulumi.wrongproject.yaml"
        run_offline(resolve_stack(str(wrong), project_dir=PROJECT_DIR))


# --- the whole kind of fault, beyond the cases' own inputs ------------------------------------

NON_SYMMETRIC = [(spec, usage) for spec, usages in specs.USAGES_BY_KEY_SPEC.items()
                 if spec not in ("SYMMETRIC_DEFAULT", "SM2") for usage in usages]


@pytest.mark.parametrize(("key_spec", "key_usage"), NON_SYMMETRIC,
                         ids=[f"{a}-{b}" for a, b in NON_SYMMETRIC])
def test_c3_no_asymmetric_or_hmac_key_rotates(key_spec: str, key_usage: str) -> None:
    """C3, every spec: off by default, refused when asked for."""
    settings = {"keySpec": key_spec, "keyUsage": key_usage, "users": []}
    assert one_key(settings).rotation is False
    with pytest.raises(KmsConfigError, match=r"enableKeyRotation: got True"):
        one_key({**settings, "enableKeyRotation": True})


@pytest.mark.parametrize("alias", ["alias/a b", "alias/a\tb", "alias/a*b", "alias/a+b",
                                   "alias/a=b", "alias/a@b", "alias/a,b", "alias/é", "alias/a\0b",
                                   "alias/AWS/app", "ALIAS/app"])
def test_c5_other_bad_characters_and_reserved_forms(alias: str) -> None:
    """C5, the whole rule: only letters, digits, / _ - after alias/, and never alias/aws/."""
    with pytest.raises(KmsConfigError, match=r"aliases\[0\]"):
        one_key({"aliases": [alias]})


def test_c7_extra_statements_are_written_canonically() -> None:
    """C7: lists in extra statements are sorted, unique, and one value is a string."""
    first = {"Sid": "Extra", "Effect": "Deny", "Principal": {"AWS": [APP, ACCOUNT, APP]},
             "Action": ["kms:Encrypt", "kms:Decrypt"],
             "Condition": {"StringNotEquals": {"kms:ViaService": [
                 "s3.us-west-2.amazonaws.com", "rds.us-west-2.amazonaws.com"]},
                 "StringEquals": {"kms:CallerAccount": [ACCOUNT]}}}
    second = {**first, "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", APP]},
              "Action": ["kms:Decrypt", "kms:Encrypt", "kms:Decrypt"],
              "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT},
                            "StringNotEquals": {"kms:ViaService": [
                                "rds.us-west-2.amazonaws.com", "s3.us-west-2.amazonaws.com"]}}}
    texts = [render_policy(build_policy(one_key({"extraStatements": [item]})))
             for item in (first, second)]
    assert texts[0] == texts[1]
    extra = json.loads(texts[0])["Statement"][-1]
    assert extra["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT
    assert extra["Action"] == ["kms:Decrypt", "kms:Encrypt"]


def test_c7_service_order_in_the_stack_file_does_not_matter() -> None:
    """C7: listing services in another order gives the same bytes."""
    one = [{"service": "s3"}, {"service": "rds"}]
    texts = {render_policy(build_policy(one_key({"services": order})))
             for order in (one, list(reversed(one)))}
    assert len(texts) == 1


@pytest.mark.parametrize(
    "principal",
    [{"AWS": ["*"]}, {"AWS": ["*", APP]}],
    ids=["list-star", "star-and-role"],
)
def test_c8_every_wildcard_form_needs_account_conditions(principal: dict[str, Any]) -> None:
    """C8: `{"AWS": ["*"]}` and friends are wildcards too."""
    statement = {"Sid": "Anyone", "Effect": "Allow", "Principal": principal,
                 "Action": "kms:Decrypt", "Resource": "*"}
    with pytest.raises(KmsConfigError, match="wildcard principal"):
        one_key({"extraStatements": [statement]})


def test_c8_not_principal_allow_is_a_wildcard() -> None:
    """C8: Allow with NotPrincipal grants everyone else, so it is refused without conditions."""
    statement = {"Sid": "AllButApp", "Effect": "Allow", "NotPrincipal": {"AWS": APP},
                 "Action": "kms:Decrypt", "Resource": "*"}
    with pytest.raises(KmsConfigError, match="wildcard principal"):
        one_key({"extraStatements": [statement]})


def test_c1_bypass_is_logged_as_a_warning(engine: RecordingMonitor) -> None:
    """C1: turning the bypass on is loud: the engine receives a warning, not an info line."""
    plan = one_key({"bypassPolicyLockoutSafetyCheck": True})
    messages: list[tuple[str, str]] = []
    original = pulumi.log.warn

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        messages.append(("warn", message))
        original(message, *args, **kwargs)

    pulumi.log.warn = record  # type: ignore[assignment]
    try:
        run_program(lambda: CustomerManagedKey("risky", plan=plan).key_arn)
    finally:
        pulumi.log.warn = original  # type: ignore[assignment]
    assert any("bypassPolicyLockoutSafetyCheck is ON" in text for _, text in messages)
