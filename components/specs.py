"""What KMS allows, in one place: key specs, usages, ranges and the actions each key role gets.

Every limit here feeds both the check and its error message, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------------------------
# Ranges (AWS KMS API limits)
# ---------------------------------------------------------------------------------------------

ROTATION_PERIOD_MIN_DAYS: Final = 90
ROTATION_PERIOD_MAX_DAYS: Final = 2560
ROTATION_PERIOD_DEFAULT_DAYS: Final = 365

DELETION_WINDOW_MIN_DAYS: Final = 7
DELETION_WINDOW_MAX_DAYS: Final = 30
DELETION_WINDOW_DEFAULT_DAYS: Final = 30

POLICY_MAX_BYTES: Final = 32_768
DESCRIPTION_MAX_CHARS: Final = 8_192

TAG_KEY_MAX_CHARS: Final = 128
TAG_VALUE_MAX_CHARS: Final = 256
TAGS_MAX_PER_KEY: Final = 50

ALIAS_MAX_CHARS: Final = 256
ALIAS_PREFIX: Final = "alias/"
ALIAS_RESERVED_PREFIX: Final = "alias/aws/"
# The KMS API's pattern for an alias name: the prefix, then letters, digits, / _ -
ALIAS_PATTERN: Final = r"^alias/[a-zA-Z0-9/_-]+$"

# The regions pulumi-aws knows (its `Region` enum); a test keeps this copy in step with it.
AWS_REGIONS: Final = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
        "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6",
        "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
        "eu-central-1", "eu-central-2", "eu-isoe-west-1", "eu-north-1", "eu-south-1",
        "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "eusc-de-east-1", "il-central-1",
        "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
        "us-gov-east-1", "us-gov-west-1", "us-iso-east-1", "us-iso-west-1", "us-isob-east-1",
        "us-isob-west-1", "us-isof-east-1", "us-isof-south-1", "us-west-1", "us-west-2",
    }
)

# ---------------------------------------------------------------------------------------------
# Key specs and usages
# ---------------------------------------------------------------------------------------------

SYMMETRIC_DEFAULT: Final = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT: Final = "ENCRYPT_DECRYPT"
SIGN_VERIFY: Final = "SIGN_VERIFY"
GENERATE_VERIFY_MAC: Final = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT: Final = "KEY_AGREEMENT"

# Each key spec the AWS provider accepts, with the usages KMS allows for it. SM2 exists only in
# the China Regions.
USAGES_BY_KEY_SPEC: Final[dict[str, tuple[str, ...]]] = {
    SYMMETRIC_DEFAULT: (ENCRYPT_DECRYPT,),
    "RSA_2048": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "RSA_3072": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "RSA_4096": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "ECC_NIST_P256": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P384": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P521": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_SECG_P256K1": (SIGN_VERIFY,),
    "ECC_NIST_EDWARDS25519": (SIGN_VERIFY,),
    "HMAC_224": (GENERATE_VERIFY_MAC,),
    "HMAC_256": (GENERATE_VERIFY_MAC,),
    "HMAC_384": (GENERATE_VERIFY_MAC,),
    "HMAC_512": (GENERATE_VERIFY_MAC,),
    "ML_DSA_44": (SIGN_VERIFY,),
    "ML_DSA_65": (SIGN_VERIFY,),
    "ML_DSA_87": (SIGN_VERIFY,),
    "SM2": (ENCRYPT_DECRYPT, SIGN_VERIFY, KEY_AGREEMENT),
}
KEY_SPECS: Final = tuple(USAGES_BY_KEY_SPEC)
KEY_USAGES: Final = (ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT)
CHINA_ONLY_KEY_SPECS: Final = frozenset({"SM2"})

ORIGIN_AWS_KMS: Final = "AWS_KMS"
ORIGIN_EXTERNAL: Final = "EXTERNAL"
ORIGIN_AWS_CLOUDHSM: Final = "AWS_CLOUDHSM"
ORIGIN_EXTERNAL_KEY_STORE: Final = "EXTERNAL_KEY_STORE"
ORIGINS: Final = (ORIGIN_AWS_KMS, ORIGIN_EXTERNAL, ORIGIN_AWS_CLOUDHSM, ORIGIN_EXTERNAL_KEY_STORE)
CUSTOM_KEY_STORE_ORIGINS: Final = frozenset({ORIGIN_AWS_CLOUDHSM, ORIGIN_EXTERNAL_KEY_STORE})
# Imported material is supported for symmetric, RSA, ECC and HMAC keys.
EXTERNAL_ORIGIN_KEY_SPECS: Final = frozenset(
    spec for spec in KEY_SPECS if not spec.startswith("ML_DSA") and spec != "SM2"
)


def rotation_supported(*, key_spec: str, origin: str) -> bool:
    """Automatic rotation exists only for symmetric keys whose material KMS generated."""
    return key_spec == SYMMETRIC_DEFAULT and origin == ORIGIN_AWS_KMS


def multi_region_supported(*, origin: str) -> bool:
    """Keys in a custom key store cannot be multi-Region; every other origin can."""
    return origin not in CUSTOM_KEY_STORE_ORIGINS


# ---------------------------------------------------------------------------------------------
# Actions per role. Listed explicitly rather than with wildcards, so a reviewer reads exactly
# what a role can do and a new KMS action never slips in unnoticed.
# ---------------------------------------------------------------------------------------------

ADMIN_ACTIONS: Final = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# Rotation actions are meaningless on keys that cannot rotate; KMS rejects the calls anyway.
ROTATION_ADMIN_ACTIONS: Final = frozenset(
    {
        "kms:DisableKeyRotation",
        "kms:EnableKeyRotation",
        "kms:GetKeyRotationStatus",
        "kms:ListKeyRotations",
        "kms:RotateKeyOnDemand",
    }
)
MULTI_REGION_ADMIN_ACTIONS: Final = ("kms:ReplicateKey", "kms:UpdatePrimaryRegion")
# Actions that make data undecryptable, now or after the waiting period.
DESTRUCTIVE_ACTIONS: Final = ("kms:DisableKey", "kms:ScheduleKeyDeletion")
IMPORTED_MATERIAL_DESTRUCTIVE_ACTIONS: Final = ("kms:DeleteImportedKeyMaterial",)
IMPORTED_MATERIAL_ADMIN_ACTIONS: Final = (
    "kms:DeleteImportedKeyMaterial",
    "kms:GetParametersForImport",
    "kms:ImportKeyMaterial",
)

USE_ACTIONS_BY_USAGE: Final[dict[str, tuple[str, ...]]] = {
    ENCRYPT_DECRYPT: (
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ),
    SIGN_VERIFY: ("kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"),
    GENERATE_VERIFY_MAC: ("kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"),
    KEY_AGREEMENT: ("kms:DeriveSharedSecret", "kms:DescribeKey", "kms:GetPublicKey"),
}
# Asymmetric encryption keys cannot generate data keys; they can hand out their public key.
ASYMMETRIC_ENCRYPT_ACTIONS: Final = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GetPublicKey",
    "kms:ReEncrypt*",
)
GRANT_ACTIONS: Final = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
# Actions whose requests carry an encryption context; a kms:EncryptionContext condition on any
# other action can never match.
ENCRYPTION_CONTEXT_ACTIONS: Final = frozenset(
    {
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
        "kms:CreateGrant",
        "kms:RetireGrant",
    }
)


def use_actions(*, key_spec: str, key_usage: str) -> tuple[str, ...]:
    """The actions a key user needs for this kind of key, and no others."""
    if key_usage == ENCRYPT_DECRYPT and key_spec != SYMMETRIC_DEFAULT:
        return ASYMMETRIC_ENCRYPT_ACTIONS
    return USE_ACTIONS_BY_USAGE[key_usage]


def admin_actions(*, key_spec: str, origin: str, multi_region: bool) -> tuple[str, ...]:
    """Administration actions that fit the key: rotation, replication and import only if usable."""
    actions = set(ADMIN_ACTIONS)
    if not rotation_supported(key_spec=key_spec, origin=origin):
        actions -= ROTATION_ADMIN_ACTIONS
    if multi_region:
        actions.update(MULTI_REGION_ADMIN_ACTIONS)
    if origin == ORIGIN_EXTERNAL:
        actions.update(IMPORTED_MATERIAL_ADMIN_ACTIONS)
    return tuple(sorted(actions))


# Grant operations valid for each usage (CreateGrant's Operations parameter).
GRANT_OPERATIONS_BY_USAGE: Final[dict[str, frozenset[str]]] = {
    ENCRYPT_DECRYPT: frozenset(
        {
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
            "GetPublicKey",
        }
    ),
    SIGN_VERIFY: frozenset(
        {"Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey"}
    ),
    GENERATE_VERIFY_MAC: frozenset(
        {"GenerateMac", "VerifyMac", "CreateGrant", "RetireGrant", "DescribeKey"}
    ),
    KEY_AGREEMENT: frozenset(
        {"DeriveSharedSecret", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey"}
    ),
}
SYMMETRIC_ONLY_GRANT_OPERATIONS: Final = frozenset(
    {
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
# Encryption context constraints exist only for operations that take an encryption context.
ENCRYPTION_CONTEXT_GRANT_OPERATIONS: Final = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "CreateGrant",
        "RetireGrant",
    }
)


def grant_operations(*, key_spec: str, key_usage: str) -> frozenset[str]:
    """The grant operations KMS accepts for this kind of key."""
    operations = GRANT_OPERATIONS_BY_USAGE[key_usage]
    if key_spec != SYMMETRIC_DEFAULT:
        operations = operations - SYMMETRIC_ONLY_GRANT_OPERATIONS
    if key_spec == SYMMETRIC_DEFAULT:
        operations = operations - {"GetPublicKey"}
    return operations


# Capabilities shown in the access matrix, each as the actions that make it up.
CAPABILITIES: Final[dict[str, tuple[str, ...]]] = {
    "administer": ("kms:PutKeyPolicy",),
    "encrypt": ("kms:Encrypt",),
    "decrypt": ("kms:Decrypt",),
    "generate data key": ("kms:GenerateDataKey",),
    "re-encrypt": ("kms:ReEncryptFrom",),
    "sign": ("kms:Sign",),
    "verify": ("kms:Verify",),
    "mac": ("kms:GenerateMac",),
    "create grant": ("kms:CreateGrant",),
    "schedule deletion": ("kms:ScheduleKeyDeletion",),
}
