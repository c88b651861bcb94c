"""Custom key stores a stack creates, and read-only references to AWS managed keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import naming
from .rules import KeyStorePlan

_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create_key_store(plan: KeyStorePlan) -> aws.kms.CustomKeyStore:
    """Register one custom key store; its secrets come from secret config values only."""
    settings = plan.settings
    config = pulumi.Config()
    options = pulumi.ResourceOptions(protect=plan.protect)
    if plan.type == "AWS_CLOUDHSM":
        return aws.kms.CustomKeyStore(
            naming.key_store_resource(plan.name),
            custom_key_store_name=plan.store_name,
            custom_key_store_type="AWS_CLOUDHSM",
            cloud_hsm_cluster_id=settings.cloud_hsm_cluster_id,
            trust_anchor_certificate=settings.trust_anchor_certificate,
            key_store_password=config.require_secret(
                settings.key_store_password_config_key or ""
            ),
            opts=options,
        )
    credential = aws.kms.CustomKeyStoreXksProxyAuthenticationCredentialArgs(
        access_key_id=config.require_secret(settings.xks_access_key_id_config_key or ""),
        raw_secret_access_key=config.require_secret(
            settings.xks_secret_access_key_config_key or ""
        ),
    )
    return aws.kms.CustomKeyStore(
        naming.key_store_resource(plan.name),
        custom_key_store_name=plan.store_name,
        custom_key_store_type="EXTERNAL_KEY_STORE",
        xks_proxy_uri_endpoint=settings.xks_proxy_uri_endpoint,
        xks_proxy_uri_path=settings.xks_proxy_uri_path,
        xks_proxy_connectivity=settings.xks_proxy_connectivity,
        xks_proxy_vpc_endpoint_service_name=settings.xks_proxy_vpc_endpoint_service_name,
        xks_proxy_authentication_credential=credential,
        opts=options,
    )


@dataclass(frozen=True)
class AwsManagedKey:
    """An AWS managed key (`alias/aws/<service>`): referenced, never created or changed."""

    alias: str
    key_id: pulumi.Output[str]
    key_arn: pulumi.Output[str]


def aws_managed_key(service: str, *, region: str | None = None) -> AwsManagedKey:
    """Look up the AWS managed key of *service* (e.g. `s3`, `ebs`, `rds`, `secretsmanager`).

    Its policy belongs to AWS and cannot be changed; use it only where the default is enough.
    """
    if not _SERVICE_NAME.fullmatch(service):
        raise ValueError(
            f"aws_managed_key: service {service!r} is not allowed; allowed: a service name "
            "such as s3, ebs, rds or secretsmanager (the part after alias/aws/)"
        )
    alias = f"alias/aws/{service}"
    found = aws.kms.get_alias_output(name=alias, region=region)
    return AwsManagedKey(alias=alias, key_id=found.target_key_id, key_arn=found.target_key_arn)
