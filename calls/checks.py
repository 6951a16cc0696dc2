"""Say clearly, at start-up, what is missing for real Plivo use or wrongly set."""

import phonenumbers
from django.conf import settings
from django.core import checks

from calls import exits

REQUIRED_FOR_PLIVO = (
    "PLIVO_AUTH_ID",
    "PLIVO_AUTH_TOKEN",
    "PHLO_ID",
    "PHLO_MPC_NODE_ID",
    "PHLO_BASE_URL",
    "PUBLIC_BASE_URL",
)


@checks.register()
def phlo_configuration(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.PHLO_SIMULATOR:
        return []
    missing = [name for name in REQUIRED_FOR_PLIVO if not getattr(settings, name, "")]
    if not missing:
        return []
    return [
        checks.Error(
            "PHLO_SIMULATOR is off, so the app talks to the real Plivo, but these settings are"
            f" empty: {', '.join(missing)}.",
            hint="Set them in the environment (see the README, 'Using real Plivo'), or set"
            " PHLO_SIMULATOR=1 to use the bundled simulator.",
            id="calls.E001",
        )
    ]


@checks.register()
def phone_default_region(app_configs, **kwargs) -> list[checks.CheckMessage]:
    region = settings.PHONE_DEFAULT_REGION
    if region in phonenumbers.SUPPORTED_REGIONS:
        return []
    return [
        checks.Error(
            f"PHONE_DEFAULT_REGION is {region!r}, which is not a country the phonenumbers"
            " library knows, so no number typed without its country code can be dialled.",
            hint='Set it to an ISO 3166 country code, such as "US" or "GB".',
            id="calls.E002",
        )
    ]


@checks.register()
def inbound_exit(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """With inbound routing on, a caller nobody takes must have somewhere to go: without
    the endpoint they would wait with music until someone frees up, however long."""
    if not settings.ROUTING_API_TOKEN:
        return []
    outcome = settings.INBOUND_NO_AGENT_OUTCOME
    setting = exits.SETTINGS.get(outcome)
    if setting is None:
        return [
            checks.Error(
                f"INBOUND_NO_AGENT_OUTCOME is {outcome!r}; it must be 'message' or 'voicemail'.",
                id="calls.E003",
            )
        ]
    if getattr(settings, setting):
        return []
    return [
        checks.Warning(
            f"Inbound routing is on (ROUTING_API_TOKEN) and a caller nobody can take gets the"
            f" {outcome} (INBOUND_NO_AGENT_OUTCOME), but {setting} is empty: such a caller would"
            " wait with music, however long, until an agent frees up.",
            hint=f"Set {setting} to the number or SIP address that plays it (docs/desktop.md).",
            id="calls.W001",
        )
    ]
