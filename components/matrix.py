"""Who can do what with a key: its policy as an access matrix of principals by capabilities.

Every cell is decided by :func:`components.evaluator.evaluate`, never by reading the policy:

* ``allowed``: the key policy alone allows every action of the capability, with no request
  context at all;
* ``allowed if IAM allows``: the key policy delegates the decision to the principal's IAM
  policies (the account-root statement, or any access from another account);
* ``conditional``: denied with an empty context, but some Allow statement that names the
  principal and the action would allow it once its conditions hold. The matrix builds a request
  context that satisfies that statement's conditions (literal values for wildcards), evaluates
  the whole policy again, and keeps the condition only if the evaluator then allows;
* ``denied``: none of the above.

Facts about the caller that AWS fills in itself (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
``kms:CallerAccount``, the principal type and service name) are never invented: a statement
limited to another account stays denied for this principal. Rows are the principals the policy
names, the account root, a synthetic role standing for any other principal of the account, a
synthetic role of an account the policy does not mention, and an anonymous caller when a
statement names ``*``.

With ``key_usage`` given, capabilities that cannot apply to such a key (``sign`` on an
ENCRYPT_DECRYPT key...) are left out of the columns and listed in ``AccessMatrix.omitted``, so a
reviewer is not shown a column of answers that no request could ever get.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from . import specs
from .evaluator import ContextValue, Decision, Principal, Request, evaluate
from .rules import partition_for_region

__all__ = [
    "ALLOWED",
    "ALLOWED_IF_IAM",
    "CONDITIONAL",
    "DENIED",
    "AccessMatrix",
    "Cell",
    "access_matrix",
    "render_matrix",
]

ALLOWED: Final = "allowed"
ALLOWED_IF_IAM: Final = "allowed if IAM allows"
CONDITIONAL: Final = "conditional"
DENIED: Final = "denied"
# Weakest first: a capability made of several actions is only as available as its weakest one.
_STRENGTH: Final = {DENIED: 0, CONDITIONAL: 1, ALLOWED_IF_IAM: 2, ALLOWED: 3}

# Which key usages each capability needs; absent means "any key".
CAPABILITY_USAGES: Final[dict[str, frozenset[str]]] = {
    "encrypt": frozenset({specs.ENCRYPT_DECRYPT}),
    "decrypt": frozenset({specs.ENCRYPT_DECRYPT}),
    "generate data key": frozenset({specs.ENCRYPT_DECRYPT}),
    "re-encrypt": frozenset({specs.ENCRYPT_DECRYPT}),
    "sign": frozenset({specs.SIGN_VERIFY}),
    "verify": frozenset({specs.SIGN_VERIFY}),
    "mac": frozenset({specs.GENERATE_VERIFY_MAC}),
}
# Column headers of the text table, at most 7 characters each.
SHORT_NAMES: Final[dict[str, str]] = {
    "administer": "admin",
    "encrypt": "encrypt",
    "decrypt": "decrypt",
    "generate data key": "gen-dk",
    "re-encrypt": "re-enc",
    "sign": "sign",
    "verify": "verify",
    "mac": "mac",
    "create grant": "grant",
    "schedule deletion": "delete",
}
CODES: Final = {ALLOWED: "A", ALLOWED_IF_IAM: "I", DENIED: "-"}

ANY_OTHER_ROLE: Final = "any-other-role"
OTHER_ACCOUNT_ROLE: Final = "any-role"
OTHER_ACCOUNT_CANDIDATES: Final = ("444455556666", "999988887777", "123456789012", "210987654321")

# Request keys AWS derives from the caller; setting them would pretend to be someone else.
_CALLER_KEYS: Final = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "kms:calleraccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "aws:userid",
        "aws:username",
    }
)
# Attributes of an IAM caller the matrix cannot know; a condition on them is shown, for IAM
# callers only (an anonymous caller or a service has none).
_IAM_ATTRIBUTE_KEYS: Final = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
_IAM_ATTRIBUTE_PREFIXES: Final = ("aws:principaltag/",)
_ACCOUNT_IN_TEXT: Final = re.compile(r"(?<!\d)\d{12}(?!\d)")
_WIDTH: Final = 100


@dataclass(frozen=True)
class Cell:
    """What one principal gets for one capability, and which statements decide it.

    ``condition`` is set for conditional cells: the alternatives (joined by ``or``) under which
    the key policy allows the capability; an alternative that still needs the principal's IAM
    policies says so. ``otherwise`` is what the principal gets when no condition holds: denied,
    or allowed if IAM allows (a role of the account that the key policy also names under a
    condition, such as "via S3"). ``statements`` are the deciding statements.
    """

    outcome: str
    condition: str | None = None
    statements: tuple[str, ...] = ()
    otherwise: str = DENIED

    @property
    def code(self) -> str:
        """The short code of the text table; conditional cells add their footnote number."""
        if self.outcome == CONDITIONAL:
            return "I/C" if self.otherwise == ALLOWED_IF_IAM else "C"
        return CODES[self.outcome]

    def to_json(self) -> dict[str, Any]:
        """The cell as a JSON-ready mapping."""
        return {
            "outcome": self.outcome,
            "condition": self.condition,
            "statements": list(self.statements),
            "otherwise": self.otherwise if self.outcome == CONDITIONAL else None,
        }


@dataclass(frozen=True)
class AccessMatrix:
    """Principals by capabilities; ``labels`` says what a row stands for (synthetic or not)."""

    principals: tuple[str, ...]
    capabilities: tuple[str, ...]
    cells: Mapping[tuple[str, str], Cell]
    labels: Mapping[str, str] = field(default_factory=dict)
    omitted: tuple[str, ...] = ()
    key_spec: str | None = None
    key_account: str = ""
    region: str = ""
    key_usage: str | None = None

    def cell(self, principal: str, capability: str) -> Cell:
        """The cell of one principal and capability."""
        return self.cells[(principal, capability)]

    def to_json(self) -> dict[str, Any]:
        """The whole matrix as a JSON-ready document, rows in display order."""
        return {
            "keyAccount": self.key_account,
            "region": self.region,
            "keyUsage": self.key_usage,
            "keySpec": self.key_spec,
            "capabilities": [
                {"name": name, "actions": list(specs.CAPABILITIES[name])}
                for name in self.capabilities
            ],
            "omittedCapabilities": list(self.omitted),
            "rows": [
                {
                    "principal": principal,
                    "label": self.labels.get(principal, ""),
                    "cells": {
                        capability: self.cells[(principal, capability)].to_json()
                        for capability in self.capabilities
                    },
                }
                for principal in self.principals
            ],
        }


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return [item for item in _as_list(statements) if isinstance(item, Mapping)]


def _named_principals(policy: Mapping[str, Any]) -> tuple[list[str], list[str], bool]:
    """IAM principals and service principals the policy names, and whether it names ``*``."""
    aws: list[str] = []
    services: list[str] = []
    everyone = False
    for statement in _statements(policy):
        for element in ("Principal", "NotPrincipal"):
            value = statement.get(element)
            if value is None:
                continue
            if value == "*":
                everyone = True
                continue
            if not isinstance(value, Mapping):
                continue
            for entry in _as_list(value.get("AWS", [])):
                text = str(entry)
                if text == "*":
                    everyone = True
                elif re.fullmatch(r"\d{12}", text):
                    aws.append(f"arn:aws:iam::{text}:root")
                else:
                    aws.append(text)
            services += [str(entry).lower() for entry in _as_list(value.get("Service", []))]
    return list(dict.fromkeys(aws)), list(dict.fromkeys(services)), everyone


def _other_account(policy: Mapping[str, Any], key_account: str) -> str:
    """An account that the policy never mentions, to stand for "somebody else"."""
    mentioned = set(_ACCOUNT_IN_TEXT.findall(json.dumps(policy, sort_keys=True)))
    mentioned.add(key_account)
    for candidate in OTHER_ACCOUNT_CANDIDATES:
        if candidate not in mentioned:
            return candidate
    number = 100000000000
    while str(number) in mentioned:
        number += 1
    return str(number)


def _unused_role(account: str, partition: str, name: str, taken: Iterable[str]) -> str:
    taken_set = set(taken)
    arn = f"arn:{partition}:iam::{account}:role/{name}"
    suffix = 2
    while arn in taken_set:
        arn = f"arn:{partition}:iam::{account}:role/{name}-{suffix}"
        suffix += 1
    return arn


def _rows(
    policy: Mapping[str, Any], key_account: str, partition: str
) -> tuple[list[str], dict[str, str]]:
    """Rows in display order, and a label for each."""
    aws, services, everyone = _named_principals(policy)
    root = f"arn:{partition}:iam::{key_account}:root"
    labels: dict[str, str] = {root: "account root"}
    rows = [root]
    for arn in sorted(aws, key=lambda text: (not text.endswith(":root"), text)):
        if arn not in labels:
            rows.append(arn)
            labels[arn] = "named in the policy"
            if arn.endswith(":root"):
                labels[arn] = "account root (named in the policy)"
    for service in sorted(services):
        rows.append(service)
        labels[service] = "service principal"
    other_role = _unused_role(key_account, partition, ANY_OTHER_ROLE, rows)
    rows.append(other_role)
    labels[other_role] = "synthetic: any other principal of the account"
    stranger = _unused_role(
        _other_account(policy, key_account), partition, OTHER_ACCOUNT_ROLE, rows
    )
    rows.append(stranger)
    labels[stranger] = "synthetic: a principal of another account"
    # Always shown, so matrices of different keys compare row by row.
    rows.append("*")
    labels["*"] = "any principal, e.g. an anonymous caller"
    return rows, labels


# ---------------------------------------------------------------------------------------------
# Conditions: a context that satisfies a statement, and its compact text
# ---------------------------------------------------------------------------------------------


def _literal(pattern: str) -> str:
    """A value that a wildcard pattern matches: ``*`` becomes ``example``, ``?`` becomes ``x``."""
    return pattern.replace("*", "example").replace("?", "x")


def _split_operator(operator: str) -> tuple[str, bool, str]:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return qualifier, if_exists, base.removesuffix("IfExists")


def _satisfying_value(base: str, value: str) -> str | None:
    """A request value that makes ``base`` hold for one policy value; None when unknown."""
    if base in ("StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "BinaryEquals"):
        return value
    if base in ("StringLike", "ArnLike"):
        return _literal(value)
    if base == "Bool":
        return value.lower()
    if base in ("NumericEquals", "NumericLessThanEquals", "NumericGreaterThanEquals"):
        return value
    if base in ("NumericLessThan", "NumericGreaterThan"):
        try:
            number = float(value)
        except ValueError:
            return None
        return str(number - 1 if base == "NumericLessThan" else number + 1)
    if base in ("DateEquals", "DateLessThanEquals", "DateGreaterThanEquals"):
        return value
    if base == "DateLessThan":
        return "1970-01-01T00:00:00Z"
    if base == "DateGreaterThan":
        return "9999-12-31T23:59:59Z"
    if base == "IpAddress":
        return value.split("/")[0]
    return None


def _may_set(key: str, principal: Principal) -> bool:
    lowered = key.lower()
    if lowered in _CALLER_KEYS:
        return False
    if lowered in _IAM_ATTRIBUTE_KEYS or lowered.startswith(_IAM_ATTRIBUTE_PREFIXES):
        return principal.kind == "aws"
    return True


def _condition_context(
    condition: Any, principal: Principal
) -> dict[str, ContextValue] | None:
    """A request context meeting every condition of a statement, or None if none can be built.

    Negated operators, ``...IfExists`` and ``Null: true`` already hold when the key is absent,
    so those keys stay out of the context.
    """
    if not isinstance(condition, Mapping):
        return None
    context: dict[str, ContextValue] = {}
    for operator, block in condition.items():
        if not isinstance(operator, str) or not isinstance(block, Mapping):
            return None
        qualifier, if_exists, base = _split_operator(operator)
        for key, raw in block.items():
            values = [str(item).lower() if isinstance(item, bool) else str(item)
                      for item in _as_list(raw)]
            if not values or not isinstance(key, str):
                return None
            if base == "Null":
                if values[0].lower() == "false":
                    if not _may_set(key, principal):
                        continue
                    context[key] = "example"
                continue
            if if_exists or qualifier == "ForAllValues" or "Not" in base:
                continue
            if not _may_set(key, principal):
                continue
            wanted = _satisfying_value(base, values[0])
            if wanted is None:
                return None
            context[key] = [wanted] if qualifier == "ForAnyValue" else wanted
    return context


_OPERATOR_TEXT: Final = {
    "StringEquals": "=",
    "StringEqualsIgnoreCase": "=",
    "StringLike": "=",
    "ArnEquals": "=",
    "ArnLike": "=",
    "Bool": "=",
    "BinaryEquals": "=",
    "NumericEquals": "=",
    "DateEquals": "=",
    "StringNotEquals": "!=",
    "StringNotEqualsIgnoreCase": "!=",
    "StringNotLike": "!=",
    "ArnNotEquals": "!=",
    "ArnNotLike": "!=",
    "NumericNotEquals": "!=",
    "DateNotEquals": "!=",
    "NumericLessThan": "<",
    "DateLessThan": "<",
    "NumericLessThanEquals": "<=",
    "DateLessThanEquals": "<=",
    "NumericGreaterThan": ">",
    "DateGreaterThan": ">",
    "NumericGreaterThanEquals": ">=",
    "DateGreaterThanEquals": ">=",
    "IpAddress": " in ",
    "NotIpAddress": " not in ",
}


def _condition_text(condition: Mapping[str, Any]) -> str:
    """Compact text of a statement's condition, leaving out facts about the caller.

    ``kms:CallerAccount`` and its kind are not shown: when a cell is conditional they already
    hold for that principal, so they add nothing to what the caller must do.
    """
    parts: list[str] = []
    for operator, block in sorted(condition.items()):
        qualifier, if_exists, base = _split_operator(operator)
        for key, raw in sorted(block.items()):
            if key.lower() in _CALLER_KEYS:
                continue
            values = [str(item).lower() if isinstance(item, bool) else str(item)
                      for item in _as_list(raw)]
            if base == "Null":
                parts.append(f"{key} {'absent' if values[0].lower() == 'true' else 'present'}")
                continue
            sign = _OPERATOR_TEXT.get(base, f" {base} ")
            shown = values[0] if len(values) == 1 else "{" + "|".join(values) + "}"
            text = f"{key}{sign}{shown}"
            if qualifier:
                text = f"{qualifier}:{text}"
            if if_exists:
                text += " (if present)"
            parts.append(text)
    return " and ".join(parts) if parts else "(conditions on the caller)"


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def _without_condition(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A one-statement policy: the statement as if its conditions always held."""
    body = {key: value for key, value in statement.items() if key != "Condition"}
    return {"Version": "2012-10-17", "Statement": [body]}


def _action_cell(
    policy: Mapping[str, Any], principal: Principal, action: str, key_account: str
) -> Cell:
    """Decide one action for one principal, by the evaluator alone."""
    result = evaluate(policy, Request(principal, action), key_account=key_account)
    if result.decision is Decision.ALLOW:
        return Cell(ALLOWED, None, result.deciding_statements)
    # Even an explicit deny may only hold in some contexts (a Deny with StringNotEquals
    # kms:ViaService), so conditional paths are looked for after any deny.
    delegated = result.decision is Decision.ALLOW_IF_IAM

    alternatives: list[tuple[str, str]] = []
    for index, statement in enumerate(_statements(policy)):
        if statement.get("Effect") != "Allow" or not statement.get("Condition"):
            continue
        # Would this statement cover the principal and the action if its conditions held?
        bare = evaluate(
            _without_condition(statement), Request(principal, action), key_account=key_account
        )
        if not bare.decision.possible:
            continue
        context = _condition_context(statement["Condition"], principal)
        if context is None:
            continue
        again = evaluate(policy, Request(principal, action, context), key_account=key_account)
        label = str(statement.get("Sid") or f"#{index}")
        if label not in again.deciding_statements:
            continue
        text = _condition_text(statement["Condition"])
        if again.decision is Decision.ALLOW:
            alternatives.append((text, label))
        elif again.decision is Decision.ALLOW_IF_IAM and not delegated:
            alternatives.append((f"{text} (if IAM allows)", label))
    if not alternatives:
        if delegated:
            return Cell(ALLOWED_IF_IAM, None, result.deciding_statements)
        return Cell(DENIED, None, result.deciding_statements)
    return Cell(
        CONDITIONAL,
        " or ".join(dict.fromkeys(text for text, _ in alternatives)),
        tuple(dict.fromkeys(label for _, label in alternatives)),
        otherwise=ALLOWED_IF_IAM if delegated else DENIED,
    )


def _strength(cell: Cell) -> float:
    if cell.outcome == CONDITIONAL:
        return 2.5 if cell.otherwise == ALLOWED_IF_IAM else 1
    return _STRENGTH[cell.outcome]


def _combine(cells: Sequence[Cell]) -> Cell:
    """A capability of several actions: as available as its weakest action."""
    weakest = min(_strength(cell) for cell in cells)
    chosen = [cell for cell in cells if _strength(cell) == weakest]
    if len(chosen) == 1 and len(cells) == 1:
        return chosen[0]
    first = chosen[0]
    statements = tuple(dict.fromkeys(label for cell in chosen for label in cell.statements))
    if first.outcome != CONDITIONAL:
        return Cell(first.outcome, None, statements)
    texts = dict.fromkeys(cell.condition or "" for cell in chosen)
    return Cell(CONDITIONAL, "; ".join(texts), statements, otherwise=first.otherwise)


# Capabilities only symmetric keys offer: asymmetric keys never generate data keys.
SYMMETRIC_ONLY_CAPABILITIES = frozenset({"generate data key"})


def _capabilities(
    key_usage: str | None, key_spec: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    shown, omitted = [], []
    for name in specs.CAPABILITIES:
        usages = CAPABILITY_USAGES.get(name)
        wrong_usage = key_usage is not None and usages is not None and key_usage not in usages
        wrong_spec = (
            key_spec is not None
            and key_spec != specs.SYMMETRIC_DEFAULT
            and name in SYMMETRIC_ONLY_CAPABILITIES
        )
        if wrong_usage or wrong_spec:
            omitted.append(name)
        else:
            shown.append(name)
    return tuple(shown), tuple(omitted)


def access_matrix(
    policy: Mapping[str, Any],
    *,
    key_account: str,
    region: str,
    key_usage: str | None = None,
    key_spec: str | None = None,
) -> AccessMatrix:
    """The access matrix of a key policy for a key of ``key_account`` in ``region``.

    ``key_usage`` (ENCRYPT_DECRYPT, SIGN_VERIFY...) and ``key_spec`` drop the capabilities such
    a key cannot offer; without them every capability of ``specs.CAPABILITIES`` is a column. Raises
    :class:`components.evaluator.PolicyEvaluationError` for a policy the evaluator cannot read.
    """
    if key_usage is not None and key_usage not in specs.KEY_USAGES:
        raise ValueError(f"key_usage must be one of {list(specs.KEY_USAGES)}: {key_usage!r}")
    partition = partition_for_region(region)
    rows, labels = _rows(policy, key_account, partition)
    capabilities, omitted = _capabilities(key_usage, key_spec)
    cells: dict[tuple[str, str], Cell] = {}
    for row in rows:
        principal = Principal.parse(row)
        for capability in capabilities:
            per_action = [
                _action_cell(policy, principal, action, key_account)
                for action in specs.CAPABILITIES[capability]
            ]
            cells[(row, capability)] = _combine(per_action)
    return AccessMatrix(
        principals=tuple(rows),
        capabilities=capabilities,
        cells=cells,
        labels=labels,
        omitted=omitted,
        key_account=key_account,
        region=region,
        key_usage=key_usage,
        key_spec=key_spec,
    )


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def _footnotes(matrix: AccessMatrix) -> dict[str, int]:
    """Number each distinct condition in reading order (row by row, left to right)."""
    numbers: dict[str, int] = {}
    for principal in matrix.principals:
        for capability in matrix.capabilities:
            cell = matrix.cells[(principal, capability)]
            if cell.outcome == CONDITIONAL:
                numbers.setdefault(cell.condition or "", len(numbers) + 1)
    return numbers


def render_matrix(matrix: AccessMatrix) -> list[str]:
    """The matrix as aligned text lines: header, two lines per principal, legend, conditions.

    Each principal's name stands on its own line with its codes below it, so the table stays
    within 100 columns however long the ARNs are (only a name longer than that exceeds it).
    """
    numbers = _footnotes(matrix)
    column = 8
    indent = "    "
    headers = [SHORT_NAMES.get(name, name[:7]) for name in matrix.capabilities]
    lines = [
        f"access matrix: {len(matrix.principals)} principals x "
        f"{len(matrix.capabilities)} capabilities (key account {matrix.key_account}, "
        f"{matrix.region})",
        (indent + "".join(header.ljust(column) for header in headers)).rstrip(),
    ]
    for principal in matrix.principals:
        label = matrix.labels.get(principal)
        lines.append(f"  {principal}" + (f"  ({label})" if label else ""))
        codes = []
        for capability in matrix.capabilities:
            cell = matrix.cells[(principal, capability)]
            code = cell.code
            if cell.outcome == CONDITIONAL:
                code += str(numbers[cell.condition or ""])
            codes.append(code.ljust(column))
        lines.append((indent + "".join(codes)).rstrip())
    lines += [
        "legend: A allowed by the key policy alone; I allowed if the principal's IAM policies "
        "also allow;",
        "        Cn allowed by the key policy under condition n, else denied; I/Cn allowed under",
        "        condition n, else only if IAM allows; - denied",
    ]
    legend = ", ".join(
        f"{SHORT_NAMES.get(name, name[:7])}={'/'.join(specs.CAPABILITIES[name])}"
        for name in matrix.capabilities
    )
    lines += textwrap.wrap(
        f"columns: {legend}", width=_WIDTH, subsequent_indent="         ",
        break_on_hyphens=False,
    )
    if matrix.omitted:
        kind = " ".join(part for part in (matrix.key_spec, matrix.key_usage) if part) or "this"
        lines.append(f"not applicable to {kind} keys: {', '.join(matrix.omitted)}")
    if numbers:
        lines.append("conditions:")
        for text, number in numbers.items():
            sids = _condition_sids(matrix, text)
            note = text + (f"  [{', '.join(sids)}]" if sids else "")
            lines += textwrap.wrap(
                note, width=_WIDTH, initial_indent=f"  C{number}  ",
                subsequent_indent=" " * (len(str(number)) + 5), break_on_hyphens=False,
                break_long_words=False,
            )
    return lines


def _condition_sids(matrix: AccessMatrix, text: str) -> list[str]:
    found: dict[str, None] = {}
    for cell in matrix.cells.values():
        if cell.outcome == CONDITIONAL and cell.condition == text:
            found.update(dict.fromkeys(cell.statements))
    return list(found)
