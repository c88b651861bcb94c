"""Static checks on a finished key policy: the classic KMS mistakes, caught before AWS sees them.

Each check returns findings; the rules layer turns error findings into a configuration error
before anything is registered. The same functions back the CrossGuard pack.
"""

from __future__ import annotations

import functools
import gc
import json
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from . import specs
from .evaluator import PolicyEvaluationError, Principal, Request, evaluate
from .policy import render_policy
from .principals import account_root_arn

with warnings.catch_warnings():
    # parliament opens its bundled IAM definitions without closing them; that is its own
    # harmless leak, not ours, and must not turn into an error under `-W error`.
    warnings.simplefilter("ignore", ResourceWarning)
    from parliament import analyze_policy_string
    gc.collect()

Severity = Literal["error", "warning"]

ACCOUNT_LIMITING_KEYS: Final = frozenset(
    {
        "kms:calleraccount",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:sourceaccount",
        "aws:principalarn",
    }
)
ACCOUNT_LIMITING_OPERATORS: Final = frozenset(
    {"StringEquals", "ArnEquals", "ArnLike", "StringLike", "ForAnyValue:StringEquals"}
)
# Printable ASCII, Latin-1 printable, tab, line feed and carriage return.
_POLICY_TEXT_PATTERN: Final = re.compile(r"^[\t\n\r\u0020-\u007e\u00a1-\u00ff]*$")
# Parliament findings that do not apply to key policies (Resource "*" means "this key").
_IGNORED_LINT_ISSUES: Final = frozenset({"RESOURCE_STAR", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"})


@dataclass(frozen=True)
class Finding:
    """One problem in a policy: how bad, which rule, which statement, and what to do."""

    severity: Severity
    code: str
    statement: str | None
    message: str


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return list(statements) if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _sid(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


def _aws_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal", statement.get("NotPrincipal"))
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(value) for value in _as_list(principal.get("AWS", []))]
    return []


def check_no_session_principals(policy: Mapping[str, Any]) -> list[Finding]:
    """C2: an STS session ARN as principal breaks when the session ends."""
    findings = []
    for index, statement in enumerate(_statements(policy)):
        for arn in _aws_principals(statement):
            if ":sts::" in arn:
                findings.append(
                    Finding(
                        "error", "sts-session-principal", _sid(statement, index),
                        f"principal {arn!r} is an STS session; name its IAM role instead",
                    )
                )
    return findings


def _limits_account(condition: Any, allowed_accounts: Sequence[str]) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for operator, keys in condition.items():
        if operator not in ACCOUNT_LIMITING_OPERATORS or not isinstance(keys, Mapping):
            continue
        for key, values in keys.items():
            if key.lower() not in ACCOUNT_LIMITING_KEYS:
                continue
            texts = [str(value) for value in _as_list(values)]
            if texts and all(_names_allowed_account(key, text, allowed_accounts) for text in texts):
                return True
    return False


def _names_allowed_account(key: str, text: str, allowed_accounts: Sequence[str]) -> bool:
    """True when one condition value pins the caller to one of the allowed accounts.

    Accounts compare exactly (a value that merely contains an allowed id, such as a role named
    after it in another account, limits nothing); a principal ARN is judged by its account part.
    """
    lowered = key.lower()
    if lowered == "aws:principalarn":
        parts = text.split(":", 5)
        return len(parts) == 6 and parts[0] == "arn" and parts[4] in allowed_accounts
    if "*" in text or "?" in text:
        return False
    # An organisation id limits only when the stack named it (allowedOrganizationIds).
    return text in allowed_accounts


def check_wildcard_principals(
    policy: Mapping[str, Any], *, allowed_accounts: Sequence[str]
) -> list[Finding]:
    """C8: `Principal: *` must be limited to known accounts by a condition."""
    findings = []
    for index, statement in enumerate(_statements(policy)):
        if statement.get("Effect") != "Allow":
            continue
        wildcard = "*" in _aws_principals(statement) or "NotPrincipal" in statement
        if wildcard and not _limits_account(statement.get("Condition"), allowed_accounts):
            named = _named_account_values(statement.get("Condition"))
            found = f"; its condition names {', '.join(named)}" if named else ""
            findings.append(
                Finding(
                    "error", "wildcard-principal", _sid(statement, index),
                    "a wildcard principal needs a condition that limits it to "
                    f"account(s) {', '.join(allowed_accounts)} (kms:CallerAccount, "
                    "aws:PrincipalAccount, aws:SourceAccount, aws:PrincipalArn or "
                    f"aws:PrincipalOrgID){found}",
                )
            )
    return findings


def _named_account_values(condition: Any) -> list[str]:
    """The values a condition gives to account-limiting keys, to show in an error."""
    if not isinstance(condition, Mapping):
        return []
    values = []
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            continue
        for key, given in keys.items():
            if key.lower() in ACCOUNT_LIMITING_KEYS:
                values += [f"{key}={value} ({operator})" for value in _as_list(given)]
    return values


def _lasting_principals(policy: Mapping[str, Any], account_id: str, partition: str) -> list[str]:
    found = {account_root_arn(account_id, partition)}
    for statement in _statements(policy):
        if statement.get("Effect") == "Allow" and "Principal" in statement:
            for arn in _aws_principals(statement):
                if arn.startswith("arn:") and ":iam::" in arn:
                    found.add(arn)
    return sorted(found)


def check_lockout(
    policy: Mapping[str, Any], *, account_id: str, partition: str = "aws"
) -> list[Finding]:
    """C1: some lasting principal of the account must be able to change the policy later."""
    unreadable: PolicyEvaluationError | None = None
    for arn in _lasting_principals(policy, account_id, partition):
        if arn.split(":")[4] != account_id:
            continue
        try:
            result = evaluate(
                policy, Request(Principal.parse(arn), "kms:PutKeyPolicy"), key_account=account_id
            )
        except PolicyEvaluationError as error:
            unreadable = error
            continue
        if result.decision.possible:
            return []
    if unreadable is not None:
        # Not a proven lockout: the policy has something the evaluator cannot read.
        return [
            Finding(
                "error", "policy-unreadable", None,
                f"the policy cannot be evaluated, so no lockout check could run: {unreadable}",
            )
        ]
    root = account_root_arn(account_id, partition)
    return [
        Finding(
            "error", "policy-lockout", None,
            f"no lasting principal of account {account_id} can call kms:PutKeyPolicy, so the "
            f"key could never be managed again: the account root {root} (allowAccountRoot: "
            "true) or a key administrator (administrators: [<role ARN>]) needs "
            "kms:PutKeyPolicy",
        )
    ]


def check_unique_sids(policy: Mapping[str, Any]) -> list[Finding]:
    """Two statements with one Sid make reviews and policy tests ambiguous."""
    seen: set[str] = set()
    findings = []
    for statement in _statements(policy):
        sid = statement.get("Sid")
        if isinstance(sid, str) and sid in seen:
            findings.append(Finding("error", "duplicate-sid", sid,
                                    f"Sid {sid!r} is used by another statement of the policy"))
        if isinstance(sid, str):
            seen.add(sid)
    return findings


def check_size_and_characters(policy: Mapping[str, Any]) -> list[Finding]:
    """KMS accepts at most 32 KiB of policy text, in a limited character set."""
    text = render_policy(policy)
    findings = []
    size = len(text.encode("utf-8"))
    if size > specs.POLICY_MAX_BYTES:
        findings.append(
            Finding(
                "error", "policy-size", None,
                f"policy is {size} bytes; KMS allows at most {specs.POLICY_MAX_BYTES}",
            )
        )
    if not _POLICY_TEXT_PATTERN.fullmatch(text):
        bad = sorted({char for char in text if not _POLICY_TEXT_PATTERN.match(char)})
        findings.append(
            Finding(
                "error", "policy-characters", None,
                f"policy contains characters KMS refuses: {bad!r}; allowed: printable ASCII, "
                "Latin-1 printable characters, tab, line feed and carriage return",
            )
        )
    return findings


def lint_policy(policy: Mapping[str, Any]) -> list[Finding]:
    """Unknown actions and condition keys, found by parliament's copy of the IAM definitions."""
    findings = []
    for index, statement in enumerate(_statements(policy)):
        skeleton = {key: statement[key] for key in ("Effect", "Action", "NotAction", "Condition")
                    if key in statement}
        for issue, detail in _lint_statement(json.dumps(skeleton, sort_keys=True)):
            findings.append(Finding("error", f"lint-{issue.lower()}", _sid(statement, index),
                                    detail))
    return findings


@functools.lru_cache(maxsize=4096)
def _lint_statement(skeleton_json: str) -> tuple[tuple[str, str], ...]:
    """Lint one statement's actions and conditions; cached, since keys share their shapes."""
    skeleton = json.loads(skeleton_json)
    skeleton["Resource"] = "*"
    document = json.dumps({"Version": "2012-10-17", "Statement": [skeleton]})
    analysed = analyze_policy_string(
        document, ignore_private_auditors=True, include_community_auditors=False
    )
    results = []
    for finding in analysed.findings:
        if finding.issue in _IGNORED_LINT_ISSUES:
            continue
        results.append((finding.issue, str(finding.detail)))
    return tuple(sorted(set(results)))


def analyse_policy(
    policy: Mapping[str, Any],
    *,
    account_id: str,
    partition: str = "aws",
    external_accounts: Iterable[str] = (),
    organizations: Iterable[str] = (),
) -> list[Finding]:
    """Every static check, in a fixed order."""
    allowed = [account_id, *sorted(external_accounts), *sorted(organizations)]
    return [
        *check_no_session_principals(policy),
        *check_unique_sids(policy),
        *check_wildcard_principals(policy, allowed_accounts=allowed),
        *check_lockout(policy, account_id=account_id, partition=partition),
        *check_size_and_characters(policy),
        *lint_policy(policy),
    ]
