"""Turns an offline run into what an operator reads: a resource tree, each key, its policy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .matrix import AccessMatrix, access_matrix, render_matrix
from .offline import OfflineRun, RegisteredResource

KEY_TYPES = ("aws:kms/key:Key", "aws:kms/externalKey:ExternalKey")
COMPONENT_TYPE = "kms-keys:index:CustomerManagedKey"


def _children(run: OfflineRun, parent: str | None) -> list[RegisteredResource]:
    return [res for res in run.resources if res.parent == parent]


def _stack_urn(run: OfflineRun) -> str:
    files = run.files
    return f"urn:pulumi:{files.stack}::{files.project}::pulumi:pulumi:Stack::" \
           f"{files.project}-{files.stack}"


def key_summaries(run: OfflineRun) -> list[dict[str, Any]]:
    """One record per CustomerManagedKey, with the settings a reviewer checks."""
    summaries = []
    for component in (res for res in run.resources if res.type == COMPONENT_TYPE):
        children = _children(run, component.urn)
        key = next((res for res in children if res.type in KEY_TYPES), None)
        if key is None:
            continue
        inputs = key.inputs
        replicas = [res for res in children if res.type == "aws:kms/replicaKey:ReplicaKey"]
        providers = {res.urn: res.inputs.get("region") for res in children
                     if res.type == "pulumi:providers:aws"}
        primary_region = str(key.state.get("arn", "::::")).split(":")[3] or None
        aliases = []
        for alias in (res for res in children if res.type == "aws:kms/alias:Alias"):
            provider = (alias.provider or "").rsplit("::", 1)[0]
            region = providers.get(provider, primary_region)
            aliases.append({"name": alias.inputs.get("name"), "region": region,
                            "protected": alias.protect})
        policy_text = inputs.get("policy")
        arn_parts = str(key.state.get("arn", ":::::")).split(":")
        summaries.append(
            {
                "name": component.name,
                "resource": key.name,
                "type": key.type,
                "description": inputs.get("description"),
                "keySpec": inputs.get("customerMasterKeySpec", inputs.get("keySpec")),
                "keyUsage": inputs.get("keyUsage"),
                "origin": _origin(key),
                "rotation": {
                    "enabled": bool(inputs.get("enableKeyRotation", False)),
                    "periodInDays": inputs.get("rotationPeriodInDays"),
                },
                "deletionWindowInDays": inputs.get("deletionWindowInDays"),
                "protected": key.protect,
                "enabled": inputs.get("isEnabled", inputs.get("enabled", True)),
                "multiRegion": bool(inputs.get("multiRegion", False)),
                "customKeyStoreId": inputs.get("customKeyStoreId"),
                "xksKeyId": inputs.get("xksKeyId"),
                "aliases": aliases,
                "replicas": [
                    {"region": providers.get((rep.provider or "").rsplit("::", 1)[0]),
                     "resource": rep.name, "protected": rep.protect,
                     "policy": _parse(rep.inputs.get("policy"))}
                    for rep in replicas
                ],
                "grants": [
                    {"name": res.inputs.get("name"), "grantee": res.inputs.get("granteePrincipal"),
                     "operations": res.inputs.get("operations"),
                     "constraints": res.inputs.get("constraints")}
                    for res in children if res.type == "aws:kms/grant:Grant"
                ],
                "tags": inputs.get("tags", {}),
                "bypassPolicyLockoutSafetyCheck": bool(
                    inputs.get("bypassPolicyLockoutSafetyCheck", False)
                ),
                "keyMaterial": "[secret]" if key.type != "aws:kms/key:Key" else None,
                "policy": _parse(policy_text),
                "account": arn_parts[4] or None,
                "region": arn_parts[3] or None,
            }
        )
    return summaries


def _origin(key: RegisteredResource) -> str:
    if key.type == "aws:kms/externalKey:ExternalKey":
        return "EXTERNAL"
    if key.inputs.get("xksKeyId"):
        return "EXTERNAL_KEY_STORE"
    if key.inputs.get("customKeyStoreId"):
        return "AWS_CLOUDHSM"
    return "AWS_KMS"


def _parse(policy_text: Any) -> Any:
    if isinstance(policy_text, str):
        try:
            return json.loads(policy_text)
        except json.JSONDecodeError:
            return policy_text
    return policy_text


def as_json(run: OfflineRun, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole preview as one JSON-ready document."""
    return {
        "project": run.files.project,
        "stack": run.files.stack,
        "stackFile": _relative(run.files.stack_file, run.files.project_dir),
        "engine": "offline mock engine (nothing sent to AWS)",
        "resources": [
            {"urn": res.urn, "type": res.type, "name": res.name, "parent": res.parent,
             "protect": res.protect, "inputs": res.inputs}
            for res in run.resources
        ],
        "keys": [
            {**summary, "accessMatrix": matrix.to_json() if matrix else None}
            for summary in key_summaries(run)
            for matrix in [matrix_for(summary)]
        ],
        "outputs": run.outputs,
        "log": [
            {"level": level, "message": message}
            for level, message in run.log
            if level != "debug"
        ],
        **(extra or {}),
    }


def _relative(path: Any, base: Any) -> str:
    """A stack file inside the project is shown relative to it, so saved previews travel."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def tree_lines(run: OfflineRun) -> list[str]:
    """The resource tree, as `pulumi preview` would draw it."""
    files = run.files
    lines = [f"pulumi:pulumi:Stack  {files.project}-{files.stack}"]

    def walk(parent: str | None, prefix: str) -> None:
        children = _children(run, parent)
        for index, child in enumerate(children):
            last = index == len(children) - 1
            mark = " [protected]" if child.protect else ""
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{child.type}  {child.name}{mark}")
            walk(child.urn, prefix + ("   " if last else "│  "))

    roots = [res for res in run.resources if res.parent in (None, _stack_urn(run))]
    for index, root in enumerate(roots):
        last = index == len(roots) - 1
        mark = " [protected]" if root.protect else ""
        lines.append(f"{'└─ ' if last else '├─ '}{root.type}  {root.name}{mark}")
        walk(root.urn, "   " if last else "│  ")
    return lines


def matrix_for(summary: dict[str, Any]) -> AccessMatrix | None:
    """Who can do what with this key, from its policy; None when the policy is not known."""
    policy = summary.get("policy")
    if not isinstance(policy, dict) or not summary.get("account"):
        return None
    return access_matrix(
        policy, key_account=summary["account"], region=summary["region"] or "",
        key_usage=summary.get("keyUsage"), key_spec=summary.get("keySpec"),
    )


def key_lines(summary: dict[str, Any], policy_text: str) -> list[str]:
    """A key's settings in aligned rows, then its policy."""
    rotation = summary["rotation"]
    rotation_text = (
        f"on, every {rotation['periodInDays']} days" if rotation["enabled"] else "off"
    )
    aliases = ", ".join(
        alias["name"] + (f" ({alias['region']})" if alias["region"] else "")
        for alias in summary["aliases"]
    )
    rows: list[tuple[str, Any]] = [
        ("description", summary["description"]),
        ("aliases", aliases or "none"),
        ("key spec / usage", f"{summary['keySpec']} / {summary['keyUsage']}"),
        ("origin", summary["origin"]),
        ("rotation", rotation_text),
        ("deletion window", f"{summary['deletionWindowInDays']} days"),
        ("protected", "yes (pulumi protect)" if summary["protected"] else "no"),
        ("multi-Region", "yes" if summary["multiRegion"] else "no"),
    ]
    if summary["replicas"]:
        rows.append(("replicas", ", ".join(rep["region"] or "?" for rep in summary["replicas"])))
    if summary["customKeyStoreId"]:
        rows.append(("custom key store", summary["customKeyStoreId"]))
    if summary["keyMaterial"]:
        rows.append(("key material", summary["keyMaterial"]))
    for grant in summary["grants"]:
        rows.append(("grant", f"{grant['name']}: {grant['grantee']} "
                              f"{', '.join(grant['operations'] or [])}"))
    if summary["bypassPolicyLockoutSafetyCheck"]:
        rows.append(("LOCKOUT CHECK", "BYPASSED (bypassPolicyLockoutSafetyCheck: true)"))
    tags = summary["tags"] or {}
    rows.append(("tags", ", ".join(f"{key}={value}" for key, value in sorted(tags.items()))))
    width = max(len(label) for label, _ in rows)
    lines = [f"Key {summary['name']}  ({summary['type']} {summary['resource']})"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    lines.append("  policy:")
    lines += ["    " + line for line in policy_text.splitlines()]
    matrix = matrix_for(summary)
    if matrix is not None:
        lines += ["  " + line for line in render_matrix(matrix)]
    return lines


def indent(lines: Sequence[str], by: str = "  ") -> list[str]:
    return [by + line for line in lines]
