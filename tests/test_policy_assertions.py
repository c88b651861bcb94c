"""The sentence-style policy assertions pass on true sentences and explain false ones."""

from __future__ import annotations

from typing import Any

import pytest

from components.evaluator import Principal
from components.policy_assertions import PrincipalExpectation, expect

ACCOUNT = "111122223333"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
OTHER_ROLE = "arn:aws:iam::444455556666:role/consumer"
S3 = "s3.us-west-2.amazonaws.com"

POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnableIAM",
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:Describe*"],
            "Resource": "*",
        },
        {
            "Sid": "AllowKeyUseViaS3",
            "Effect": "Allow",
            "Principal": {"AWS": APP},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": S3}},
        },
        {
            "Sid": "AllowExternalViaS3",
            "Effect": "Allow",
            "Principal": {"AWS": OTHER_ROLE},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": S3}},
        },
        {
            "Sid": "DenyPlaintextExport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ],
}


def app() -> PrincipalExpectation:
    """Expectations about the application role."""
    return expect(POLICY, key_account=ACCOUNT).principal(APP)


def test_can_passes_when_allowed() -> None:
    """can() passes when the key policy alone allows the action."""
    app().can("kms:Decrypt", via=S3)
    expect(POLICY, key_account=ACCOUNT).principal(ROOT).can("kms:ScheduleKeyDeletion")


def test_can_fails_with_decision_and_statements() -> None:
    """can() on a delegated action fails, naming decision, statement and principal."""
    with pytest.raises(AssertionError, match=r"allow-if-iam .*EnableIAM") as info:
        app().can("kms:PutKeyPolicy")
    message = str(info.value)
    assert APP in message
    assert "kms:PutKeyPolicy" in message


def test_can_fails_on_explicit_deny_listing_deny_sid() -> None:
    """can() fails on an explicit deny and shows the deny Sid and the context."""
    with pytest.raises(AssertionError, match=r"explicit-deny .*DenyPlaintextExport") as info:
        app().can("kms:GenerateDataKey", via=S3, context={"aws:SecureTransport": False})
    assert "aws:SecureTransport" in str(info.value)


def test_cannot_passes_on_implicit_and_explicit_deny() -> None:
    """cannot() accepts both kinds of deny."""
    app().cannot("kms:Decrypt", via="ec2.us-west-2.amazonaws.com")
    app().cannot("kms:GenerateDataKey", context={"aws:SecureTransport": False})
    expect(POLICY, key_account=ACCOUNT).principal("arn:aws:iam::999988887777:root").cannot(
        "kms:Decrypt"
    )


def test_cannot_fails_when_allowed() -> None:
    """cannot() fails on ALLOW, naming the allowing statement."""
    with pytest.raises(AssertionError, match=r"to be denied .*allow .*AllowKeyUseViaS3"):
        app().cannot("kms:Decrypt", via=S3)


def test_cannot_fails_when_only_iam_needed() -> None:
    """cannot() fails on ALLOW_IF_IAM too: the request is still possible."""
    with pytest.raises(AssertionError, match=r"allow-if-iam"):
        app().cannot("kms:ScheduleKeyDeletion")


def test_can_if_iam_allows_passes_on_delegation() -> None:
    """can_if_iam_allows() passes for the account-root delegation."""
    app().can_if_iam_allows("kms:ScheduleKeyDeletion")


def test_can_if_iam_allows_fails_on_direct_allow() -> None:
    """can_if_iam_allows() is exact: a direct ALLOW is a failure."""
    with pytest.raises(AssertionError, match=r"if IAM allows .*decision was allow "):
        app().can_if_iam_allows("kms:Decrypt", via=S3)


def test_can_if_iam_allows_fails_on_deny_with_none() -> None:
    """An implicit deny reports 'none' as deciding statements."""
    stranger = expect(POLICY, key_account=ACCOUNT).principal("arn:aws:iam::999988887777:root")
    with pytest.raises(AssertionError, match=r"implicit-deny \(deciding statements: none"):
        stranger.can_if_iam_allows("kms:Decrypt")


def test_can_only_via_passes_when_restricted() -> None:
    """can_only_via() passes when only the named service path is allowed."""
    app().can_only_via("kms:Decrypt", S3)
    app().can_only_via("kms:Decrypt", S3, other_services=["rds.us-west-2.amazonaws.com"])


def test_can_only_via_cross_account_if_iam_allows() -> None:
    """can_only_via(if_iam_allows=True) checks the delegated decision via the service."""
    external = expect(POLICY, key_account=ACCOUNT).principal(OTHER_ROLE)
    external.can_only_via("kms:Decrypt", S3, if_iam_allows=True)


def test_can_only_via_fails_when_direct_call_allowed() -> None:
    """can_only_via() fails when the action also works without kms:ViaService."""
    root = expect(POLICY, key_account=ACCOUNT).principal(ROOT)
    with pytest.raises(AssertionError, match=r"without kms:ViaService .*allow .*EnableIAM"):
        root.can_only_via("kms:DescribeKey", S3)


def test_can_only_via_fails_when_named_service_denied() -> None:
    """can_only_via() fails when the named service path itself is denied."""
    with pytest.raises(AssertionError, match=r"to be allowed via ec2\..*implicit-deny"):
        app().can_only_via("kms:Decrypt", "ec2.us-west-2.amazonaws.com")


def test_can_only_via_fails_when_other_service_allowed() -> None:
    """can_only_via() fails when a sibling service path is allowed too."""
    loose = {
        "Statement": [
            {
                "Sid": "AnyRegionalService",
                "Effect": "Allow",
                "Principal": {"AWS": APP},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": "*.us-west-2.amazonaws.com"}},
            }
        ]
    }
    subject = expect(loose, key_account=ACCOUNT).principal(APP)
    with pytest.raises(AssertionError, match=r"denied via ec2\..*AnyRegionalService"):
        subject.can_only_via("kms:Decrypt", S3)


def test_chaining_returns_same_expectation() -> None:
    """Each sentence returns the expectation so several can be chained."""
    subject = app()
    assert subject.can("kms:Decrypt", via=S3).cannot("kms:Decrypt") is subject


def test_principal_object_accepted() -> None:
    """principal() takes a Principal as well as text."""
    expect(POLICY, key_account=ACCOUNT).principal(Principal.parse(APP)).can("kms:Decrypt", via=S3)


def test_via_and_context_conflict_is_an_error() -> None:
    """Giving kms:ViaService both ways is a test bug, reported as ValueError."""
    with pytest.raises(ValueError, match="kms:ViaService"):
        app().can("kms:Decrypt", via=S3, context={"KMS:ViaService": S3})
