"""Guardrails: the KMS rules of the CrossGuard pack `kms-keys-guardrails`, in one place.

The same rules run in two ways. Under the Pulumi CLI, `policy/__main__.py` registers the
`ResourceValidationPolicy` objects of `build_policies()` and CrossGuard calls them for every
resource of any stack (this project's or plain `aws.kms.Key` code of another team). Offline,
`evaluate_offline_run()` runs them on what `kms-keys preview` recorded. Both paths call
`evaluate_resource()`, which calls the project's own checks (`specs`, `rules`, `checks`), so
there is one implementation of every rule.

Resource properties arrive as the provider's camelCase inputs. A value that is unknown during a
preview (an Output of a resource not created yet) makes the rules that need it skip, never fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import yaml

from . import checks, specs
from .key import COMPONENT_TYPE
from .rules import ACCOUNT_PATTERN, _Collector, check_alias, check_tags

if TYPE_CHECKING:
    from .offline import OfflineRun

PACK_NAME: Final = "kms-keys-guardrails"
EXIT_GUARDRAIL_VIOLATION: Final = 3
"""Exit code of `kms-keys preview` when a mandatory rule is broken (2 is bad config)."""

KEY: Final = "aws:kms/key:Key"
EXTERNAL_KEY: Final = "aws:kms/externalKey:ExternalKey"
REPLICA_KEY: Final = "aws:kms/replicaKey:ReplicaKey"
ALIAS: Final = "aws:kms/alias:Alias"
KEY_POLICY: Final = "aws:kms/keyPolicy:KeyPolicy"
GRANT: Final = "aws:kms/grant:Grant"
COMPONENT: Final = COMPONENT_TYPE

KEY_TYPES: Final = frozenset({KEY, EXTERNAL_KEY, REPLICA_KEY})
POLICY_TYPES: Final = frozenset({KEY, EXTERNAL_KEY, REPLICA_KEY, KEY_POLICY})
RESOURCE_TYPES: Final = frozenset({*POLICY_TYPES, ALIAS, GRANT, COMPONENT})

Level = Literal["advisory", "mandatory", "disabled"]
LEVELS: Final = ("advisory", "mandatory", "disabled")

DEFAULT_ALIAS_PATTERN: Final = r"^alias/{stack}/[A-Za-z0-9][A-Za-z0-9/_-]*$"
"""`alias/<environment>/<name>`; `{stack}` in a configured pattern stands for the stack name."""


class GuardrailConfigError(ValueError):
    """The pack's configuration is wrong; the message names the setting and what is allowed."""


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardrailConfig:
    """The organisation's limits, and the enforcement level of each rule.

    The fields are the defaults of every rule; `rule_properties` holds what the pack config
    sets for one rule only (CrossGuard config is per policy), applied by `for_rule`.
    """

    max_rotation_period_days: int = 365
    min_deletion_window_days: int = specs.DELETION_WINDOW_MIN_DAYS
    prod_min_deletion_window_days: int = specs.DELETION_WINDOW_MAX_DAYS
    required_tags: tuple[str, ...] = ("environment", "owner", "project")
    alias_pattern: str = DEFAULT_ALIAS_PATTERN
    prod_stacks: tuple[str, ...] = ("prod", "production")
    account_id: str | None = None
    trusted_accounts: tuple[str, ...] = ()
    levels: Mapping[str, str] = field(default_factory=dict)
    rule_properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def level(self, rule: str) -> Level:
        """The rule's enforcement level: the configured one, else the rule's default."""
        configured = self.levels.get(rule, self.levels.get("all"))
        if configured is None:
            return RULES_BY_NAME[rule].default_level
        return _level(configured, f"{rule}.enforcementLevel")

    def for_rule(self, rule: str) -> GuardrailConfig:
        """This config with the properties the pack config sets for *rule* applied."""
        return self.with_properties(self.rule_properties.get(rule, {}), where=rule)

    def with_properties(self, properties: Mapping[str, Any], *, where: str = "") -> GuardrailConfig:
        """Apply camelCase pack-config properties (`maxRotationPeriodInDays: 180`)."""
        changes: dict[str, Any] = {}
        for name, value in properties.items():
            if name == "enforcementLevel":
                continue
            setting = _SETTINGS.get(name)
            if setting is None:
                known = ", ".join(sorted(_SETTINGS))
                raise GuardrailConfigError(
                    f"{_where(where, name)}: no setting of that name; known settings: {known}"
                )
            changes[setting.field] = setting.parse(value, _where(where, name))
        return replace(self, **changes) if changes else self


def _where(rule: str, name: str) -> str:
    return f"{rule}.{name}" if rule else name


@dataclass(frozen=True)
class _Setting:
    field: str
    schema: Mapping[str, Any]
    parse: Callable[[Any, str], Any]


def _days(low: int, high: int) -> Callable[[Any, str], int]:
    def parse(value: Any, where: str) -> int:
        number = _number(value)
        if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
            raise GuardrailConfigError(
                f"{where}: got {value!r}; allowed: a whole number of days from {low} to {high}"
            )
        return number

    return parse


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item for item in value
    ):
        raise GuardrailConfigError(f"{where}: got {value!r}; allowed: a list of names")
    return tuple(value)


def _accounts(value: Any, where: str) -> tuple[str, ...]:
    names = _names(value, where)
    for account in names:
        if not ACCOUNT_PATTERN.fullmatch(account):
            raise GuardrailConfigError(f"{where}: got {account!r}; allowed: 12-digit account ids")
    return names


def _account(value: Any, where: str) -> str:
    if not isinstance(value, str) or not ACCOUNT_PATTERN.fullmatch(value):
        raise GuardrailConfigError(f"{where}: got {value!r}; allowed: a 12-digit account id")
    return value


def _pattern(value: Any, where: str) -> str:
    try:
        if not isinstance(value, str):
            raise TypeError
        re.compile(value.replace("{stack}", "stack"))
    except (TypeError, re.error) as problem:
        raise GuardrailConfigError(
            f"{where}: got {value!r}; allowed: a Python regular expression ({problem})"
        ) from None
    return value


_ROTATION_DAYS = (specs.ROTATION_PERIOD_MIN_DAYS, specs.ROTATION_PERIOD_MAX_DAYS)
_DELETION_DAYS = (specs.DELETION_WINDOW_MIN_DAYS, specs.DELETION_WINDOW_MAX_DAYS)
_SETTINGS: Final[dict[str, _Setting]] = {
    "maxRotationPeriodInDays": _Setting(
        "max_rotation_period_days",
        {"type": "integer", "minimum": _ROTATION_DAYS[0], "maximum": _ROTATION_DAYS[1],
         "default": 365, "description": "Longest rotation period the organisation allows."},
        _days(*_ROTATION_DAYS),
    ),
    "minDeletionWindowInDays": _Setting(
        "min_deletion_window_days",
        {"type": "integer", "minimum": _DELETION_DAYS[0], "maximum": _DELETION_DAYS[1],
         "default": specs.DELETION_WINDOW_MIN_DAYS,
         "description": "Shortest deletion window of a key outside the prod stacks."},
        _days(*_DELETION_DAYS),
    ),
    "prodMinDeletionWindowInDays": _Setting(
        "prod_min_deletion_window_days",
        {"type": "integer", "minimum": _DELETION_DAYS[0], "maximum": _DELETION_DAYS[1],
         "default": specs.DELETION_WINDOW_MAX_DAYS,
         "description": "Shortest deletion window of a key in a prod stack."},
        _days(*_DELETION_DAYS),
    ),
    "requiredTags": _Setting(
        "required_tags",
        {"type": "array", "items": {"type": "string"},
         "default": ["environment", "owner", "project"],
         "description": "Tag keys every key must carry, each with a non-empty value."},
        _names,
    ),
    "aliasPattern": _Setting(
        "alias_pattern",
        {"type": "string", "default": DEFAULT_ALIAS_PATTERN,
         "description": "Regular expression alias names must match; {stack} is the stack name."},
        _pattern,
    ),
    "prodStacks": _Setting(
        "prod_stacks",
        {"type": "array", "items": {"type": "string"}, "default": ["prod", "production"],
         "description": "Stack names (or environment tag values) that count as production."},
        _names,
    ),
    "accountId": _Setting(
        "account_id",
        {"type": "string", "pattern": r"^[0-9]{12}$",
         "description": "The keys' AWS account. Default: from the resource's ARN, else the "
                        "one account-root principal of the key policy."},
        _account,
    ),
    "trustedAccounts": _Setting(
        "trusted_accounts",
        {"type": "array", "items": {"type": "string", "pattern": r"^[0-9]{12}$"}, "default": [],
         "description": "Further accounts a wildcard principal may be limited to."},
        _accounts,
    ),
}


def _level(value: Any, where: str) -> Level:
    if isinstance(value, str) and value in LEVELS:
        return value  # type: ignore[return-value]
    if value == "remediate":  # no rule remediates; CrossGuard then reports it as mandatory
        return "mandatory"
    raise GuardrailConfigError(
        f"{where}: got {value!r}; allowed: one of advisory, mandatory, disabled"
    )


def parse_pack_config(document: Mapping[str, Any]) -> GuardrailConfig:
    """Read a pack config in the `--policy-pack-config` format into a `GuardrailConfig`.

    Keys are rule names (or `all`); a value is an enforcement level, or a mapping with an
    optional `enforcementLevel` and the rule's settings.
    """
    if not isinstance(document, Mapping):
        raise GuardrailConfigError("the pack config must be a mapping of rule names to settings")
    levels: dict[str, str] = {}
    properties: dict[str, dict[str, Any]] = {}
    for rule, value in document.items():
        if rule != "all" and rule not in RULES_BY_NAME:
            known = ", ".join(["all", *RULES_BY_NAME])
            raise GuardrailConfigError(f"{rule}: no rule of that name; rules: {known}")
        if isinstance(value, str):
            levels[rule] = _level(value, f"{rule}")
            continue
        if not isinstance(value, Mapping):
            raise GuardrailConfigError(
                f"{rule}: got {value!r}; allowed: an enforcement level or a mapping of settings"
            )
        if "enforcementLevel" in value:
            levels[rule] = _level(value["enforcementLevel"], f"{rule}.enforcementLevel")
        settings = {name: item for name, item in value.items() if name != "enforcementLevel"}
        if settings and rule == "all":
            raise GuardrailConfigError("all: only enforcementLevel can be set for all rules")
        if settings:
            allowed = RULES_BY_NAME[rule].settings
            for name in settings:
                if name not in allowed:
                    raise GuardrailConfigError(
                        f"{rule}.{name}: not a setting of this rule; its settings: "
                        f"{', '.join(allowed) or 'none'}"
                    )
            properties[rule] = settings
    config = GuardrailConfig(levels=levels, rule_properties=properties)
    for rule in properties:
        config.for_rule(rule)  # raises on a bad value, before any resource is checked
    return config


def load_pack_config(path: str | Path) -> GuardrailConfig:
    """Read the JSON (or YAML) file given to `pulumi preview --policy-pack-config`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as error:
        raise GuardrailConfigError(f"cannot read pack config {str(path)!r}: {error}") from None
    try:
        return parse_pack_config(document)
    except GuardrailConfigError as error:
        raise GuardrailConfigError(f"pack config {str(path)!r}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Resources as the rules see them
# ---------------------------------------------------------------------------------------------


class _Unknown:
    """A value Pulumi does not know yet during a preview."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Final = _Unknown()


def _unknown_sentinels() -> frozenset[str]:
    from pulumi.runtime import rpc

    found = {rpc.UNKNOWN}
    try:
        from pulumi_policy import proxy
    except ImportError:  # the offline preview does not need pulumi-policy installed
        return frozenset(found)
    names = [name for name in dir(proxy) if name.startswith("UNKNOWN_")]
    found.update(getattr(proxy, name) for name in names)
    return frozenset(found)


_SENTINELS: Final = _unknown_sentinels()


def _unknown_errors() -> tuple[type[Exception], ...]:
    try:
        from pulumi_policy.proxy import UnknownValueError
    except ImportError:
        return ()
    return (UnknownValueError,)


_UNKNOWN_ERRORS: Final = _unknown_errors()


def plain_props(value: Any) -> Any:
    """Plain dicts and lists, whole-number floats as ints, unknown values as `UNKNOWN`.

    Works on CrossGuard's proxies, whose item access raises for an unknown value.
    """
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                item = value[key]
            except _UNKNOWN_ERRORS:
                result[key] = UNKNOWN
                continue
            result[key] = plain_props(item)
        return result
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain_props(value[index]))
            except _UNKNOWN_ERRORS:
                items.append(UNKNOWN)
        return items
    return value


def _has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_unknown(item) for item in value)
    return False


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass(frozen=True)
class Resource:
    """One resource: its type, name, camelCase inputs and protect option, and its stack."""

    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool
    stack: str
    urn: str | None = None
    default_tags: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.props.get(key, default)
        return default if value is None else _number(value)

    @property
    def is_component(self) -> bool:
        return self.type == COMPONENT


def stack_from_urn(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::...` gives the stack name."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def _is_prod(resource: Resource, config: GuardrailConfig) -> bool:
    tags = resource.get("tags", {})
    environment = tags.get("environment") if isinstance(tags, Mapping) else None
    return resource.stack in config.prod_stacks or environment in config.prod_stacks


# ---------------------------------------------------------------------------------------------
# The rules. Each returns the messages of its violations; an empty list is a pass.
# ---------------------------------------------------------------------------------------------


def _key_kind(resource: Resource) -> tuple[str, str] | None:
    """(key spec, origin) of a key or component; None when not known."""
    if resource.is_component:
        spec, origin = resource.get("keySpec"), resource.get("origin")
        if spec is None or origin is None:
            return None
    else:
        spec = resource.get("customerMasterKeySpec", resource.get("keySpec"))
        spec = specs.SYMMETRIC_DEFAULT if spec is None else spec
        store, xks = resource.get("customKeyStoreId"), resource.get("xksKeyId")
        if UNKNOWN in (store, xks):
            return None
        if store:
            origin = specs.ORIGIN_EXTERNAL_KEY_STORE if xks else specs.ORIGIN_AWS_CLOUDHSM
        else:
            origin = specs.ORIGIN_AWS_KMS
    if UNKNOWN in (spec, origin):
        return None
    return str(spec), str(origin)


def _rotation(resource: Resource) -> bool | None:
    """Whether rotation is on; None when unknown (a component without its settings)."""
    if resource.is_component and "enableKeyRotation" not in resource.props:
        return None
    value = resource.get("enableKeyRotation", False)
    return None if value is UNKNOWN else bool(value)


def rule_rotation_enabled(resource: Resource, config: GuardrailConfig) -> list[str]:
    kind, rotation = _key_kind(resource), _rotation(resource)
    if kind is None or rotation is None or rotation:
        return []
    spec, origin = kind
    if not specs.rotation_supported(key_spec=spec, origin=origin):
        return []
    return [
        f"automatic key rotation is off for a {spec} key with {origin} material, which KMS can "
        "rotate; set enableKeyRotation: true"
    ]


def rule_rotation_period(resource: Resource, config: GuardrailConfig) -> list[str]:
    if not _rotation(resource):
        return []
    period = resource.get("rotationPeriodInDays")
    if period is UNKNOWN or (period is None and resource.is_component):
        return []
    shown = f"{period} days" if period is not None else (
        f"{specs.ROTATION_PERIOD_DEFAULT_DAYS} days (the KMS default)"
    )
    period = specs.ROTATION_PERIOD_DEFAULT_DAYS if period is None else period
    maximum = config.max_rotation_period_days
    if not isinstance(period, int) or period <= maximum:
        return []
    return [
        f"the key rotates every {shown}, longer than the organisation maximum of {maximum} "
        f"days; set rotationPeriodInDays to {maximum} or less"
    ]


def rule_deletion_window(resource: Resource, config: GuardrailConfig) -> list[str]:
    window = resource.get("deletionWindowInDays")
    if window is UNKNOWN or (window is None and resource.is_component):
        return []
    window = specs.DELETION_WINDOW_DEFAULT_DAYS if window is None else window
    prod = _is_prod(resource, config)
    minimum = config.prod_min_deletion_window_days if prod else config.min_deletion_window_days
    if not isinstance(window, int) or window >= minimum:
        return []
    where = f"a prod stack ({resource.stack})" if prod else f"stack {resource.stack}"
    return [
        f"deletion window of {window} days is shorter than the minimum of {minimum} days for "
        f"{where}; set deletionWindowInDays to at least {minimum}"
    ]


def rule_no_lockout_bypass(resource: Resource, config: GuardrailConfig) -> list[str]:
    if resource.get("bypassPolicyLockoutSafetyCheck") is not True:
        return []
    return [
        "bypassPolicyLockoutSafetyCheck is true: KMS would accept a policy that locks every "
        "administrator out, and only AWS Support could recover the key; remove it"
    ]


def _policy_document(resource: Resource) -> Mapping[str, Any] | None:
    """The key policy as a document; None when absent (the AWS default), unknown or invalid."""
    policy = resource.get("policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            return None
    if not isinstance(policy, Mapping) or _has_unknown(policy):
        return None
    return policy


_ARN_ACCOUNT = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):[a-z0-9-]+:[a-z0-9-]*:(?P<account>[0-9]{12}):"
)
_ROOT = re.compile(
    r"^(?:arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):root|(?P<id>[0-9]{12}))$"
)


def _roots(policy: Mapping[str, Any]) -> dict[str, str]:
    """Account -> partition of every account-root principal an Allow statement names."""
    found: dict[str, str] = {}
    for statement in checks._statements(policy):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        for principal in checks._aws_principals(statement):
            match = _ROOT.fullmatch(principal)
            if match:
                account = match["account"] or match["id"]
                found.setdefault(account, match["partition"] or "aws")
    return found


def policy_account(
    resource: Resource, policy: Mapping[str, Any], config: GuardrailConfig
) -> tuple[str | None, str]:
    """The key's account and partition, for the checks that need them.

    In order: the pack config's `accountId`; the account of an ARN among the inputs
    (`primaryKeyArn` of a replica, `keyId` of a key policy given as an ARN); the one account
    whose root the policy names. None when none of these tells.
    """
    roots = _roots(policy)
    if config.account_id:
        return config.account_id, roots.get(config.account_id, "aws")
    for name in ("arn", "primaryKeyArn", "keyId"):
        value = resource.get(name)
        match = _ARN_ACCOUNT.match(value) if isinstance(value, str) else None
        if match:
            return match["account"], match["partition"]
    if len(roots) == 1:
        ((account, partition),) = roots.items()
        return account, partition
    return None, "aws"


def _finding_messages(findings: Iterable[checks.Finding]) -> list[str]:
    return [
        f"statement {finding.statement}: {finding.message}" if finding.statement
        else finding.message
        for finding in findings
    ]


def rule_wildcard_principal(resource: Resource, config: GuardrailConfig) -> list[str]:
    policy = _policy_document(resource)
    if policy is None:
        return []
    account, _partition = policy_account(resource, policy, config)
    allowed = [*([account] if account else []), *config.trusted_accounts]
    messages = _finding_messages(checks.check_wildcard_principals(policy, allowed_accounts=allowed))
    if messages and account is None:
        messages = [f"{text} (the key's account is not known: set accountId in the pack config)"
                    for text in messages]
    return messages


def rule_no_session_principals(resource: Resource, config: GuardrailConfig) -> list[str]:
    if resource.type == GRANT:
        statements = []
        for name in ("granteePrincipal", "retiringPrincipal"):
            value = resource.get(name)
            if isinstance(value, str):
                statements.append({"Sid": name, "Effect": "Allow", "Principal": {"AWS": value}})
        return _finding_messages(checks.check_no_session_principals({"Statement": statements}))
    policy = _policy_document(resource)
    if policy is None:
        return []
    return _finding_messages(checks.check_no_session_principals(policy))


_FULL_ACCESS_ACTIONS: Final = frozenset({"*", "kms:*"})


def check_full_access_only_root(
    policy: Mapping[str, Any], *, account_id: str | None
) -> list[checks.Finding]:
    """`kms:*` (or `*`, or an Allow with NotAction) only for the key account's root.

    Without a known account, the root of any account passes.
    """
    findings = []
    for index, statement in enumerate(checks._statements(policy)):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        actions = [str(action).lower() for action in checks._as_list(statement.get("Action", []))]
        if "NotAction" not in statement and not _FULL_ACCESS_ACTIONS.intersection(actions):
            continue
        offenders = []
        principal = statement.get("Principal")
        if principal is None and "NotPrincipal" not in statement:
            continue  # not a valid key policy statement; KMS refuses it anyway
        if "NotPrincipal" in statement or principal == "*":
            offenders.append("*")
        elif isinstance(principal, Mapping):
            for kind, values in principal.items():
                for value in checks._as_list(values):
                    match = _ROOT.fullmatch(str(value)) if kind == "AWS" else None
                    account = (match["account"] or match["id"]) if match else None
                    if account is None or (account_id and account != account_id):
                        offenders.append(str(value))
        else:
            offenders.append(str(principal))
        if offenders:
            what = "all actions (NotAction)" if "NotAction" in statement else "kms:*"
            root = f"the account root of {account_id}" if account_id else "an account root"
            findings.append(
                checks.Finding(
                    "error", "full-access-not-root", checks._sid(statement, index),
                    f"grants {what} to {', '.join(offenders)}; only {root} may have every "
                    "action: give other principals the actions their role needs",
                )
            )
    return findings


def rule_full_access_only_root(resource: Resource, config: GuardrailConfig) -> list[str]:
    policy = _policy_document(resource)
    if policy is None:
        return []
    account, _partition = policy_account(resource, policy, config)
    return _finding_messages(check_full_access_only_root(policy, account_id=account))


def rule_policy_manageable(resource: Resource, config: GuardrailConfig) -> list[str]:
    policy = _policy_document(resource)
    if policy is None:
        return []
    account, partition = policy_account(resource, policy, config)
    if account is None:
        return []
    return _finding_messages(checks.check_lockout(policy, account_id=account, partition=partition))


def _alias_pattern(config: GuardrailConfig, stack: str) -> re.Pattern[str]:
    return re.compile(config.alias_pattern.replace("{stack}", re.escape(stack)))


def rule_alias_naming(resource: Resource, config: GuardrailConfig) -> list[str]:
    if resource.is_component:
        names = resource.get("aliases")
        if not isinstance(names, list):
            return []
    else:
        names = [resource.get("name")]
    pattern = _alias_pattern(config, resource.stack)
    messages = []
    for name in names:
        if not isinstance(name, str):
            continue
        reason = check_alias(name)
        if reason:
            messages.append(f"alias {name!r} breaks the KMS alias rules; allowed: {reason}")
        elif not pattern.search(name):
            messages.append(
                f"alias {name!r} does not follow the naming convention {pattern.pattern} "
                "(alias/<environment>/<name>)"
            )
    return messages


def rule_required_tags(resource: Resource, config: GuardrailConfig) -> list[str]:
    tags = resource.get("tags")
    if tags is UNKNOWN or (tags is None and resource.is_component):
        return []
    defaults = resource.default_tags if isinstance(resource.default_tags, Mapping) else {}
    merged = {**defaults, **(tags if isinstance(tags, Mapping) else {})}
    missing = [
        name for name in config.required_tags
        if merged.get(name) is None or (isinstance(merged[name], str) and not merged[name].strip())
    ]
    messages = []
    if missing:
        messages.append(
            f"missing required tag(s) {', '.join(missing)}; every key carries "
            f"{', '.join(config.required_tags)} with a non-empty value"
        )
    known = {key: value for key, value in merged.items()
             if isinstance(key, str) and isinstance(value, str)}
    out = _Collector("")
    check_tags(out, "tags", known)
    messages += [issue.render("") for issue in out.issues]
    return messages


def rule_prod_protected(resource: Resource, config: GuardrailConfig) -> list[str]:
    if not _is_prod(resource, config):
        return []
    protect = resource.get("protect") if resource.is_component else resource.protect
    if protect is None or protect is UNKNOWN or protect:
        return []
    return [
        f"a key of prod stack {resource.stack!r} must be protected (pulumi protect), so "
        "`pulumi destroy` or a replacement cannot schedule its deletion; set protect=True "
        "(kms-keys: protectKeys: true)"
    ]


@dataclass(frozen=True)
class Rule:
    """One guardrail: what it checks, on which resource types, and how strictly by default."""

    name: str
    description: str
    resource_types: frozenset[str]
    default_level: Level
    check: Callable[[Resource, GuardrailConfig], list[str]]
    settings: tuple[str, ...] = ()

    @property
    def config_schema(self) -> dict[str, dict[str, Any]]:
        return {name: dict(_SETTINGS[name].schema) for name in self.settings}


_ROTATING: Final = frozenset({KEY, COMPONENT})
_KEYS: Final = frozenset({*KEY_TYPES, COMPONENT})

RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "kms-key-rotation-enabled",
        "Automatic rotation is on for every key KMS can rotate (symmetric, KMS material).",
        _ROTATING, "mandatory", rule_rotation_enabled,
    ),
    Rule(
        "kms-key-rotation-period",
        "A key's rotation period is within the organisation maximum.",
        _ROTATING, "mandatory", rule_rotation_period, ("maxRotationPeriodInDays",),
    ),
    Rule(
        "kms-key-deletion-window",
        "A key's deletion window is at least the configured minimum (higher in prod).",
        _KEYS, "mandatory", rule_deletion_window,
        ("minDeletionWindowInDays", "prodMinDeletionWindowInDays", "prodStacks"),
    ),
    Rule(
        "kms-no-lockout-bypass",
        "No key or key policy sets bypassPolicyLockoutSafetyCheck.",
        frozenset({*POLICY_TYPES, COMPONENT}), "mandatory", rule_no_lockout_bypass,
    ),
    Rule(
        "kms-policy-no-unlimited-wildcard-principal",
        "A wildcard principal in a key policy is limited to the key's account by a condition.",
        POLICY_TYPES, "mandatory", rule_wildcard_principal, ("accountId", "trustedAccounts"),
    ),
    Rule(
        "kms-policy-no-sts-session-principals",
        "No key policy or grant names an STS session, which ends with the session.",
        frozenset({*POLICY_TYPES, GRANT}), "mandatory", rule_no_session_principals,
    ),
    Rule(
        "kms-policy-full-access-only-root",
        "Only the account root is granted kms:* in a key policy.",
        POLICY_TYPES, "mandatory", rule_full_access_only_root, ("accountId",),
    ),
    Rule(
        "kms-policy-keeps-administrator",
        "Some lasting principal of the key's account can still change the key policy.",
        POLICY_TYPES, "mandatory", rule_policy_manageable, ("accountId",),
    ),
    Rule(
        "kms-alias-naming",
        "Alias names follow the KMS rules and the convention alias/<environment>/<name>.",
        frozenset({ALIAS, COMPONENT}), "mandatory", rule_alias_naming, ("aliasPattern",),
    ),
    Rule(
        "kms-key-required-tags",
        "Every key carries the required tags, and its tags follow the KMS tag rules.",
        _KEYS, "advisory", rule_required_tags, ("requiredTags",),
    ),
    Rule(
        "kms-prod-keys-protected",
        "Keys of a prod stack are protected, so no destroy or replacement deletes them.",
        _KEYS, "mandatory", rule_prod_protected, ("prodStacks",),
    ),
)
RULES_BY_NAME: Final[dict[str, Rule]] = {rule.name: rule for rule in RULES}


# ---------------------------------------------------------------------------------------------
# Running the rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One broken rule on one resource."""

    rule: str
    level: Literal["advisory", "mandatory"]
    resource_type: str
    resource_name: str
    urn: str | None
    message: str


def check_resource(rule: Rule, resource: Resource, config: GuardrailConfig) -> list[str]:
    """The messages of *rule* on *resource*, with that rule's settings; [] if it does not apply."""
    if resource.type not in rule.resource_types:
        return []
    return rule.check(resource, config.for_rule(rule.name))


def evaluate_resource(
    resource_type: str,
    name: str,
    props: Mapping[str, Any],
    *,
    protect: bool,
    stack: str,
    config: GuardrailConfig | None = None,
    urn: str | None = None,
    default_tags: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """Every enabled rule on one resource, at its configured enforcement level."""
    config = config or GuardrailConfig()
    resource = Resource(
        type=resource_type, name=name, props=plain_props(props), protect=bool(protect),
        stack=stack, urn=urn, default_tags=default_tags or {},
    )
    violations = []
    for rule in RULES:
        level = config.level(rule.name)
        if level == "disabled":
            continue
        for message in check_resource(rule, resource, config):
            violations.append(Violation(rule.name, level, resource_type, name, urn, message))
    return violations


def evaluate_offline_run(
    run: OfflineRun, config: GuardrailConfig | None = None
) -> list[Violation]:
    """The rules on every resource an offline run registered, as CrossGuard would run them."""
    config = config or GuardrailConfig()
    violations: list[Violation] = []
    for registered in run.resources:
        if registered.type not in RESOURCE_TYPES:
            continue
        violations += evaluate_resource(
            registered.type, registered.name, registered.inputs, protect=registered.protect,
            stack=run.files.stack, config=config, urn=registered.urn,
        )
    return _without_repeats(run, violations)


def _without_repeats(run: OfflineRun, violations: list[Violation]) -> list[Violation]:
    """A rule broken by a component is reported once, not again for each of its children.

    CrossGuard itself reports both, since it sees resources one at a time; the offline
    report can tell they are one mistake.
    """
    parents = {res.urn: res.parent for res in run.resources}
    by_component = {
        (violation.rule, violation.urn)
        for violation in violations
        if violation.resource_type == COMPONENT
    }
    return [
        violation
        for violation in violations
        if violation.resource_type == COMPONENT
        or (violation.rule, parents.get(violation.urn or "")) not in by_component
    ]


def has_mandatory(violations: Iterable[Violation]) -> bool:
    return any(violation.level == "mandatory" for violation in violations)


def exit_code(violations: Iterable[Violation]) -> int:
    """0, or `EXIT_GUARDRAIL_VIOLATION` (3) when a mandatory rule is broken."""
    return EXIT_GUARDRAIL_VIOLATION if has_mandatory(violations) else 0


def render_violations(violations: Sequence[Violation]) -> list[str]:
    """Readable lines for the preview: a summary, then one line per violation."""
    if not violations:
        return [f"Guardrails ({PACK_NAME}): no violations"]
    mandatory = sum(1 for violation in violations if violation.level == "mandatory")
    noun = "violation" if len(violations) == 1 else "violations"
    lines = [
        f"Guardrails ({PACK_NAME}): {len(violations)} {noun}, {mandatory} mandatory, "
        f"{len(violations) - mandatory} advisory"
    ]
    for violation in violations:
        lines.append(
            f"  {violation.level.upper()} {violation.rule}: {violation.resource_type} "
            f"{violation.resource_name}: {violation.message}"
        )
    return lines


# ---------------------------------------------------------------------------------------------
# The CrossGuard side
# ---------------------------------------------------------------------------------------------


def _provider_default_tags(args: Any) -> Mapping[str, Any]:
    provider = getattr(args, "provider", None)
    if provider is None:
        return {}
    props = plain_props(provider.props)
    default_tags = props.get("defaultTags") if isinstance(props, Mapping) else None
    tags = default_tags.get("tags") if isinstance(default_tags, Mapping) else None
    if not isinstance(tags, Mapping):
        return {}
    return {key: value for key, value in tags.items() if value is not UNKNOWN}


def resource_from_args(args: Any) -> Resource:
    """A `Resource` from CrossGuard's `ResourceValidationArgs`, unknown values kept as UNKNOWN."""
    opts = getattr(args, "opts", None)
    return Resource(
        type=args.resource_type,
        name=args.name,
        props=plain_props(args.props),
        protect=bool(getattr(opts, "protect", False)),
        stack=stack_from_urn(args.urn or ""),
        urn=args.urn,
        default_tags=_provider_default_tags(args),
    )


def _validator(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        if args.resource_type not in rule.resource_types:
            return
        config = GuardrailConfig().with_properties(args.get_config() or {}, where=rule.name)
        for message in rule.check(resource_from_args(args), config):
            report_violation(message, None)

    validate.__name__ = f"validate_{rule.name.replace('-', '_')}"
    return validate


def build_policies() -> list[Any]:
    """One `ResourceValidationPolicy` per rule, as the pack registers them."""
    from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy

    policies = []
    for rule in RULES:
        schema = PolicyConfigSchema(properties=rule.config_schema) if rule.settings else None
        policies.append(
            ResourceValidationPolicy(
                name=rule.name,
                description=rule.description,
                validate=_validator(rule),
                enforcement_level=EnforcementLevel(rule.default_level),
                config_schema=schema,
            )
        )
    return policies


__all__ = [
    "EXIT_GUARDRAIL_VIOLATION",
    "PACK_NAME",
    "RULES",
    "GuardrailConfig",
    "GuardrailConfigError",
    "Resource",
    "Rule",
    "Violation",
    "build_policies",
    "check_full_access_only_root",
    "evaluate_offline_run",
    "evaluate_resource",
    "exit_code",
    "has_mandatory",
    "load_pack_config",
    "parse_pack_config",
    "plain_props",
    "render_violations",
]
