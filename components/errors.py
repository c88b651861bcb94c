"""Errors that end a run cleanly and tell the operator exactly what to change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    """One bad value: where it is, what it was, and what would be accepted instead."""

    path: str
    value: object
    allowed: str

    def render(self, namespace: str) -> str:
        namespaced = ":" in self.path.split(".", 1)[0]
        location = self.path if namespaced or not namespace else f"{namespace}:{self.path}"
        return f"{location}: got {_show(self.value)}; allowed: {self.allowed}"


class KmsConfigError(ValueError):
    """Raised before any resource is registered when the stack's configuration is wrong."""

    def __init__(
        self,
        issues: Sequence[ConfigIssue],
        *,
        stack: str,
        namespace: str,
        before_registration: bool = True,
    ) -> None:
        self.issues = tuple(issues)
        self.stack = stack
        self.namespace = namespace
        self.before_registration = before_registration
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.issues)
        noun = "error" if count == 1 else "errors"
        when = (
            "nothing was registered" if self.before_registration
            else "found when an Output became known; the deployment stops here"
        )
        lines = [f"stack {self.stack!r}: {count} configuration {noun}, {when}"]
        lines += [f"  - {issue.render(self.namespace)}" for issue in self.issues]
        return "\n".join(lines)


_MISSING = object()


def _show(value: object) -> str:
    """Show a value the way the operator typed it, without ever printing a secret."""
    if value is _MISSING:
        return "nothing"
    if getattr(value, "is_secret", False):
        return "[secret]"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


MISSING = _MISSING
