"""Bad input found by attacking the product: each kind is refused cleanly, before registration."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from conftest import ACCOUNT, run_program
from support import ADMIN, APP, OTHER_ACCOUNT, SECRET, load, one_key, stack_config

from components import CustomerManagedKey, KeySettings, KmsConfigError
from components.cli import main
from components.offline import KmsMocks, RecordingMonitor, resolve_stack, run_offline

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEV = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())


def refused(settings: dict[str, Any], fragment: str, **stack_settings: Any) -> str:
    """Load one key with *settings*; assert it is refused with *fragment* in the message."""
    with pytest.raises(KmsConfigError) as caught:
        one_key(settings, **stack_settings)
    text = str(caught.value)
    assert fragment in text, text
    return text


def preview_file(tmp_path: Path, text: str, *arguments: str) -> tuple[int, str, str]:
    """Write a stack file and run `kms-keys preview` on it in-process."""
    stack_file = tmp_path / "Pulumi.attack.yaml"
    stack_file.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["preview", str(stack_file), "--project-dir", str(PROJECT_DIR), *arguments])
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def dev_with(**changes: Any) -> str:
    """The dev stack file with some config values replaced or added."""
    document = json.loads(json.dumps(DEV))
    document["config"].update(changes)
    return yaml.safe_dump(document)


# --- secrets ------------------------------------------------------------------------------------


def test_unset_key_material_secret_is_refused_before_anything_is_registered() -> None:
    """A key naming a secret that is not set fails with exit-2 style error, registering nothing."""
    keys = {"imported": {"administrators": [ADMIN], "origin": "EXTERNAL",
                         "keyMaterialConfigKey": "material"},
            "data": {"administrators": [ADMIN]}}
    with pytest.raises(KmsConfigError, match=r"keys\.imported\.keyMaterialConfigKey: got "
                                              r"'material'.*config set --secret material"):
        load(stack_config(keys))


def test_key_material_in_plain_text_is_refused() -> None:
    """Key material must be stored as a secret, never in plain text in the stack file."""
    keys = {"imported": {"administrators": [ADMIN], "origin": "EXTERNAL",
                         "keyMaterialConfigKey": "material"}}
    config = stack_config(keys)
    config["kms-keys:material"] = "c2VjcmV0"
    with pytest.raises(KmsConfigError, match="is in plain text in the stack file"):
        load(config)
    config["kms-keys:material"] = SECRET
    assert load(config).keys[0].origin == "EXTERNAL"


def test_unset_secret_registers_no_other_key(tmp_path: Path) -> None:
    """The whole stack stops before its first resource, not after the keys that were fine."""
    document = json.loads(json.dumps(DEV))
    document["config"]["kms-keys:keys"]["secrets"].update(
        {"origin": "EXTERNAL", "keyMaterialConfigKey": "mat"})
    document["config"]["kms-keys:keys"]["secrets"].pop("services")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    monitor = RecordingMonitor(KmsMocks(account_id=ACCOUNT, region="us-west-2"))
    with pytest.raises(pulumi.RunError, match=r"keys\.secrets\.keyMaterialConfigKey"):
        run_offline(resolve_stack(str(stack_file), project_dir=PROJECT_DIR), monitor=monitor)
    assert monitor.registered == []


def test_nested_secure_value_is_masked(tmp_path: Path) -> None:
    """A `secure:` value inside a structured setting is never shown, even in an error."""
    document = json.loads(json.dumps(DEV))
    document["config"]["kms-keys:keys"]["data"]["description"] = {"secure": "AAABAciphertext"}
    code, out, err = preview_file(tmp_path, yaml.safe_dump(document))
    assert code == 2 and "AAABAciphertext" not in out + err
    assert "kms-keys:keys: got '[secret]'; allowed: a plain value" in err


# --- patterns, partitions, regions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"aliases": ["alias/dev/data\n"]}, "aliases[0]"),
        ({"multiRegion": True, "replicaRegions": ["eu-west-1\n"]}, "replicaRegions[0]"),
        ({"extraStatements": [{"Sid": "Extra\n", "Effect": "Deny", "Principal": "*",
                               "Action": "kms:Decrypt"}]}, "extraStatements[0].Sid"),
        ({"users": [f"arn:aws:iam::{ACCOUNT}:role/app\n"]}, "users[0]"),
    ],
)
def test_trailing_newline_never_passes_a_pattern(settings: dict[str, Any], fragment: str) -> None:
    """Patterns match whole values: a final newline is not accepted anywhere."""
    refused(settings, fragment)


def test_trailing_newline_in_region_or_key_name_is_refused() -> None:
    """Region and key names are matched whole too."""
    with pytest.raises(KmsConfigError, match="aws:region: got 'us-west-2\\\\n'"):
        load(stack_config(region="us-west-2\n"))
    with pytest.raises(KmsConfigError, match=r"got 'data\\n'; allowed: a key name"):
        load(stack_config({"data\n": {"administrators": [ADMIN]}}))


@pytest.mark.parametrize("region", ["us-westt-2", "zz-fake-9", "mars-1"])
def test_region_outside_the_provider_list_is_refused(region: str) -> None:
    """A region typo is caught before any provider sees it."""
    with pytest.raises(KmsConfigError, match=f"aws:region: got '{region}'"):
        load(stack_config(region=region))
    refused({"multiRegion": True, "replicaRegions": [region]}, "replicaRegions[0]")


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_principal_of_another_partition_is_refused(partition: str) -> None:
    """An ARN from another partition than the stack's region cannot name a principal."""
    refused({"users": [f"arn:{partition}:iam::{ACCOUNT}:role/x"]}, "this stack's partition")


def test_account_id_principal_takes_the_stack_partition() -> None:
    """In a China region an account id becomes an aws-cn root ARN."""
    plan = load(stack_config({"data": {"administrators": [ACCOUNT]}}, region="cn-north-1")).keys[0]
    assert plan.administrators == (f"arn:aws-cn:iam::{ACCOUNT}:root",)


def test_unicode_digits_are_not_an_account_id() -> None:
    """Account ids are twelve ASCII digits."""
    with pytest.raises(KmsConfigError, match="accountId"):
        load(stack_config(account_id="١١١١٢٢٢٢٣٣٣٣"))


# --- principals and statements -----------------------------------------------------------------


def test_empty_principals_under_a_service_is_refused() -> None:
    """`principals: []` would otherwise widen to any principal of the account."""
    refused({"services": [{"service": "s3", "principals": []}]}, "services[0].principals")


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ({"Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "kms:Decrypt"},
         "allowedExternalAccounts"),
        ({"Principal": {"Service": "*"}, "Action": "kms:Decrypt"}, "'Service: *' is any service"),
        ({"Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Decrypt"},
         "aws:SourceAccount"),
        ({"Principal": {"AWS": 111122223333}, "Action": "kms:Decrypt"}, "a string"),
        ({"Principal": {}, "Action": "kms:Decrypt"}, "at least one 'AWS' or 'Service'"),
        ({"Principal": "*", "Action": [], "Effect": "Deny"}, "at least one KMS action"),
        ({"Principal": "*", "Action": "kms:Decrypt", "Effect": "Deny",
          "Condition": {"StringEquals": "x"}}, "a mapping of condition keys"),
        ({"Principal": "*", "Action": "kms:Decrypt", "Effect": "Deny",
          "Condition": {"StringEquals": {"kms:CallerAccount": None}}}, "a string, number"),
    ],
)
def test_extra_statements_follow_the_same_rules(statement: dict[str, Any], fragment: str) -> None:
    """Extra statements get the principal, service and shape rules of generated ones."""
    full = {"Sid": "Extra", "Effect": "Allow", "Resource": "*", **statement}
    text = refused({"extraStatements": [full]}, fragment)
    assert "extraStatements[0]" in text and "Traceback" not in text


def test_extra_statement_reusing_a_generated_sid_is_refused() -> None:
    """Every Sid of the final policy is unique, generated or not."""
    statement = {"Sid": "AllowUseViaS3", "Effect": "Deny", "Principal": "*",
                 "Action": "kms:Decrypt"}
    refused({"services": [{"service": "s3"}], "extraStatements": [statement]},
            "extraStatements[0].Sid: got 'AllowUseViaS3'")


def test_lockout_by_an_extra_deny_is_blamed_on_the_extra_statements() -> None:
    """A Deny of kms:PutKeyPolicy to everyone points at extraStatements, not administrators."""
    deny = {"Sid": "NoChanges", "Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy"}
    text = refused({"extraStatements": [deny]}, "keys.data.extraStatements: got ['NoChanges']")
    assert "the extra statements deny it" in text


def test_unknown_condition_key_is_not_reported_as_a_lockout() -> None:
    """A misspelt key is named as unreadable, not mistaken for a lockout."""
    deny = {"Sid": "Typo", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:CallerAcount": ACCOUNT}}}
    text = refused({"extraStatements": [deny]}, "kms:CallerAcount")
    assert "no lasting principal" not in text


def test_source_arn_of_another_account_is_refused_even_if_it_mentions_ours() -> None:
    """The account field of the ARN decides, not a substring."""
    arn = f"arn:aws:logs:us-west-2:{OTHER_ACCOUNT}:log-group:x:{ACCOUNT}:"
    refused({"users": [], "servicePrincipals": [{"service": "logs.us-west-2.amazonaws.com",
                                                  "sourceArn": arn}]},
            "servicePrincipals[0].sourceArn")


def test_grantee_given_as_an_output_is_checked_when_known(engine: RecordingMonitor) -> None:
    """A wildcard grantee arriving as an Output stops the deployment, never reaches AWS."""
    grant = {"name": "g", "grantee": pulumi.Output.from_input("*"), "operations": ["Decrypt"]}
    key = KeySettings(administrators=[ADMIN], users=[APP], grants=[grant])
    with pytest.raises(Exception, match="found when an Output became known") as caught:
        run_program(lambda: CustomerManagedKey("k", key).key_arn)
    assert "grants.g.grantee: got '[value of an Output]'" in str(caught.value)
    assert "'*'" not in str(caught.value).split("got", 1)[1].split(";")[0]


def test_secret_output_principal_is_never_printed(engine: RecordingMonitor) -> None:
    """A bad principal from a secret Output is named by its setting, not shown."""
    secret = pulumi.Output.secret(f"arn:aws:iam::{OTHER_ACCOUNT}:role/topsecret")
    key = KeySettings(administrators=[ADMIN], users=[secret])
    with pytest.raises(Exception, match="found when an Output became known") as caught:
        run_program(lambda: CustomerManagedKey("k", key).policy)
    assert "topsecret" not in str(caught.value)


def test_output_principals_do_not_switch_off_the_other_checks(engine: RecordingMonitor) -> None:
    """An unconditioned wildcard is refused before registration even when users are Outputs."""
    anyone = {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}
    key = KeySettings(administrators=[ADMIN], users=[pulumi.Output.from_input(APP)],
                      extra_statements=[anyone])
    with pytest.raises(KmsConfigError, match="wildcard principal"):
        CustomerManagedKey("k", key)
    assert engine.registered == []


def test_protect_argument_decides_the_deletion_guard(engine: RecordingMonitor) -> None:
    """protect=True in dev adds DenyDeletionByOthers; protect=False in prod leaves it out."""
    policies: list[str] = []
    run_program(lambda: CustomerManagedKey(
        "a", KeySettings(administrators=[ADMIN]), protect=True).policy.apply(policies.append))
    run_program(lambda: CustomerManagedKey(
        "b", KeySettings(administrators=[ADMIN]), environment="prod",
        protect=False).policy.apply(policies.append))
    assert "DenyDeletionByOthers" in policies[0]
    assert "DenyDeletionByOthers" not in policies[1]


# --- other settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"grants": [{"name": "bad name/!", "grantee": APP, "operations": ["Decrypt"]}]},
         "grants[0].name"),
        ({"tags": {"team": "a\nb"}}, "tags.team"),
        ({"origin": "EXTERNAL", "keyMaterialConfigKey": "m", "validTo": "2020-01-01T00:00:00Z"},
         "a time in the future"),
        ({"origin": "EXTERNAL", "keyMaterialConfigKey": "m", "validTo": "2030-01-01T00:00:00"},
         "with its offset"),
        ({"origin": "EXTERNAL", "keyMaterialConfigKey": "kms-keys:keys"},
         "the bare name of a secret config value"),
    ],
)
def test_other_bad_settings_are_refused(settings: dict[str, Any], fragment: str) -> None:
    """Grant names, tag characters, expiries and secret names follow the KMS rules."""
    refused(settings, fragment)


def test_fifty_tag_limit_counts_the_stack_tags() -> None:
    """Stack tags and key tags together stay within the KMS limit."""
    stack_tags = {f"s{index}": "v" for index in range(30)}
    key_tags = {f"k{index}": "v" for index in range(30)}
    refused({"tags": key_tags}, "stack tags included", tags=stack_tags)


def test_unknown_store_name_gives_one_error() -> None:
    """An unknown store is reported once, without a follow-on origin error."""
    text = refused({"customKeyStore": "nope"}, "customKeyStore: got 'nope'")
    assert "origin" not in text


def test_stack_name_unfit_as_environment_says_where_it_came_from() -> None:
    """The environment defaults to the stack name; the message says so."""
    with pytest.raises(KmsConfigError, match="defaults to the stack name 'T46'"):
        load(stack_config(), stack="T46")


def test_owner_must_be_a_valid_tag_value() -> None:
    """The owner becomes a tag, so it follows the tag rules, and must be one string."""
    with pytest.raises(KmsConfigError, match="owner: got"):
        load(stack_config(owner="x#" * 200))
    with pytest.raises(KmsConfigError, match="a single string"):
        load(stack_config(owner=["a"]))


def test_xks_endpoint_needs_a_host() -> None:
    """https:// alone is not an endpoint."""
    store = {"type": "EXTERNAL_KEY_STORE", "xksProxyUriEndpoint": "https://",
             "xksProxyUriPath": "/kms/xks/v1", "xksProxyConnectivity": "PUBLIC_ENDPOINT",
             "xksAccessKeyIdConfigKey": "a", "xksSecretAccessKeyConfigKey": "b"}
    with pytest.raises(KmsConfigError, match="xksProxyUriEndpoint: got 'https://'"):
        load(stack_config(customKeyStores={"xks": store}))


# --- stack files and the command -------------------------------------------------------------


def test_misspelt_stack_setting_is_refused(tmp_path: Path) -> None:
    """`protectKey` (for protectKeys) is an error, never silently ignored."""
    code, _, err = preview_file(tmp_path, dev_with(**{"kms-keys:protectKey": True}))
    assert code == 2 and "kms-keys:protectKey: got 'a value'" in err


def test_yaml_yes_is_text_as_the_pulumi_cli_reads_it(tmp_path: Path) -> None:
    """`protectKeys: yes` is refused (a string), as `pulumi up` would refuse it."""
    text = dev_with().replace("  kms-keys:owner:", "  kms-keys:protectKeys: yes\n  kms-keys:owner:")
    code, _, err = preview_file(tmp_path, text)
    assert code == 2 and "protectKeys: got 'yes'; allowed: true or false" in err


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    """A key written twice in a stack file is an error, not last-one-wins."""
    text = dev_with() + "  aws:region: eu-west-1\n"
    code, _, err = preview_file(tmp_path, text)
    assert code == 2 and "is given twice" in err


def test_unquoted_date_stays_text(tmp_path: Path) -> None:
    """`owner: 2024-01-01` is the text the operator typed, not a crash."""
    text = dev_with().replace("kms-keys:owner: platform-team", "kms-keys:owner: 2024-01-01")
    code, out, err = preview_file(tmp_path, text)
    assert code == 0, err
    assert "owner=2024-01-01" in out


@pytest.mark.parametrize("saved", ['{"keys": [1, "a", null]}', '{"keys": [{"name": 5}]}', "[]"])
def test_against_a_malformed_preview_exits_2(tmp_path: Path, saved: str) -> None:
    """A file that is not a saved preview is refused cleanly."""
    previous = tmp_path / "previous.json"
    previous.write_text(saved)
    code, _, err = preview_file(tmp_path, dev_with(), "--against", str(previous))
    assert code == 2 and "not a saved preview" in err and "Traceback" not in err


def test_bad_pack_config_names_the_file(tmp_path: Path) -> None:
    """An error in the pack config says which file it is in."""
    config = tmp_path / "pack.json"
    config.write_text('{"no-such-rule": "mandatory"}')
    code, _, err = preview_file(tmp_path, dev_with(), "--policy-pack-config", str(config))
    assert code == 2 and str(config) in err


def test_organization_condition_limits_a_wildcard_only_for_a_named_organization() -> None:
    """aws:PrincipalOrgID counts only for organisations the stack lists."""
    anyone = {"Sid": "OrgDecrypt", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
              "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    refused({"extraStatements": [anyone]}, "wildcard principal")
    plan = one_key({"extraStatements": [anyone], "allowedOrganizationIds": ["o-a1b2c3d4e5"]})
    assert plan.allowed_organization_ids == ("o-a1b2c3d4e5",)


def test_child_resource_names_never_collide_across_aliases_and_replicas() -> None:
    """A replica's alias name and another alias's name cannot end up the same."""
    settings = {"multiRegion": True, "replicaRegions": ["eu-west-1"],
                "aliases": ["alias/dev/g", "alias/dev/g-eu-west-1"]}
    refused(settings, "is not already taken by keys.data.aliases[0] (eu-west-1)")


def test_child_names_never_collide_across_keys() -> None:
    """Key `a` with alias b-alias-c and key `a-alias-b` with alias c would share a name."""
    keys = {"a": {"administrators": [ADMIN], "aliases": ["alias/b-alias-c"]},
            "a-alias-b": {"administrators": [ADMIN], "aliases": ["alias/c"]}}
    with pytest.raises(KmsConfigError, match="resource name 'a-alias-b-alias-c'"):
        load(stack_config(keys))


def test_store_errors_do_not_hide_key_errors() -> None:
    """Every bad value of a run is reported, stores and keys alike."""
    config = stack_config({"data": {"administrators": [ADMIN], "deletionWindowInDays": 3}},
                          customKeyStores={"hsm": {"type": "AWS_CLOUDHSM"}})
    with pytest.raises(KmsConfigError) as caught:
        load(config)
    text = str(caught.value)
    assert "customKeyStores.hsm.cloudHsmClusterId" in text
    assert "keys.data.deletionWindowInDays: got 3" in text


def test_null_origin_keeps_the_default_rotation_period() -> None:
    """`origin: null` is absent, not a reason to drop defaults.rotationPeriodInDays."""
    config = stack_config({"data": {"administrators": [ADMIN], "origin": None}},
                          defaults={"rotationPeriodInDays": 180})
    assert load(config).keys[0].rotation_period_in_days == 180


def test_namespaced_and_bare_key_together_are_refused(tmp_path: Path) -> None:
    """`keys:` and `kms-keys:keys:` in one file are the same setting given twice."""
    text = dev_with(keys={"x": {}})
    code, _, err = preview_file(tmp_path, text)
    assert code == 2 and "'kms-keys:keys' is given twice" in err


def test_yaml_merge_keys_are_accepted(tmp_path: Path) -> None:
    """Anchors and merge keys work in stack files, as with the Pulumi CLI."""
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace(
        "    logs:\n", "    logs: &logs\n") + "    audit:\n      <<: *logs\n"
    text = text.replace("    audit:\n      <<: *logs\n", "    audit:\n      <<: *logs\n"
                        "      description: Audit log groups\n")
    code, out, err = preview_file(tmp_path, text)
    assert code == 0, err
    assert "Key audit" in out


def test_unreadable_stack_file_exits_2(tmp_path: Path) -> None:
    """A stack file that is not UTF-8 text is a bad argument, not a crash."""
    stack_file = tmp_path / "Pulumi.bin.yaml"
    stack_file.write_bytes(b"config:\n  aws:region: \xff\xfe\n")
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["preview", str(stack_file), "--project-dir", str(PROJECT_DIR)])
    finally:
        sys.stdout, sys.stderr = saved
    assert code == 2 and "cannot read" in err.getvalue()


def test_against_reports_a_region_change_as_replacement(tmp_path: Path) -> None:
    """Moving the stack to another region creates new keys: a replacement, exit 4."""
    previous = tmp_path / "before.json"
    code, out, _ = preview_file(tmp_path, dev_with(), "--json")
    previous.write_text(out)
    moved = dev_with(**{"aws:region": "us-east-1"}).replace("us-west-2", "us-east-1")
    code, out, err = preview_file(tmp_path, moved, "--against", str(previous))
    assert code == 4, err
    assert "REPLACE key data: region 'us-west-2' -> 'us-east-1'" in out


def test_against_refuses_a_preview_of_another_project(tmp_path: Path) -> None:
    """A saved preview of another project's stack of the same name is not compared."""
    code, out, _ = preview_file(tmp_path, dev_with(), "--json")
    document = json.loads(out)
    document["project"] = "orders-app"
    previous = tmp_path / "other.json"
    previous.write_text(json.dumps(document))
    code, _, err = preview_file(tmp_path, dev_with(), "--against", str(previous))
    assert code == 2 and "'orders-app'/'attack'" in err


def test_bad_default_tag_is_reported_once_where_it_was_written() -> None:
    """A bad tag in defaults.tags is blamed on defaults, even when the key has tags of its own."""
    config = stack_config({"data": {"administrators": [ADMIN], "tags": {"team": "x"}}},
                          defaults={"tags": {"aws:bad": "v"}})
    with pytest.raises(KmsConfigError) as caught:
        load(config)
    assert [issue.path for issue in caught.value.issues] == ["defaults.tags.aws:bad"]


def test_malformed_session_arn_says_what_a_session_arn_looks_like() -> None:
    """A one-character session name is refused with the session ARN's shape."""
    refused({"users": [f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s"]}, "session name of 2-64")


def test_a_secret_where_a_setting_belongs_is_one_error() -> None:
    """A secure keys or owner value gets one error, not a follow-on 'missing' or 'list' one."""
    config = stack_config()
    config["kms-keys:keys"] = SECRET
    config["kms-keys:owner"] = SECRET
    with pytest.raises(KmsConfigError) as caught:
        load(config)
    assert [issue.path for issue in caught.value.issues] == ["owner", "keys"]
