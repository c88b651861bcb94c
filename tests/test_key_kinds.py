"""Every kind of key: specs and usages, multi-Region, key stores, imported material, grants."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws
import pytest
from conftest import ACCOUNT, EngineFactory, run_program
from support import ADMIN, APP, load, one_key, stack_config

from components import CustomerManagedKey, KeySettings, KmsConfigError, aws_managed_key, specs
from components.changes import compare_previews
from components.offline import RecordingMonitor, resolve_stack, run_offline
from components.policy import build_policy
from components.render import key_summaries

PROJECT_DIR = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT_DIR / "examples"
PAIRS = list(itertools.product(specs.KEY_SPECS, specs.KEY_USAGES))


def provider_key_specs() -> set[str]:
    """The key specs pulumi-aws documents for aws.kms.Key, read from the installed package."""
    source = Path(pulumi_aws.__file__).parent.joinpath("kms", "key.py").read_text()
    line = next(text for text in source.splitlines() if "customer_master_key_spec:" in text
                and "Valid values" in text)
    return set(re.findall(r"`([A-Z0-9_]+)`", line.split("Valid values:")[1].split("Defaults")[0]))


def test_key_specs_match_the_provider() -> None:
    """Every spec the provider accepts is known, and no other; a new one fails this test."""
    assert set(specs.KEY_SPECS) == provider_key_specs()


@pytest.mark.parametrize(("key_spec", "key_usage"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_spec_and_usage_pairs(key_spec: str, key_usage: str) -> None:
    """Valid pairs are planned; invalid ones are refused naming the usages allowed."""
    region = "cn-north-1" if key_spec == "SM2" else "us-west-2"
    partition = "aws-cn" if key_spec == "SM2" else "aws"
    admin = f"arn:{partition}:iam::{ACCOUNT}:role/KeyAdmin"
    settings = {"keySpec": key_spec, "keyUsage": key_usage, "administrators": [admin]}
    config = stack_config({"k": settings}, region=region)
    if key_usage in specs.USAGES_BY_KEY_SPEC[key_spec]:
        plan = load(config).keys[0]
        assert (plan.key_spec, plan.key_usage) == (key_spec, key_usage)
    else:
        with pytest.raises(KmsConfigError, match=rf"keys\.k\.keyUsage: got '{key_usage}'"):
            load(config)


def test_sm2_outside_china_is_refused() -> None:
    """SM2 exists only in the China Regions."""
    with pytest.raises(KmsConfigError, match="SM2 only in the China Regions"):
        one_key({"keySpec": "SM2", "keyUsage": "SIGN_VERIFY"})


@pytest.mark.parametrize(
    ("key_spec", "key_usage", "expected"),
    [
        ("RSA_2048", "SIGN_VERIFY", {"kms:Sign", "kms:Verify", "kms:GetPublicKey"}),
        ("HMAC_256", "GENERATE_VERIFY_MAC", {"kms:GenerateMac", "kms:VerifyMac"}),
        ("ECC_NIST_P384", "KEY_AGREEMENT", {"kms:DeriveSharedSecret", "kms:GetPublicKey"}),
        ("RSA_3072", "ENCRYPT_DECRYPT", {"kms:Encrypt", "kms:Decrypt", "kms:GetPublicKey"}),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"kms:Encrypt", "kms:GenerateDataKey*"}),
    ],
)
def test_user_actions_fit_the_key(key_spec: str, key_usage: str, expected: set[str]) -> None:
    """Users get the actions of their key's usage, never Encrypt on a signing key."""
    plan = one_key({"keySpec": key_spec, "keyUsage": key_usage})
    use = next(s for s in build_policy(plan)["Statement"] if s["Sid"] == "AllowKeyUse")
    actions = set(use["Action"])
    assert expected <= actions
    if key_usage != "ENCRYPT_DECRYPT":
        assert "kms:Encrypt" not in actions and "kms:Decrypt" not in actions
    if key_spec != "SYMMETRIC_DEFAULT":
        assert "kms:GenerateDataKey*" not in actions


# --- multi-Region ----------------------------------------------------------------------------


def test_multi_region_replicas_use_their_own_providers(engine: RecordingMonitor) -> None:
    """Each replica has an explicit provider for its region, parented to the component."""
    key_settings = KeySettings(administrators=[ADMIN], users=[APP], multi_region=True,
                               replica_regions=["eu-west-1", "ap-southeast-2"])
    run_program(lambda: CustomerManagedKey("global", key_settings).replica_arns)

    by_name = {res.name: res for res in engine.registered}
    component = by_name["global"]
    for region in ("eu-west-1", "ap-southeast-2"):
        provider = by_name[f"global-provider-{region}"]
        replica = by_name[f"global-replica-{region}"]
        alias = by_name[f"global-alias-dev.global-{region}"]
        assert provider.inputs["region"] == region and provider.parent == component.urn
        assert replica.parent == component.urn and replica.provider.startswith(provider.urn)
        assert alias.provider.startswith(provider.urn)
        assert replica.inputs["primaryKeyArn"] == by_name["global-key"].state["arn"]
        assert "enableKeyRotation" not in replica.inputs
        assert f"s3.{region}" not in replica.inputs["policy"]
    assert by_name["global-key"].inputs["multiRegion"] is True
    assert by_name["global-key"].inputs["enableKeyRotation"] is True


def test_replica_in_the_primary_region_is_refused() -> None:
    """A replica must be in another region than its primary."""
    with pytest.raises(KmsConfigError, match=r"replicaRegions\[0\]: got 'us-west-2'"):
        one_key({"multiRegion": True, "replicaRegions": ["us-west-2"]})


def test_replicas_need_a_multi_region_key() -> None:
    """Replica regions without multiRegion are refused."""
    with pytest.raises(KmsConfigError, match="replicas only with multiRegion: true"):
        one_key({"replicaRegions": ["eu-west-1"]})


def test_multi_region_administrators_get_replication_actions() -> None:
    """Administrators of a multi-Region key may replicate it and move its primary."""
    plan = one_key({"multiRegion": True, "replicaRegions": ["eu-west-1"]})
    admin = next(s for s in build_policy(plan)["Statement"]
                 if s["Sid"] == "AllowKeyAdministration")
    assert {"kms:ReplicateKey", "kms:UpdatePrimaryRegion"} <= set(admin["Action"])
    single = next(s for s in build_policy(one_key({}))["Statement"]
                  if s["Sid"] == "AllowKeyAdministration")
    assert "kms:ReplicateKey" not in single["Action"]


def test_replica_policy_names_its_own_region() -> None:
    """The replica's via-service condition uses the replica's region."""
    plan = one_key({"multiRegion": True, "replicaRegions": ["eu-west-1"],
                    "services": [{"service": "s3"}]})
    text = str(build_policy(plan, region="eu-west-1"))
    assert "s3.eu-west-1.amazonaws.com" in text and "s3.us-west-2" not in text


# --- custom key stores ---------------------------------------------------------------------


def test_key_in_existing_store_is_symmetric_single_region_without_rotation() -> None:
    """A key in a custom key store: origin follows the store, no rotation."""
    plan = one_key({"customKeyStoreId": "cks-1234567890abcdef0"})
    assert plan.origin == "AWS_CLOUDHSM" and plan.rotation is False
    assert "kms:EnableKeyRotation" not in str(build_policy(plan))


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"keySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}, "keySpec"),
        ({"multiRegion": True}, "multiRegion"),
        ({"enableKeyRotation": True}, "enableKeyRotation"),
        ({"origin": "EXTERNAL_KEY_STORE"}, "xksKeyId"),
        ({"origin": "AWS_KMS"}, "origin"),
    ],
)
def test_custom_key_store_limits(settings: dict[str, Any], path: str) -> None:
    """Only symmetric, single-Region, non-rotating keys live in a key store; XKS needs its id."""
    with pytest.raises(KmsConfigError, match=rf"keys\.data\.{path}: got"):
        one_key({"customKeyStoreId": "cks-1234567890abcdef0", **settings})


def test_key_store_origin_without_store_is_refused() -> None:
    """origin AWS_CLOUDHSM without a store says which setting is missing."""
    with pytest.raises(KmsConfigError, match=r"keys\.data\.customKeyStoreId: got nothing"):
        one_key({"origin": "AWS_CLOUDHSM"})


def test_unknown_store_name_lists_the_declared_stores() -> None:
    """A key refers to a store of the stack by name."""
    with pytest.raises(KmsConfigError, match=r"customKeyStore: got 'hsm'.*\(none declared\)"):
        one_key({"customKeyStore": "hsm"})


def test_store_missing_its_type_fields_is_refused() -> None:
    """A CloudHSM store needs its cluster, certificate and password; no XKS fields."""
    config = stack_config(customKeyStores={"hsm": {"type": "AWS_CLOUDHSM",
                                                   "xksProxyUriPath": "/kms/xks/v1"}})
    with pytest.raises(KmsConfigError) as caught:
        load(config)
    text = str(caught.value)
    for field in ("cloudHsmClusterId", "trustAnchorCertificate", "keyStorePasswordConfigKey"):
        assert f"customKeyStores.hsm.{field}: got nothing" in text
    assert "customKeyStores.hsm.xksProxyUriPath: got '/kms/xks/v1'" in text


# --- imported material ---------------------------------------------------------------------


def test_imported_key_needs_material_and_takes_an_expiry() -> None:
    """origin EXTERNAL: material is required, rotation is off, validTo must be RFC 3339."""
    with pytest.raises(KmsConfigError, match=r"keyMaterialConfigKey: got nothing"):
        one_key({"origin": "EXTERNAL"})
    with pytest.raises(KmsConfigError, match=r"validTo: got 'next year'"):
        one_key({"origin": "EXTERNAL", "keyMaterialConfigKey": "m", "validTo": "next year"})
    plan = one_key({"origin": "EXTERNAL", "keyMaterialConfigKey": "m",
                    "validTo": "2027-12-31T00:00:00Z"})
    assert plan.rotation is False and plan.valid_to == "2027-12-31T00:00:00Z"
    assert {"kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial"} <= set(
        next(s for s in build_policy(plan)["Statement"]
             if s["Sid"] == "AllowKeyAdministration")["Action"])


def test_key_material_outside_external_origin_is_refused() -> None:
    """Material only belongs to origin EXTERNAL."""
    with pytest.raises(KmsConfigError, match=r"keyMaterialConfigKey: got 'm'; allowed: key mat"):
        one_key({"keyMaterialConfigKey": "m"})


def test_imported_key_is_an_external_key_with_secret_material(engine: RecordingMonitor) -> None:
    """The component registers an ExternalKey; the material never shows in the recording."""
    material = pulumi.Output.secret("c2VjcmV0LW1hdGVyaWFs")
    key_settings = KeySettings(administrators=[ADMIN], users=[APP], origin="EXTERNAL",
                               key_material=material, valid_to="2027-12-31T00:00:00Z")
    run_program(lambda: CustomerManagedKey("byok", key_settings).key_arn)
    key = next(res for res in engine.registered if res.name == "byok-key")
    assert key.type == "aws:kms/externalKey:ExternalKey"
    assert key.inputs["keyMaterialBase64"] == "[secret]"
    assert "c2VjcmV0LW1hdGVyaWFs" not in str(engine.registered)


# --- grants --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "operations", "bad"),
    [
        ({}, ["Sign"], "Sign"),
        ({"keySpec": "RSA_2048", "keyUsage": "ENCRYPT_DECRYPT"}, ["GenerateDataKey"],
         "GenerateDataKey"),
        ({"keySpec": "HMAC_256", "keyUsage": "GENERATE_VERIFY_MAC"}, ["Decrypt"], "Decrypt"),
    ],
)
def test_grant_operations_fit_the_key(key: dict[str, Any], operations: list[str],
                                      bad: str) -> None:
    """Grant operations are limited to those valid for the key type."""
    grant = {"name": "g", "grantee": APP, "operations": operations}
    with pytest.raises(KmsConfigError, match=rf"grants\[0\]\.operations\[0\]: got '{bad}'"):
        one_key({**key, "grants": [grant]})


def test_grant_constraints_equals_or_subset_not_both() -> None:
    """One kind of encryption context constraint, on operations that take a context."""
    both = {"name": "g", "grantee": APP, "operations": ["Decrypt"],
            "encryptionContextEquals": {"a": "1"}, "encryptionContextSubset": {"b": "2"}}
    with pytest.raises(KmsConfigError, match="not both"):
        one_key({"grants": [both]})
    describe = {"name": "g", "grantee": APP, "operations": ["DescribeKey"],
                "encryptionContextSubset": {"b": "2"}}
    with pytest.raises(KmsConfigError, match="only operations that take an encryption context"):
        one_key({"grants": [describe]})


def test_grant_resource_carries_grantee_operations_and_constraint(
    engine: RecordingMonitor,
) -> None:
    """The grant is a child of the component with its constraint and retiring principal."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/retirer/s1"
    grant = {"name": "export", "grantee": APP, "operations": ["Decrypt", "Encrypt"],
             "retiring_principal": session, "encryption_context_subset": {"purpose": "export"}}
    run_program(lambda: CustomerManagedKey(
        "orders", KeySettings(administrators=[ADMIN], grants=[grant])).key_arn)
    resource = next(res for res in engine.registered if res.type == "aws:kms/grant:Grant")
    assert resource.name == "orders-grant-export"
    assert resource.inputs["granteePrincipal"] == APP
    assert resource.inputs["operations"] == ["Decrypt", "Encrypt"]
    assert resource.inputs["retiringPrincipal"] == f"arn:aws:iam::{ACCOUNT}:role/retirer"
    assert resource.inputs["constraints"] == [{"encryptionContextSubset": {"purpose": "export"}}]


# --- AWS managed keys, aliases, tags -------------------------------------------------------


def test_aws_managed_key_reference_resolves_without_creating_anything(
    engine: RecordingMonitor,
) -> None:
    """A reference to alias/aws/s3 is a lookup: nothing is registered."""
    seen: list[str] = []
    run_program(lambda: aws_managed_key("s3").key_arn.apply(seen.append))
    assert seen[0].startswith(f"arn:aws:kms:us-west-2:{ACCOUNT}:key/")
    assert engine.registered == []
    with pytest.raises(ValueError, match=r"service 'aws/s3' is not allowed"):
        aws_managed_key("aws/s3")


def test_several_aliases_per_key(make_engine: EngineFactory) -> None:
    """Each alias is its own child resource pointing at the key."""
    monitor = make_engine()
    key_settings = KeySettings(administrators=[ADMIN], aliases=["alias/a", "alias/team/b"])
    run_program(lambda: CustomerManagedKey("multi", key_settings).alias_names)
    aliases = sorted(res.inputs["name"] for res in monitor.registered
                     if res.type == "aws:kms/alias:Alias")
    assert aliases == ["alias/a", "alias/team/b"]


# --- lifecycle -----------------------------------------------------------------------------


def test_changing_a_replacing_setting_is_reported_as_replacement() -> None:
    """A key spec change is a new key that cannot decrypt the old data; a window is not."""
    before = {"keys": [{"name": "data", "type": "aws:kms/key:Key", "keySpec": "SYMMETRIC_DEFAULT",
                        "keyUsage": "ENCRYPT_DECRYPT", "deletionWindowInDays": 30}]}
    after = {"keys": [{**before["keys"][0], "keySpec": "RSA_2048"}]}
    [change] = compare_previews(before, after)
    assert change.kind == "replace"
    assert "cannot decrypt data encrypted under the old one" in change.render()
    window = {"keys": [{**before["keys"][0], "deletionWindowInDays": 7}]}
    assert [item.kind for item in compare_previews(before, window)] == ["update"]
    assert [item.kind for item in compare_previews(before, {"keys": []})] == ["delete"]


def test_showcase_stack_renders_every_kind() -> None:
    """The example stack renders one key of each kind offline, with no guardrail broken."""
    run = run_offline(resolve_stack("showcase", project_dir=EXAMPLES / "key-kinds"))
    summaries = {item["name"]: item for item in key_summaries(run)}
    assert summaries["release-signing"]["keyUsage"] == "SIGN_VERIFY"
    assert summaries["webhook-mac"]["keySpec"] == "HMAC_512"
    assert summaries["key-agreement"]["keyUsage"] == "KEY_AGREEMENT"
    assert summaries["pq-signing"]["keySpec"] == "ML_DSA_65"
    assert {rep["region"] for rep in summaries["global-data"]["replicas"]} == {
        "eu-west-1", "ap-southeast-2"}
    assert summaries["hsm-backed"]["origin"] == "AWS_CLOUDHSM"
    assert summaries["external-store"]["origin"] == "EXTERNAL_KEY_STORE"
    assert summaries["imported"]["origin"] == "EXTERNAL"
    assert summaries["orders"]["grants"][0]["name"] == "nightly-export"
    stores = [res for res in run.resources if res.type == "aws:kms/customKeyStore:CustomKeyStore"]
    assert sorted(res.inputs["customKeyStoreType"] for res in stores) == [
        "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]
    assert "ZXhhbXBsZS1jaXBoZXJ0ZXh0" not in str(run.resources)


def test_app_team_example_renders() -> None:
    """The code example: a role created in the program becomes the key's user."""
    run = run_offline(resolve_stack("dev", project_dir=EXAMPLES / "app-team"))
    [summary] = key_summaries(run)
    users = next(s for s in summary["policy"]["Statement"] if s["Sid"] == "AllowKeyUse")
    assert users["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT}:role/orders-worker"
    assert run.outputs["s3ManagedKeyArn"].startswith("arn:aws:kms:")


def test_tag_changes_are_reported_as_a_difference() -> None:
    """An update line names the added tag, not both whole tag maps."""
    base = {"name": "data", "type": "aws:kms/key:Key", "tags": {"env": "prod"}}
    [change] = compare_previews({"keys": [base]},
                                {"keys": [{**base, "tags": {"env": "prod", "team": "x"}}]})
    assert change.details == ("tags +team='x'",)
