"""CustomerManagedKey under Pulumi's mocks: its children, their inputs and its outputs."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from conftest import ACCOUNT, EngineFactory, run_program
from support import ADMIN, APP

from components import CustomerManagedKey, KeySettings, KmsConfigError
from components.key import COMPONENT_TYPE
from components.offline import RecordingMonitor


def settings(**overrides: Any) -> KeySettings:
    base: dict[str, Any] = {"administrators": [ADMIN], "users": [APP]}
    base.update(overrides)
    return KeySettings(**base)


def children_of(monitor: RecordingMonitor, name: str) -> dict[str, Any]:
    component = next(res for res in monitor.registered if res.name == name
                     and res.type == COMPONENT_TYPE)
    return {res.name: res for res in monitor.registered if res.parent == component.urn}


def test_component_creates_key_and_alias_parented_to_itself(engine: RecordingMonitor) -> None:
    """The component registers exactly its key and alias, both parented to it."""
    run_program(lambda: CustomerManagedKey("orders", settings()).key_arn)

    children = children_of(engine, "orders")
    assert sorted(children) == ["orders-alias-dev.orders", "orders-key"]
    assert children["orders-key"].type == "aws:kms/key:Key"
    assert children["orders-alias-dev.orders"].type == "aws:kms/alias:Alias"
    assert children["orders-alias-dev.orders"].inputs["name"] == "alias/dev/orders"
    assert [res.type for res in engine.registered].count(COMPONENT_TYPE) == 1


@pulumi.runtime.test
def test_component_key_inputs_carry_rotation_window_and_policy(engine: RecordingMonitor) -> Any:
    """Rotation, period, deletion window and the policy reach the provider as configured."""
    key = CustomerManagedKey("orders", settings(rotation_period_in_days=180,
                                                deletion_window_in_days=14))

    def check(_: Any) -> None:
        inputs = children_of(engine, "orders")["orders-key"].inputs
        assert inputs["enableKeyRotation"] is True
        assert inputs["rotationPeriodInDays"] == 180
        assert inputs["deletionWindowInDays"] == 14
        assert inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
        assert "bypassPolicyLockoutSafetyCheck" not in inputs
        sids = [statement["Sid"] for statement in json.loads(inputs["policy"])["Statement"]]
        assert sids == ["EnableIamPermissions", "AllowKeyAdministration", "AllowKeyUse",
                        "AllowGrantsForAwsResources"]

    return key.key_arn.apply(check)


@pulumi.runtime.test
def test_component_outputs_come_from_the_engine(engine: RecordingMonitor) -> Any:
    """Key id, ARN and alias names are the registered values, not placeholders."""
    key = CustomerManagedKey("orders", settings(aliases=["alias/orders", "alias/team/orders"]))

    def check(values: list[Any]) -> None:
        key_id, arn, aliases = values
        assert arn == f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{key_id}"
        assert aliases == ["alias/orders", "alias/team/orders"]

    return pulumi.Output.all(key.key_id, key.key_arn, key.alias_names).apply(check)


def test_prod_key_and_alias_are_protected(make_engine: EngineFactory) -> None:
    """Keys in production, and their aliases, are protected from accidental deletion."""
    monitor = make_engine(stack="prod")
    run_program(lambda: CustomerManagedKey("orders", settings()).key_arn)

    children = children_of(monitor, "orders")
    assert sorted(children) == ["orders-alias-prod.orders", "orders-key"]
    assert all(child.protect for child in children.values())


@pulumi.runtime.test
def test_dev_key_is_not_protected_unless_asked(engine: RecordingMonitor) -> Any:
    """Outside production protection is opt-in."""
    unprotected = CustomerManagedKey("a", settings())
    protected = CustomerManagedKey("b", settings(protect=True))

    def check(_: Any) -> None:
        assert not children_of(engine, "a")["a-key"].protect
        assert children_of(engine, "b")["b-key"].protect

    return pulumi.Output.all(unprotected.key_arn, protected.key_arn).apply(check)


def test_two_instances_never_collide(engine: RecordingMonitor) -> None:
    """Children are named after their component, so two keys register side by side."""

    def program() -> Any:
        first = CustomerManagedKey("alpha", settings())
        second = CustomerManagedKey("beta", settings())
        return pulumi.Output.all(first.key_arn, second.key_arn)

    run_program(program)
    names = [res.name for res in engine.registered]
    assert len(names) == len(set(names)) == 6


def test_bad_arguments_register_nothing(engine: RecordingMonitor) -> None:
    """A bad setting raises before the component or any child is registered."""
    with pytest.raises(KmsConfigError, match=r"CustomerManagedKey\('orders'\)\.deletionWindow"):
        CustomerManagedKey("orders", settings(deletion_window_in_days=3))
    assert engine.registered == []


@pulumi.runtime.test
def test_account_id_from_caller_identity_reaches_the_policy(engine: RecordingMonitor) -> Any:
    """C9: without account_id the mocked caller identity's account ends up in the policy."""
    key = CustomerManagedKey("orders", settings())

    def check(policy_text: str) -> None:
        policy = json.loads(policy_text)
        root = policy["Statement"][0]["Principal"]["AWS"]
        assert root == f"arn:aws:iam::{ACCOUNT}:root"
        assert "None" not in policy_text

    return key.policy.apply(check)


class SnakeCaseIdentityMocks(pulumi.runtime.Mocks):
    """A careless mock: snake_case keys are dropped by the SDK, the account id vanishes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {"account_id": ACCOUNT, "arn": "arn", "user_id": "x"}


def test_missing_account_id_from_identity_is_an_error(make_engine: EngineFactory) -> None:
    """C9: a caller identity without an account id never becomes `arn:aws:iam::None:root`."""
    monitor = make_engine(mocks=SnakeCaseIdentityMocks())
    with pytest.raises(pulumi.RunError, match=r"could not learn the AWS account id .*None"):
        CustomerManagedKey("orders", settings())
    assert monitor.registered == []


@pulumi.runtime.test
def test_principal_created_in_the_same_program_is_resolved(engine: RecordingMonitor) -> Any:
    """A role ARN that is an Output is resolved, checked and written into the policy."""
    role = aws.iam.Role("app", assume_role_policy="{}")
    role_arn = role.name.apply(lambda name: f"arn:aws:iam::{ACCOUNT}:role/{name}")
    key = CustomerManagedKey("orders", settings(users=[role_arn]))

    def check(policy_text: str) -> None:
        statements = {item["Sid"]: item for item in json.loads(policy_text)["Statement"]}
        assert statements["AllowKeyUse"]["Principal"]["AWS"].startswith(
            f"arn:aws:iam::{ACCOUNT}:role/"
        )

    return key.policy.apply(check)


@pulumi.runtime.test
def test_explicit_account_and_region_are_used(engine: RecordingMonitor) -> Any:
    """Application teams may pin the account and region instead of asking AWS."""
    key = CustomerManagedKey(
        "orders",
        settings(administrators=["arn:aws:iam::999988887777:role/Admin"], users=[],
                 services=[{"service": "s3"}]),
        account_id="999988887777",
        region="eu-west-1",
    )

    def check(policy_text: str) -> None:
        assert "s3.eu-west-1.amazonaws.com" in policy_text
        assert "arn:aws:iam::999988887777:root" in policy_text

    return key.policy.apply(check)


def test_aliases_that_differ_only_in_slash_or_dash_get_their_own_children(
    engine: RecordingMonitor,
) -> None:
    """alias/x/a-b and alias/x/a/b must not collide as resource names."""
    key_settings = settings(aliases=["alias/x/a-b", "alias/x/a/b"])
    run_program(lambda: CustomerManagedKey("k", key_settings).alias_names)
    names = sorted(res.name for res in engine.registered if res.type == "aws:kms/alias:Alias")
    assert names == ["k-alias-x.a-b", "k-alias-x.a.b"]


def test_bad_keyword_arguments_are_refused_before_registration(engine: RecordingMonitor) -> None:
    """account_id, region, environment and protect are checked like stack settings."""
    with pytest.raises(KmsConfigError) as caught:
        CustomerManagedKey("k", settings(), account_id="1234", region="mars-1",
                           environment="Prod!", protect="no")  # type: ignore[arg-type]
    text = str(caught.value)
    for fragment in ("account_id: got '1234'", "region: got 'mars-1'",
                     "environment: got 'Prod!'", "protect: got 'no'"):
        assert fragment in text
    assert engine.registered == []


def test_settings_given_as_a_mapping_are_checked_with_paths(engine: RecordingMonitor) -> None:
    """A plain mapping is accepted, and its mistakes are reported like a stack file's."""
    with pytest.raises(KmsConfigError, match=r"CustomerManagedKey\('k'\)\.rotationPeriodInDays"):
        CustomerManagedKey("k", {"administrators": [ADMIN], "rotationPeriodInDays": "365"})
    assert engine.registered == []
