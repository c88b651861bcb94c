"""Reads a stack's configuration the way `pulumi up` does and turns it into checked key plans.

Nothing here touches the Pulumi runtime: the program hands in a function that reads one config
value, so the same loader serves `pulumi up`, the offline preview and the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlparse

import pydantic

from . import naming, specs
from .checks import Finding, analyse_policy, check_lockout
from .errors import MISSING, ConfigIssue, KmsConfigError
from .model import DEFAULTABLE_FIELDS, CustomKeyStoreSettings, KeySettings, StackSettings
from .policy import build_policy
from .rules import (
    ACCOUNT_PATTERN,
    ENVIRONMENT_PATTERN,
    PROD_ENVIRONMENTS,
    KeyPlan,
    KeyStorePlan,
    StackContext,
    StackPlan,
    _Collector,
    _issues_from_validation,
    check_tags,
    plan_key,
)

ConfigSource = Callable[[str], "str | None"]
"""Reads one config value by its full key (`kms-keys:keys`); None when unset."""

STACK_KEYS: Final = (
    "accountId", "environment", "owner", "protectKeys", "tags", "defaults", "customKeyStores",
    "keys",
)


SECRET_PLACEHOLDER: Final = "[secret]"
"""What a config source returns for a secret: its value is never read by the loader."""

# Scalars arrive as the text the operator typed; structured values as JSON, as Pulumi stores them.
_STRUCTURED_KEYS: Final = frozenset(
    {"tags", "defaults", "keys", "protectKeys", "customKeyStores"}
)


def _read_json(source: ConfigSource, full_key: str) -> tuple[bool, Any]:
    raw = source(full_key)
    if raw is None:
        return False, None
    try:
        return True, json.loads(raw)
    except json.JSONDecodeError:
        return True, raw


def _read_setting(source: ConfigSource, project: str, name: str) -> tuple[bool, Any]:
    if name in _STRUCTURED_KEYS:
        return _read_json(source, f"{project}:{name}")
    raw = source(f"{project}:{name}")
    return raw is not None, raw


def load_stack(
    source: ConfigSource,
    *,
    project: str,
    stack: str,
    present_keys: Iterable[str] | None = None,
) -> StackPlan:
    """Read and check a whole stack's configuration; raise one error listing every issue.

    *present_keys* lists every config key the stack sets, so that a misspelt stack-level
    setting (`kms-keys:protectKey`) is refused rather than ignored.
    """
    issues: list[ConfigIssue] = []
    region = source("aws:region")
    if not region or region not in specs.AWS_REGIONS:
        issues.append(
            ConfigIssue("aws:region", region if region else MISSING,
                        "an AWS region like us-west-2 (pulumi-aws's list)")
        )

    raw: dict[str, Any] = {}
    for name in STACK_KEYS:
        present, value = _read_setting(source, project, name)
        if present and value == SECRET_PLACEHOLDER:
            issues.append(ConfigIssue(
                name, value,
                "a plain value: a secure value inside it makes the whole setting a secret, "
                "which the loader never reads; keep secrets in their own config values",
            ))
            continue
        if present:
            raw[name] = value
    try:
        settings = StackSettings.model_validate(raw)
    except pydantic.ValidationError as error:
        reported = {issue.path for issue in issues}
        issues += [issue for issue in _issues_from_validation(error, StackSettings, "")
                   if issue.path not in reported]  # a refused secret is not also "missing"
        raise _error(issues, project, stack) from None

    if not ACCOUNT_PATTERN.fullmatch(settings.account_id):
        issues.append(ConfigIssue("accountId", settings.account_id, "a 12-digit AWS account id"))
    present, allowed_accounts = _read_json(source, "aws:allowedAccountIds")
    pinned = isinstance(allowed_accounts, list) and settings.account_id in allowed_accounts
    if present and not pinned:
        issues.append(
            ConfigIssue(
                "aws:allowedAccountIds", allowed_accounts,
                f"a list that includes accountId {settings.account_id!r}",
            )
        )
    environment = settings.environment or stack
    if not ENVIRONMENT_PATTERN.fullmatch(environment):
        allowed = "lower-case letters, digits and '-', starting with a letter, up to 32 long"
        if settings.environment is None:
            allowed += (f" (it defaults to the stack name {stack!r}: set {project}:environment, "
                        "or rename the stack)")
        issues.append(ConfigIssue("environment", environment, allowed))
    for name in ("owner", "environment", "accountId"):
        scalar = source(f"{project}:{name}")
        if scalar is not None and scalar != SECRET_PLACEHOLDER and scalar[:1] in "[{":
            issues.append(ConfigIssue(name, scalar, "a single string, not a list or mapping"))
    if settings.owner is not None:
        owner_check = _Collector("")
        check_tags(owner_check, "owner", {"owner": settings.owner})
        issues += [ConfigIssue("owner", settings.owner, issue.allowed)
                   for issue in owner_check.issues]
    if not settings.keys:
        issues.append(ConfigIssue("keys", settings.keys, "at least one key"))

    stack_out = _Collector("")
    check_tags(stack_out, "tags", settings.tags)
    issues += stack_out.issues

    protect_default = (
        settings.protect_keys
        if settings.protect_keys is not None
        else environment in PROD_ENVIRONMENTS
    )
    camel_defaults = {_camel(name): name for name in DEFAULTABLE_FIELDS}
    for default_key in settings.defaults:
        if default_key not in camel_defaults:
            issues.append(
                ConfigIssue(
                    f"defaults.{default_key}", settings.defaults[default_key],
                    f"one of {sorted(camel_defaults)}",
                )
            )
    if issues:
        raise _error(issues, project, stack)

    key_stores = [
        check_key_store(name, store, environment=environment, protect_default=protect_default,
                        issues=issues)
        for name, store in sorted(settings.custom_key_stores.items())
    ]

    stack_tags = {"environment": environment, "project": project, **settings.tags}
    if settings.owner:
        stack_tags["owner"] = settings.owner
    context = StackContext(
        custom_key_stores={store.name: store.type for store in key_stores},
        project=project,
        stack=stack,
        environment=environment,
        account_id=settings.account_id,
        region=region or "",
        owner=settings.owner,
        protect_default=protect_default,
        tags=stack_tags,
    )

    plans = []
    for key_name, key_raw in sorted(settings.keys.items()):
        path = f"keys.{key_name}"
        if not isinstance(key_raw, dict):
            issues.append(ConfigIssue(path, key_raw, "a mapping of key settings"))
            continue
        merged = {**_defaults_for(key_raw, settings.defaults), **key_raw}
        if "tags" in settings.defaults and "tags" in key_raw:
            merged["tags"] = {**settings.defaults["tags"], **key_raw["tags"]}
        try:
            key_settings = KeySettings.model_validate(merged)
        except pydantic.ValidationError as error:
            found = _issues_from_validation(error, KeySettings, path)
            issues += [_blame_defaults(issue, path, key_raw, settings.defaults) for issue in found]
            continue
        plan, key_issues = plan_key(key_name, key_settings, context, path=path)
        if plan:
            plan, key_issues = check_plan(plan, path=path)
        issues += [_blame_defaults(issue, path, key_raw, settings.defaults) for issue in key_issues]
        if plan:
            plans.append(plan)

    issues += _check_alias_collisions(plans)
    issues += _check_child_names(plans, key_stores)
    secrets = _secret_references(plans, key_stores)
    for key_name, key_raw in settings.keys.items():  # keys refused above still name their secret
        material = key_raw.get("keyMaterialConfigKey") if isinstance(key_raw, dict) else None
        if isinstance(material, str):
            secrets.setdefault(material, f"keys.{key_name}.keyMaterialConfigKey")
    issues += _check_secrets(source, project, {
        name: path for name, path in secrets.items()
        if not any(issue.path.startswith(path.rsplit(".", 1)[0] + ".") for issue in issues)
    })
    if present_keys is not None:
        issues += _check_unknown_settings(present_keys, project, secrets)
    if issues:
        # A bad default is reported once, not once for every key that inherits it.
        unique = {issue.render(project): issue for issue in issues}
        raise _error(list(unique.values()), project, stack)
    return StackPlan(context=context, keys=tuple(plans), key_stores=tuple(key_stores))


def _secret_references(
    plans: Sequence[KeyPlan], stores: Sequence[KeyStorePlan]
) -> dict[str, str]:
    """Config keys named as holding secrets, each with the setting that names it."""
    found: dict[str, str] = {}
    for plan in plans:
        if plan.key_material_config_key:
            found[plan.key_material_config_key] = f"keys.{plan.name}.keyMaterialConfigKey"
    for store in stores:
        for field_name in ("key_store_password_config_key", "xks_access_key_id_config_key",
                           "xks_secret_access_key_config_key"):
            name = getattr(store.settings, field_name)
            if name:
                found[name] = f"customKeyStores.{store.name}.{_camel(field_name)}"
    return found


def _check_secrets(
    source: ConfigSource, project: str, secrets: Mapping[str, str]
) -> list[ConfigIssue]:
    """Each referenced secret must be set, and set as a secret, before anything is registered."""
    issues = []
    for name, path in sorted(secrets.items()):
        value = source(f"{project}:{name}")
        if value is None:
            issues.append(ConfigIssue(
                path, name,
                f"the name of a secret config value that is set: "
                f"pulumi config set --secret {name} <value>",
            ))
        elif value != SECRET_PLACEHOLDER:
            issues.append(ConfigIssue(
                path, name,
                f"a value stored as a secret; {project}:{name} is in plain text in the stack "
                f"file: pulumi config set --secret {name} <value>",
            ))
    return issues


def _check_unknown_settings(
    present_keys: Iterable[str], project: str, secrets: Mapping[str, str]
) -> list[ConfigIssue]:
    """A stack-level setting nobody reads is a typo, never silently ignored."""
    known = set(STACK_KEYS) | set(secrets)
    issues = []
    for full_key in sorted(present_keys):
        namespace, _, name = full_key.partition(":")
        if namespace == project and name not in known:
            issues.append(ConfigIssue(
                name, "a value",
                f"no stack setting of that name; the known ones are {', '.join(STACK_KEYS)}, "
                "and secrets named by keyMaterialConfigKey or a key store",
            ))
    return issues


# Which setting a generated statement comes from, so a policy finding points at a config path.
_SETTING_BY_SID: Final = {
    naming.SID_ACCOUNT_ROOT: "allowAccountRoot",
    naming.SID_ADMINISTRATION: "administrators",
    naming.SID_USE: "users",
    naming.SID_GRANTS_FOR_AWS_RESOURCES: "users",
    naming.SID_CONFINE_TO_SERVICES: "confineToServices",
    naming.SID_DELETION_BY_ADMINISTRATORS: "deletionByAdministratorsOnly",
}


def has_unresolved_principals(plan: KeyPlan) -> bool:
    """True when some principal is an Output, so the policy can only be checked at deploy."""
    groups = [plan.administrators, plan.users]
    groups += [service.principals or () for service in plan.services]
    return any(not isinstance(value, str) for group in groups for value in group)


def policy_regions(plan: KeyPlan) -> tuple[str, ...]:
    """The primary's region, then each replica's: each gets a policy of its own."""
    return (plan.region, *plan.replica_regions)


def check_policy_document(
    plan: KeyPlan, policy: Mapping[str, Any], *, path: str
) -> tuple[list[ConfigIssue], list[str]]:
    """Turn the static checks' findings on one document into issues (errors) and notes."""
    findings: list[Finding] = analyse_policy(
        policy,
        account_id=plan.account_id,
        partition=plan.partition,
        external_accounts=plan.allowed_external_accounts,
        organizations=plan.allowed_organization_ids,
    )
    issues, notes = [], []
    extra_index = {
        statement.get("Sid"): index for index, statement in enumerate(plan.extra_statements)
    }
    for finding in findings:
        if finding.code == "policy-lockout" and plan.bypass_policy_lockout_safety_check:
            notes.append(f"WARNING (lockout check bypassed): {finding.message}")
            continue
        if finding.severity == "warning":
            notes.append(finding.message)
            continue
        if finding.statement in extra_index:
            where = f"{path}.extraStatements[{extra_index[finding.statement]}]"
            value: object = finding.statement
        elif finding.code == "policy-lockout" and _lockout_from_extra_statements(plan, policy):
            where, value = f"{path}.extraStatements", [
                statement.get("Sid") for statement in plan.extra_statements
            ]
            finding = replace(finding, message=finding.message.replace(
                "the account root", "the extra statements deny it; the account root"))
        elif finding.code == "policy-lockout":
            where, value = f"{path}.administrators", list(plan.administrators)
        elif finding.statement in _SETTING_BY_SID:
            where = f"{path}.{_SETTING_BY_SID[finding.statement]}"
            value = finding.statement
        else:
            where, value = f"{path}.policy", finding.statement or "the generated key policy"
        issues.append(ConfigIssue(where, value, finding.message))
    return issues, notes


def _lockout_from_extra_statements(plan: KeyPlan, policy: Mapping[str, Any]) -> bool:
    """True when the policy without its extra statements keeps an administrator."""
    if not plan.extra_statements:
        return False
    without = build_policy(replace(plan, extra_statements=()), region=plan.region)
    return not check_lockout(without, account_id=plan.account_id, partition=plan.partition)


def check_plan(plan: KeyPlan, *, path: str) -> tuple[KeyPlan | None, list[ConfigIssue]]:
    """Build each region's policy from the plan and run every static check on it."""
    resolved = None
    if has_unresolved_principals(plan):
        # Check everything else now, with a stand-in role for each Output; the Outputs
        # themselves are checked when their values are known.
        resolved = {
            role: [value if isinstance(value, str)
                   else f"arn:{plan.partition}:iam::{plan.account_id}:role/output-{index}"
                   for index, value in enumerate(getattr(plan, role))]
            for role in ("administrators", "users")
        }
        plan = replace(plan, notes=(
            *plan.notes,
            "some principals are Outputs: they are checked when their values are known",
        ))
    issues: list[ConfigIssue] = []
    notes: list[str] = []
    for region in policy_regions(plan):
        found, region_notes = check_policy_document(
            plan, build_policy(plan, region=region, resolved=resolved), path=path
        )
        issues += [issue for issue in found if issue not in issues]
        notes += [note for note in region_notes if note not in notes]
    if issues:
        return None, issues
    return replace(plan, notes=(*plan.notes, *notes)), []


_CLUSTER_ID = re.compile(r"^cluster-[0-9a-zA-Z]{11,16}$")
_XKS_PATH = re.compile(r"^(/[a-zA-Z0-9/_-]+/kms/xks/v[0-9]+|/kms/xks/v[0-9]+)$")
_HSM_FIELDS: Final = ("cloud_hsm_cluster_id", "trust_anchor_certificate",
                      "key_store_password_config_key")
_XKS_FIELDS: Final = ("xks_proxy_uri_endpoint", "xks_proxy_uri_path", "xks_proxy_connectivity",
                      "xks_access_key_id_config_key", "xks_secret_access_key_config_key")


def check_key_store(
    name: str,
    store: CustomKeyStoreSettings,
    *,
    environment: str,
    protect_default: bool,
    issues: list[ConfigIssue],
) -> KeyStorePlan:
    """A custom key store needs the fields of its type, and none of the other type's."""
    path = f"customKeyStores.{name}"
    required, forbidden = (
        (_HSM_FIELDS, _XKS_FIELDS) if store.type == "AWS_CLOUDHSM" else (_XKS_FIELDS, _HSM_FIELDS)
    )
    for field_name in required:
        if getattr(store, field_name) is None:
            issues.append(ConfigIssue(f"{path}.{_camel(field_name)}", MISSING,
                                      f"a value: {store.type} stores need it"))
    for field_name in forbidden:
        value = getattr(store, field_name)
        if value is not None:
            issues.append(ConfigIssue(f"{path}.{_camel(field_name)}", value,
                                      f"nothing: this setting is not for {store.type} stores"))
    cluster = store.cloud_hsm_cluster_id
    if cluster is not None and not _CLUSTER_ID.fullmatch(cluster):
        issues.append(ConfigIssue(f"{path}.cloudHsmClusterId", cluster,
                                  "a CloudHSM cluster id like cluster-1a23b4cdefg"))
    endpoint = store.xks_proxy_uri_endpoint
    parsed = urlparse(endpoint or "")
    if endpoint is not None and (parsed.scheme != "https" or not parsed.hostname
                                 or parsed.path not in ("", "/")):
        issues.append(ConfigIssue(f"{path}.xksProxyUriEndpoint", endpoint,
                                  "https://<host>[:port], with the path in xksProxyUriPath"))
    uri_path = store.xks_proxy_uri_path
    if uri_path is not None and not _XKS_PATH.fullmatch(uri_path):
        issues.append(ConfigIssue(f"{path}.xksProxyUriPath", uri_path,
                                  "a path ending in /kms/xks/v1 (optionally after a prefix)"))
    needs_service = store.xks_proxy_connectivity == "VPC_ENDPOINT_SERVICE"
    if needs_service != (store.xks_proxy_vpc_endpoint_service_name is not None):
        issues.append(ConfigIssue(
            f"{path}.xksProxyVpcEndpointServiceName", store.xks_proxy_vpc_endpoint_service_name,
            "a VPC endpoint service name exactly when xksProxyConnectivity is "
            "VPC_ENDPOINT_SERVICE",
        ))
    store_name = store.custom_key_store_name or f"{environment}-{name}"
    if not 1 <= len(store_name) <= 256:
        issues.append(ConfigIssue(f"{path}.customKeyStoreName", store_name, "1 to 256 characters"))
    return KeyStorePlan(
        name=name,
        store_name=store_name,
        type=store.type,
        settings=store,
        protect=protect_default if store.protect is None else store.protect,
    )


def _defaults_for(key_raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The stack defaults that apply to this key: a rotation period only where it rotates."""
    applicable = dict(defaults)
    given = {name: value for name, value in key_raw.items() if value is not None}
    rotates = (
        given.get("enableKeyRotation", True) is not False
        and given.get("keySpec", specs.SYMMETRIC_DEFAULT) == specs.SYMMETRIC_DEFAULT
        and given.get("origin", specs.ORIGIN_AWS_KMS) == specs.ORIGIN_AWS_KMS
        and not {"customKeyStore", "customKeyStoreId", "xksKeyId"} & set(given)
    )
    if not rotates:
        applicable.pop("rotationPeriodInDays", None)
    return applicable


def _check_child_names(
    plans: Sequence[KeyPlan], stores: Sequence[KeyStorePlan]
) -> list[ConfigIssue]:
    """Every resource of the stack gets its own name; a clash would fail `pulumi up` midway."""
    owners: dict[str, str] = {}
    issues = []

    def claim(resource: str, path: str, value: object) -> None:
        other = owners.setdefault(resource, path)
        if other != path:
            issues.append(ConfigIssue(
                path, value,
                f"a value whose resource name {resource!r} is not already taken by {other}",
            ))

    for store in stores:
        claim(naming.key_store_resource(store.name), f"customKeyStores.{store.name}", store.name)
    for plan in plans:
        base = f"keys.{plan.name}"
        claim(naming.key_resource(plan.name), base, plan.name)
        for index, alias in enumerate(plan.aliases):
            claim(naming.alias_resource(plan.name, alias), f"{base}.aliases[{index}]", alias)
            for region in plan.replica_regions:
                claim(naming.alias_resource(plan.name, alias, region),
                      f"{base}.aliases[{index}] ({region})", alias)
        for index, region in enumerate(plan.replica_regions):
            claim(naming.replica_resource(plan.name, region),
                  f"{base}.replicaRegions[{index}]", region)
            claim(naming.provider_resource(plan.name, region),
                  f"{base}.replicaRegions[{index}] (provider)", region)
        for index, grant in enumerate(plan.grants):
            claim(naming.grant_resource(plan.name, grant.name),
                  f"{base}.grants[{index}].name", grant.name)
    return issues


def _check_alias_collisions(plans: Sequence[KeyPlan]) -> list[ConfigIssue]:
    """Two keys of one stack must never claim the same alias."""
    owners: dict[str, str] = {}
    issues = []
    for plan in plans:
        for index, alias in enumerate(plan.aliases):
            other = owners.setdefault(alias, plan.name)
            if other != plan.name:
                issues.append(
                    ConfigIssue(
                        f"keys.{plan.name}.aliases[{index}]", alias,
                        f"an alias not already used by key {other!r} of this stack",
                    )
                )
    return issues


def _blame_defaults(
    issue: ConfigIssue, path: str, key_raw: Mapping[str, Any], defaults: Mapping[str, Any]
) -> ConfigIssue:
    """Point at `defaults.<field>` when the bad value came from the stack's defaults."""
    rest = issue.path[len(path) + 1 :]
    field_name = re.split(r"[.\[]", rest, maxsplit=1)[0]
    if field_name in defaults and field_name not in key_raw:
        return ConfigIssue(f"defaults.{rest}", issue.value, issue.allowed)
    if field_name == "tags" and isinstance(defaults.get("tags"), dict):
        tag = rest.split(".", 1)[1] if "." in rest else ""
        raw_tags = key_raw.get("tags")
        own_tags: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
        if tag in defaults["tags"] and tag not in own_tags:
            return ConfigIssue(f"defaults.{rest}", issue.value, issue.allowed)
    return issue


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _error(issues: Sequence[ConfigIssue], project: str, stack: str) -> KmsConfigError:
    return KmsConfigError(issues, stack=stack, namespace=project)
