"""The consent gate: every rule of `decide()` and every reason code it gives (roi issue 5).

Consents are made through the real lifecycle (`referral` fixture), so each state is the one a
clinician and a client would really produce. Decisions about the past pass `at` explicitly; the
half-open validity `[signed_at, end)` is checked at its edges to the microsecond.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from roi.accounts.models import Client, Provider, User
from roi.actor import Role
from roi.clock import iso, now
from roi.consent import gate, lifecycle
from roi.consent.errors import IncompleteConsent
from roi.consent.models import Consent, ConsentStatus, Direction, expiry_instant, has_status
from roi.errors import WrongState
from tests.consent.conftest import CALIFORNIA, Referral, identity, in_california, signature
from tests.factories import Person, make_client, make_provider, make_user, stand_in_documents
from tests.helpers import api_token, bearer

ONE_MICROSECOND = timedelta(microseconds=1)
PART2_DESCRIPTION = "Diagnosis and medication for opioid use disorder since 2025."


def provider_of(session: Session, person: Person) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.user_id == person.user.id))
    assert provider is not None
    return provider


def decide(
    session: Session,
    referral: Referral,
    *,
    discloser: Person | Provider | None = None,
    recipient: Person | Provider | None = None,
    client_id: int | None = None,
    categories: Collection[str] = ("diagnosis",),
    purposes: Collection[str] = ("treatment",),
    at: datetime | None = None,
) -> gate.Decision:
    """The therapist asks to share the diagnosis with the psychiatrist for treatment, now,
    unless told otherwise."""
    session.rollback()  # read what the services committed

    def as_provider(who: Person | Provider | None, default: Person) -> Provider:
        if isinstance(who, Provider):
            return who
        return provider_of(session, who or default)

    client = session.get(Client, client_id or referral.client_id)
    assert client is not None
    return gate.decide(
        session,
        referral.library,
        discloser=as_provider(discloser, referral.therapist),
        recipient=as_provider(recipient, referral.psychiatrist),
        client=client,
        categories=categories,
        purposes=purposes,
        at=at or now(),
    )


def codes(decision: gate.Decision) -> list[str]:
    assert not decision.permitted
    assert decision.consent is None
    return decision.reason_codes


def sign(session: Session, referral: Referral, consent_id: int) -> Consent:
    with stand_in_documents():
        return lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            consent_id,
            signature(),
            identity(referral.client_person),
            referral.library,
        )


def send_for_signature(session: Session, referral: Referral, consent_id: int) -> Consent:
    return lifecycle.send_for_signature(
        session,
        referral.therapist.actor,
        consent_id,
        referral.library,
        invitation_lifetime=timedelta(days=7),
    ).consent


def part2_fields() -> dict[str, object]:
    return {
        "template_id": "part2-consent",
        "categories": ("sud_diagnosis", "sud_medications"),
        "purposes": ("treatment",),
        "information_description": PART2_DESCRIPTION,
    }


def psychotherapy_notes_fields() -> dict[str, object]:
    return {
        "template_id": "psychotherapy-notes",
        "categories": ("psychotherapy_notes",),
        "purposes": ("treatment",),
        "information_description": "Process notes from our sessions in 2025.",
    }


# --- permit -----------------------------------------------------------------------------------


def test_an_active_consent_permits_what_it_covers(session, referral):
    # Given an active consent from the therapist to the psychiatrist for diagnosis + medications
    consent = referral.signed(session)
    # When the therapist shares both, for treatment
    decision = decide(session, referral, categories=("diagnosis", "medications"))
    # Then it is permitted under that consent, with no reasons
    assert decision.permitted
    assert decision.consent_id == consent.id
    assert decision.reasons == ()
    assert decision.reason_codes == []


def test_every_category_and_the_purpose_must_be_covered(session, referral):
    referral.signed(session, categories=("diagnosis", "medications"), purposes=("treatment",))
    # one category outside the scope spoils the whole message (minimum necessary, SECURITY E6)
    assert codes(decide(session, referral, categories=("diagnosis", "hiv"))) == [
        "category_not_covered:hiv"
    ]
    # each missing category is named
    assert codes(decide(session, referral, categories=("assessments", "hiv", "diagnosis"))) == [
        "category_not_covered:assessments",
        "category_not_covered:hiv",
    ]
    # a purpose the client did not agree to
    assert codes(decide(session, referral, purposes=("legal_matter",))) == ["purpose_not_covered"]
    # both at once: every failure is reported
    both = decide(session, referral, categories=("genetic",), purposes=("insurance_or_benefits",))
    assert set(codes(both)) == {"category_not_covered:genetic", "purpose_not_covered"}


def test_categories_and_purpose_are_required(session, referral):
    referral.signed(session)
    assert codes(decide(session, referral, categories=())) == ["categories_required"]
    assert codes(decide(session, referral, purposes=())) == ["purpose_required"]


# --- who may disclose to whom ----------------------------------------------------------------


def test_no_consent_at_all(session, referral):
    decision = decide(session, referral)
    assert codes(decision) == ["no_consent"]
    assert decision.reasons[0].consent_id is None


def test_recipient_not_covered(session, referral):
    # Given the therapist's consent names the psychiatrist only
    referral.signed(session)
    family_doctor = make_provider(session, referral.therapist, name="Helen Brooks")
    # When the therapist would share with someone else
    decision = decide(session, referral, recipient=family_doctor)
    # Then the recipient is not covered
    assert codes(decision) == ["recipient_not_covered"]
    assert "Helen Brooks" in decision.reasons[0].message


def test_one_way_consent_does_not_permit_the_other_direction(session, referral):
    # Given a one-way consent therapist → psychiatrist
    consent = referral.signed(session, direction=Direction.ONE_WAY)
    # When the psychiatrist would share back with the therapist
    decision = decide(
        session, referral, discloser=referral.psychiatrist, recipient=referral.therapist
    )
    # Then it is denied because of the direction, naming the consent
    assert codes(decision) == ["direction_not_covered"]
    assert decision.reasons[0].consent_id == consent.id
    # And the forward direction still works
    assert decide(session, referral).permitted


def test_two_way_consent_permits_both_directions(session, referral):
    consent = referral.signed(session, direction=Direction.TWO_WAY)
    back = decide(session, referral, discloser=referral.psychiatrist, recipient=referral.therapist)
    assert back.permitted
    assert back.consent_id == consent.id
    assert decide(session, referral).permitted
    # and the reverse direction is gated like the forward one
    assert codes(
        decide(
            session,
            referral,
            discloser=referral.psychiatrist,
            recipient=referral.therapist,
            categories=("hiv",),
        )
    ) == ["category_not_covered:hiv"]


def test_another_clinician_of_the_same_practice_may_disclose(session, referral):
    # Given the practice's consent, prepared by the therapist
    consent = referral.signed(session)
    colleague = make_user(session, Role.CLINICIAN, name="Priya Shah")  # same practice
    # When a colleague of the same practice shares with the named recipient
    decision = decide(session, referral, discloser=colleague)
    # Then the organization's consent permits it
    assert decision.permitted
    assert decision.consent_id == consent.id


def test_a_clinician_of_another_practice_may_not_disclose(session, referral):
    referral.signed(session)
    stranger = make_user(session, Role.CLINICIAN, org="Harbor Behavioral Health", name="Ivo Lind")
    assert codes(decide(session, referral, discloser=stranger)) == ["no_consent"]


def test_a_colleague_of_the_recipient_is_not_the_recipient(session, referral):
    # The consent names the psychiatrist, not the psychiatrist's whole practice
    referral.signed(session, direction=Direction.TWO_WAY)
    colleague = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry", name="Mara Voss")
    assert not decide(session, referral, recipient=colleague).permitted
    assert not decide(
        session, referral, discloser=colleague, recipient=referral.therapist
    ).permitted


def test_a_consent_covers_its_own_client_only(session, referral):
    referral.signed(session)
    other = make_client(session, referral.therapist, given_name="Ana", family_name="Reyes")
    assert codes(decide(session, referral, client_id=other.id)) == ["no_consent"]


# --- states -----------------------------------------------------------------------------------


def test_a_draft_never_permits(session, referral):
    consent = referral.draft(session)
    decision = decide(session, referral)
    assert codes(decision) == ["consent_not_sent"]
    assert decision.reasons[0].consent_id == consent.id


def test_a_consent_waiting_for_signature_never_permits(session, referral):
    consent = referral.sent(session)
    decision = decide(session, referral)
    assert codes(decision) == ["consent_pending_signature"]
    assert decision.reasons[0].consent_id == consent.id


def test_signing_starts_validity_at_that_instant(session, referral):
    # Given a consent drafted, sent, then signed
    consent = referral.signed(session)
    assert consent.sent_at is not None
    assert consent.signed_at is not None
    # Then a decision about the past reads the state it had then: [signed_at, …) permits
    assert decide(session, referral, at=consent.signed_at).permitted
    before_signing = consent.signed_at - ONE_MICROSECOND
    assert codes(decide(session, referral, at=before_signing)) == ["consent_pending_signature"]
    before_sending = consent.sent_at - ONE_MICROSECOND
    assert codes(decide(session, referral, at=before_sending)) == ["consent_not_sent"]


def test_a_revoked_consent_denies_from_the_revocation_on(session, referral):
    consent = referral.signed(session)
    revoked = lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    assert revoked.revoked_at is not None
    decision = decide(session, referral)
    assert codes(decision) == ["consent_revoked"]
    assert decision.reasons[0].consent_id == consent.id
    # half-open: denied at the revocation instant, permitted one microsecond before it
    assert codes(decide(session, referral, at=revoked.revoked_at)) == ["consent_revoked"]
    assert decide(session, referral, at=revoked.revoked_at - ONE_MICROSECOND).permitted


def test_expiry_date_ends_validity_at_midnight_utc(session, referral):
    # Given a consent that "expires on" a date two days away
    expires_on = now().date() + timedelta(days=2)
    consent = referral.signed(session, expires_on=expires_on)
    midnight = expiry_instant(expires_on)
    assert midnight == datetime(expires_on.year, expires_on.month, expires_on.day, tzinfo=UTC)
    # Then it permits up to one microsecond before 00:00 UTC of that day
    assert decide(session, referral, at=midnight - ONE_MICROSECOND).permitted
    # And denies from exactly 00:00 UTC on, though no job changed its status
    decision = decide(session, referral, at=midnight)
    assert codes(decision) == ["consent_expired"]
    assert decision.reasons[0].consent_id == consent.id
    assert codes(decide(session, referral, at=midnight + timedelta(days=30))) == ["consent_expired"]
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.ACTIVE


def test_expiry_date_ends_validity_at_midnight_where_the_practice_is(session, referral):
    # Given a practice in California, and a release it wrote that "ends on" a day two days away
    in_california(session, referral)
    expires_on = now().date() + timedelta(days=2)
    consent = referral.signed(session, expires_on=expires_on)
    # When it is signed, its end is fixed at that day's midnight in California
    midnight = datetime.combine(expires_on, time.min, tzinfo=CALIFORNIA)
    assert consent.expires_at == midnight
    # Then it still permits in the evening before there (the day has begun in UTC)
    assert decide(session, referral, at=expiry_instant(expires_on)).permitted
    assert decide(session, referral, at=midnight - ONE_MICROSECOND).permitted
    # And denies from the practice's midnight on, in Python and in SQL alike
    assert codes(decide(session, referral, at=midnight)) == ["consent_expired"]
    this = select(Consent.id).where(Consent.id == consent.id)
    before = midnight - ONE_MICROSECOND
    assert session.scalar(this.where(has_status(ConsentStatus.ACTIVE, before)))
    assert session.scalar(this.where(has_status(ConsentStatus.EXPIRED, midnight)))
    # And a practice that moves later does not move the end the client signed for
    session.get(User, referral.therapist.user.id).organization.time_zone = "America/New_York"
    session.commit()
    assert codes(decide(session, referral, at=midnight)) == ["consent_expired"]
    assert decide(session, referral, at=before).permitted


def test_the_api_gives_the_instant_a_releases_date_ends_it(client, session, referral):
    # Given a practice in California and a release that "ends on" a day, sent for signature
    in_california(session, referral)
    expires_on = now().date() + timedelta(days=2)
    waiting = referral.sent(session, expires_on=expires_on)
    midnight = iso(datetime.combine(expires_on, time.min, tzinfo=CALIFORNIA))
    token = api_token(client, referral.therapist.email, referral.therapist.password)

    def shown(consent_id: int) -> dict:
        return client.get(f"/api/v1/consents/{consent_id}", headers=bearer(token)).get_json()

    # Then the API gives the day and the instant it ends, midnight in California
    assert (shown(waiting.id)["expires_on"], shown(waiting.id)["expires_at"]) == (
        expires_on.isoformat(),
        midnight,
    )
    # And once signed, that instant stays when the practice moves
    referral.sign(session, waiting)
    session.get(User, referral.therapist.user.id).organization.time_zone = "America/New_York"
    session.commit()
    assert shown(waiting.id)["expires_at"] == midnight
    # And a release that ends with an event has no such instant
    open_ended = referral.signed(session, expiry_event="the end of the court case", expires_on=None)
    assert shown(open_ended.id)["expires_at"] is None


def test_a_release_can_be_signed_until_its_end_day_begins_where_the_practice_is(session, referral):
    # Given a practice in California, and two releases waiting for a signature, ending in 2 days
    in_california(session, referral)
    expires_on = now().date() + timedelta(days=2)
    first, second = (referral.sent(session, expires_on=expires_on) for _ in range(2))
    midnight = datetime.combine(expires_on, time.min, tzinfo=CALIFORNIA)

    def sign_at(at: datetime, consent: Consent) -> Consent:
        with time_machine.travel(at, tick=False), stand_in_documents():
            return referral.sign(session, consent)

    # When the client signs one at 03:00 UTC of that day, the evening before in California
    signed = sign_at(expiry_instant(expires_on) + timedelta(hours=3), first)
    # Then it is signed; and the other cannot be from the practice's midnight on
    assert signed.status is ConsentStatus.ACTIVE
    with pytest.raises(WrongState):
        sign_at(midnight, second)


def test_a_release_may_be_sent_until_its_end_day_begins_where_the_practice_is(session, referral):
    # Given a practice in California, at 8 p.m. there, when the day has turned over in UTC
    in_california(session, referral)
    evening = datetime.combine(now().date() + timedelta(days=3), time(20), tzinfo=CALIFORNIA)
    tomorrow_there = evening.date() + timedelta(days=1)
    with time_machine.travel(evening, tick=False):
        # Then a release that ends tomorrow there is complete and goes for signature
        sent = referral.sent(session, expires_on=tomorrow_there)
        assert sent.status is ConsentStatus.PENDING_SIGNATURE
        # And one that ends today there is refused: its end has come
        with pytest.raises(IncompleteConsent) as refused:
            referral.sent(session, expires_on=evening.date())
        assert [m.field for m in refused.value.missing] == ["expires_on"]


def test_expiry_event_ends_validity_when_recorded(session, referral):
    consent = referral.signed(session, expires_on=None, expiry_event="the end of treatment")
    expired = lifecycle.record_expiry_event(
        session, referral.therapist.actor, consent.id, now().date()
    )
    assert expired.expired_at is not None
    assert codes(decide(session, referral)) == ["consent_expired"]
    assert codes(decide(session, referral, at=expired.expired_at)) == ["consent_expired"]
    assert decide(session, referral, at=expired.expired_at - ONE_MICROSECOND).permitted


def test_a_voided_consent_never_permits(session, referral):
    consent = referral.sent(session)
    voided = lifecycle.void(session, referral.therapist.actor, consent.id)
    assert voided.voided_at is not None
    assert codes(decide(session, referral)) == ["consent_voided"]
    # before it was voided it was still only waiting for a signature
    before = voided.voided_at - ONE_MICROSECOND
    assert codes(decide(session, referral, at=before)) == ["consent_pending_signature"]


def test_a_superseded_consent_stops_permitting(session, referral, library):
    # Given an active consent to the psychiatrist
    old = referral.signed(session)
    family_doctor = make_user(session, Role.CLINICIAN, org="Lakeside Family Medicine")
    # When its new version, now naming a family doctor instead, is signed
    draft = lifecycle.new_version(session, referral.therapist.actor, old.id, library)
    fields = referral.fields(recipient_provider_id=provider_of(session, family_doctor).id)
    lifecycle.update_draft(session, referral.therapist.actor, draft.id, fields, library)
    send_for_signature(session, referral, draft.id)
    new = sign(session, referral, draft.id)
    session.rollback()
    old = session.get(Consent, old.id)
    assert old.status is ConsentStatus.SUPERSEDED
    # superseded once the new version was in place, just after its signature
    assert new.signed_at <= old.superseded_at
    # Then the old consent no longer permits sharing with the psychiatrist
    decision = decide(session, referral)
    assert codes(decision) == ["consent_superseded"]
    assert decision.reasons[0].consent_id == old.id
    # but did until the new version was signed, and the new one covers the family doctor
    assert decide(session, referral, at=old.superseded_at - ONE_MICROSECOND).permitted
    assert decide(session, referral, recipient=family_doctor).consent_id == new.id


def test_state_at_reads_the_timestamps(session, referral):
    consent = referral.signed(session)
    revoked = lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    assert revoked.signed_at is not None
    assert revoked.revoked_at is not None
    assert revoked.status_at(revoked.signed_at) is ConsentStatus.ACTIVE
    assert revoked.status_at(revoked.revoked_at) is ConsentStatus.REVOKED
    assert revoked.status_at(revoked.signed_at - ONE_MICROSECOND) is (
        ConsentStatus.PENDING_SIGNATURE
    )


# --- sensitive categories ---------------------------------------------------------------------


def test_psychotherapy_notes_only_under_their_own_authorization(session, referral):
    # Given a general authorization covering diagnosis
    general = referral.signed(session)
    # Then psychotherapy notes are refused under it, with the rule named
    decision = decide(session, referral, categories=("psychotherapy_notes",))
    assert codes(decision) == [
        "category_needs_psychotherapy_notes_authorization:psychotherapy_notes"
    ]
    assert decision.reasons[0].consent_id == general.id
    # When the client signs a psychotherapy-notes authorization
    notes = referral.signed(session, **psychotherapy_notes_fields())
    # Then the notes may go, under that authorization
    permitted = decide(session, referral, categories=("psychotherapy_notes",))
    assert permitted.consent_id == notes.id
    # And the notes' authorization does not stretch to anything else in the same message
    mixed = decide(session, referral, categories=("psychotherapy_notes", "diagnosis"))
    assert not mixed.permitted


def test_substance_use_records_only_under_a_part2_consent(session, referral):
    # Given a general authorization and a psychotherapy-notes one
    referral.signed(session)
    referral.signed(session, **psychotherapy_notes_fields())
    # Then SUD records are refused under either, with the rule named
    decision = decide(session, referral, categories=("sud_diagnosis",))
    assert codes(decision) == ["category_needs_part2_consent:sud_diagnosis"]
    # When the client signs a Part 2 consent for them
    part2 = referral.signed(session, **part2_fields())
    # Then they may go under it, and only under it
    permitted = decide(session, referral, categories=("sud_diagnosis", "sud_medications"))
    assert permitted.consent_id == part2.id
    # but not a SUD category the Part 2 consent leaves out
    assert codes(decide(session, referral, categories=("sud_test_results",))) == [
        "category_not_covered:sud_test_results"
    ]


# --- choosing among consents ------------------------------------------------------------------


def test_the_most_recently_signed_permitting_consent_is_chosen(session, referral):
    # Given three consents that would all permit the disclosure, and one that would not
    first = referral.signed(session, categories=("diagnosis",))
    second = referral.signed(session, categories=("diagnosis", "medications"))
    narrower = referral.signed(session, categories=("medications",))
    third = referral.signed(session, categories=("diagnosis", "attendance"))
    assert first.signed_at < second.signed_at < narrower.signed_at < third.signed_at
    # Then the one the client agreed to last among those that permit is chosen
    assert decide(session, referral).consent_id == third.id
    # And once it is revoked, the next most recent one takes over
    lifecycle.revoke(session, referral.client_person.actor, third.id, reason=None)
    assert decide(session, referral).consent_id == second.id
    # And a decision about the past chooses among the consents signed by then
    assert decide(session, referral, at=second.signed_at - ONE_MICROSECOND).consent_id == (first.id)


def test_a_usable_consent_wins_over_a_defective_one(session, referral):
    revoked = referral.signed(session)
    lifecycle.revoke(session, referral.client_person.actor, revoked.id, reason=None)
    referral.sent(session)  # pending, newer
    active = referral.signed(session)
    assert decide(session, referral).consent_id == active.id


def test_the_denial_explains_the_closest_consent(session, referral):
    # Given an active consent that lacks one category, and a revoked one that covered it
    wide = referral.signed(session, categories=("diagnosis", "hiv"))
    lifecycle.revoke(session, referral.client_person.actor, wide.id, reason=None)
    referral.signed(session, categories=("diagnosis",))
    # Then the clinician is told about the consent that is in force
    assert codes(decide(session, referral, categories=("hiv",))) == ["category_not_covered:hiv"]


# --- the reasons themselves -------------------------------------------------------------------


def test_reasons_are_plain_sentences_that_name_no_client(session, referral):
    # Given denials of every kind the gate gives
    reasons: list[gate.Reason] = []
    reasons += decide(session, referral).reasons  # no_consent
    draft = referral.draft(session)
    reasons += decide(session, referral).reasons  # consent_not_sent
    lifecycle.void(session, referral.therapist.actor, draft.id)
    reasons += decide(session, referral).reasons  # consent_voided
    consent = referral.signed(session, expires_on=now().date() + timedelta(days=3))
    reasons += decide(session, referral, categories=("hiv",)).reasons
    reasons += decide(session, referral, categories=("psychotherapy_notes",)).reasons
    reasons += decide(session, referral, categories=("sud_treatment",)).reasons
    reasons += decide(session, referral, purposes=("legal_matter",)).reasons
    reasons += decide(session, referral, categories=()).reasons
    reasons += decide(session, referral, purposes=()).reasons
    reasons += decide(
        session, referral, discloser=referral.psychiatrist, recipient=referral.therapist
    ).reasons
    reasons += decide(
        session, referral, recipient=make_provider(session, referral.therapist)
    ).reasons
    reasons += decide(session, referral, at=expiry_instant(consent.expires_on)).reasons
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    reasons += decide(session, referral).reasons
    referral.sent(session)
    reasons += decide(session, referral).reasons
    seen = {reason.code.split(":")[0] for reason in reasons}
    assert seen == {
        "no_consent",
        "consent_not_sent",
        "consent_voided",
        "category_not_covered",
        "category_needs_psychotherapy_notes_authorization",
        "category_needs_part2_consent",
        "purpose_not_covered",
        "categories_required",
        "purpose_required",
        "direction_not_covered",
        "recipient_not_covered",
        "consent_expired",
        "consent_revoked",
        "consent_pending_signature",
    }
    # Then each is one plain sentence a clinician reads: no codes, no client's name or birth date
    client = session.get(Client, referral.client_id)
    for reason in reasons:
        message = reason.message
        assert message.lstrip('"')[0].isupper(), message
        assert message.endswith("."), message
        assert len(message) < 250, message
        assert "_" not in message, message  # no stable code leaks into the sentence
        assert "None" not in message, message
        for private in (client.given_name, client.family_name, client.birth_date.isoformat()):
            assert private not in message, message
        assert reason.as_json() == {
            "code": reason.code,
            "message": message,
            "consent_id": reason.consent_id,
        }
    # and the category and purpose are named by their label, as the form shows them
    labels = " ".join(reason.message for reason in reasons)
    assert "HIV-related information" in labels
    assert "A legal matter, such as a court case" in labels


@pytest.mark.parametrize(
    "changes",
    [
        {"direction": Direction.ONE_WAY},
        {"direction": Direction.TWO_WAY},
    ],
)
def test_lock_candidates_is_harmless_outside_a_send(session, referral, changes):
    # lock_candidates takes a share lock only; deciding afterwards in the same transaction works
    referral.signed(session, **changes)
    session.rollback()
    therapist = provider_of(session, referral.therapist)
    psychiatrist = provider_of(session, referral.psychiatrist)
    client = session.get(Client, referral.client_id)
    gate.lock_candidates(session, discloser=therapist, recipient=psychiatrist, client=client)
    decision = gate.decide(
        session,
        referral.library,
        discloser=therapist,
        recipient=psychiatrist,
        client=client,
        categories=("diagnosis",),
        purposes=("treatment",),
        at=now(),
    )
    assert decision.permitted
    session.rollback()


@pytest.mark.parametrize("state", ["draft", "sent"])
def test_another_practice_is_not_told_of_a_release_the_client_never_signed(
    session, referral, state
):
    # Given a signed one-way release from the therapist to the psychiatrist, and a two-way one
    # the therapist's practice is still drafting, or waiting for the client to sign
    one_way = referral.signed(session)
    unsigned = getattr(referral, state)(session, direction=Direction.TWO_WAY)
    # When the psychiatrist asks to write back to the therapist
    decision = decide(
        session, referral, discloser=referral.psychiatrist, recipient=referral.therapist
    )
    # Then the refusal names the signed release, which is one-way, and not the unsigned one
    assert not decision.permitted
    assert decision.reason_codes == ["direction_not_covered"]
    assert [reason.consent_id for reason in decision.reasons] == [one_way.id]
    assert unsigned.id not in {reason.consent_id for reason in decision.reasons}


@pytest.mark.parametrize("state", ["draft", "sent"])
def test_a_practice_is_told_of_its_own_unsigned_release(session, referral, state):
    unsigned = getattr(referral, state)(session)
    decision = decide(session, referral)
    assert not decision.permitted
    assert [reason.consent_id for reason in decision.reasons] == [unsigned.id]
