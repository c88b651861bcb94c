"""The Pulumi edge: `CustomerManagedKey` turns a checked key plan into KMS resources.

Children and their names are public API: renaming one replaces the resource. For a component
named `orders` they are

    orders-key                      aws:kms/key:Key (aws:kms/externalKey:ExternalKey if imported)
    orders-alias-<alias path>       aws:kms/alias:Alias, one per alias (`/` written as `.`)
    orders-provider-<region>        pulumi:providers:aws, one per replica region
    orders-replica-<region>         aws:kms/replicaKey:ReplicaKey
    orders-alias-<alias>-<region>   aws:kms/alias:Alias in each replica region
    orders-grant-<grant name>       aws:kms/grant:Grant
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pydantic

from . import naming, specs
from .errors import ConfigIssue, KmsConfigError
from .loader import check_plan, check_policy_document
from .model import KeySettings
from .policy import build_policy, render_policy
from .rules import (
    ENVIRONMENT_PATTERN,
    PROD_ENVIRONMENTS,
    KeyPlan,
    StackContext,
    _issues_from_validation,
    plan_key,
)

COMPONENT_TYPE = "kms-keys:index:CustomerManagedKey"


def _caller_account_id() -> str:
    """The deploying account, asked of AWS only when the caller gave none."""
    identity = aws.get_caller_identity()
    account = getattr(identity, "account_id", None)
    if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
        raise pulumi.RunError(
            f"could not learn the AWS account id from the caller identity (got {account!r}); "
            "pass account_id= to CustomerManagedKey"
        )
    return account


def _current_region() -> str:
    region = pulumi.Config("aws").get("region") or getattr(aws.get_region(), "region", None)
    if not region:
        raise pulumi.RunError(
            "no AWS region: run `pulumi config set aws:region <region>` or pass region="
        )
    return region


class CustomerManagedKey(pulumi.ComponentResource):
    """A KMS customer managed key with its aliases, rotation, policy, replicas and grants.

    Everything is checked before the first resource is registered; a bad setting raises
    `KmsConfigError` naming the setting, the value and what is allowed.
    """

    key_id: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    alias_names: pulumi.Output[list[str]]
    policy: pulumi.Output[str]
    replica_arns: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        args: KeySettings | Mapping[str, Any] | None = None,
        *,
        plan: KeyPlan | None = None,
        account_id: str | None = None,
        region: str | None = None,
        environment: str | None = None,
        protect: bool | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Give either `args` (application teams) or a `plan` made by the stack loader.

        `account_id` and `region` default to the caller's; `environment` (default: the stack
        name) goes into the default alias `alias/<environment>/<name>`; `protect` defaults to
        on when the environment is prod.
        """
        if plan is None:
            plan = _plan_from_args(
                name, _settings(name, args), account_id=account_id, region=region,
                environment=environment, protect=protect,
            )
        self.plan = plan

        # The resolved, non-secret settings are the component's inputs, so CrossGuard rules
        # on the component see what its children will be.
        props = {
            "keySpec": plan.key_spec,
            "keyUsage": plan.key_usage,
            "origin": plan.origin,
            "enableKeyRotation": plan.rotation,
            "rotationPeriodInDays": plan.rotation_period_in_days,
            "deletionWindowInDays": plan.deletion_window_in_days,
            "aliases": list(plan.aliases),
            "tags": dict(plan.tags),
            "protect": plan.protect,
            "bypassPolicyLockoutSafetyCheck": plan.bypass_policy_lockout_safety_check,
            "multiRegion": plan.multi_region,
        }
        super().__init__(COMPONENT_TYPE, name, props, opts)
        for note in plan.notes:
            severity = pulumi.log.warn if "WARNING" in note or "ON:" in note else pulumi.log.info
            severity(f"key {plan.name}: {note}", resource=self)

        child = pulumi.ResourceOptions(parent=self, protect=plan.protect)
        primary_policy = _policy_output(plan, plan.region)
        key = self._create_key(name, plan, primary_policy, child)

        alias_names = [
            aws.kms.Alias(
                naming.alias_resource(name, alias),
                name=alias,
                target_key_id=key.id,
                opts=child,
            ).name
            for alias in plan.aliases
        ]

        replica_arns: dict[str, pulumi.Output[str]] = {}
        for region_name in plan.replica_regions:
            replica_arns[region_name] = self._create_replica(name, plan, key, region_name)

        for grant in plan.grants:
            constraints = None
            if grant.encryption_context_equals or grant.encryption_context_subset:
                constraints = [
                    aws.kms.GrantConstraintArgs(
                        encryption_context_equals=dict(grant.encryption_context_equals or ())
                        or None,
                        encryption_context_subset=dict(grant.encryption_context_subset or ())
                        or None,
                    )
                ]
            aws.kms.Grant(
                naming.grant_resource(name, grant.name),
                name=grant.name,
                key_id=key.id,
                grantee_principal=_checked_principal(plan, grant.grantee, f"{grant.name}.grantee"),
                operations=list(grant.operations),
                retiring_principal=_checked_principal(
                    plan, grant.retiring_principal, f"{grant.name}.retiringPrincipal"
                ),
                constraints=constraints,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.key_id = key.id
        self.key_arn = key.arn
        self.alias_names = pulumi.Output.all(*alias_names)
        self.policy = primary_policy
        self.replica_arns = (
            pulumi.Output.all(**replica_arns) if replica_arns else pulumi.Output.from_input({})
        )
        self.register_outputs(
            {
                "keyId": self.key_id,
                "keyArn": self.key_arn,
                "aliasNames": self.alias_names,
                "replicaArns": self.replica_arns,
            }
        )

    def _create_key(
        self,
        name: str,
        plan: KeyPlan,
        policy: pulumi.Output[str],
        opts: pulumi.ResourceOptions,
    ) -> aws.kms.Key | aws.kms.ExternalKey:
        tags = dict(plan.tags)
        common: dict[str, Any] = {
            "description": plan.description,
            "deletion_window_in_days": plan.deletion_window_in_days,
            "policy": policy,
            "multi_region": plan.multi_region,
            "tags": tags,
        }
        if plan.bypass_policy_lockout_safety_check:
            common["bypass_policy_lockout_safety_check"] = True
        if plan.origin == "EXTERNAL":
            return aws.kms.ExternalKey(
                naming.key_resource(name),
                key_material_base64=plan.key_material,
                valid_to=plan.valid_to,
                key_spec=plan.key_spec,
                key_usage=plan.key_usage,
                enabled=plan.enabled,
                opts=opts,
                **common,
            )
        rotation: dict[str, Any] = {}
        if plan.rotation_supported:
            rotation["enable_key_rotation"] = plan.rotation
            if plan.rotation:
                rotation["rotation_period_in_days"] = plan.rotation_period_in_days
        return aws.kms.Key(
            naming.key_resource(name),
            customer_master_key_spec=plan.key_spec,
            key_usage=plan.key_usage,
            is_enabled=plan.enabled,
            custom_key_store_id=plan.custom_key_store_id,
            xks_key_id=plan.xks_key_id,
            opts=opts,
            **rotation,
            **common,
        )

    def _create_replica(
        self, name: str, plan: KeyPlan, primary: aws.kms.Key | aws.kms.ExternalKey, region: str
    ) -> pulumi.Output[str]:
        provider = aws.Provider(
            naming.provider_resource(name, region),
            region=region,
            allowed_account_ids=[plan.account_id],
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_region = pulumi.ResourceOptions(parent=self, provider=provider, protect=plan.protect)
        replica = aws.kms.ReplicaKey(
            naming.replica_resource(name, region),
            primary_key_arn=primary.arn,
            description=plan.description,
            deletion_window_in_days=plan.deletion_window_in_days,
            policy=_policy_output(plan, region),
            enabled=plan.enabled,
            tags=dict(plan.tags),
            opts=in_region,
        )
        for alias in plan.aliases:
            aws.kms.Alias(
                naming.alias_resource(name, alias, region),
                name=alias,
                target_key_id=replica.key_id,
                opts=in_region,
            )
        return replica.arn


def _settings(name: str, args: KeySettings | Mapping[str, Any] | None) -> KeySettings:
    """Accept KeySettings or a plain mapping; a bad mapping gets the stack-file error format."""
    if args is None:
        return KeySettings()
    if isinstance(args, KeySettings):
        return args
    path = f"CustomerManagedKey({name!r})"
    if not isinstance(args, Mapping):
        raise KmsConfigError(
            [ConfigIssue(path, type(args).__name__, "KeySettings(...) or a mapping of settings")],
            stack=pulumi.get_stack(), namespace="",
        )
    try:
        return KeySettings.model_validate(dict(args))
    except pydantic.ValidationError as error:
        raise KmsConfigError(
            _issues_from_validation(error, KeySettings, path), stack=pulumi.get_stack(),
            namespace="",
        ) from None


def _plan_from_args(
    name: str,
    args: KeySettings,
    *,
    account_id: str | None,
    region: str | None,
    environment: str | None,
    protect: bool | None,
) -> KeyPlan:
    """Apply the same rules a stack file gets to arguments given in code."""
    stack = pulumi.get_stack()
    path = f"CustomerManagedKey({name!r})"
    issues = []
    if account_id is not None and not (
        isinstance(account_id, str) and re.fullmatch(r"[0-9]{12}", account_id)
    ):
        issues.append(ConfigIssue(f"{path}.account_id", account_id, "a 12-digit account id"))
    if region is not None and region not in specs.AWS_REGIONS:
        issues.append(ConfigIssue(f"{path}.region", region, "an AWS region like us-west-2"))
    if environment is not None and not (
        isinstance(environment, str) and ENVIRONMENT_PATTERN.fullmatch(environment)
    ):
        issues.append(ConfigIssue(f"{path}.environment", environment,
                                  "lower-case letters, digits and '-', up to 32 long"))
    if protect is not None and not isinstance(protect, bool):
        issues.append(ConfigIssue(f"{path}.protect", protect, "true or false"))
    if issues:
        raise KmsConfigError(issues, stack=stack, namespace="")
    context = StackContext(
        project=pulumi.get_project(),
        stack=stack,
        environment=environment or stack,
        account_id=account_id or _caller_account_id(),
        region=region or _current_region(),
        # The deletion guard follows protection, so protection is decided first.
        protect_default=(
            protect if protect is not None else (environment or stack) in PROD_ENVIRONMENTS
        ),
        tags={"environment": environment or stack, "project": pulumi.get_project()},
    )
    plan, issues = plan_key(name, args, context, path=path)
    if plan is not None:
        plan, issues = check_plan(plan, path=path)
    if plan is None:
        raise KmsConfigError(issues, stack=stack, namespace="")
    return plan


def _policy_output(plan: KeyPlan, region: str) -> pulumi.Output[str]:
    """The policy text; principals that are Outputs are resolved and checked first."""
    groups: dict[str, Sequence[Any]] = {
        "administrators": plan.administrators,
        "users": plan.users,
    }
    if all(isinstance(value, str) for group in groups.values() for value in group):
        return pulumi.Output.from_input(render_policy(build_policy(plan, region=region)))

    def build(resolved: Mapping[str, list[str]]) -> str:
        checked = _resolve(plan, resolved)
        policy = build_policy(checked, region=region)
        issues, _notes = check_policy_document(checked, policy, path=f"key {plan.name!r}")
        if issues:
            raise KmsConfigError(issues, stack=pulumi.get_stack(), namespace="",
                                 before_registration=False)
        return render_policy(policy)

    resolved = pulumi.Output.all(
        administrators=pulumi.Output.all(*plan.administrators),
        users=pulumi.Output.all(*plan.users),
    )
    return resolved.apply(build)


def _masked(issues: Sequence[ConfigIssue]) -> list[ConfigIssue]:
    """Values that came from Outputs may be secrets: name the setting, never print the value."""
    return [ConfigIssue(issue.path, "[value of an Output]", issue.allowed) for issue in issues]


def _checked_principal(plan: KeyPlan, value: Any, where: str) -> Any:
    """A grant's principal given as an Output is checked, like a text one, once it is known."""
    if value is None or isinstance(value, str):
        return value
    from .rules import _Collector, _principals

    def check(resolved: Any) -> str:
        out = _Collector(f"key {plan.name!r}.grants")
        found = _principals(out, where, [resolved], account_id=plan.account_id,
                            external_accounts=plan.allowed_external_accounts,
                            partition=plan.partition, indexed=False)
        if out.issues:
            raise KmsConfigError(_masked(out.issues), stack=pulumi.get_stack(), namespace="",
                                 before_registration=False)
        return str(found[0])

    return pulumi.Output.from_input(value).apply(check)


def _resolve(plan: KeyPlan, resolved: Mapping[str, list[str]]) -> KeyPlan:
    """Re-run the principal rules on values that were Outputs when the plan was made."""
    from .rules import _Collector, _principals

    out = _Collector(f"key {plan.name!r}")
    principal_args: dict[str, Any] = {
        "account_id": plan.account_id,
        "external_accounts": plan.allowed_external_accounts,
        "partition": plan.partition,
    }
    administrators = _principals(out, "administrators", resolved["administrators"],
                                 **principal_args)
    users = _principals(out, "users", resolved["users"], **principal_args)
    if out.issues:
        raise KmsConfigError(_masked(out.issues), stack=pulumi.get_stack(), namespace="",
                             before_registration=False)
    return replace(plan, administrators=administrators, users=users)


__all__ = ["COMPONENT_TYPE", "CustomerManagedKey"]
