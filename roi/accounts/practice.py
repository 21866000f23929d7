"""A practice's own settings, saved together, and the time zones people read times in."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Organization, User
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action
from roi.clock import local_day, now, time_zones
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound
from roi.i18n import N_, Message

#: the bounds of a practice's emergency rate: at least one a day, and few enough to mean a limit
EMERGENCY_RATE_RANGE = range(1, 51)

#: the zones most US practices work in, offered first, each named as people call it
COMMON_TIME_ZONES: tuple[tuple[str, str], ...] = (
    ("America/New_York", N_("Eastern")),
    ("America/Chicago", N_("Central")),
    ("America/Denver", N_("Mountain")),
    ("America/Phoenix", N_("Arizona (no daylight saving)")),
    ("America/Los_Angeles", N_("Pacific")),
    ("America/Anchorage", N_("Alaska")),
    ("Pacific/Honolulu", N_("Hawaii")),
    ("America/Puerto_Rico", N_("Atlantic (Puerto Rico)")),
    ("UTC", N_("Coordinated Universal Time")),
)

ZONE_REASON = N_("Choose a time zone from the list.")


def today_in_practice(session: Session, actor: Actor, at: datetime | None = None) -> date:
    """The day it is at `at` (now) where the actor's practice is (UTC for someone of none): the
    calendar of the days staff and clients enter or are stamped with (a paper's "signed on", a
    letter's "received on", a discharge, a request's day), none of which can be after it."""
    practice = session.get(Organization, actor.organization_id) if actor.organization_id else None
    return practice_day(practice, at)


def practice_day(practice: Organization | None, at: datetime | None = None) -> date:
    """The day it is at `at` (now) where `practice` is (UTC for none): the one calendar of the
    days roi names (a release's end, a discharge, a suspension's last day, an accounting's)."""
    return local_day(at or now(), practice.time_zone if practice else "UTC")


def practice_zone(session: Session, actor: Actor) -> str:
    """The time zone of the actor's practice's calendar (UTC for someone of none)."""
    practice = session.get(Organization, actor.organization_id) if actor.organization_id else None
    return practice.time_zone if practice else "UTC"


def zone_problem(zone: str) -> str | None:
    """Why `zone` cannot be someone's time zone, or None if it is a known IANA name."""
    return None if zone in time_zones() else ZONE_REASON


@dataclass(frozen=True)
class PracticeSettings:
    """Everything the practice settings page sets; the names are `Organization`'s columns."""

    #: two-letter state code whose signer rules apply; None: the conservative default
    state: str | None
    mfa_required_for_staff: bool
    emergency_sends_per_day: int
    time_zone: str


#: the audit action of a change to each setting; the rest are "practice settings changed"
_SETTING_ACTIONS = {"mfa_required_for_staff": Action.AUTH_MFA_POLICY_CHANGED}


def update_practice_settings(
    session: Session, actor: Actor, wanted: PracticeSettings, *, states: Collection[str]
) -> list[str]:
    """Save the admin's practice settings at once: all or, when one is refused, none.

    `states` are the state codes the signer rules know (roi.consent.signers, a layer above).
    Each changed setting is one audit entry, `{"setting": name, "value": new value}`.

    Returns:
        the names of the settings that changed, in `PracticeSettings` order.

    Raises:
        Forbidden: the actor does not manage the practice's settings.
        NotFound: the actor belongs to no practice.
        Invalid: a state the rules do not list, a rate outside EMERGENCY_RATE_RANGE, an unknown
            time zone.
    """
    require(actor, Permission.MANAGE_PRACTICE_SETTINGS)
    problems = _settings_problems(wanted, states)
    if problems:
        raise Invalid(problems)
    with unit_of_work(session):
        organization = _organization_of(session, actor)
        changed = []
        for name, value in asdict(wanted).items():
            if getattr(organization, name) == value:
                continue
            setattr(organization, name, value)
            changed.append(name)
            audit.record(
                session,
                actor,
                _SETTING_ACTIONS.get(name, Action.ORGANIZATION_UPDATED),
                detail={"setting": name, "value": value},
            )
    return changed


def _settings_problems(wanted: PracticeSettings, states: Collection[str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if wanted.state is not None and wanted.state not in states:
        problems["state"] = N_("Choose one of the listed states, or none (the default rule).")
    if wanted.emergency_sends_per_day not in EMERGENCY_RATE_RANGE:
        problems["emergency_sends_per_day"] = Message(
            "Choose a number from %(low)d to %(high)d.",
            low=EMERGENCY_RATE_RANGE[0],
            high=EMERGENCY_RATE_RANGE[-1],
        )
    zone = zone_problem(wanted.time_zone)
    if zone is not None:
        problems["time_zone"] = zone
    return problems


def set_own_time_zone(session: Session, user_id: int, zone: str | None) -> None:
    """Keep the time zone a person reads times in; None: their practice's. A preference, like
    the language, not an action on anyone's information: it is not audited.

    Raises:
        Invalid: not a known IANA time zone.
        NotFound: no such account.
    """
    why = zone_problem(zone) if zone is not None else None
    if why is not None:
        raise Invalid({"time_zone": why})
    with unit_of_work(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("account"))
        user.time_zone = zone


def _organization_of(session: Session, actor: Actor) -> Organization:
    """The actor's own organization.

    Raises:
        NotFound: the actor belongs to none.
    """
    found = session.get(Organization, actor.organization_id) if actor.organization_id else None
    if found is None:
        raise NotFound(N_("organization"))
    return found
