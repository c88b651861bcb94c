"""Each guardrail passes a good resource and stops a bad one, run as the policy pack registers it.

The rules are called through the `ResourceValidationPolicy.validate` of `build_policies()`, with
the `ResourceValidationArgs` CrossGuard builds (props wrapped in its unknown-checking proxy). No
policy pack server is started and nothing goes over the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto, rpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from components.guardrails import (
    EXIT_GUARDRAIL_VIOLATION,
    PACK_NAME,
    RULES,
    GuardrailConfig,
    GuardrailConfigError,
    Violation,
    build_policies,
    evaluate_resource,
    exit_code,
    load_pack_config,
    parse_pack_config,
    render_violations,
)

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KmsKeyAdmin"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/alice"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
GRANT = "aws:kms/grant:Grant"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
REPLICA = "aws:kms/replicaKey:ReplicaKey"
COMPONENT = "kms-keys:index:CustomerManagedKey"
TAGS = {"environment": "dev", "owner": "platform-team", "project": "orders"}

POLICIES = {policy.name: policy for policy in build_policies()}


def statement(sid: str, principal: Any, actions: Any, **extra: Any) -> dict[str, Any]:
    """One Allow statement of a key policy."""
    return {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": actions,
            "Resource": "*", **extra}


ROOT_STATEMENT = statement("EnableIamPermissions", {"AWS": ROOT}, "kms:*")
ADMIN_STATEMENT = statement("Admin", {"AWS": ADMIN}, ["kms:PutKeyPolicy", "kms:DescribeKey"])


def policy_text(*statements: Mapping[str, Any]) -> str:
    """A key policy as the provider receives it: JSON text."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


GOOD_POLICY = policy_text(ROOT_STATEMENT, ADMIN_STATEMENT)


def key_props(**changes: Any) -> dict[str, Any]:
    """Inputs of a well-configured symmetric key, numbers as floats as the engine sends them."""
    props: dict[str, Any] = {
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "keyUsage": "ENCRYPT_DECRYPT",
        "enableKeyRotation": True,
        "rotationPeriodInDays": 365.0,
        "deletionWindowInDays": 30.0,
        "policy": GOOD_POLICY,
        "tags": dict(TAGS),
    }
    props.update(changes)
    return {name: value for name, value in props.items() if value is not None}


def component_props(**changes: Any) -> dict[str, Any]:
    """The settings a CustomerManagedKey component would register as its inputs."""
    props: dict[str, Any] = {
        "keySpec": "SYMMETRIC_DEFAULT",
        "origin": "AWS_KMS",
        "enableKeyRotation": True,
        "rotationPeriodInDays": 365,
        "deletionWindowInDays": 30,
        "aliases": ["alias/dev/data"],
        "tags": dict(TAGS),
        "protect": False,
        "bypassPolicyLockoutSafetyCheck": False,
    }
    props.update(changes)
    return props


def check(
    rule: str,
    props: Mapping[str, Any],
    *,
    resource_type: str = KEY,
    stack: str = "dev",
    protect: bool = False,
    config: Mapping[str, Any] | None = None,
    provider: PolicyProviderResource | None = None,
) -> list[str]:
    """Run one registered policy on one resource; return the violation messages it reports."""
    opts = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    urn = f"urn:pulumi:{stack}::orders::{resource_type}::res"
    args = ResourceValidationArgs(
        resource_type, unknown_checking_proxy(dict(props)), urn, "res", opts, provider, config
    )
    messages: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        messages.append(message)

    assert POLICIES[rule].validate(args, report_violation) is None
    return messages


# --- the pack's registration -----------------------------------------------------------------


def test_build_policies_registers_every_rule_once() -> None:
    """Every rule becomes one policy with its name, description and default level."""
    assert list(POLICIES) == [rule.name for rule in RULES]
    for rule in RULES:
        policy = POLICIES[rule.name]
        assert policy.description == rule.description
        assert policy.enforcement_level == EnforcementLevel(rule.default_level)


def test_build_policies_documents_defaults_in_config_schema() -> None:
    """Configurable rules publish their settings with defaults; the others have no schema."""
    period = POLICIES["kms-key-rotation-period"].config_schema
    assert period is not None
    assert period.properties["maxRotationPeriodInDays"]["default"] == 365
    window = POLICIES["kms-key-deletion-window"].config_schema
    assert window is not None
    assert window.properties["prodMinDeletionWindowInDays"]["default"] == 30
    assert POLICIES["kms-key-rotation-enabled"].config_schema is None


def test_build_policies_default_levels_are_documented_ones() -> None:
    """Tags are advisory by default; every other rule is mandatory."""
    advisory = {name for name, policy in POLICIES.items()
                if policy.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {"kms-key-required-tags"}


# --- rotation --------------------------------------------------------------------------------


def test_rotation_enabled_passes_rotating_key() -> None:
    """A symmetric key with rotation on passes."""
    assert check("kms-key-rotation-enabled", key_props()) == []


def test_rotation_enabled_fails_key_without_rotation() -> None:
    """A plain aws.kms.Key without enableKeyRotation is stopped."""
    messages = check("kms-key-rotation-enabled", key_props(enableKeyRotation=None))
    assert len(messages) == 1
    assert "enableKeyRotation: true" in messages[0]


def test_rotation_enabled_passes_asymmetric_key_without_rotation() -> None:
    """KMS cannot rotate an RSA key, so rotation off is fine."""
    props = key_props(customerMasterKeySpec="RSA_2048", keyUsage="SIGN_VERIFY",
                      enableKeyRotation=False, rotationPeriodInDays=None)
    assert check("kms-key-rotation-enabled", props) == []


def test_rotation_enabled_passes_key_in_custom_key_store() -> None:
    """A CloudHSM key cannot rotate automatically."""
    props = key_props(enableKeyRotation=False, customKeyStoreId="cks-1234567890abcdef0")
    assert check("kms-key-rotation-enabled", props) == []


def test_rotation_enabled_fails_component_with_rotation_off() -> None:
    """The component's settings are checked like a key's."""
    messages = check("kms-key-rotation-enabled", component_props(enableKeyRotation=False),
                     resource_type=COMPONENT)
    assert len(messages) == 1


def test_rotation_enabled_skips_component_without_settings() -> None:
    """A component that registers no inputs has nothing to check."""
    assert check("kms-key-rotation-enabled", {}, resource_type=COMPONENT) == []


def test_rotation_enabled_skips_unknown_value() -> None:
    """An unknown enableKeyRotation during preview is skipped, not reported."""
    props = key_props(enableKeyRotation=UNKNOWN_BOOLEAN_VALUE)
    assert check("kms-key-rotation-enabled", props) == []


def test_rotation_period_passes_within_maximum() -> None:
    """365 days is within the default maximum."""
    assert check("kms-key-rotation-period", key_props()) == []


def test_rotation_period_fails_above_maximum() -> None:
    """400 days is longer than the organisation maximum of 365."""
    messages = check("kms-key-rotation-period", key_props(rotationPeriodInDays=400.0))
    assert len(messages) == 1
    assert "400 days" in messages[0] and "365" in messages[0]


def test_rotation_period_honours_configured_maximum() -> None:
    """With maxRotationPeriodInDays 180, an unset period (KMS default 365) fails."""
    props = key_props(rotationPeriodInDays=None)
    messages = check("kms-key-rotation-period", props, config={"maxRotationPeriodInDays": 180})
    assert len(messages) == 1
    assert "KMS default" in messages[0]


# --- deletion window -------------------------------------------------------------------------


def test_deletion_window_passes_short_window_outside_prod() -> None:
    """Seven days is allowed outside prod by default."""
    assert check("kms-key-deletion-window", key_props(deletionWindowInDays=7.0)) == []


def test_deletion_window_fails_short_window_in_prod() -> None:
    """Seven days is below the prod minimum of 30."""
    props = key_props(deletionWindowInDays=7.0, tags={**TAGS, "environment": "prod"})
    messages = check("kms-key-deletion-window", props, stack="prod", protect=True)
    assert len(messages) == 1
    assert "at least 30" in messages[0]


def test_deletion_window_passes_unset_window_in_prod() -> None:
    """An unset window is the KMS default of 30 days."""
    props = key_props(deletionWindowInDays=None)
    assert check("kms-key-deletion-window", props, stack="prod") == []


def test_deletion_window_honours_configured_minimum() -> None:
    """minDeletionWindowInDays raises the floor outside prod."""
    props = key_props(deletionWindowInDays=7.0)
    messages = check("kms-key-deletion-window", props, config={"minDeletionWindowInDays": 14})
    assert len(messages) == 1


def test_deletion_window_fails_replica_key_in_prod() -> None:
    """Replica keys have their own deletion window."""
    props = {"primaryKeyArn": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/mrk-1",
             "deletionWindowInDays": 10.0}
    assert len(check("kms-key-deletion-window", props, resource_type=REPLICA, stack="prod")) == 1


# --- lockout ---------------------------------------------------------------------------------


def test_no_lockout_bypass_passes_key_without_bypass() -> None:
    """A key that keeps the lockout safety check passes."""
    assert check("kms-no-lockout-bypass", key_props()) == []


def test_no_lockout_bypass_fails_key_with_bypass() -> None:
    """bypassPolicyLockoutSafetyCheck on a key is stopped."""
    props = key_props(bypassPolicyLockoutSafetyCheck=True)
    assert len(check("kms-no-lockout-bypass", props)) == 1


def test_no_lockout_bypass_fails_key_policy_with_bypass() -> None:
    """The same flag on a separate aws.kms.KeyPolicy is stopped."""
    props = {"keyId": "1234abcd", "policy": GOOD_POLICY, "bypassPolicyLockoutSafetyCheck": True}
    assert len(check("kms-no-lockout-bypass", props, resource_type=KEY_POLICY)) == 1


def test_policy_keeps_administrator_passes_root_access() -> None:
    """The account root with kms:* can always change the policy."""
    assert check("kms-policy-keeps-administrator", key_props()) == []


def test_policy_keeps_administrator_fails_policy_nobody_can_change() -> None:
    """A policy in which no principal of the account may call PutKeyPolicy is stopped."""
    props = {"keyId": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd",
             "policy": policy_text(statement("Use", {"AWS": APP}, ["kms:Decrypt"]))}
    messages = check("kms-policy-keeps-administrator", props, resource_type=KEY_POLICY)
    assert len(messages) == 1
    assert "kms:PutKeyPolicy" in messages[0]


# --- principals ------------------------------------------------------------------------------


def test_wildcard_principal_passes_with_caller_account_condition() -> None:
    """Principal * limited by kms:CallerAccount to the key's account passes."""
    limited = statement("ViaS3", "*", ["kms:Decrypt"],
                        Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}})
    props = key_props(policy=policy_text(ROOT_STATEMENT, limited))
    assert check("kms-policy-no-unlimited-wildcard-principal", props) == []


def test_wildcard_principal_fails_without_condition() -> None:
    """Principal * without an account condition is stopped."""
    props = key_props(policy=policy_text(ROOT_STATEMENT, statement("Open", "*", "kms:Decrypt")))
    messages = check("kms-policy-no-unlimited-wildcard-principal", props)
    assert len(messages) == 1
    assert messages[0].startswith("statement Open:")


def test_wildcard_principal_fails_when_limited_to_another_account() -> None:
    """A condition naming some other account does not limit the principal to this one."""
    other = statement("Other", {"AWS": "*"}, ["kms:Decrypt"],
                      Condition={"StringEquals": {"kms:CallerAccount": OTHER_ACCOUNT}})
    props = key_props(policy=policy_text(ROOT_STATEMENT, other))
    assert len(check("kms-policy-no-unlimited-wildcard-principal", props)) == 1


def test_wildcard_principal_passes_trusted_account_from_config() -> None:
    """trustedAccounts lets a wildcard be limited to a partner account."""
    other = statement("Other", {"AWS": "*"}, ["kms:Decrypt"],
                      Condition={"StringEquals": {"kms:CallerAccount": OTHER_ACCOUNT}})
    props = key_props(policy=policy_text(ROOT_STATEMENT, other))
    config = {"trustedAccounts": [OTHER_ACCOUNT]}
    assert check("kms-policy-no-unlimited-wildcard-principal", props, config=config) == []


def test_wildcard_principal_uses_configured_account_id() -> None:
    """accountId in the pack config wins over the account the policy names."""
    limited = statement("ViaS3", "*", ["kms:Decrypt"],
                        Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}})
    props = key_props(policy=policy_text(ROOT_STATEMENT, limited))
    config = {"accountId": OTHER_ACCOUNT}
    assert len(check("kms-policy-no-unlimited-wildcard-principal", props, config=config)) == 1


def test_no_session_principals_passes_role_principals() -> None:
    """IAM role principals last; they pass."""
    assert check("kms-policy-no-sts-session-principals", key_props()) == []


def test_no_session_principals_fails_assumed_role_session() -> None:
    """An STS session ARN in a key policy is stopped."""
    props = key_props(policy=policy_text(ROOT_STATEMENT, statement("S", {"AWS": SESSION}, "kms:*")))
    messages = check("kms-policy-no-sts-session-principals", props)
    assert len(messages) == 1
    assert "STS session" in messages[0]


def test_no_session_principals_fails_grant_to_session() -> None:
    """A grant to an STS session is stopped, naming the field."""
    props = {"keyId": "1234abcd", "granteePrincipal": SESSION, "operations": ["Decrypt"]}
    messages = check("kms-policy-no-sts-session-principals", props, resource_type=GRANT)
    assert len(messages) == 1
    assert messages[0].startswith("statement granteePrincipal:")


def test_no_session_principals_passes_grant_to_role() -> None:
    """A grant to an IAM role passes."""
    props = {"keyId": "1234abcd", "granteePrincipal": APP, "retiringPrincipal": ADMIN,
             "operations": ["Decrypt"]}
    assert check("kms-policy-no-sts-session-principals", props, resource_type=GRANT) == []


def test_full_access_only_root_passes_root() -> None:
    """kms:* to the account root is AWS's default statement; it passes."""
    assert check("kms-policy-full-access-only-root", key_props()) == []


def test_full_access_only_root_fails_role_with_kms_star() -> None:
    """kms:* to a role is stopped."""
    props = key_props(policy=policy_text(ROOT_STATEMENT, statement("App", {"AWS": APP}, "kms:*")))
    messages = check("kms-policy-full-access-only-root", props)
    assert len(messages) == 1
    assert APP in messages[0]


def test_full_access_only_root_fails_service_principal_with_star() -> None:
    """Action * to a service principal is stopped."""
    service = statement("Logs", {"Service": "logs.us-west-2.amazonaws.com"}, "*")
    props = key_props(policy=policy_text(ROOT_STATEMENT, service))
    assert len(check("kms-policy-full-access-only-root", props)) == 1


def test_full_access_only_root_fails_other_accounts_root() -> None:
    """The root of another account is not this key's account root."""
    other_root = statement("Other", {"AWS": OTHER_ACCOUNT}, "kms:*")
    props = key_props(policy=policy_text(ROOT_STATEMENT, other_root))
    config = {"accountId": ACCOUNT}
    assert len(check("kms-policy-full-access-only-root", props, config=config)) == 1


def test_policy_rules_skip_unknown_policy() -> None:
    """A policy that is unknown during preview is skipped by every policy rule."""
    props = key_props(policy=UNKNOWN_STRING_VALUE)
    for rule in ("kms-policy-no-unlimited-wildcard-principal", "kms-policy-full-access-only-root",
                 "kms-policy-no-sts-session-principals", "kms-policy-keeps-administrator"):
        assert check(rule, props) == []


# --- aliases, tags, protection ---------------------------------------------------------------


def test_alias_naming_passes_environment_alias() -> None:
    """alias/<environment>/<name> passes."""
    props = {"name": "alias/dev/orders", "targetKeyId": "1234abcd"}
    assert check("kms-alias-naming", props, resource_type=ALIAS) == []


def test_alias_naming_fails_alias_without_environment() -> None:
    """An alias without an environment segment breaks the convention."""
    messages = check("kms-alias-naming", {"name": "alias/orders"}, resource_type=ALIAS)
    assert len(messages) == 1
    assert "naming convention" in messages[0]


def test_alias_naming_fails_reserved_aws_prefix() -> None:
    """The project's KMS alias rules apply first: alias/aws/ is reserved."""
    messages = check("kms-alias-naming", {"name": "alias/aws/orders"}, resource_type=ALIAS)
    assert len(messages) == 1
    assert "KMS alias rules" in messages[0]


def test_alias_naming_honours_stack_placeholder() -> None:
    """With {stack} in the pattern, a dev alias in the prod stack fails."""
    config = {"aliasPattern": r"^alias/{stack}/[a-z0-9-]+$"}
    props = {"name": "alias/dev/orders"}
    assert len(check("kms-alias-naming", props, resource_type=ALIAS, stack="prod",
                     config=config)) == 1
    assert check("kms-alias-naming", props, resource_type=ALIAS, config=config) == []


def test_alias_naming_checks_component_aliases() -> None:
    """Each alias a component lists is checked."""
    props = component_props(aliases=["alias/dev/data", "alias/data"])
    assert len(check("kms-alias-naming", props, resource_type=COMPONENT)) == 1


def test_alias_naming_skips_unknown_name() -> None:
    """An alias name that is not known yet is skipped."""
    props = {"name": UNKNOWN_STRING_VALUE}
    assert check("kms-alias-naming", props, resource_type=ALIAS) == []


def test_required_tags_passes_complete_tags() -> None:
    """environment, owner and project present: pass."""
    assert check("kms-key-required-tags", key_props()) == []


def test_required_tags_fails_missing_owner() -> None:
    """A key without an owner tag is reported, naming the tag."""
    props = key_props(tags={"environment": "dev", "project": "x"})
    messages = check("kms-key-required-tags", props)
    assert len(messages) == 1
    assert "owner" in messages[0]


def test_required_tags_counts_provider_default_tags() -> None:
    """Tags the provider adds to every resource (defaultTags) count."""
    provider = PolicyProviderResource(
        "pulumi:providers:aws", unknown_checking_proxy({"defaultTags": {"tags": {"owner": "x"}}}),
        "urn:pulumi:dev::orders::pulumi:providers:aws::default", "default",
    )
    props = key_props(tags={"environment": "dev", "project": "x"})
    assert check("kms-key-required-tags", props, provider=provider) == []


def test_required_tags_fails_reserved_tag_key() -> None:
    """The project's KMS tag rules apply: aws: keys are reserved."""
    messages = check("kms-key-required-tags", key_props(tags={**TAGS, "aws:team": "x"}))
    assert len(messages) == 1
    assert "aws:" in messages[0]


def test_prod_protected_passes_protected_prod_key() -> None:
    """A protected key in prod passes."""
    assert check("kms-prod-keys-protected", key_props(), stack="prod", protect=True) == []


def test_prod_protected_fails_unprotected_prod_key() -> None:
    """An unprotected key in the prod stack is stopped."""
    messages = check("kms-prod-keys-protected", key_props(), stack="prod")
    assert len(messages) == 1
    assert "protect" in messages[0]


def test_prod_protected_passes_unprotected_dev_key() -> None:
    """Outside prod, protection is not required."""
    assert check("kms-prod-keys-protected", key_props()) == []


def test_prod_protected_fails_key_tagged_prod_in_other_stack() -> None:
    """An environment tag of prod counts as prod whatever the stack is called."""
    props = key_props(tags={**TAGS, "environment": "prod"})
    assert len(check("kms-prod-keys-protected", props, stack="eu-main")) == 1


def test_prod_protected_fails_unprotected_component_in_prod() -> None:
    """A component whose settings say protect: false in prod is stopped."""
    props = component_props(protect=False)
    assert len(check("kms-prod-keys-protected", props, resource_type=COMPONENT,
                     stack="prod")) == 1


# --- enforcement levels and pack config ------------------------------------------------------


def test_evaluate_resource_uses_default_levels() -> None:
    """A bad key gets mandatory and advisory violations at the rules' default levels."""
    props = key_props(enableKeyRotation=None, tags={})
    violations = evaluate_resource(KEY, "orders-key", props, protect=False, stack="dev")
    levels = {violation.rule: violation.level for violation in violations}
    assert levels == {"kms-key-rotation-enabled": "mandatory",
                      "kms-key-required-tags": "advisory"}


def test_evaluate_resource_honours_disabled_and_advisory() -> None:
    """Config can disable a rule and make another advisory."""
    config = parse_pack_config({"kms-key-rotation-enabled": "advisory",
                                "kms-key-required-tags": {"enforcementLevel": "disabled"}})
    props = key_props(enableKeyRotation=None, tags={})
    violations = evaluate_resource(KEY, "k", props, protect=False, stack="dev", config=config)
    assert [(violation.rule, violation.level) for violation in violations] == [
        ("kms-key-rotation-enabled", "advisory")
    ]
    assert exit_code(violations) == 0


def test_evaluate_resource_honours_all_then_rule_level() -> None:
    """`all` sets every rule's level; a rule's own entry wins over it."""
    config = parse_pack_config({"all": "disabled", "kms-key-required-tags": "mandatory"})
    props = key_props(enableKeyRotation=None, tags={})
    violations = evaluate_resource(KEY, "k", props, protect=False, stack="dev", config=config)
    assert [(violation.rule, violation.level) for violation in violations] == [
        ("kms-key-required-tags", "mandatory")
    ]
    assert exit_code(violations) == EXIT_GUARDRAIL_VIOLATION


def test_evaluate_resource_applies_rule_settings_to_that_rule_only() -> None:
    """A rule's settings in the pack config apply to that rule."""
    config = parse_pack_config({"kms-key-rotation-period": {"maxRotationPeriodInDays": 180}})
    violations = evaluate_resource(KEY, "k", key_props(), protect=False, stack="dev",
                                   config=config)
    assert [violation.rule for violation in violations] == ["kms-key-rotation-period"]


def test_load_pack_config_reads_json_file(tmp_path: Path) -> None:
    """The --policy-pack-config JSON file is read into levels and settings."""
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps({
        "kms-key-required-tags": {"enforcementLevel": "mandatory", "requiredTags": ["team"]},
    }))
    config = load_pack_config(path)
    assert config.level("kms-key-required-tags") == "mandatory"
    assert config.for_rule("kms-key-required-tags").required_tags == ("team",)
    assert config.level("kms-alias-naming") == "mandatory"


def test_load_pack_config_rejects_unknown_level(tmp_path: Path) -> None:
    """An enforcement level other than advisory/mandatory/disabled is refused."""
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps({"kms-alias-naming": "strict"}))
    with pytest.raises(GuardrailConfigError, match="kms-alias-naming: got 'strict'"):
        load_pack_config(path)


def test_parse_pack_config_rejects_unknown_rule() -> None:
    """A misspelt rule name is refused with the list of rules."""
    with pytest.raises(GuardrailConfigError, match="no rule of that name"):
        parse_pack_config({"kms-rotation": "advisory"})


def test_parse_pack_config_rejects_setting_of_another_rule() -> None:
    """A setting must belong to the rule it is given under."""
    with pytest.raises(GuardrailConfigError, match="not a setting of this rule"):
        parse_pack_config({"kms-alias-naming": {"maxRotationPeriodInDays": 180}})


def test_parse_pack_config_rejects_out_of_range_value() -> None:
    """A rotation maximum outside what KMS allows is refused."""
    with pytest.raises(GuardrailConfigError, match="from 90 to 2560"):
        parse_pack_config({"kms-key-rotation-period": {"maxRotationPeriodInDays": 3000}})


def test_guardrail_config_default_level_is_rule_default() -> None:
    """Without config, each rule runs at its own default level."""
    config = GuardrailConfig()
    assert {rule.name: config.level(rule.name) for rule in RULES} == {
        rule.name: rule.default_level for rule in RULES
    }


# --- through CrossGuard's own analyzer (no server started) -----------------------------------


def analyze(props: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> list[Any]:
    """Run the pack as CrossGuard's analyzer does for one key; return its diagnostics."""
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", build_policies(),
                                       EnforcementLevel.ADVISORY)
    if config is not None:
        request = proto.ConfigureAnalyzerRequest()
        for name, level in config.items():
            request.policyConfig[name].enforcementLevel = getattr(proto, level.upper())
        servicer.Configure(request, None)
    properties = struct_pb2.Struct()
    properties.update(dict(props))
    request = proto.AnalyzeRequest(
        type=KEY, properties=properties, name="k", urn=f"urn:pulumi:dev::orders::{KEY}::k",
        options=proto.AnalyzerResourceOptions(protect=False),
    )
    return list(servicer.Analyze(request, None).diagnostics)


def test_analyzer_reports_mandatory_violation() -> None:
    """CrossGuard's analyzer reports a broken rule at its default level."""
    diagnostics = analyze(key_props(enableKeyRotation=False))
    assert [(item.policyName, item.enforcementLevel) for item in diagnostics] == [
        ("kms-key-rotation-enabled", proto.MANDATORY)
    ]


def test_analyzer_skips_unknown_values_without_diagnostics() -> None:
    """Unknown values give no violation and no "can't run policy" diagnostic."""
    props = key_props(enableKeyRotation=UNKNOWN_BOOLEAN_VALUE, policy=UNKNOWN_STRING_VALUE,
                      tags=UNKNOWN_STRING_VALUE, rotationPeriodInDays=None)
    assert analyze(props) == []


def test_analyzer_honours_disabled_rule() -> None:
    """A rule disabled in the pack config does not run."""
    assert analyze(key_props(enableKeyRotation=False),
                   config={"kms-key-rotation-enabled": "disabled"}) == []


# --- report ----------------------------------------------------------------------------------


def test_render_violations_lists_each_violation() -> None:
    """The report counts violations by level and names rule, resource and fix."""
    violations = [
        Violation("kms-alias-naming", "mandatory", ALIAS, "a", None, "alias 'alias/x' ..."),
        Violation("kms-key-required-tags", "advisory", KEY, "k", None, "missing owner"),
    ]
    lines = render_violations(violations)
    assert lines[0] == f"Guardrails ({PACK_NAME}): 2 violations, 1 mandatory, 1 advisory"
    assert lines[1] == f"  MANDATORY kms-alias-naming: {ALIAS} a: alias 'alias/x' ..."
    assert render_violations([]) == [f"Guardrails ({PACK_NAME}): no violations"]


def test_evaluate_resource_skips_engine_unknown_sentinel() -> None:
    """Offline props hold the engine's unknown marker as text; it is skipped, not checked."""
    props = {"name": rpc.UNKNOWN, "targetKeyId": rpc.UNKNOWN}
    assert evaluate_resource(ALIAS, "a", props, protect=False, stack="dev") == []
