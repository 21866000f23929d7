"""The navigation each role sees: (endpoint, label) pairs, in order; roles named in words.

Labels are marked for the catalogue and translated where the page shows them."""

from __future__ import annotations

from roi.actor import Role
from roi.i18n import N_

NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.CLINICIAN: [
        ("clinician.dashboard", N_("Overview")),
        ("clinician.clients", N_("Clients")),
        ("clinician.messages", N_("Messages")),
        ("clinician.directory", N_("Provider directory")),
    ],
    Role.CLIENT: [
        ("portal.dashboard", N_("My releases")),
        ("portal.accounting_page", N_("Who received my information")),
        ("portal.restrictions_page", N_("What not to share")),
    ],
    Role.COMPLIANCE: [
        ("compliance.dashboard", N_("Overview")),
        ("compliance.log", N_("Disclosure log")),
        ("compliance.emergency_disclosures", N_("Emergency disclosures")),
        ("compliance.restrictions_page", N_("Restrictions")),
        ("compliance.accounting_start", N_("Accounting of disclosures")),
        ("compliance.accounting_requests", N_("Accounting requests")),
        ("compliance.verify_page", N_("Chain verification")),
    ],
    Role.ADMIN: [
        ("admin.dashboard", N_("Overview")),
        ("admin.users", N_("Users")),
        ("admin.directory", N_("Directory entries")),
    ],
}


def navigation_for(role: str | None) -> list[tuple[str, str]]:
    try:
        return NAVIGATION.get(Role(role), []) if role else []
    except ValueError:
        return []


#: each role as people call it (`{{ _(role_names[role]) }}`), never its code
ROLE_NAMES: dict[Role, str] = {
    Role.CLINICIAN: N_("Clinician"),
    Role.CLIENT: N_("Client"),
    Role.COMPLIANCE: N_("Compliance"),
    Role.ADMIN: N_("Administrator"),
    Role.SYSTEM: N_("roi itself"),
    Role.ANONYMOUS: N_("Not signed in"),
}
