"""In-office signing: the clinician hands their device to the client for one pending release.

While a hand-over lasts, the clinician's session is a client-only view of that release (the web
layer refuses every other page). The client confirms their date of birth against the client
record, reads and signs; the signature's evidence records the method `in_person` and the clinician
who handed the device over. Three wrong dates of birth, or a minute without a request, lock the
view; only the clinician's password (and second factor) hands it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts import sessions
from roi.accounts.models import SessionRecord, User
from roi.accounts.policy import Permission, manages_consent, require
from roi.actor import Actor, Role
from roi.audit import Action, Outcome
from roi.clock import now
from roi.config import Settings
from roi.consent.library import FormLibrary
from roi.consent.lifecycle.signing import Identity, SignatureInput, sign_in_person
from roi.consent.models import Consent, ConsentStatus, DeviceHandover
from roi.consent.queries import consent_for
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import N_, Message

METHOD = "in_person"
#: the assurance written into the evidence and the PDF of record, naming the clinician (the PDF
#: made at signing says it in its own language)
ASSURANCE = N_(
    "In person, on the device of %(clinician)s; the client confirmed their date of birth"
)
#: a minute without a request from the device locks its view
IDLE_LOCK = timedelta(seconds=60)
MAX_BIRTH_DATE_FAILURES = 3
IDLE = "idle"
BIRTH_DATE = "birth_date"


@dataclass(frozen=True)
class DeviceView:
    """What the device shows now."""

    handover: DeviceHandover
    consent: Consent
    #: idle | birth_date while the view is locked
    locked_because: str | None

    @property
    def stage(self) -> str:
        """locked | identity | sign | signed: the one page the device may show."""
        if self.locked_because:
            return "locked"
        if self.handover.signed_at is not None:
            return "signed"
        if self.handover.birth_date_confirmed_at is None:
            return "identity"
        return "sign"


def hand_to_client(
    session: Session, actor: Actor, consent_id: int, session_token: str
) -> DeviceHandover:
    """Turn the clinician's session `session_token` into a client-only view of a pending release.

    Raises:
        NotFound: not a release the clinician's practice manages.
        WrongState: the release is not waiting for a signature.
    """
    require(actor, Permission.PREPARE_CONSENT)
    consent = consent_for(session, actor, consent_id)
    if not manages_consent(actor, consent.organization_id):
        raise NotFound("consent")
    if consent.status is not ConsentStatus.PENDING_SIGNATURE:
        raise WrongState(N_("Only a release waiting for a signature can be handed to the client."))
    record_id = session.scalar(
        select(SessionRecord.id).where(
            SessionRecord.token_sha256 == sessions.digest(session_token),
            SessionRecord.ended_at.is_(None),
        )
    )
    if record_id is None:
        raise NotFound("session")
    with unit_of_work(session):
        handover = DeviceHandover(
            session_id=record_id,
            consent_id=consent.id,
            clinician_user_id=actor.user_id,
            started_at=now(),
            last_activity_at=now(),
        )
        session.add(handover)
        session.flush()
        audit.record(
            session,
            actor,
            Action.CONSENT_HANDED_TO_CLIENT,
            client_id=consent.client_id,
            consent_id=consent.id,
            detail={"handover_id": handover.id},
        )
    return handover


def live_handover(session: Session, session_token: str) -> DeviceHandover | None:
    """The hand-over of a live session `session_token`, when its device is with the client."""
    return session.scalar(
        select(DeviceHandover)
        .join(SessionRecord, SessionRecord.id == DeviceHandover.session_id)
        .where(
            SessionRecord.token_sha256 == sessions.digest(session_token),
            SessionRecord.ended_at.is_(None),
            DeviceHandover.ended_at.is_(None),
        )
    )


def device_view(session: Session, handover: DeviceHandover, *, activity: bool = True) -> DeviceView:
    """What the device shows now; a request after an idle minute locks the view first.

    With `activity`, this request counts as the client's activity (the idle minute restarts)."""
    at = now()
    if handover.locked_because is None and at - handover.last_activity_at >= IDLE_LOCK:
        with unit_of_work(session):
            _set(session, handover, locked_because=IDLE)
    elif handover.locked_because is None and activity:
        with unit_of_work(session):
            _set(session, handover, last_activity_at=at)
    current = session.get(DeviceHandover, handover.id)
    assert current is not None  # noqa: S101 - hand-overs are never deleted
    consent = session.get(Consent, current.consent_id)
    assert consent is not None  # noqa: S101 - consents are never deleted
    return DeviceView(current, consent, current.locked_because)


def confirm_birth_date(
    session: Session, handover: DeviceHandover, birth_date: date, *, ip: str | None
) -> None:
    """The client confirms their date of birth against the client record; audited either way.

    Raises:
        WrongState: the view is locked, or the date was confirmed already.
        Invalid: the date does not match (the message says how many tries are left); the last
            wrong try locks the view until the clinician takes the device back.
    """
    view = device_view(session, handover)
    if view.stage != "identity":
        raise WrongState(N_("This step is not open on this device."))
    consent, client = view.consent, client_actor(view.consent, ip)
    detail = {"method": METHOD, "handover_id": view.handover.id}
    if birth_date == consent.client.birth_date:
        with unit_of_work(session):
            _set(session, view.handover, birth_date_confirmed_at=now())
            audit.record(
                session,
                client,
                Action.SIGNING_IDENTITY_VERIFIED,
                client_id=consent.client_id,
                consent_id=consent.id,
                detail=detail,
            )
        return
    failures = view.handover.birth_date_failures + 1
    with unit_of_work(session):
        _set(
            session,
            view.handover,
            birth_date_failures=failures,
            locked_because=BIRTH_DATE if failures >= MAX_BIRTH_DATE_FAILURES else None,
        )
        audit.record(
            session,
            client,
            Action.SIGNING_IDENTITY_FAILED,
            outcome=Outcome.FAILURE,
            client_id=consent.client_id,
            consent_id=consent.id,
            detail=detail,
        )
    left = MAX_BIRTH_DATE_FAILURES - failures
    if left <= 0:
        raise Invalid({"birth_date": N_("The date of birth does not match. Hand the device back.")})
    if left == 1:
        raise Invalid({"birth_date": N_("The date of birth does not match. One try left.")})
    raise Invalid(
        {"birth_date": Message("The date of birth does not match. %(left)s tries left.", left=left)}
    )


def sign(
    session: Session,
    handover: DeviceHandover,
    signature: SignatureInput,
    *,
    ip: str | None,
    user_agent: str | None,
    library: FormLibrary,
) -> Consent:
    """The client signs the handed-over release; the signer rules apply as on every path.

    Raises:
        WrongState: the view is locked, the date of birth is not confirmed, or the release is no
            longer pending.
        Invalid: the signature input is not acceptable, or the signer rule refuses the signer.
    """
    view = device_view(session, handover)
    if view.stage != "sign":
        raise WrongState(N_("This release cannot be signed on this device now."))
    consent = sign_in_person(
        session,
        client_actor(view.consent, ip),
        view.consent.id,
        signature,
        Identity(
            method=METHOD,
            assurance=Message(ASSURANCE, clinician=_name_of(session, view.handover)),
            ip=ip,
            user_agent=user_agent,
            handed_over_by=view.handover.clinician_user_id,
        ),
        library,
    )
    with unit_of_work(session):
        _set(session, view.handover, signed_at=consent.signed_at)
    return consent


def hand_back(
    session: Session,
    actor: Actor,
    handover: DeviceHandover,
    *,
    password: str,
    answer: sessions.SecondFactorAnswer,
    settings: Settings,
) -> None:
    """The clinician takes their device back: their password and, when they have a second
    factor, its answer (a code or their passkey); wrong answers are throttled like sign-in.

    Raises:
        LoginThrottled, InvalidCredentials, SecondFactorRejected: as `sessions.confirm_presence`.
    """
    sessions.confirm_presence(
        session, actor, password=password, answer=answer, ip=actor.ip, settings=settings
    )
    with unit_of_work(session):
        current = session.get(DeviceHandover, handover.id)
        assert current is not None  # noqa: S101 - hand-overs are never deleted
        consent = session.get(Consent, current.consent_id)
        assert consent is not None  # noqa: S101 - consents are never deleted
        _set(session, current, ended_at=now())
        audit.record(
            session,
            actor,
            Action.CONSENT_HANDED_BACK,
            outcome=Outcome.SUCCESS,
            client_id=consent.client_id,
            consent_id=consent.id,
            detail={
                "handover_id": current.id,
                "signed": current.signed_at is not None,
                **({"locked_because": current.locked_because} if current.locked_because else {}),
            },
        )


def client_actor(consent: Consent, ip: str | None) -> Actor:
    """The client at the device: identified by their date of birth, not by an account."""
    return Actor(
        user_id=None,
        role=Role.CLIENT,
        organization_id=None,
        ip=ip,
        client_id=consent.client_id,
    )


def _name_of(session: Session, handover: DeviceHandover) -> str:
    """The name of the clinician who handed the device over."""
    clinician = session.get(User, handover.clinician_user_id)
    assert clinician is not None  # noqa: S101 - users are never deleted
    return clinician.name


def _set(session: Session, handover: DeviceHandover, **values: object) -> None:
    session.execute(update(DeviceHandover).where(DeviceHandover.id == handover.id).values(**values))
    session.expire(handover)
