"""Offline evaluator for AWS KMS key policies.

Lets tests and the access-matrix renderer ask "can this principal do this to the key?" without
calling AWS. It follows AWS's documented evaluation logic for resource-based policies:

* a matching ``Deny`` always wins;
* otherwise a matching ``Allow`` decides, and the outcome says whether the key policy alone is
  enough (``ALLOW``) or whether it only delegates to the principal's IAM policies
  (``ALLOW_IF_IAM``: the account-root statement, and any cross-account access);
* otherwise the request is implicitly denied.

Anything the evaluator does not understand (an operator, a condition key, a malformed element)
raises :class:`PolicyEvaluationError`: a guessed answer would be worse than none.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import enum
import functools
import ipaddress
import json
import operator as _op
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Decision",
    "Evaluation",
    "PolicyEvaluationError",
    "Principal",
    "Request",
    "evaluate",
]


class PolicyEvaluationError(ValueError):
    """Raised for anything that cannot be evaluated faithfully, so no answer is ever guessed."""


class Decision(enum.StrEnum):
    """Outcome of evaluating a key policy for one request."""

    ALLOW = "allow"
    ALLOW_IF_IAM = "allow-if-iam"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"

    @property
    def allowed(self) -> bool:
        """True only when the key policy alone is enough to allow the request."""
        return self is Decision.ALLOW

    @property
    def possible(self) -> bool:
        """True when the request can succeed, possibly needing an IAM allow as well."""
        return self in (Decision.ALLOW, Decision.ALLOW_IF_IAM)


_ACCOUNT_RE = re.compile(r"^\d{12}$")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.[a-z0-9.-]+$")


def _split_arn(text: str) -> list[str] | None:
    """Split an ARN into its six components, or None when it is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts


@dataclass(frozen=True)
class Principal:
    """Who makes the request: an IAM identity, an AWS service, or an anonymous caller."""

    kind: Literal["aws", "service", "anonymous"]
    identifier: str

    def __post_init__(self) -> None:
        """Reject principals that could never be matched, so typos fail loudly."""
        if self.kind == "aws":
            parts = _split_arn(self.identifier)
            if (
                parts is None
                or parts[2] not in ("iam", "sts")
                or not _ACCOUNT_RE.match(parts[4])
                or not parts[5]
            ):
                raise PolicyEvaluationError(f"not an IAM principal ARN: {self.identifier!r}")
        elif self.kind == "service":
            if not _SERVICE_RE.match(self.identifier):
                raise PolicyEvaluationError(f"not a service principal: {self.identifier!r}")
        elif self.kind != "anonymous":
            raise PolicyEvaluationError(f"unknown principal kind: {self.kind!r}")

    @classmethod
    def parse(cls, text: str) -> Principal:
        """Build a principal from the spellings used in policies (ARN, account id, service, *)."""
        text = text.strip()
        if text == "*":
            return cls.anonymous()
        if _ACCOUNT_RE.match(text):
            return cls("aws", f"arn:aws:iam::{text}:root")
        if text.startswith("arn:"):
            return cls("aws", text)
        if _SERVICE_RE.match(text):
            return cls.service(text)
        raise PolicyEvaluationError(f"cannot parse principal: {text!r}")

    @classmethod
    def service(cls, name: str) -> Principal:
        """A service principal such as ``logs.us-west-2.amazonaws.com``."""
        return cls("service", name)

    @classmethod
    def anonymous(cls) -> Principal:
        """An unauthenticated caller; it has no account."""
        return cls("anonymous", "*")

    @property
    def account(self) -> str | None:
        """The owning account id for IAM principals; None for services and anonymous callers."""
        if self.kind != "aws":
            return None
        return self.identifier.split(":", 5)[4]

    @property
    def partition(self) -> str | None:
        """The ARN partition (``aws``, ``aws-cn``...) for IAM principals."""
        if self.kind != "aws":
            return None
        return self.identifier.split(":", 5)[1]

    @property
    def is_root(self) -> bool:
        """True for the account root principal ``arn:...:iam::ACCT:root``."""
        return self.kind == "aws" and self.identifier.split(":", 5)[5] == "root"

    @property
    def arn_for_conditions(self) -> str | None:
        """The ARN AWS puts in aws:PrincipalArn: a session reports the role that it assumed."""
        if self.kind != "aws":
            return None
        parts = self.identifier.split(":", 5)
        if parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            pieces = parts[5].split("/")
            if len(pieces) >= 3:
                return f"arn:{parts[1]}:iam::{parts[4]}:role/{pieces[1]}"
        return self.identifier

    def __str__(self) -> str:
        """Render the identifier, which is how people recognise principals in messages."""
        return self.identifier


ContextValue = str | bool | int | float | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One API call to evaluate: who, which action, and the request context keys."""

    principal: Principal
    action: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """The decision plus the statements that produced it, so failures can be explained."""

    decision: Decision
    deciding_statements: tuple[str, ...]
    explanation: str


# --------------------------------------------------------------------------------------------
# Condition keys
# --------------------------------------------------------------------------------------------

_KNOWN_KEYS = frozenset(
    key.lower()
    for key in (
        # Global keys.
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:TagKeys",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
        # AWS KMS keys.
        "kms:BypassPolicyLockoutSafetyCheck",
        "kms:CallerAccount",
        "kms:CustomerMasterKeySpec",
        "kms:CustomerMasterKeyUsage",
        "kms:DataKeyPairSpec",
        "kms:EncryptionAlgorithm",
        "kms:EncryptionContextKeys",
        "kms:ExpirationModel",
        "kms:GrantConstraintType",
        "kms:GranteePrincipal",
        "kms:GrantIsForAWSResource",
        "kms:GrantOperations",
        "kms:KeyAgreementAlgorithm",
        "kms:KeyOrigin",
        "kms:KeySpec",
        "kms:KeyUsage",
        "kms:MacAlgorithm",
        "kms:MessageType",
        "kms:MultiRegion",
        "kms:MultiRegionKeyType",
        "kms:PrimaryRegion",
        "kms:ReEncryptOnSameKey",
        "kms:ReplicaRegion",
        "kms:RequestAlias",
        "kms:ResourceAliases",
        "kms:RetiringPrincipal",
        "kms:RotationPeriodInDays",
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        "kms:SigningAlgorithm",
        "kms:ValidTo",
        "kms:ViaService",
        "kms:WrappingAlgorithm",
        "kms:WrappingKeySpec",
    )
)

# Keys whose name carries a user-chosen suffix (tag key, encryption context key...).
_KNOWN_PREFIXES = (
    "aws:principaltag/",
    "aws:requesttag/",
    "aws:resourcetag/",
    "kms:encryptioncontext:",
    "kms:recipientattestation:",
)


def _check_key(key: str) -> str:
    """Return the lower-cased key, raising when AWS would not recognise it."""
    if not isinstance(key, str):
        raise PolicyEvaluationError(f"condition key must be a string: {key!r}")
    lowered = key.lower()
    if lowered in _KNOWN_KEYS:
        return lowered
    for prefix in _KNOWN_PREFIXES:
        if lowered.startswith(prefix) and len(lowered) > len(prefix):
            return lowered
    raise PolicyEvaluationError(f"unknown condition key: {key!r}")


def _scalar_text(value: object, what: str) -> str:
    """Render a JSON scalar the way AWS compares it: as text, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise PolicyEvaluationError(f"{what} must be a string, number or boolean: {value!r}")


def _context_values(key: str, value: object) -> tuple[str, ...]:
    """Normalise one request-context value to a tuple of strings (multi-valued keys allowed)."""
    if isinstance(value, (str, bool, int, float)):
        return (_scalar_text(value, f"context value of {key}"),)
    if isinstance(value, Sequence):
        return tuple(_scalar_text(item, f"context value of {key}") for item in value)
    raise PolicyEvaluationError(f"unsupported context value for {key}: {value!r}")


def _request_context(request: Request) -> dict[str, tuple[str, ...]]:
    """Build the case-insensitive request context, auto-filling principal keys AWS always sets."""
    context: dict[str, tuple[str, ...]] = {}
    principal = request.principal
    if principal.kind == "aws":
        arn = principal.arn_for_conditions
        account = principal.account
        if arn is not None and account is not None:
            context["aws:principalarn"] = (arn,)
            context["aws:principalaccount"] = (account,)
            context["kms:calleraccount"] = (account,)
    for key, value in request.context.items():
        context[_check_key(key)] = _context_values(key, value)
    return context


# --------------------------------------------------------------------------------------------
# Condition operators
# --------------------------------------------------------------------------------------------

Comparator = Callable[[str, Any], bool]
Preparer = Callable[[str], Any]


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """Compile an IAM wildcard pattern (* and ?) to an anchored regular expression."""
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _prepare_arn(value: str) -> tuple[re.Pattern[str], ...]:
    """Pre-compile an ARN pattern per component, as AWS checks each component separately."""
    if value == "*":
        return (_glob(value, False),)
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN pattern: {value!r}")
    return tuple(_glob(part, False) for part in parts)


def _match_arn(actual: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    """Component-wise, case-sensitive ARN match with wildcards."""
    if len(patterns) == 1:
        return patterns[0].fullmatch(actual) is not None
    parts = actual.split(":", 5)
    if len(parts) != 6:
        return False
    return all(rx.fullmatch(part) is not None for rx, part in zip(patterns, parts, strict=True))


def _parse_number(text: str) -> float:
    """Parse an integer or decimal as AWS numeric operators do."""
    return float(text.strip())


def _parse_date(text: str) -> float:
    """Parse ISO 8601 (date or date-time, Z or offset) or epoch seconds to epoch seconds."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    moment = _dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def _prepare_bool(value: str) -> str:
    """Bool operators only make sense with true/false; anything else is a policy bug."""
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ValueError(value)
    return lowered


def _prepare_binary(value: str) -> bytes:
    """Decode base64 so equal bytes with different padding/whitespace still compare equal."""
    return base64.b64decode(value, validate=True)


def _cmp_binary(actual: str, expected: bytes) -> bool:
    """Compare a base64 request value with decoded policy bytes."""
    try:
        return base64.b64decode(actual, validate=True) == expected
    except (binascii.Error, ValueError):
        return False


def _cmp_ip(actual: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """True when the request address lies in the policy CIDR block."""
    try:
        return ipaddress.ip_address(actual.strip()) in network
    except ValueError:
        return False


def _numeric(test: Callable[[float, float], bool]) -> Comparator:
    """Wrap a numeric test so unparseable request values simply do not match."""

    def compare(actual: str, expected: float) -> bool:
        """Numeric comparison of one request value."""
        try:
            return test(_parse_number(actual), expected)
        except ValueError:
            return False

    return compare


def _dated(test: Callable[[float, float], bool]) -> Comparator:
    """Wrap a date test so unparseable request values simply do not match."""

    def compare(actual: str, expected: float) -> bool:
        """Date comparison of one request value."""
        try:
            return test(_parse_date(actual), expected)
        except ValueError:
            return False

    return compare


def _identity(value: str) -> str:
    """Policy value used as-is."""
    return value


def _lower(value: str) -> str:
    """Policy value compared case-insensitively."""
    return value.lower()


def _like(value: str) -> re.Pattern[str]:
    """Policy value compiled as a case-sensitive wildcard pattern."""
    return _glob(value, False)


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Policy value parsed as a CIDR block (a bare address means a /32 or /128)."""
    return ipaddress.ip_network(value.strip(), strict=False)


@dataclass(frozen=True)
class _OperatorSpec:
    """How one base operator prepares policy values and compares a request value to them."""

    prepare: Preparer
    compare: Comparator
    negated: bool


def _lower_eq(actual: str, expected: str) -> bool:
    """Case-insensitive equality; the policy side is lower-cased once at compile time."""
    return actual.lower() == expected


def _str_like(actual: str, pattern: re.Pattern[str]) -> bool:
    """Wildcard match of the whole request value."""
    return pattern.fullmatch(actual) is not None


_NUMERIC_TESTS: dict[str, Callable[[float, float], bool]] = {
    "Equals": _op.eq,
    "LessThan": _op.lt,
    "LessThanEquals": _op.le,
    "GreaterThan": _op.gt,
    "GreaterThanEquals": _op.ge,
}


def _build_operators() -> dict[str, _OperatorSpec]:
    """The base operator table; negated operators reuse the positive comparison."""
    ops: dict[str, _OperatorSpec] = {
        "StringEquals": _OperatorSpec(_identity, _op.eq, False),
        "StringNotEquals": _OperatorSpec(_identity, _op.eq, True),
        "StringEqualsIgnoreCase": _OperatorSpec(_lower, _lower_eq, False),
        "StringNotEqualsIgnoreCase": _OperatorSpec(_lower, _lower_eq, True),
        "StringLike": _OperatorSpec(_like, _str_like, False),
        "StringNotLike": _OperatorSpec(_like, _str_like, True),
        "ArnEquals": _OperatorSpec(_prepare_arn, _match_arn, False),
        "ArnLike": _OperatorSpec(_prepare_arn, _match_arn, False),
        "ArnNotEquals": _OperatorSpec(_prepare_arn, _match_arn, True),
        "ArnNotLike": _OperatorSpec(_prepare_arn, _match_arn, True),
        "Bool": _OperatorSpec(_prepare_bool, _lower_eq, False),
        "BinaryEquals": _OperatorSpec(_prepare_binary, _cmp_binary, False),
        "IpAddress": _OperatorSpec(_network, _cmp_ip, False),
        "NotIpAddress": _OperatorSpec(_network, _cmp_ip, True),
        "NumericNotEquals": _OperatorSpec(_parse_number, _numeric(_op.eq), True),
        "DateNotEquals": _OperatorSpec(_parse_date, _dated(_op.eq), True),
    }
    for suffix, test in _NUMERIC_TESTS.items():
        ops["Numeric" + suffix] = _OperatorSpec(_parse_number, _numeric(test), False)
        ops["Date" + suffix] = _OperatorSpec(_parse_date, _dated(test), False)
    return ops


_OPERATORS = _build_operators()

_QualifierT = Literal["", "ForAnyValue", "ForAllValues"]


@dataclass(frozen=True)
class _Condition:
    """One (operator, key, values) triple, with policy values already parsed."""

    operator: str
    qualifier: _QualifierT
    if_exists: bool
    key: str
    spec: _OperatorSpec | None  # None means the Null operator
    values: tuple[Any, ...]

    def holds(self, context: Mapping[str, tuple[str, ...]]) -> bool:
        """Evaluate against the request context following AWS's missing-key rules."""
        actual = context.get(self.key)
        if self.spec is None:
            # Null: "true" requires the key to be absent, "false" requires it present.
            return any(bool(actual) != want_absent for want_absent in self.values)
        if not actual:
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            if self.qualifier == "ForAnyValue":
                return False
            # Documented: a missing key fails positive operators and satisfies negated ones.
            return self.spec.negated
        compare = self.spec.compare

        def matches(item: str) -> bool:
            """One request value matches any policy value (values OR together)."""
            return any(compare(item, expected) for expected in self.values)

        negated = self.spec.negated
        if self.qualifier == "ForAllValues":
            return all(matches(item) != negated for item in actual)
        if self.qualifier == "ForAnyValue":
            return any(matches(item) != negated for item in actual)
        hit = any(matches(item) for item in actual)
        return hit != negated


def _parse_operator(name: str) -> tuple[_QualifierT, bool, str]:
    """Split ``ForAnyValue:StringLikeIfExists`` into qualifier, IfExists flag and base name."""
    if not isinstance(name, str):
        raise PolicyEvaluationError(f"condition operator must be a string: {name!r}")
    qualifier: _QualifierT = ""
    base = name
    if ":" in base:
        prefix, base = base.split(":", 1)
        if prefix == "ForAnyValue":
            qualifier = "ForAnyValue"
        elif prefix == "ForAllValues":
            qualifier = "ForAllValues"
        else:
            raise PolicyEvaluationError(f"unknown condition operator: {name!r}")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if if_exists or qualifier:
            raise PolicyEvaluationError(f"unknown condition operator: {name!r}")
    elif base not in _OPERATORS:
        raise PolicyEvaluationError(f"unknown condition operator: {name!r}")
    return qualifier, if_exists, base


def _policy_values(operator: str, key: str, raw: object) -> tuple[str, ...]:
    """Normalise the policy side of a condition to a non-empty tuple of strings."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyEvaluationError(f"{operator} {key}: empty value list")
    texts = tuple(_scalar_text(item, f"{operator} {key} value") for item in items)
    for text in texts:
        if "${" in text:
            raise PolicyEvaluationError(
                f"{operator} {key}: policy variables are not supported ({text!r})"
            )
    return texts


def _compile_conditions(raw: object) -> tuple[_Condition, ...]:
    """Validate and pre-parse a Condition block so evaluation is cheap and errors surface early."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise PolicyEvaluationError("Condition must be an object")
    compiled: list[_Condition] = []
    for operator, block in raw.items():
        qualifier, if_exists, base = _parse_operator(operator)
        if not isinstance(block, dict) or not block:
            raise PolicyEvaluationError(f"{operator} must map condition keys to values")
        for key, raw_values in block.items():
            lowered = _check_key(key)
            texts = _policy_values(operator, key, raw_values)
            if base == "Null":
                try:
                    flags = tuple(_prepare_bool(text) == "true" for text in texts)
                except ValueError as exc:
                    raise PolicyEvaluationError(
                        f"Null {key}: value must be true or false, got {exc}"
                    ) from exc
                compiled.append(_Condition(operator, "", False, lowered, None, flags))
                continue
            spec = _OPERATORS[base]
            try:
                prepared = tuple(spec.prepare(text) for text in texts)
            except (ValueError, binascii.Error) as exc:
                raise PolicyEvaluationError(f"{operator} {key}: invalid value {exc!s}") from exc
            compiled.append(_Condition(operator, qualifier, if_exists, lowered, spec, prepared))
    return tuple(compiled)


# --------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------


class _Match(enum.IntEnum):
    """How a principal entry matched; decides between ALLOW and ALLOW_IF_IAM."""

    ACCOUNT = 1  # through an account id / account-root ARN: delegation to IAM
    WILDCARD = 2  # through "*"
    DIRECT = 3  # named explicitly (ARN or service)


@dataclass(frozen=True)
class _PrincipalSet:
    """The parsed Principal / NotPrincipal element."""

    everyone: bool
    aws: frozenset[str]
    services: frozenset[str]

    def match(self, principal: Principal) -> _Match | None:
        """How (if at all) this set names the principal; wildcard ARNs are literal, as in AWS."""
        if self.everyone:
            return _Match.WILDCARD
        if principal.kind == "service":
            return _Match.DIRECT if principal.identifier.lower() in self.services else None
        if principal.kind != "aws":
            return None
        if principal.identifier in self.aws or principal.arn_for_conditions in self.aws:
            return _Match.DIRECT
        if f"arn:{principal.partition}:iam::{principal.account}:root" in self.aws:
            return _Match.ACCOUNT
        return None

    def excludes(self, principal: Principal) -> bool:
        """NotPrincipal exemption: every identity in the caller's chain must be listed.

        AWS may check the account, then the role, then the session, so a Deny with
        NotPrincipal exempts a caller only when all of them are named (the documented advice).
        """
        if self.everyone:
            return True
        if principal.kind == "service":
            return principal.identifier.lower() in self.services
        if principal.kind != "aws":
            return False
        chain = {principal.identifier, f"arn:{principal.partition}:iam::{principal.account}:root"}
        role_arn = principal.arn_for_conditions
        if role_arn is not None:
            chain.add(role_arn)
        return chain <= self.aws


def _string_list(value: object, what: str) -> list[str]:
    """Accept a string or a non-empty list of strings, as policy grammar does."""
    items: list[object] = list(value) if isinstance(value, list) else [value]
    texts = [item.strip() for item in items if isinstance(item, str) and item.strip()]
    if not texts or len(texts) != len(items):
        raise PolicyEvaluationError(f"{what} must be a string or a list of strings")
    return texts


def _aws_entry(entry: str) -> str:
    """Canonicalise an AWS principal entry: a bare account id means that account's root."""
    if _ACCOUNT_RE.match(entry):
        return f"arn:aws:iam::{entry}:root"
    return entry


def _compile_principal(value: object, element: str) -> _PrincipalSet:
    """Parse Principal/NotPrincipal; ``*`` and ``{"AWS": "*"}`` both mean everyone."""
    if value == "*":
        return _PrincipalSet(True, frozenset(), frozenset())
    if not isinstance(value, dict) or not value:
        raise PolicyEvaluationError(f'{element} must be "*" or an object')
    aws: set[str] = set()
    services: set[str] = set()
    everyone = False
    for kind, entries in value.items():
        items = _string_list(entries, f"{element}.{kind}")
        if kind == "AWS":
            if "*" in items:
                everyone = True
            aws.update(_aws_entry(item) for item in items if item != "*")
        elif kind == "Service":
            services.update(item.lower() for item in items)
        elif kind not in ("Federated", "CanonicalUser"):
            raise PolicyEvaluationError(f"unknown principal type in {element}: {kind!r}")
    return _PrincipalSet(everyone, frozenset(aws), frozenset(services))


def _resource_matches_key(pattern: str) -> bool:
    """Key policies apply to their own key: accept ``*`` and KMS ARN patterns."""
    if pattern == "*":
        return True
    parts = pattern.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    return _glob(parts[2], True).fullmatch("kms") is not None


@dataclass(frozen=True)
class _Statement:
    """A validated statement, ready to be matched quickly many times."""

    label: str
    effect: Literal["Allow", "Deny"]
    principals: _PrincipalSet
    not_principal: bool
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resource_applies: bool
    conditions: tuple[_Condition, ...]

    def principal_match(self, principal: Principal) -> _Match | None:
        """How the statement's principal element covers the caller."""
        if self.not_principal:
            return None if self.principals.excludes(principal) else _Match.WILDCARD
        return self.principals.match(principal)

    def action_matches(self, action: str) -> bool:
        """Case-insensitive wildcard match, inverted for NotAction."""
        hit = any(rx.fullmatch(action) is not None for rx in self.actions)
        return hit != self.not_action

    def conditions_hold(self, context: Mapping[str, tuple[str, ...]]) -> bool:
        """All operators and keys AND together."""
        return all(condition.holds(context) for condition in self.conditions)


_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)


def _one_of(raw: Mapping[str, Any], first: str, second: str, label: str) -> tuple[str, object]:
    """Exactly one of two mutually exclusive elements must be present."""
    has_first, has_second = first in raw, second in raw
    if has_first == has_second:
        raise PolicyEvaluationError(f"statement {label}: needs exactly one of {first}/{second}")
    return (first, raw[first]) if has_first else (second, raw[second])


def _action_pattern(text: str, label: str) -> re.Pattern[str]:
    """Validate an action pattern (``*`` or ``service:pattern``) and compile it."""
    if text != "*" and (":" not in text or not text.split(":", 1)[1]):
        raise PolicyEvaluationError(f"statement {label}: invalid action {text!r}")
    return _glob(text, True)


def _compile_statement(raw: object, index: int) -> _Statement:
    """Validate one statement against the policy grammar and pre-compile its parts."""
    if not isinstance(raw, dict):
        raise PolicyEvaluationError(f"statement #{index} must be an object")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise PolicyEvaluationError(f"statement #{index}: unknown elements {sorted(unknown)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyEvaluationError(f"statement #{index}: Sid must be a string")
    label = sid if sid else f"#{index}"
    raw_effect = raw.get("Effect")
    if raw_effect not in ("Allow", "Deny"):
        raise PolicyEvaluationError(f"statement {label}: Effect must be Allow or Deny")
    effect: Literal["Allow", "Deny"] = "Allow" if raw_effect == "Allow" else "Deny"
    p_name, p_value = _one_of(raw, "Principal", "NotPrincipal", label)
    if p_name == "NotPrincipal" and effect == "Allow":
        raise PolicyEvaluationError(
            f"statement {label}: AWS does not support NotPrincipal with Effect Allow"
        )
    a_name, a_value = _one_of(raw, "Action", "NotAction", label)
    actions = tuple(
        _action_pattern(text, label) for text in _string_list(a_value, f"{label}.{a_name}")
    )
    r_name, r_value = _one_of(raw, "Resource", "NotResource", label)
    resources = _string_list(r_value, f"{label}.{r_name}")
    covers_key = any(_resource_matches_key(pattern) for pattern in resources)
    return _Statement(
        label=label,
        effect=effect,
        principals=_compile_principal(p_value, p_name),
        not_principal=p_name == "NotPrincipal",
        actions=actions,
        not_action=a_name == "NotAction",
        resource_applies=covers_key if r_name == "Resource" else not covers_key,
        conditions=_compile_conditions(raw.get("Condition")),
    )


@functools.lru_cache(maxsize=512)
def _compile_policy(canonical: str) -> tuple[_Statement, ...]:
    """Compile a policy once per distinct JSON text; evaluation then only matches."""
    document = json.loads(canonical)
    if not isinstance(document, dict):
        raise PolicyEvaluationError("policy must be a JSON object")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise PolicyEvaluationError(f"policy: unknown elements {sorted(unknown)}")
    version = document.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise PolicyEvaluationError(f"policy: unsupported Version {version!r}")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyEvaluationError("policy: Statement must be a non-empty list or an object")
    return tuple(_compile_statement(raw, index) for index, raw in enumerate(statements))


def _plain(value: Any) -> Any:
    """Turn arbitrary Mapping/Sequence containers into JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _canonical(policy: Mapping[str, Any] | str) -> str:
    """A stable JSON text for the policy, used as the compilation cache key."""
    if isinstance(policy, str):
        try:
            document = json.loads(policy)
        except json.JSONDecodeError as exc:
            raise PolicyEvaluationError(f"policy is not valid JSON: {exc}") from exc
    elif isinstance(policy, Mapping):
        document = policy
    else:
        raise PolicyEvaluationError(f"policy must be a mapping or JSON text: {policy!r}")
    try:
        return json.dumps(document, sort_keys=True)
    except TypeError:
        try:
            return json.dumps(_plain(document), sort_keys=True)
        except TypeError as exc:
            raise PolicyEvaluationError(f"policy is not JSON-serialisable: {exc}") from exc


def _outcome(match: _Match, principal: Principal, key_account: str) -> Decision:
    """Turn a matching Allow into ALLOW or ALLOW_IF_IAM.

    * Service principals, and anonymous callers matched by ``*``, have no IAM policy to
      consult, so the key policy decides alone.
    * Any IAM principal from another account needs its own account's IAM to allow as well.
    * In the key's account, a statement naming the principal (or ``*``) is enough on its own:
      AWS treats a wildcard-principal key-policy allow as sufficient for in-account callers.
    * An account-root / account-id entry only delegates to IAM, except for the root itself.
    """
    if principal.kind != "aws":
        return Decision.ALLOW
    if principal.account != key_account:
        return Decision.ALLOW_IF_IAM
    if match is _Match.ACCOUNT and not principal.is_root:
        return Decision.ALLOW_IF_IAM
    return Decision.ALLOW


def evaluate(policy: Mapping[str, Any] | str, request: Request, *, key_account: str) -> Evaluation:
    """Evaluate a KMS key policy for one request, as AWS would for the key policy part."""
    if not isinstance(key_account, str) or not _ACCOUNT_RE.match(key_account):
        raise PolicyEvaluationError(f"key_account must be a 12-digit account id: {key_account!r}")
    if not isinstance(request.action, str) or not request.action:
        raise PolicyEvaluationError(f"action must be a non-empty string: {request.action!r}")
    statements = _compile_policy(_canonical(policy))
    context = _request_context(request)
    action = request.action
    principal = request.principal

    denies: list[str] = []
    allows: dict[Decision, list[str]] = {Decision.ALLOW: [], Decision.ALLOW_IF_IAM: []}
    for statement in statements:
        if not statement.resource_applies or not statement.action_matches(action):
            continue
        match = statement.principal_match(principal)
        if match is None or not statement.conditions_hold(context):
            continue
        if statement.effect == "Deny":
            denies.append(statement.label)
        else:
            allows[_outcome(match, principal, key_account)].append(statement.label)

    if denies:
        return Evaluation(
            Decision.EXPLICIT_DENY,
            tuple(denies),
            f"explicitly denied by {', '.join(denies)}",
        )
    if allows[Decision.ALLOW]:
        labels = allows[Decision.ALLOW]
        return Evaluation(Decision.ALLOW, tuple(labels), f"allowed by {', '.join(labels)}")
    if allows[Decision.ALLOW_IF_IAM]:
        labels = allows[Decision.ALLOW_IF_IAM]
        return Evaluation(
            Decision.ALLOW_IF_IAM,
            tuple(labels),
            f"allowed by {', '.join(labels)} only if {principal}'s IAM policies also allow "
            f"{action}",
        )
    return Evaluation(
        Decision.IMPLICIT_DENY,
        (),
        f"denied: no statement allows {action} for {principal}",
    )
