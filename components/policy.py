"""Builds a key policy from roles (root, administrators, users, services), deterministically.

The same plan always yields the same bytes: statements in a fixed order, principals and actions
sorted, keys sorted, and a lone principal written as a string, the way AWS stores it back. That
keeps `pulumi up` free of spurious policy diffs (whoever runs it, whatever the hash seed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from . import naming, specs
from .naming import (  # re-exported: the Sids are the policy's public API
    SID_ACCOUNT_ROOT,
    SID_ADMINISTRATION,
    SID_CONFINE_TO_SERVICES,
    SID_DELETION_BY_ADMINISTRATORS,
    SID_GRANTS_FOR_AWS_RESOURCES,
    SID_USE,
)
from .principals import account_root_arn, normalise_principal
from .rules import KeyPlan

POLICY_VERSION: Final = "2012-10-17"


def _principal_value(arns: Sequence[str]) -> str | list[str]:
    unique = sorted(set(arns))
    return unique[0] if len(unique) == 1 else unique


def _actions_value(actions: Sequence[str]) -> str | list[str]:
    unique = sorted(set(actions))
    return unique[0] if len(unique) == 1 else unique


def _statement(
    sid: str, principal: Any, actions: Sequence[str], condition: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": _actions_value(actions),
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def build_policy(
    plan: KeyPlan,
    *,
    region: str | None = None,
    resolved: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The key policy for *plan* in *region* (default: the plan's own region).

    *resolved* supplies string values for principals that were Outputs in the plan, keyed by
    role (`administrators`, `users`); when given, those lists replace the plan's.
    """
    region = region or plan.region
    administrators = _strings(resolved["administrators"] if resolved else plan.administrators)
    users = _strings(resolved["users"] if resolved else plan.users)

    statements: list[dict[str, Any]] = []
    if plan.allow_account_root:
        root = account_root_arn(plan.account_id, plan.partition)
        statements.append(_statement(SID_ACCOUNT_ROOT, {"AWS": root}, ["kms:*"]))

    if administrators:
        statements.append(
            _statement(
                SID_ADMINISTRATION,
                {"AWS": _principal_value(administrators)},
                specs.admin_actions(
                    key_spec=plan.key_spec, origin=plan.origin, multi_region=plan.multi_region
                ),
            )
        )

    use_actions = specs.use_actions(key_spec=plan.key_spec, key_usage=plan.key_usage)
    if users:
        statements.append(
            _statement(SID_USE, {"AWS": _principal_value(users)}, use_actions)
        )
        symmetric = plan.key_spec == specs.SYMMETRIC_DEFAULT
        if plan.allow_grants_for_aws_resources and symmetric:
            statements.append(
                _statement(
                    SID_GRANTS_FOR_AWS_RESOURCES,
                    {"AWS": _principal_value(users)},
                    specs.GRANT_ACTIONS,
                    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )

    for service in sorted(plan.services, key=lambda item: item.service):
        via = f"{service.service}.{region}.amazonaws.com"
        principals = _strings(service.principals) if service.principals is not None else None
        statements.append(
            _statement(
                naming.via_service_sid(service.service),
                {"AWS": _principal_value(principals)} if principals else {"AWS": "*"},
                service.actions,
                {
                    "StringEquals": {
                        "kms:CallerAccount": plan.account_id,
                        "kms:ViaService": via,
                    }
                },
            )
        )

    if plan.confine_to_services:
        statements += _confinement(plan, region, set(users), use_actions)

    if plan.deletion_by_administrators_only and administrators:
        root = account_root_arn(plan.account_id, plan.partition)
        destructive = list(specs.DESTRUCTIVE_ACTIONS)
        if plan.origin == specs.ORIGIN_EXTERNAL:
            destructive += specs.IMPORTED_MATERIAL_DESTRUCTIVE_ACTIONS
        statements.append(
            {
                "Sid": SID_DELETION_BY_ADMINISTRATORS,
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": _actions_value(destructive),
                "Resource": "*",
                "Condition": {
                    "ArnNotEquals": {"aws:PrincipalArn": _principal_value([*administrators, root])}
                },
            }
        )

    for access in sorted(plan.service_principals, key=lambda item: item.service):
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": plan.account_id}}
        if access.source_arn:
            condition["ArnLike"] = {"aws:SourceArn": access.source_arn}
        if access.encryption_context:
            condition["StringLike"] = {
                f"kms:EncryptionContext:{key}": value for key, value in access.encryption_context
            }
        statements.append(
            _statement(
                naming.service_principal_sid(access.service),
                {"Service": access.service},
                access.actions,
                condition,
            )
        )

    statements += [
        _normalise_statement(statement, partition=plan.partition)
        for statement in plan.extra_statements
    ]
    return {"Version": POLICY_VERSION, "Statement": statements}


def _confinement(
    plan: KeyPlan, region: str, users: set[str], use_actions: Sequence[str]
) -> list[dict[str, Any]]:
    """Deny use outside their services to principals allowed only through services.

    Without it the account-root statement lets their IAM policies grant direct use. A missing
    `kms:ViaService` (a direct call) makes StringNotEquals true, so direct calls are denied too.
    """
    vias_by_principal: dict[str, set[str]] = {}
    for service in plan.services:
        for principal in _strings(service.principals):
            if principal not in users:
                via = f"{service.service}.{region}.amazonaws.com"
                vias_by_principal.setdefault(principal, set()).add(via)
    groups: dict[tuple[str, ...], list[str]] = {}
    for principal, allowed_vias in vias_by_principal.items():
        groups.setdefault(tuple(sorted(allowed_vias)), []).append(principal)
    statements = []
    for index, (vias, principals) in enumerate(sorted(groups.items())):
        sid = SID_CONFINE_TO_SERVICES + ("" if len(groups) == 1 else str(index + 1))
        statements.append(
            {
                "Sid": sid,
                "Effect": "Deny",
                "Principal": {"AWS": _principal_value(principals)},
                "Action": _actions_value(use_actions),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:ViaService": _actions_value(vias)}},
            }
        )
    return statements


def _strings(values: Sequence[Any] | None) -> list[str]:
    if values is None:
        return []
    unknown = [value for value in values if not isinstance(value, str)]
    if unknown:
        raise TypeError("principals must be resolved to strings before the policy is built")
    return list(values)


def _normalise_statement(statement: Mapping[str, Any], *, partition: str) -> dict[str, Any]:
    """Write an extra statement in the same canonical form as the generated ones.

    Lists of actions, principals and condition values are sorted and de-duplicated, and a
    single value is written as a string, as AWS stores it back. Statement order is the
    operator's and is kept.
    """
    result = dict(statement)
    condition = result.get("Condition")
    if isinstance(condition, Mapping):
        result["Condition"] = {
            operator: {
                key: _condition_value(value) for key, value in keys.items()
            } if isinstance(keys, Mapping) else keys
            for operator, keys in condition.items()
        }
    for field in ("Action", "NotAction"):
        if field in result and isinstance(result[field], list):
            result[field] = _actions_value(result[field])
    for field in ("Principal", "NotPrincipal"):
        value = result.get(field)
        if isinstance(value, Mapping):
            canonical: dict[str, Any] = {}
            for kind, entries in value.items():
                listed = entries if isinstance(entries, list) else [entries]
                if kind == "AWS":
                    listed = [
                        entry if entry == "*"
                        else normalise_principal(entry, partition=partition).arn
                        for entry in listed
                    ]
                canonical[kind] = _principal_value(listed)
            result[field] = canonical
    result.setdefault("Resource", "*")
    return result


def _condition_value(value: Any) -> Any:
    """A condition's values, sorted and unique; one value as a scalar."""
    if not isinstance(value, list):
        return value
    unique = sorted(set(value), key=lambda item: (str(type(item)), str(item)))
    return unique[0] if len(unique) == 1 else unique


def render_policy(policy: Mapping[str, Any]) -> str:
    """The canonical text sent to AWS: sorted keys, no insignificant white space."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pretty_policy(policy: Mapping[str, Any]) -> str:
    """The same document indented for people; also deterministic."""
    return json.dumps(policy, sort_keys=True, indent=2, ensure_ascii=False)
