"""Names that are public API: child resource names and generated statement ids.

Both are computed here once, so the component, the policy builder and the checks that refuse
collisions before registration always agree.
"""

from __future__ import annotations

from typing import Final

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
