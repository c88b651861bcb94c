"""The stack program's steps, kept here so `__main__.py` stays a few readable lines."""

from __future__ import annotations

from dataclasses import replace

import pulumi

from .errors import KmsConfigError
from .key import CustomerManagedKey
from .key_store import create_key_store
from .loader import load_stack
from .rules import KeyPlan, StackPlan


class StackConfigError(pulumi.RunError):
    """Bad stack configuration: Pulumi prints it without a traceback, and the offline preview
    recognises it by type (exit 2) rather than by its wording."""

    def __init__(self, error: KmsConfigError) -> None:
        super().__init__(str(error))
        self.config_error = error


def read_stack_config() -> StackPlan:
    """Read and check this stack's config exactly as `pulumi up` sees it, or stop cleanly.

    Every problem is reported at once, before any resource is registered; the run ends with a
    `RunError`, which Pulumi prints without a traceback.
    """
    project = pulumi.get_project()

    def source(full_key: str) -> str | None:
        namespace, _, key = full_key.partition(":")
        config = pulumi.Config(namespace)
        if pulumi.runtime.is_config_secret(full_key):
            return "[secret]"  # settings are never secrets; a secret here is shown, not read
        return config.get(key)

    try:
        return load_stack(
            source, project=project, stack=pulumi.get_stack(), present_keys=_config_keys()
        )
    except KmsConfigError as error:
        raise StackConfigError(error) from None


def _config_keys() -> set[str] | None:
    """Every config key of the stack, as the language host handed them to the program."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    return keys or None


def with_key_material(plan: KeyPlan) -> KeyPlan:
    """Imported key material comes from a secret config value and stays an Output secret."""
    if plan.key_material_config_key is None:
        return plan
    material = pulumi.Config().require_secret(plan.key_material_config_key)
    return replace(plan, key_material=material)


def build_keys(stack: StackPlan) -> dict[str, CustomerManagedKey]:
    """Key stores first, then one component per key, in name order."""
    stores = {store.name: create_key_store(store) for store in stack.key_stores}
    keys = {}
    for plan in stack.keys:
        plan = with_key_material(plan)
        if plan.custom_key_store is not None:
            plan = replace(plan, custom_key_store_id=stores[plan.custom_key_store].id)
        keys[plan.name] = CustomerManagedKey(plan.name, plan=plan)
    return keys


def export_keys(keys: dict[str, CustomerManagedKey]) -> None:
    """Stack outputs other programs read through a StackReference."""
    pulumi.export(
        "keys",
        {
            name: {
                "keyId": key.key_id,
                "keyArn": key.key_arn,
                "aliases": key.alias_names,
                "replicaArns": key.replica_arns,
            }
            for name, key in keys.items()
        },
    )
