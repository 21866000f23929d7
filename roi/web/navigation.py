"""The navigation each role sees: (endpoint, label) pairs, in order."""

from __future__ import annotations

from roi.actor import Role

NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.CLINICIAN: [
        ("clinician.dashboard", "Overview"),
        ("clinician.clients", "Clients"),
        ("clinician.messages", "Messages"),
        ("clinician.directory", "Provider directory"),
    ],
    Role.CLIENT: [
        ("portal.dashboard", "My releases"),
        ("portal.accounting_page", "Who received my information"),
        ("portal.restrictions_page", "What not to share"),
    ],
    Role.COMPLIANCE: [
        ("compliance.dashboard", "Overview"),
        ("compliance.log", "Disclosure log"),
        ("compliance.emergency_disclosures", "Emergency disclosures"),
        ("compliance.restrictions_page", "Restrictions"),
        ("compliance.accounting_start", "Accounting of disclosures"),
        ("compliance.accounting_requests", "Accounting requests"),
        ("compliance.verify_page", "Chain verification"),
    ],
    Role.ADMIN: [
        ("admin.dashboard", "Overview"),
        ("admin.users", "Users"),
        ("admin.directory", "Directory entries"),
    ],
}


def navigation_for(role: str | None) -> list[tuple[str, str]]:
    try:
        return NAVIGATION.get(Role(role), []) if role else []
    except ValueError:
        return []
