"""The typed shape of a key and of a stack, as pydantic models.

pydantic checks types, spelling and choices (an unknown setting is an error, never silently
ignored); the KMS rules that span several fields live in `rules.py`, where each one reports the
exact path it concerns. Field names are snake_case in Python and camelCase in stack files.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

KeySpec = Literal[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "SM2",
]
KeyUsage = Literal["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"]
Origin = Literal["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]


def _is_output(value: object) -> bool:
    """True for a Pulumi Output (duck-typed, so the core never imports the Pulumi runtime)."""
    return hasattr(value, "apply") and hasattr(value, "future")


def _string_or_output(value: object) -> object:
    if isinstance(value, str) or _is_output(value):
        return value
    raise ValueError("must be a string (an ARN) or a Pulumi Output of one")


# A principal given as text is checked before anything is registered; one given as an Output of
# another resource (a role created in the same program) is checked once its value is known.
PrincipalInput = Annotated[Any, BeforeValidator(_string_or_output)]
StringInput = Annotated[Any, BeforeValidator(_string_or_output)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        strict=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )


class ServiceAccess(_Model):
    """Use of the key through one AWS service on behalf of principals of this account."""

    service: str
    """Service name as in `kms:ViaService` without region, e.g. `s3`, `secretsmanager`, `rds`."""
    principals: list[PrincipalInput] | None = None
    """Who may use it through the service. Default: any principal of this account
    (`Principal: *` limited by `kms:CallerAccount` and `kms:ViaService`)."""
    actions: list[str] | None = None
    """Default: the key-user actions that fit the key."""


class ServicePrincipalAccess(_Model):
    """Use of the key by an AWS service principal itself (CloudWatch Logs, CloudTrail, SNS)."""

    service: str
    """Service principal, e.g. `logs.us-west-2.amazonaws.com`."""
    actions: list[str] | None = None
    """Default: the key-user actions that fit the key."""
    source_arn: str | None = None
    """Limits use to one resource of this account through `aws:SourceArn` (ArnLike)."""
    encryption_context: dict[str, str] | None = None
    """`kms:EncryptionContext:<key>` values (StringLike) the service must send."""


class GrantSettings(_Model):
    """A KMS grant: delegated, revocable use of the key by one principal."""

    name: str
    grantee: PrincipalInput
    operations: list[str]
    retiring_principal: PrincipalInput | None = None
    encryption_context_equals: dict[str, str] | None = None
    encryption_context_subset: dict[str, str] | None = None


class KeySettings(_Model):
    """One customer managed key. Every field has a secure default.

    Fields marked *replaces* create a new key when changed: data encrypted under the old key can
    then only be decrypted while the old key still exists.
    """

    description: str | None = None
    """Default: `<key name> key (<environment>)`. Up to 8192 characters."""
    key_spec: KeySpec = "SYMMETRIC_DEFAULT"
    """*replaces*. One of the KMS key specs (see `specs.USAGES_BY_KEY_SPEC`)."""
    key_usage: KeyUsage = "ENCRYPT_DECRYPT"
    """*replaces*. Must be a usage allowed for the key spec."""
    origin: Origin | None = None
    """*replaces*. Default: `AWS_KMS`, or the key store's type when the key lives in one.
    `EXTERNAL` for imported material."""
    enable_key_rotation: bool | None = None
    """Default: on where KMS can rotate (symmetric, KMS-generated material), else off. Asking
    for it on any other key is an error."""
    rotation_period_in_days: int | None = None
    """90-2560, default 365. Only with rotation on."""
    deletion_window_in_days: int | None = None
    """7-30, default 30: the waiting period after a deletion is scheduled."""
    protect: bool | None = None
    """Pulumi `protect` on the key and its aliases. Default: the stack's `protectKeys`
    (on in prod)."""
    deletion_by_administrators_only: bool | None = None
    """Deny scheduling deletion and disabling the key to everyone but the administrators and
    the account root, whatever their IAM policies say. Default: on for protected keys."""
    enabled: bool = True
    aliases: list[str] | None = None
    """Default: `alias/<environment>/<key name>`. Each must match the KMS alias rules."""
    allow_account_root: bool = True
    """Keep AWS's default statement that lets the account's IAM policies grant access."""
    administrators: list[PrincipalInput] = Field(default_factory=list)
    """Principals that manage the key (policy, rotation, deletion) but cannot use it."""
    users: list[PrincipalInput] = Field(default_factory=list)
    """Principals that use the key for cryptography, with the actions that fit its usage."""
    allow_grants_for_aws_resources: bool = True
    """Let users create grants for AWS services integrated with KMS (EBS, RDS, ...)."""
    services: list[ServiceAccess] = Field(default_factory=list)
    confine_to_services: bool = True
    """Principals named under `services` (and not under `users`) may use the key only through
    those services: a Deny statement holds even where their IAM policies allow more."""
    service_principals: list[ServicePrincipalAccess] = Field(default_factory=list)
    allowed_external_accounts: list[str] = Field(default_factory=list)
    """Other accounts whose principals may appear in this policy. Empty: none may."""
    allowed_organization_ids: list[str] = Field(default_factory=list)
    """AWS Organizations (`o-...`) an `aws:PrincipalOrgID` condition may name to limit a
    wildcard principal. Empty: such a condition limits nothing."""
    extra_statements: list[dict[str, Any]] = Field(default_factory=list)
    """Further statements, checked like the generated ones. Each needs a unique `Sid`."""
    bypass_policy_lockout_safety_check: bool = False
    """Dangerous: lets KMS accept a policy that locks its administrators out. Logged loudly."""
    multi_region: bool = False
    """*replaces*. A multi-Region primary key."""
    replica_regions: list[str] = Field(default_factory=list)
    """Regions that get a replica of a multi-Region key, each through its own provider."""
    custom_key_store_id: StringInput | None = None
    """*replaces*. An existing CloudHSM or external key store (`cks-...`), or an Output of one."""
    custom_key_store: str | None = None
    """*replaces*. The name of a key store declared in the stack's `customKeyStores`."""
    xks_key_id: str | None = None
    """*replaces*. The external key's id in an external key store."""
    key_material_config_key: str | None = None
    """For `origin: EXTERNAL`: the name of a secret config value holding base64 key
    material (set with `pulumi config set --secret`)."""
    key_material: Any = None
    """For code: base64 key material as a secret Output. Never printed."""
    valid_to: str | None = None
    """For imported material: RFC 3339 expiry, e.g. `2027-12-31T00:00:00Z`."""
    grants: list[GrantSettings] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)


class CustomKeyStoreSettings(_Model):
    """A custom key store created by the stack: CloudHSM-backed or an external key store."""

    type: Literal["AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]
    """*replaces*. The kind of store."""
    custom_key_store_name: str | None = None
    """Default: `<environment>-<store name>`. Unique in the account and region."""
    cloud_hsm_cluster_id: str | None = None
    """AWS_CLOUDHSM: the active CloudHSM cluster (`cluster-...`)."""
    trust_anchor_certificate: str | None = None
    """AWS_CLOUDHSM: the cluster's trust anchor certificate (PEM)."""
    key_store_password_config_key: str | None = None
    """AWS_CLOUDHSM: secret config key holding the `kmsuser` password."""
    xks_proxy_uri_endpoint: str | None = None
    """EXTERNAL_KEY_STORE: `https://...` endpoint of the proxy."""
    xks_proxy_uri_path: str | None = None
    """EXTERNAL_KEY_STORE: path of the proxy API, ending in `/kms/xks/v1`."""
    xks_proxy_connectivity: Literal["PUBLIC_ENDPOINT", "VPC_ENDPOINT_SERVICE"] | None = None
    xks_proxy_vpc_endpoint_service_name: str | None = None
    xks_access_key_id_config_key: str | None = None
    """EXTERNAL_KEY_STORE: secret config key with the proxy authentication access key id."""
    xks_secret_access_key_config_key: str | None = None
    """EXTERNAL_KEY_STORE: secret config key with the proxy authentication secret key."""
    protect: bool | None = None


# Settings a stack may give once for all of its keys.
DEFAULTABLE_FIELDS = (
    "deletion_window_in_days",
    "rotation_period_in_days",
    "administrators",
    "users",
    "allow_account_root",
    "allowed_external_accounts",
    "protect",
    "tags",
)


class StackSettings(_Model):
    """A stack file's settings under the project's config namespace."""

    account_id: str
    """The environment's AWS account (12 digits); used in every ARN, so no credentials are
    needed to render policies."""
    environment: str | None = None
    """Default: the stack name."""
    owner: str | None = None
    protect_keys: bool | None = None
    """Default: on for `prod`, off elsewhere."""
    tags: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    custom_key_stores: dict[str, CustomKeyStoreSettings] = Field(default_factory=dict)
    keys: dict[str, dict[str, Any]]


