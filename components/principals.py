"""Principal ARNs as a key policy needs them: lasting, exact, and written the way AWS stores them.

A key policy outlives the deploy that wrote it, so a principal must name an identity that lasts.
STS session ARNs end with the session and are rewritten to their role, or refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PARTITIONS: Final = ("aws", "aws-cn", "aws-us-gov")
ACCOUNT_ID_PATTERN: Final = re.compile(r"^[0-9]{12}$")
_IAM_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>[0-9]{12}):"
    r"(?P<resource>root|(?:role|user)/[A-Za-z0-9_+=,.@/-]{1,512})$"
)
_STS_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):sts::(?P<account>[0-9]{12}):"
    r"assumed-role/(?P<role>[A-Za-z0-9_+=,.@-]{1,64})/(?P<session>[A-Za-z0-9_+=,.@-]{2,64})$"
)
# Roles that AWS creates under a path (IAM Identity Center) cannot be rebuilt from a session ARN.
_PATHED_SERVICE_ROLE_PREFIXES: Final = ("AWSReservedSSO_",)
SERVICE_PRINCIPAL_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")

ALLOWED_PRINCIPAL_TEXT: Final = (
    "an IAM role, user or account-root ARN (arn:aws:iam::<12-digit account>:role/<name>, "
    ":user/<name> or :root) or a 12-digit account id"
)


class PrincipalError(ValueError):
    """A principal that cannot go into a key policy; the message says what is allowed."""


@dataclass(frozen=True)
class NormalisedPrincipal:
    """A principal ready for a policy, with a note when it was rewritten."""

    arn: str
    account: str
    partition: str | None = None
    """None for a bare account id, which takes the stack's partition."""
    note: str | None = None


def account_root_arn(account_id: str, partition: str = "aws") -> str:
    """The ARN AWS writes back for an account principal."""
    return f"arn:{partition}:iam::{account_id}:root"


def normalise_principal(text: str, *, partition: str = "aws") -> NormalisedPrincipal:
    """Return the lasting ARN for *text*, rewriting account ids and session ARNs, or refuse it.

    An account id becomes its root ARN, because that is how AWS stores it back and a stored
    form avoids a diff on every `pulumi up`. An assumed-role session becomes its role, since
    the session ends but the role stays.
    """
    if not isinstance(text, str):
        raise PrincipalError(f"a string: {_allowed()}")
    candidate = text.strip()
    if candidate != text or not candidate:
        raise PrincipalError(f"no empty value or surrounding spaces: {_allowed()}")

    if ACCOUNT_ID_PATTERN.fullmatch(candidate):
        return NormalisedPrincipal(
            arn=account_root_arn(candidate, partition), account=candidate, partition=None
        )

    if "*" in candidate or "?" in candidate:
        raise PrincipalError(
            f"no wildcards (KMS matches them literally in principal ARNs): {_allowed()}"
        )

    iam = _IAM_ARN.fullmatch(candidate)
    if iam:
        return NormalisedPrincipal(
            arn=candidate, account=iam["account"], partition=iam["partition"]
        )

    session = _STS_ASSUMED_ROLE.fullmatch(candidate)
    if session:
        role = session["role"]
        if role.startswith(_PATHED_SERVICE_ROLE_PREFIXES):
            raise PrincipalError(
                f"the role's full IAM ARN: this STS session belongs to {role!r}, an IAM "
                "Identity Center role under an IAM path that a session ARN does not show "
                "(aws iam get-role --role-name ...)"
            )
        role_arn = f"arn:{session['partition']}:iam::{session['account']}:role/{role}"
        return NormalisedPrincipal(
            arn=role_arn,
            account=session["account"],
            partition=session["partition"],
            note=f"STS session ARN rewritten to its role {role_arn}",
        )

    if candidate.startswith("arn:") and ":sts::" in candidate and ":assumed-role/" in candidate:
        raise PrincipalError(
            "an assumed-role session ARN arn:aws:sts::<account>:assumed-role/<role>/<session> "
            "with a role name of 1-64 and a session name of 2-64 characters (it is rewritten "
            f"to its role), or {_allowed()}"
        )
    if candidate.startswith("arn:") and ":sts::" in candidate:
        raise PrincipalError(
            "an STS ARN other than an assumed-role session (e.g. a federated user), which ends "
            f"with its session and cannot be a key policy principal: {_allowed()}"
        )
    raise PrincipalError(_allowed())


def validate_service_principal(name: str) -> str:
    """Service principals are DNS names under amazonaws.com (e.g. logs.us-west-2.amazonaws.com)."""
    if not isinstance(name, str) or not SERVICE_PRINCIPAL_PATTERN.fullmatch(name):
        raise PrincipalError("an AWS service principal such as logs.us-west-2.amazonaws.com")
    return name


def _allowed() -> str:
    return ALLOWED_PRINCIPAL_TEXT
