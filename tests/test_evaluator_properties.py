"""Monotonicity properties of the key-policy evaluator over generated policies and requests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from components.evaluator import ContextValue, Decision, Principal, Request, evaluate

ACCOUNT = "111122223333"
OTHER = "444455556666"

STABLE = settings(max_examples=200, deadline=None, derandomize=True, database=None)

# Higher means more permissive; used to state "never raises" / "never lowers".
RANK = {
    Decision.EXPLICIT_DENY: 0,
    Decision.IMPLICIT_DENY: 1,
    Decision.ALLOW_IF_IAM: 2,
    Decision.ALLOW: 3,
}

PRINCIPALS = [
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws:iam::{ACCOUNT}:role/app",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{OTHER}:root",
    f"arn:aws:iam::{OTHER}:role/consumer",
    "logs.us-west-2.amazonaws.com",
    "*",
]
PRINCIPAL_ELEMENTS: list[Any] = [
    "*",
    {"AWS": "*"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    {"AWS": ACCOUNT},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"},
    {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{OTHER}:root"]},
    {"AWS": f"arn:aws:iam::{OTHER}:role/consumer"},
    {"Service": "logs.us-west-2.amazonaws.com"},
]
ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion"]
ACTION_PATTERNS = ["*", "kms:*", "kms:Decrypt", "kms:Generate*", "kms:?ncrypt", "kms:Schedule*"]
VIA = ["s3.us-west-2.amazonaws.com", "ec2.us-west-2.amazonaws.com"]

# (operator, key, candidate policy values) combinations the evaluator understands.
CONDITIONS: list[tuple[str, str, list[Any]]] = [
    ("StringEquals", "kms:ViaService", VIA),
    ("StringNotEquals", "kms:ViaService", VIA),
    ("StringEqualsIfExists", "kms:ViaService", VIA),
    ("StringNotEqualsIfExists", "kms:ViaService", VIA),
    ("StringLike", "kms:ViaService", ["s3.*", "*.us-west-2.amazonaws.com"]),
    ("StringNotLike", "kms:ViaService", ["s3.*"]),
    ("StringEqualsIgnoreCase", "kms:EncryptionContext:Team", ["red", "BLUE"]),
    ("StringEquals", "kms:CallerAccount", [ACCOUNT, OTHER]),
    ("ArnLike", "aws:PrincipalArn", [f"arn:aws:iam::{ACCOUNT}:role/*", "arn:aws:iam::*:root"]),
    ("ArnNotEquals", "aws:PrincipalArn", [f"arn:aws:iam::{ACCOUNT}:role/app"]),
    ("Bool", "kms:GrantIsForAWSResource", ["true", "false"]),
    ("Bool", "aws:SecureTransport", ["true"]),
    ("NumericLessThan", "kms:ScheduleKeyDeletionPendingWindowInDays", ["7", "30"]),
    ("NumericGreaterThanEquals", "kms:ScheduleKeyDeletionPendingWindowInDays", ["7"]),
    ("DateLessThan", "aws:CurrentTime", ["2024-06-01T00:00:00Z"]),
    ("Null", "kms:ViaService", ["true", "false"]),
    ("ForAllValues:StringEquals", "kms:EncryptionContextKeys", ["Team", "Project"]),
    ("ForAnyValue:StringEquals", "kms:EncryptionContextKeys", ["Team"]),
    ("ForAnyValue:StringLike", "aws:TagKeys", ["Own*"]),
]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """A Condition block of zero to two operator/key pairs."""
    block: dict[str, dict[str, Any]] = {}
    for operator, key, values in draw(st.lists(st.sampled_from(CONDITIONS), max_size=2)):
        chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
        block.setdefault(operator, {})[key] = chosen if len(chosen) > 1 else chosen[0]
    return block


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    """One statement drawn from understood elements; ``effect`` pins Allow or Deny."""
    chosen_effect = effect or draw(st.sampled_from(["Allow", "Deny"]))
    statement: dict[str, Any] = {
        "Effect": chosen_effect,
        "Principal": draw(st.sampled_from(PRINCIPAL_ELEMENTS)),
        "Resource": "*",
    }
    if draw(st.booleans()):
        statement["Sid"] = draw(st.sampled_from(["A", "B", "C", "D"]))
    action_element = "NotAction" if draw(st.integers(0, 4)) == 0 else "Action"
    patterns = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2))
    statement[action_element] = patterns if len(patterns) > 1 else patterns[0]
    block = draw(conditions())
    if block:
        statement["Condition"] = block
    return statement


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    """A policy document of one to four statements."""
    return {
        "Version": "2012-10-17",
        "Statement": draw(st.lists(statements(), min_size=1, max_size=4)),
    }


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """A request with a pooled principal, action and a small request context."""
    context: dict[str, ContextValue] = {}
    if draw(st.booleans()):
        context["kms:ViaService"] = draw(st.sampled_from(VIA))
    if draw(st.booleans()):
        context["kms:EncryptionContext:Team"] = draw(st.sampled_from(["red", "Red", "green"]))
    if draw(st.booleans()):
        context["kms:EncryptionContextKeys"] = draw(
            st.lists(st.sampled_from(["Team", "Project", "Other"]), max_size=3, unique=True)
        )
    if draw(st.booleans()):
        context["kms:GrantIsForAWSResource"] = draw(st.booleans())
    if draw(st.booleans()):
        context["kms:ScheduleKeyDeletionPendingWindowInDays"] = draw(st.integers(6, 31))
    if draw(st.booleans()):
        context["aws:CurrentTime"] = draw(
            st.sampled_from(["2024-05-31T23:59:59Z", "2024-06-01T00:00:00Z", "2025-01-01"])
        )
    if draw(st.booleans()):
        context["aws:TagKeys"] = draw(st.lists(st.sampled_from(["Owner", "Cost"]), max_size=2))
    if draw(st.booleans()):
        context["aws:SecureTransport"] = draw(st.booleans())
    return Request(
        Principal.parse(draw(st.sampled_from(PRINCIPALS))),
        draw(st.sampled_from(ACTIONS)),
        context,
    )


def decide(document: dict[str, Any], request: Request) -> Decision:
    """The decision for one generated request."""
    return evaluate(document, request, key_account=ACCOUNT).decision


def extended(document: dict[str, Any], statement: dict[str, Any], at: int) -> dict[str, Any]:
    """A copy of the policy with ``statement`` inserted at position ``at``."""
    body = list(document["Statement"])
    body.insert(at % (len(body) + 1), statement)
    return {"Version": document["Version"], "Statement": body}


@STABLE
@given(policies(), requests(), statements(effect="Deny"), st.integers(0, 4))
def test_property_adding_deny_never_raises_decision(
    document: dict[str, Any], request: Request, deny: dict[str, Any], at: int
) -> None:
    """An extra Deny either leaves the decision alone or makes it an explicit deny."""
    before = decide(document, request)
    after = decide(extended(document, deny, at), request)
    assert after in (before, Decision.EXPLICIT_DENY)
    assert RANK[after] <= RANK[before]
    if not before.possible:
        assert not after.possible


@STABLE
@given(policies(), requests(), statements(effect="Allow"), st.integers(0, 4))
def test_property_adding_allow_never_lowers_decision(
    document: dict[str, Any], request: Request, grant: dict[str, Any], at: int
) -> None:
    """An extra Allow never turns an allowed request into a denied one, nor lifts a deny."""
    before = decide(document, request)
    after = decide(extended(document, grant, at), request)
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY
    else:
        assert RANK[after] >= RANK[before]
    if before.possible:
        assert after.possible


@STABLE
@given(policies(), requests(), st.randoms(use_true_random=False))
def test_property_statement_order_is_irrelevant(
    document: dict[str, Any], request: Request, rng: Any
) -> None:
    """Reordering statements never changes the decision."""
    shuffled = list(document["Statement"])
    rng.shuffle(shuffled)
    assert decide({"Statement": shuffled}, request) is decide(document, request)


@STABLE
@given(policies(), requests())
def test_property_json_text_and_mapping_agree(document: dict[str, Any], request: Request) -> None:
    """Evaluating the JSON text gives exactly the same evaluation as the mapping."""
    as_text = evaluate(json.dumps(document), request, key_account=ACCOUNT)
    assert as_text == evaluate(document, request, key_account=ACCOUNT)


@STABLE
@given(policies(), requests())
def test_property_deciding_statements_consistent(
    document: dict[str, Any], request: Request
) -> None:
    """Allows and explicit denies name at least one statement; implicit denies name none."""
    result = evaluate(document, request, key_account=ACCOUNT)
    if result.decision is Decision.IMPLICIT_DENY:
        assert result.deciding_statements == ()
    else:
        assert result.deciding_statements
    labels = {s.get("Sid") or f"#{i}" for i, s in enumerate(document["Statement"])}
    assert set(result.deciding_statements) <= labels
