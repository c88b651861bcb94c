"""kms-keys: AWS KMS customer managed keys as code, with least-privilege policies.

The public surface: the `CustomerManagedKey` component and its `KeySettings` arguments; the
pure loader, policy builder, static checks and policy evaluator for tests and reviews.
"""

from .errors import ConfigIssue, KmsConfigError
from .model import GrantSettings, KeySettings, ServiceAccess, ServicePrincipalAccess
from .policy import build_policy, pretty_policy, render_policy
from .rules import KeyPlan, StackContext, StackPlan, plan_key

__all__ = [
    "AwsManagedKey",
    "ConfigIssue",
    "CustomerManagedKey",
    "GrantSettings",
    "KeyPlan",
    "KeySettings",
    "KmsConfigError",
    "ServiceAccess",
    "ServicePrincipalAccess",
    "StackContext",
    "StackPlan",
    "aws_managed_key",
    "build_policy",
    "plan_key",
    "pretty_policy",
    "render_policy",
]


def __getattr__(name: str) -> object:
    """Import the Pulumi edge lazily, so the pure core imports without the Pulumi runtime."""
    if name == "CustomerManagedKey":
        from .key import CustomerManagedKey

        return CustomerManagedKey
    if name in ("aws_managed_key", "AwsManagedKey"):
        from . import key_store

        return getattr(key_store, name)
    raise AttributeError(name)
