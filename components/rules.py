"""The KMS rules a stack's keys must follow, checked before any resource is registered.

Each rule reports a `ConfigIssue` naming the exact config path, the value and what is allowed,
so one run shows every mistake at once. The output is a `KeyPlan`: a key with every default
resolved, ready for the policy builder and the Pulumi edge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pydantic

from . import naming, specs
from .errors import MISSING, ConfigIssue
from .model import (
    CustomKeyStoreSettings,
    GrantSettings,
    KeySettings,
    _is_output,
)
from .principals import PrincipalError, normalise_principal, validate_service_principal

KEY_NAME_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
ENVIRONMENT_PATTERN: Final = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
REGION_PATTERN: Final = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")
SERVICE_NAME_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
ACCOUNT_PATTERN: Final = re.compile(r"^[0-9]{12}$")
ALIAS_REGEX: Final = re.compile(specs.ALIAS_PATTERN)
ORGANIZATION_PATTERN: Final = re.compile(r"^o-[a-z0-9]{10,32}$")
GRANT_NAME_PATTERN: Final = re.compile(r"^[a-zA-Z0-9:/_-]{1,256}$")
CONFIG_KEY_PATTERN: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
RFC3339_PATTERN: Final = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
SID_PATTERN: Final = re.compile(r"^[A-Za-z0-9]{1,128}$")
CUSTOM_KEY_STORE_PATTERN: Final = re.compile(r"^cks-[a-z0-9]{8,32}$")
TAG_TEXT_PATTERN: Final = re.compile(r"^[\w .:/=+\-@]*$")
PROD_ENVIRONMENTS: Final = frozenset({"prod", "production"})

STATEMENT_FIELDS: Final = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "Condition"}
)


def partition_for_region(region: str) -> str:
    """The ARN partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class StackContext:
    """What every key of a stack shares: where it lives and how it is protected."""

    project: str
    stack: str
    environment: str
    account_id: str
    region: str
    owner: str | None = None
    protect_default: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    custom_key_stores: Mapping[str, str] = field(default_factory=dict)
    """Key stores the stack declares, by name, with their type."""

    @property
    def partition(self) -> str:
        return partition_for_region(self.region)


@dataclass(frozen=True)
class ServicePlan:
    service: str
    via_service: str
    principals: tuple[Any, ...] | None
    actions: tuple[str, ...]


@dataclass(frozen=True)
class ServicePrincipalPlan:
    service: str
    actions: tuple[str, ...]
    source_arn: str | None
    encryption_context: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class GrantPlan:
    name: str
    grantee: Any
    operations: tuple[str, ...]
    retiring_principal: Any
    encryption_context_equals: tuple[tuple[str, str], ...] | None
    encryption_context_subset: tuple[tuple[str, str], ...] | None


@dataclass(frozen=True)
class KeyPlan:
    """A key with every default resolved; principals are ARNs or Outputs of ARNs."""

    name: str
    description: str
    key_spec: str
    key_usage: str
    origin: str
    rotation: bool
    rotation_period_in_days: int | None
    deletion_window_in_days: int
    protect: bool
    deletion_by_administrators_only: bool
    enabled: bool
    aliases: tuple[str, ...]
    allow_account_root: bool
    administrators: tuple[Any, ...]
    users: tuple[Any, ...]
    allow_grants_for_aws_resources: bool
    services: tuple[ServicePlan, ...]
    confine_to_services: bool
    service_principals: tuple[ServicePrincipalPlan, ...]
    allowed_external_accounts: tuple[str, ...]
    allowed_organization_ids: tuple[str, ...]
    extra_statements: tuple[Mapping[str, Any], ...]
    bypass_policy_lockout_safety_check: bool
    multi_region: bool
    replica_regions: tuple[str, ...]
    custom_key_store_id: Any
    custom_key_store: str | None
    xks_key_id: str | None
    key_material_config_key: str | None
    key_material: Any
    valid_to: str | None
    grants: tuple[GrantPlan, ...]
    tags: tuple[tuple[str, str], ...]
    account_id: str
    region: str
    partition: str
    notes: tuple[str, ...] = ()

    @property
    def rotation_supported(self) -> bool:
        return specs.rotation_supported(key_spec=self.key_spec, origin=self.origin)

    @property
    def in_custom_key_store(self) -> bool:
        return self.custom_key_store_id is not None or self.custom_key_store is not None


@dataclass(frozen=True)
class KeyStorePlan:
    """A custom key store the stack creates; keys refer to it by `name`."""

    name: str
    store_name: str
    type: str
    settings: CustomKeyStoreSettings
    protect: bool


@dataclass(frozen=True)
class StackPlan:
    context: StackContext
    keys: tuple[KeyPlan, ...]
    key_stores: tuple[KeyStorePlan, ...] = ()


# ---------------------------------------------------------------------------------------------
# pydantic errors, rendered as config paths
# ---------------------------------------------------------------------------------------------


def _join(prefix: str, loc: Sequence[object]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _field_names(model: type[pydantic.BaseModel]) -> list[str]:
    return sorted(info.alias or name for name, info in model.model_fields.items())


def _model_at(model: type[pydantic.BaseModel], loc: Sequence[object]) -> type[pydantic.BaseModel]:
    """Follow *loc* through nested models to the model that owns its last part."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type)):
            continue
        model_fields = getattr(current, "model_fields", {})
        fields = {info.alias or name: info for name, info in model_fields.items()}
        info = fields.get(str(part))
        if info is None:
            break
        current = _first_model(info.annotation) or current
    return current


def _first_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = _first_model(argument)
        if found is not None:
            return found
    return None


_TYPE_WORDS: Final = {
    "string_type": "a string",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _issues_from_validation(
    error: pydantic.ValidationError, model: type[pydantic.BaseModel], prefix: str
) -> list[ConfigIssue]:
    issues = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        kind = detail["type"]
        value = detail.get("input", MISSING)
        if kind == "missing":
            allowed = "a value is required here"
            value = MISSING
        elif kind == "extra_forbidden":
            names = ", ".join(_field_names(_model_at(model, loc)))
            allowed = f"no setting of that name; the known settings are: {names}"
        elif kind == "literal_error":
            allowed = f"one of {detail['ctx']['expected']}"
        elif kind in _TYPE_WORDS:
            allowed = _TYPE_WORDS[kind]
        else:
            allowed = str(detail["msg"]).removeprefix("Value error, ")
        issues.append(ConfigIssue(_join(prefix, loc), value, allowed))
    return issues


# ---------------------------------------------------------------------------------------------
# Key rules
# ---------------------------------------------------------------------------------------------


class _Collector:
    """Collects issues under one key's path prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issues: list[ConfigIssue] = []
        self.notes: list[str] = []

    def add(self, path: str, value: object, allowed: str) -> None:
        full = f"{self.prefix}.{path}" if self.prefix and path else (path or self.prefix)
        self.issues.append(ConfigIssue(full, value, allowed))


def _check_range(
    out: _Collector, path: str, value: int | None, low: int, high: int, unit: str
) -> None:
    if value is not None and not low <= value <= high:
        out.add(path, value, f"a whole number of {unit} from {low} to {high}")


def _principals(
    out: _Collector,
    path: str,
    values: Sequence[Any],
    *,
    account_id: str,
    external_accounts: Sequence[str],
    partition: str = "aws",
    indexed: bool = True,
) -> tuple[Any, ...]:
    """Normalise known principals; let Outputs through to be checked when they resolve.

    With `indexed=False` the path names a single value, not a list (`grants[0].grantee`).
    """
    result: list[Any] = []
    for position, value in enumerate(values):
        index = position if indexed else None
        if _is_output(value):
            result.append(value)
            continue
        try:
            principal = normalise_principal(value, partition=partition)
        except PrincipalError as problem:
            out.add((f"{path}[{index}]" if index is not None else path), value, str(problem))
            continue
        if principal.partition not in (None, partition):
            out.add(
                (f"{path}[{index}]" if index is not None else path), value,
                f"an ARN of this stack's partition {partition!r} (region of the key)",
            )
            continue
        if principal.account != account_id and principal.account not in external_accounts:
            out.add(
                (f"{path}[{index}]" if index is not None else path),
                value,
                f"a principal of this environment's account {account_id}; another account "
                "must first be listed in allowedExternalAccounts",
            )
            continue
        if principal.note:
            out.notes.append(f"{path}[{index}]: {principal.note}")
        result.append(principal.arn)
    return _sorted_unique(result)


def _sorted_unique(values: Sequence[Any]) -> tuple[Any, ...]:
    """Strings sorted and de-duplicated (stable policy text); Outputs kept in given order."""
    texts = sorted({value for value in values if isinstance(value, str)})
    outputs = [value for value in values if not isinstance(value, str)]
    return (*texts, *outputs)


def check_alias(alias: str) -> str | None:
    """The reason *alias* breaks the KMS alias rules, or None if it is fine."""
    if not alias.startswith(specs.ALIAS_PREFIX):
        return f"a name starting with {specs.ALIAS_PREFIX!r}, e.g. 'alias/{alias}'"
    if alias.lower().startswith(specs.ALIAS_RESERVED_PREFIX):
        return f"a name outside {specs.ALIAS_RESERVED_PREFIX!r}, which AWS reserves for its keys"
    if len(alias) > specs.ALIAS_MAX_CHARS:
        return f"at most {specs.ALIAS_MAX_CHARS} characters"
    if not ALIAS_REGEX.fullmatch(alias):
        return (
            f"after {specs.ALIAS_PREFIX!r} only letters, digits, '/', '_' and '-' "
            "(the KMS CreateAlias pattern; no dots, colons or spaces)"
        )
    return None


def check_tags(out: _Collector, path: str, tags: Mapping[str, str]) -> None:
    """KMS tag rules: lengths, characters, and no keys in the reserved `aws:` space."""
    if len(tags) > specs.TAGS_MAX_PER_KEY:
        out.add(path, f"{len(tags)} tags", f"at most {specs.TAGS_MAX_PER_KEY} tags per key")
    for tag_key, tag_value in tags.items():
        where = f"{path}.{tag_key}"
        if not 1 <= len(tag_key) <= specs.TAG_KEY_MAX_CHARS:
            out.add(where, tag_key, f"a tag key of 1 to {specs.TAG_KEY_MAX_CHARS} characters")
        elif tag_key.lower().startswith("aws:"):
            out.add(where, tag_key, "a tag key not starting with 'aws:' (reserved by AWS)")
        elif not TAG_TEXT_PATTERN.fullmatch(tag_key):
            out.add(where, tag_key, "letters, digits, spaces and _ . : / = + - @")
        if len(tag_value) > specs.TAG_VALUE_MAX_CHARS:
            out.add(where, tag_value, f"a tag value of at most {specs.TAG_VALUE_MAX_CHARS} chars")
        elif not TAG_TEXT_PATTERN.fullmatch(tag_value):
            out.add(where, tag_value, "letters, digits, spaces and _ . : / = + - @")


_CONDITION_SCALARS: Final = (str, bool, int, float)
_SOURCE_LIMITING_KEYS: Final = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid"})


def _check_statement(
    out: _Collector,
    path: str,
    statement: Mapping[str, Any],
    *,
    account_id: str,
    external_accounts: Sequence[str],
    partition: str,
) -> None:
    """An extra statement must be a well-formed key policy statement with its own Sid, and
    obey the same principal rules as the generated ones."""
    unknown = sorted(set(statement) - STATEMENT_FIELDS)
    if unknown:
        out.add(f"{path}.{unknown[0]}", statement[unknown[0]], f"one of {sorted(STATEMENT_FIELDS)}")
    sid = statement.get("Sid")
    if not isinstance(sid, str) or not SID_PATTERN.fullmatch(sid):
        out.add(f"{path}.Sid", sid if sid is not None else MISSING, "a unique PascalCase Sid")
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        out.add(f"{path}.Effect", effect if effect is not None else MISSING, "'Allow' or 'Deny'")
    if ("Action" in statement) == ("NotAction" in statement):
        out.add(path, sid or "statement", "exactly one of Action or NotAction")
    actions = _as_list(statement.get("Action", statement.get("NotAction", [])))
    if not actions:
        out.add(f"{path}.Action", [], "at least one KMS action")
    for action in actions:
        if not isinstance(action, str) or not (action == "*" or action.startswith("kms:")):
            out.add(f"{path}.Action", action, "KMS actions such as 'kms:Decrypt'")
    if ("Principal" in statement) == ("NotPrincipal" in statement):
        out.add(path, sid or "statement", "exactly one of Principal or NotPrincipal")
    resource = statement.get("Resource", "*")
    if resource != "*":
        out.add(f"{path}.Resource", resource, "'*' (in a key policy it means this key)")
    condition = statement.get("Condition")
    _check_condition(out, f"{path}.Condition", condition)
    field_name = "Principal" if "Principal" in statement else "NotPrincipal"
    principal = statement.get(field_name)
    if isinstance(principal, Mapping):
        if not principal:
            out.add(f"{path}.{field_name}", {}, "at least one 'AWS' or 'Service' principal")
        for kind, values in principal.items():
            where = f"{path}.{field_name}.{kind}"
            if kind not in ("AWS", "Service"):
                out.add(where, values, "'AWS' or 'Service' principals")
                continue
            listed = _as_list(values)
            if not listed:
                out.add(where, [], "at least one principal")
            for value in listed:
                if kind == "Service":
                    _check_statement_service(out, where, value, effect, condition)
                elif value != "*":
                    _principals(out, where, [value], account_id=account_id,
                                external_accounts=external_accounts, partition=partition)
    elif principal is not None and principal != "*":
        out.add(f"{path}.{field_name}", principal,
                "'*' or a mapping of 'AWS'/'Service' to principals")


def _check_statement_service(
    out: _Collector, where: str, value: Any, effect: Any, condition: Any
) -> None:
    """A service principal in an Allow must be tied to this account (the confused deputy)."""
    if value == "*":
        out.add(where, value, "a named service principal; 'Service: *' is any service")
        return
    try:
        validate_service_principal(value)
    except PrincipalError as problem:
        out.add(where, value, str(problem))
        return
    keys = {
        str(key).lower()
        for operator in (condition or {}).values() if isinstance(operator, Mapping)
        for key in operator
    }
    if effect == "Allow" and not keys & _SOURCE_LIMITING_KEYS:
        out.add(where, value, "a service principal limited by an aws:SourceAccount or "
                              "aws:SourceArn condition, so it acts only for this account")


def _check_condition(out: _Collector, where: str, condition: Any) -> None:
    """Conditions: operator -> key -> a value or a list of values (strings, numbers, bools)."""
    if condition is None:
        return
    if not isinstance(condition, Mapping):
        out.add(where, condition, "a mapping of operators to condition keys")
        return
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping) or not keys:
            out.add(f"{where}.{operator}", keys, "a mapping of condition keys to values")
            continue
        for key, value in keys.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(item, _CONDITION_SCALARS) for item in values):
                out.add(f"{where}.{operator}.{key}", value,
                        "a string, number, boolean, or a non-empty list of them")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _check_grant(
    out: _Collector,
    path: str,
    grant: GrantSettings,
    *,
    key_spec: str,
    key_usage: str,
    account_id: str,
    external_accounts: Sequence[str],
    partition: str = "aws",
) -> GrantPlan:
    allowed = specs.grant_operations(key_spec=key_spec, key_usage=key_usage)
    for index, operation in enumerate(grant.operations):
        if operation not in allowed:
            out.add(
                f"{path}.operations[{index}]",
                operation,
                f"one of {sorted(allowed)} for a {key_spec} {key_usage} key",
            )
    if not grant.operations:
        out.add(f"{path}.operations", [], "at least one grant operation")
    both = grant.encryption_context_equals is not None and grant.encryption_context_subset
    if both:
        out.add(path, "both constraints", "encryptionContextEquals or ...Subset, not both")
    constrained = grant.encryption_context_equals or grant.encryption_context_subset
    if constrained:
        unsupported = sorted(set(grant.operations) - specs.ENCRYPTION_CONTEXT_GRANT_OPERATIONS)
        if unsupported:
            out.add(
                f"{path}.operations",
                unsupported,
                "only operations that take an encryption context when a constraint is set",
            )
    if not GRANT_NAME_PATTERN.fullmatch(grant.name):
        out.add(f"{path}.name", grant.name, "1-256 letters, digits and : / _ -")
    grantee = _principals(
        out, f"{path}.grantee", [grant.grantee], account_id=account_id,
        external_accounts=external_accounts, partition=partition, indexed=False,
    )
    retiring = None
    if grant.retiring_principal is not None:
        found = _principals(
            out, f"{path}.retiringPrincipal", [grant.retiring_principal],
            account_id=account_id, external_accounts=external_accounts, partition=partition,
            indexed=False,
        )
        retiring = found[0] if found else None

    def pairs(mapping: Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
        return None if mapping is None else tuple(sorted(mapping.items()))

    return GrantPlan(
        name=grant.name,
        grantee=grantee[0] if grantee else None,
        operations=tuple(sorted(set(grant.operations))),
        retiring_principal=retiring,
        encryption_context_equals=pairs(grant.encryption_context_equals),
        encryption_context_subset=pairs(grant.encryption_context_subset),
    )


def plan_key(
    name: str, settings: KeySettings, context: StackContext, *, path: str
) -> tuple[KeyPlan | None, list[ConfigIssue]]:
    """Resolve defaults and apply every KMS rule to one key; return the plan or the issues."""
    out = _Collector(path)
    if not KEY_NAME_PATTERN.fullmatch(name):
        out.add("", name, "a key name of lower-case letters, digits, '_' and '-', 1-63 long")

    spec, usage = settings.key_spec, settings.key_usage
    if usage not in specs.USAGES_BY_KEY_SPEC[spec]:
        out.add("keyUsage", usage, f"one of {list(specs.USAGES_BY_KEY_SPEC[spec])} for {spec}")
    if spec in specs.CHINA_ONLY_KEY_SPECS and context.partition != "aws-cn":
        out.add("keySpec", spec, "SM2 only in the China Regions (cn-north-1, cn-northwest-1)")

    # Origin and custom key stores
    store_id, store_name = settings.custom_key_store_id, settings.custom_key_store
    if store_id is not None and store_name is not None:
        out.add("customKeyStore", store_name, "customKeyStore or customKeyStoreId, not both")
    store_type = None
    if store_name is not None:
        store_type = context.custom_key_stores.get(store_name)
        if store_type is None:
            known = sorted(context.custom_key_stores) or ["(none declared)"]
            out.add("customKeyStore", store_name, f"a store of customKeyStores: {known}")
    origin = settings.origin or store_type or (
        specs.ORIGIN_EXTERNAL_KEY_STORE if settings.xks_key_id
        else specs.ORIGIN_AWS_CLOUDHSM if store_id is not None
        else specs.ORIGIN_AWS_KMS
    )
    in_store = store_id is not None or store_name is not None
    if in_store:
        if isinstance(store_id, str) and not CUSTOM_KEY_STORE_PATTERN.fullmatch(store_id):
            out.add("customKeyStoreId", store_id, "an id like cks-1a2b3c4d5e6f7g8h9")
        if origin not in specs.CUSTOM_KEY_STORE_ORIGINS and not (store_name and not store_type):
            out.add("origin", origin, "AWS_CLOUDHSM or EXTERNAL_KEY_STORE in a custom key store")
        elif store_type is not None and origin != store_type:  # unknown stores said above
            out.add("origin", origin, f"{store_type}, the type of key store {store_name!r}")
        if spec != specs.SYMMETRIC_DEFAULT or usage != specs.ENCRYPT_DECRYPT:
            out.add("keySpec", spec, "SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT in a custom key store")
        if settings.multi_region:
            out.add("multiRegion", True, "false: keys in a custom key store are single-Region")
    elif origin in specs.CUSTOM_KEY_STORE_ORIGINS:
        out.add("customKeyStoreId", MISSING, f"the id of the key store that holds an {origin} key")
    if origin == specs.ORIGIN_EXTERNAL_KEY_STORE and not settings.xks_key_id:
        out.add("xksKeyId", MISSING, "the external key's id for an EXTERNAL_KEY_STORE key")
    if settings.xks_key_id and origin != specs.ORIGIN_EXTERNAL_KEY_STORE:
        out.add("xksKeyId", settings.xks_key_id, "only with origin EXTERNAL_KEY_STORE")

    has_material = settings.key_material_config_key or settings.key_material is not None
    if origin == specs.ORIGIN_EXTERNAL:
        if spec not in specs.EXTERNAL_ORIGIN_KEY_SPECS:
            out.add("keySpec", spec, f"one of {sorted(specs.EXTERNAL_ORIGIN_KEY_SPECS)}")
        if not has_material:
            out.add("keyMaterialConfigKey", MISSING, "the secret config key with the material")
        if settings.replica_regions:
            out.add("replicaRegions", settings.replica_regions, "none for imported material")
    else:
        if has_material:
            out.add("keyMaterialConfigKey", settings.key_material_config_key or "[secret]",
                    "key material only with origin EXTERNAL")
        if settings.valid_to:
            out.add("validTo", settings.valid_to, "an expiry only with origin EXTERNAL")
    if settings.valid_to:
        expiry = None
        if RFC3339_PATTERN.fullmatch(settings.valid_to):
            try:
                expiry = datetime.fromisoformat(settings.valid_to.replace("Z", "+00:00"))
            except ValueError:
                expiry = None
        if expiry is None:
            out.add("validTo", settings.valid_to,
                    "an RFC 3339 time with its offset, like 2027-12-31T00:00:00Z")
        elif expiry <= datetime.now(UTC):
            out.add("validTo", settings.valid_to, "a time in the future (KMS refuses a past one)")
    if settings.key_material_config_key is not None and not CONFIG_KEY_PATTERN.fullmatch(
        settings.key_material_config_key
    ):
        out.add("keyMaterialConfigKey", settings.key_material_config_key,
                "the bare name of a secret config value in this project, e.g. dataKeyMaterial")

    # Rotation (C3, C4)
    can_rotate = specs.rotation_supported(key_spec=spec, origin=origin)
    rotation = settings.enable_key_rotation
    if rotation is None:
        rotation = can_rotate
    elif rotation and not can_rotate:
        out.add(
            "enableKeyRotation",
            True,
            f"false for a {spec} key with {origin} material: KMS rotates only symmetric keys "
            "with KMS-generated material",
        )
    period = settings.rotation_period_in_days
    if period is not None and not rotation:
        out.add("rotationPeriodInDays", period, "no period when rotation is off")
    _check_range(
        out, "rotationPeriodInDays", period,
        specs.ROTATION_PERIOD_MIN_DAYS, specs.ROTATION_PERIOD_MAX_DAYS, "days",
    )
    if rotation and period is None:
        period = specs.ROTATION_PERIOD_DEFAULT_DAYS

    # Deletion window (C6)
    window = settings.deletion_window_in_days
    _check_range(
        out, "deletionWindowInDays", window,
        specs.DELETION_WINDOW_MIN_DAYS, specs.DELETION_WINDOW_MAX_DAYS, "days",
    )
    window = specs.DELETION_WINDOW_DEFAULT_DAYS if window is None else window

    description = settings.description or f"{name} key ({context.environment})"
    if len(description) > specs.DESCRIPTION_MAX_CHARS:
        out.add("description", description, f"at most {specs.DESCRIPTION_MAX_CHARS} characters")

    # Aliases (C5)
    aliases = settings.aliases
    if aliases is None:
        aliases = [f"alias/{context.environment}/{name}"]
        if not KEY_NAME_PATTERN.fullmatch(name):
            aliases = []  # the name itself was reported; its alias would only repeat that
    for index, alias in enumerate(aliases):
        reason = check_alias(alias)
        if reason:
            out.add(f"aliases[{index}]", alias, reason)
    if len(set(aliases)) != len(aliases):
        out.add("aliases", aliases, "each alias once")

    # Multi-Region
    replicas = list(settings.replica_regions)
    if replicas and not settings.multi_region:
        out.add("replicaRegions", replicas, "replicas only with multiRegion: true")
    for index, region in enumerate(replicas):
        where = f"replicaRegions[{index}]"
        if region not in specs.AWS_REGIONS:
            out.add(where, region, "an AWS region name such as eu-west-1 (pulumi-aws's list)")
        elif region == context.region:
            out.add(where, region, f"a region other than the primary's ({context.region})")
        elif partition_for_region(region) != context.partition:
            out.add(where, region, f"a region in the primary's partition ({context.partition})")
    if len(set(replicas)) != len(replicas):
        out.add("replicaRegions", replicas, "each region once")

    # Principals (C2)
    external = list(settings.allowed_external_accounts)
    for index, account in enumerate(external):
        if not ACCOUNT_PATTERN.fullmatch(account) or account == context.account_id:
            out.add(
                f"allowedExternalAccounts[{index}]", account,
                "12-digit ids of accounts other than this environment's",
            )
    for index, organization in enumerate(settings.allowed_organization_ids):
        if not ORGANIZATION_PATTERN.fullmatch(organization):
            out.add(f"allowedOrganizationIds[{index}]", organization,
                    "an AWS Organizations id like o-a1b2c3d4e5")
    principal_args: dict[str, Any] = {
        "account_id": context.account_id, "external_accounts": external,
        "partition": context.partition,
    }
    administrators = _principals(out, "administrators", settings.administrators, **principal_args)
    users = _principals(out, "users", settings.users, **principal_args)

    # AWS services that encrypt on a customer's behalf (S3, EBS, RDS, Secrets Manager, Logs,
    # ...) work only with symmetric encryption keys.
    symmetric = spec == specs.SYMMETRIC_DEFAULT and usage == specs.ENCRYPT_DECRYPT
    if not symmetric and settings.services:
        out.add("services", [access.service for access in settings.services],
                "none: AWS services use only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys")
    if not symmetric and settings.service_principals:
        out.add("servicePrincipals", [access.service for access in settings.service_principals],
                "none: AWS services use only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys")

    use_actions = specs.use_actions(key_spec=spec, key_usage=usage) if not out.issues else ()
    allowed_service_actions = set(use_actions) | set(specs.GRANT_ACTIONS)
    services = []
    for index, access in enumerate(settings.services):
        where = f"services[{index}]"
        if not SERVICE_NAME_PATTERN.fullmatch(access.service):
            out.add(f"{where}.service", access.service, "a service name such as s3 or rds")
        actions = tuple(sorted(set(access.actions or use_actions)))
        for action in actions:
            if action not in allowed_service_actions:
                out.add(f"{where}.actions", action, f"some of {sorted(allowed_service_actions)}")
        principals = None
        if access.principals is not None and not access.principals:
            out.add(f"{where}.principals", [],
                    "at least one principal, or no `principals` for any principal of the account")
        for position, value in enumerate(access.principals or []):
            if _is_output(value):
                out.add(f"{where}.principals[{position}]", "an Output",
                        "a plain ARN: principals under services are checked before deploying")
        if access.principals is not None:
            principals = _principals(
                out, f"{where}.principals", access.principals, **principal_args
            )
        services.append(
            ServicePlan(
                service=access.service,
                via_service=f"{access.service}.{context.region}.amazonaws.com",
                principals=principals,
                actions=actions,
            )
        )
    service_principals = []
    for index, principal_access in enumerate(settings.service_principals):
        where = f"servicePrincipals[{index}]"
        try:
            validate_service_principal(principal_access.service)
        except PrincipalError as problem:
            out.add(f"{where}.service", principal_access.service, str(problem))
        default_actions = set(use_actions)
        if principal_access.encryption_context:
            default_actions &= specs.ENCRYPTION_CONTEXT_ACTIONS
        actions = tuple(sorted(set(principal_access.actions or default_actions)))
        for action in actions:
            if action not in allowed_service_actions:
                out.add(f"{where}.actions", action, f"some of {sorted(allowed_service_actions)}")
        source_arn = principal_access.source_arn
        arn_parts = (source_arn or "").split(":")
        if source_arn and (len(arn_parts) < 6 or arn_parts[0] != "arn"
                           or arn_parts[4] != context.account_id):
            out.add(f"{where}.sourceArn", source_arn,
                    f"the ARN of a resource of this account ({context.account_id})")
        service_principals.append(
            ServicePrincipalPlan(
                service=principal_access.service,
                actions=actions,
                source_arn=principal_access.source_arn,
                encryption_context=tuple(
                    sorted((principal_access.encryption_context or {}).items())
                ),
            )
        )

    generated_sids: dict[str, str] = {}
    for index, access in enumerate(settings.services):
        sid = naming.via_service_sid(access.service)
        other = generated_sids.setdefault(sid, f"services[{index}]")
        if other != f"services[{index}]":
            out.add(f"services[{index}].service", access.service,
                    f"a service not already listed at {other} (both would be {sid})")
    for index, principal_access in enumerate(settings.service_principals):
        sid = naming.service_principal_sid(principal_access.service)
        other = generated_sids.setdefault(sid, f"servicePrincipals[{index}]")
        if other != f"servicePrincipals[{index}]":
            out.add(f"servicePrincipals[{index}].service", principal_access.service,
                    f"a service principal not already covered by {other} (both would be "
                    f"{sid}); list its actions once")

    sids: set[str] = set(generated_sids)
    for index, statement in enumerate(settings.extra_statements):
        _check_statement(out, f"extraStatements[{index}]", statement, **principal_args)
        extra_sid = statement.get("Sid")
        if isinstance(extra_sid, str):
            if extra_sid in sids or extra_sid in naming.FIXED_SIDS:
                out.add(f"extraStatements[{index}].Sid", extra_sid,
                        "a Sid not used by another statement")
            sids.add(extra_sid)

    grants = [
        _check_grant(
            out, f"grants[{index}]", grant, key_spec=spec, key_usage=usage, **principal_args
        )
        for index, grant in enumerate(settings.grants)
    ]
    grant_names = [grant.name for grant in settings.grants]
    if len(set(grant_names)) != len(grant_names):
        out.add("grants", grant_names, "each grant name once")

    tags = {**context.tags, **settings.tags}
    check_tags(out, "tags", settings.tags)
    if len(tags) > specs.TAGS_MAX_PER_KEY and len(settings.tags) <= specs.TAGS_MAX_PER_KEY:
        out.add("tags", f"{len(tags)} tags with the stack's",
                f"at most {specs.TAGS_MAX_PER_KEY} tags per key, stack tags included")

    if settings.bypass_policy_lockout_safety_check:
        out.notes.append(
            "bypassPolicyLockoutSafetyCheck is ON: KMS will accept a policy that locks out "
            "every administrator; recovery then needs AWS Support"
        )

    protect = context.protect_default if settings.protect is None else settings.protect
    if settings.deletion_by_administrators_only and not settings.administrators:
        out.add("deletionByAdministratorsOnly", True, "only with at least one administrator")

    if out.issues:
        return None, out.issues
    plan = KeyPlan(
        name=name,
        description=description,
        key_spec=spec,
        key_usage=usage,
        origin=origin,
        rotation=rotation,
        rotation_period_in_days=period,
        deletion_window_in_days=window,
        protect=protect,
        deletion_by_administrators_only=(
            protect if settings.deletion_by_administrators_only is None
            else settings.deletion_by_administrators_only
        ),
        enabled=settings.enabled,
        aliases=tuple(aliases),
        allow_account_root=settings.allow_account_root,
        administrators=administrators,
        users=users,
        allow_grants_for_aws_resources=settings.allow_grants_for_aws_resources,
        services=tuple(services),
        confine_to_services=settings.confine_to_services,
        service_principals=tuple(service_principals),
        allowed_external_accounts=tuple(sorted(external)),
        allowed_organization_ids=tuple(sorted(settings.allowed_organization_ids)),
        extra_statements=tuple(settings.extra_statements),
        bypass_policy_lockout_safety_check=settings.bypass_policy_lockout_safety_check,
        multi_region=settings.multi_region,
        replica_regions=tuple(replicas),
        custom_key_store_id=settings.custom_key_store_id,
        custom_key_store=settings.custom_key_store,
        xks_key_id=settings.xks_key_id,
        key_material_config_key=settings.key_material_config_key,
        key_material=settings.key_material,
        valid_to=settings.valid_to,
        grants=tuple(grants),
        tags=tuple(sorted(tags.items())),
        account_id=context.account_id,
        region=context.region,
        partition=context.partition,
        notes=tuple(out.notes),
    )
    return plan, []


