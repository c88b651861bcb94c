"""Names that are public API: child resource names and generated statement ids.

Both are computed here once, so the component, the policy builder and the checks that refuse
collisions before registration always agree.
"""

from __future__ import annotations

from typing import Final

# Statement ids: public and stable, since reviewers and policy tests refer to them.
SID_ACCOUNT_ROOT: Final = "EnableIamPermissions"
SID_ADMINISTRATION: Final = "AllowKeyAdministration"
SID_USE: Final = "AllowKeyUse"
SID_GRANTS_FOR_AWS_RESOURCES: Final = "AllowGrantsForAwsResources"
SID_CONFINE_TO_SERVICES: Final = "DenyUseOutsideServices"
SID_DELETION_BY_ADMINISTRATORS: Final = "DenyDeletionByOthers"
FIXED_SIDS: Final = frozenset(
    {
        SID_ACCOUNT_ROOT,
        SID_ADMINISTRATION,
        SID_USE,
        SID_GRANTS_FOR_AWS_RESOURCES,
        SID_CONFINE_TO_SERVICES,
        SID_DELETION_BY_ADMINISTRATORS,
    }
)
"""Generated Sids an extra statement may not take (the per-service ones are checked apart)."""
SID_VIA_SERVICE_PREFIX: Final = "AllowUseVia"
SID_SERVICE_PRINCIPAL_PREFIX: Final = "AllowService"


def pascal(text: str) -> str:
    """`secrets-manager` -> `SecretsManager`: the readable part of a generated Sid."""
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "-").split("-"))


def via_service_sid(service: str) -> str:
    return f"{SID_VIA_SERVICE_PREFIX}{pascal(service)}"


def service_principal_sid(service_principal: str) -> str:
    name = service_principal.split(".amazonaws.com")[0].split(".")[0]
    return f"{SID_SERVICE_PRINCIPAL_PREFIX}{pascal(name)}"


def key_resource(key: str) -> str:
    return f"{key}-key"


def alias_resource(key: str, alias: str, region: str | None = None) -> str:
    """The alias path with `/` written as `.`; replicas' aliases end with their region."""
    slug = alias.removeprefix("alias/").replace("/", ".")
    return f"{key}-alias-{slug}" + (f"-{region}" if region else "")


def provider_resource(key: str, region: str) -> str:
    return f"{key}-provider-{region}"


def replica_resource(key: str, region: str) -> str:
    return f"{key}-replica-{region}"


def grant_resource(key: str, grant: str) -> str:
    return f"{key}-grant-{grant}"


def key_store_resource(store: str) -> str:
    return f"keystore-{store}"
