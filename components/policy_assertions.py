"""Test helpers that read like sentences about a key policy.

``expect(policy, key_account=...).principal(arn).can("kms:Decrypt")`` keeps tests short and makes
failures self-explanatory: the message names the principal, action, context, decision and the
statements that decided it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.evaluator import ContextValue, Decision, Evaluation, Principal, Request, evaluate

__all__ = ["PolicyExpectation", "PrincipalExpectation", "expect"]

_VIA_KEY = "kms:ViaService"
_DENIES = (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)


def expect(policy: Mapping[str, Any] | str, *, key_account: str) -> PolicyExpectation:
    """Start a sentence about what a key policy allows."""
    return PolicyExpectation(policy, key_account)


@dataclass(frozen=True)
class PolicyExpectation:
    """A key policy plus the account that owns the key."""

    policy: Mapping[str, Any] | str
    key_account: str

    def principal(self, principal: str | Principal) -> PrincipalExpectation:
        """Pick who the following expectations are about (ARN, account id, service, ``*``)."""
        parsed = principal if isinstance(principal, Principal) else Principal.parse(principal)
        return PrincipalExpectation(self, parsed)


def _other_service(service: str) -> str:
    """A different service endpoint in the same region, to prove the restriction bites."""
    name, _, rest = service.partition(".")
    other = "ec2" if name != "ec2" else "lambda"
    return f"{other}.{rest}" if rest else f"{other}.amazonaws.com"


@dataclass(frozen=True)
class PrincipalExpectation:
    """Expectations about one principal; each method returns self so sentences can chain."""

    policy: PolicyExpectation
    who: Principal

    def _evaluate(
        self, action: str, via: str | None, context: Mapping[str, ContextValue] | None
    ) -> tuple[Evaluation, dict[str, ContextValue]]:
        """Evaluate with ``via`` folded into kms:ViaService; conflicting values are a test bug."""
        merged: dict[str, ContextValue] = dict(context or {})
        if via is not None:
            clash = [key for key in merged if key.lower() == _VIA_KEY.lower()]
            if clash:
                raise ValueError("give kms:ViaService either as via= or in context, not both")
            merged[_VIA_KEY] = via
        request = Request(self.who, action, merged)
        return evaluate(self.policy.policy, request, key_account=self.policy.key_account), merged

    def _check(
        self,
        wanted: str,
        accepted: Sequence[Decision],
        action: str,
        via: str | None,
        context: Mapping[str, ContextValue] | None,
    ) -> None:
        """Raise an AssertionError that explains the decision when it is not an accepted one."""
        result, merged = self._evaluate(action, via, context)
        if result.decision in accepted:
            return
        deciding = ", ".join(result.deciding_statements) or "none"
        raise AssertionError(
            f"expected {self.who} {wanted} {action} with context {merged!r}, "
            f"but the decision was {result.decision.value} "
            f"(deciding statements: {deciding}; {result.explanation})"
        )

    def can(
        self,
        action: str,
        *,
        via: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> PrincipalExpectation:
        """The key policy alone must allow the action (decision ALLOW)."""
        self._check("to be allowed", (Decision.ALLOW,), action, via, context)
        return self

    def cannot(
        self,
        action: str,
        *,
        via: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> PrincipalExpectation:
        """The action must be denied, explicitly or implicitly, whatever IAM says."""
        self._check("to be denied", _DENIES, action, via, context)
        return self

    def can_if_iam_allows(
        self,
        action: str,
        *,
        via: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> PrincipalExpectation:
        """The key policy must delegate the decision to IAM (decision ALLOW_IF_IAM)."""
        self._check("to be allowed if IAM allows", (Decision.ALLOW_IF_IAM,), action, via, context)
        return self

    def can_only_via(
        self,
        action: str,
        service: str,
        *,
        context: Mapping[str, ContextValue] | None = None,
        if_iam_allows: bool = False,
        other_services: Sequence[str] = (),
    ) -> PrincipalExpectation:
        """Allowed through ``service``, denied directly and through any other service.

        The allowed decision is ALLOW, or ALLOW_IF_IAM with ``if_iam_allows=True``. Other
        services default to one sibling endpoint in the same region.
        """
        wanted = Decision.ALLOW_IF_IAM if if_iam_allows else Decision.ALLOW
        phrase = "to be allowed if IAM allows" if if_iam_allows else "to be allowed"
        self._check(f"{phrase} via {service}", (wanted,), action, service, context)
        self._check("to be denied without kms:ViaService", _DENIES, action, None, context)
        for other in other_services or (_other_service(service),):
            self._check(f"to be denied via {other}", _DENIES, action, other, context)
        return self
