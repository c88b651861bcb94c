"""Compares two previews and calls out changes that replace a key.

A replaced key is a new key: ciphertext made under the old one cannot be decrypted by the new
one, and once the old key's deletion window ends that data is lost. Such changes deserve a
loud report before `pulumi up`, not after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

# Settings whose change makes the provider create a new key (the old one is scheduled for
# deletion), as the pulumi-aws resources mark them.
REPLACING_SETTINGS: Final = (
    "type",
    "account",
    "region",
    "keySpec",
    "keyUsage",
    "origin",
    "multiRegion",
    "customKeyStoreId",
    "xksKeyId",
)
# What every key of a saved preview must carry to be compared, with its JSON type.
REQUIRED_FIELDS: Final = {
    "name": str, "type": str, "keySpec": str, "keyUsage": str, "origin": str,
    "protected": bool, "multiRegion": bool, "aliases": list, "rotation": dict,
}


def malformed_keys(document: Mapping[str, Any]) -> list[str]:
    """What makes a saved preview unusable for a comparison; empty when it is fine."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        return ["'keys' is not a list"]
    problems = []
    for index, key in enumerate(keys):
        if not isinstance(key, dict):
            problems.append(f"keys[{index}] is not a mapping")
            continue
        for field, kind in REQUIRED_FIELDS.items():
            if not isinstance(key.get(field), kind):
                problems.append(f"keys[{index}].{field} is not a {kind.__name__}")
    return problems

ChangeKind = Literal["replace", "delete", "create", "update"]


@dataclass(frozen=True)
class KeyChange:
    """One key's change between two previews."""

    key: str
    kind: ChangeKind
    details: tuple[str, ...]
    protected: bool = False

    @property
    def destructive(self) -> bool:
        """Replacing or deleting a key can make existing ciphertext undecryptable."""
        return self.kind in ("replace", "delete")

    def render(self) -> str:
        guard = (
            " The key is protected: `pulumi up` refuses to delete it until someone runs "
            "`pulumi state unprotect` on purpose" if self.protected and self.destructive else ""
        )
        if self.kind == "replace":
            return (
                f"REPLACE key {self.key}: {'; '.join(self.details)}. The new key cannot "
                "decrypt data encrypted under the old one; that data is lost once the old "
                f"key's deletion window ends.{guard}"
            )
        if self.kind == "delete":
            return (
                f"DELETE key {self.key}: it is scheduled for deletion; data encrypted under it "
                f"becomes undecryptable after the deletion window.{guard}"
            )
        if self.kind == "create":
            return f"create key {self.key}"
        return f"update key {self.key}: {'; '.join(self.details)}"


def _describe(setting: str, before: Any, after: Any) -> str:
    """One changed setting; mappings as what was added, removed or changed, not both wholes."""
    if isinstance(before, dict) and isinstance(after, dict):
        parts = [f"+{key}={after[key]!r}" for key in sorted(after.keys() - before.keys())]
        parts += [f"-{key}" for key in sorted(before.keys() - after.keys())]
        parts += [f"{key} {before[key]!r} -> {after[key]!r}" for key in sorted(before)
                  if key in after and before[key] != after[key]]
        return f"{setting} {', '.join(parts)}"
    return f"{setting} {before!r} -> {after!r}"


def compare_previews(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[KeyChange]:
    """Changes from *previous* to *current* (both `kms-keys preview --json` documents)."""
    before = {key["name"]: key for key in previous.get("keys", [])}
    after = {key["name"]: key for key in current.get("keys", [])}
    changes: list[KeyChange] = []
    for name in sorted(before.keys() | after.keys()):
        protected = bool(before.get(name, {}).get("protected"))
        if name not in after:
            changes.append(KeyChange(name, "delete", (), protected))
            continue
        if name not in before:
            changes.append(KeyChange(name, "create", ()))
            continue
        old, new = before[name], after[name]
        replacing = tuple(
            _describe(setting, old.get(setting), new.get(setting))
            for setting in REPLACING_SETTINGS
            if old.get(setting) != new.get(setting)
        )
        if replacing:
            changes.append(KeyChange(name, "replace", replacing, protected))
            continue
        updates = tuple(
            _describe(setting, old.get(setting), new.get(setting))
            for setting in ("rotation", "deletionWindowInDays", "protected", "aliases", "policy",
                            "tags", "description", "replicas", "grants")
            if old.get(setting) != new.get(setting)
        )
        if updates:
            changes.append(KeyChange(name, "update", tuple(
                detail if not detail.startswith(("policy", "replicas")) else
                detail.split(" ", 1)[0] + " changed" for detail in updates
            )))
    return changes
