"""The consent lifecycle and the rules of a valid authorization (45 CFR 164.508, 42 CFR Part 2)."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi.accounts import service
from roi.accounts.models import Client
from roi.audit import AuditEntry, verify
from roi.clock import now
from roi.consent import lifecycle, notices, queries
from roi.consent.errors import IncompleteConsent
from roi.consent.models import Consent, ConsentStatus, SignerRelationship
from roi.documents import seal
from roi.errors import Forbidden, Invalid, NotFound, WrongState
from tests.consent.conftest import identity, signature
from tests.factories import stand_in_documents
from tests.messaging.test_send import send


def actions(session) -> list[str]:
    session.rollback()
    return [a.value for a in session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))]


def test_a_release_goes_from_draft_to_active(session, referral):
    # Given a complete draft
    consent = referral.draft(session)
    assert consent.status is ConsentStatus.DRAFT
    # When it is sent and the client signs
    referral_consent = lifecycle.send_for_signature(
        session,
        referral.therapist.actor,
        consent.id,
        referral.library,
        invitation_lifetime=timedelta(days=7),
    )
    assert referral_consent.invitation_token  # the client has an email address
    signed = lifecycle.sign_as_client(
        session,
        referral.client_person.actor,
        consent.id,
        signature(),
        identity(referral.client_person),
        referral.library,
    )
    # Then it is active, with a signed PDF whose SHA-256 is recorded, and each step is audited
    assert signed.status is ConsentStatus.ACTIVE
    _, document = lifecycle.signed_pdf(session, referral.client_person.actor, consent.id)
    assert document.startswith(b"%PDF")
    assert hashlib.sha256(document).hexdigest() == signed.document_sha256
    _, again = lifecycle.signed_pdf(session, referral.therapist.actor, consent.id)
    assert again == document
    assert {"consent.created", "consent.sent", "consent.signed", "document.downloaded"} <= set(
        actions(session)
    )
    assert verify(session).ok


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"categories": ()}, "categories"),
        ({"information_description": "stuff"}, "information_description"),
        ({"purposes": ()}, "purposes"),
        ({"expires_on": None, "expiry_event": None}, "expires_on"),
    ],
)
def test_each_missing_element_blocks_sending_and_is_named(session, referral, changes, field):
    consent = referral.draft(session, **changes)
    with pytest.raises(IncompleteConsent) as refused:
        lifecycle.send_for_signature(
            session,
            referral.therapist.actor,
            consent.id,
            referral.library,
            invitation_lifetime=timedelta(days=7),
        )
    assert field in refused.value.fields
    assert all(m.rule for m in refused.value.missing)
    session.rollback()
    assert queries.consent_for(session, referral.therapist.actor, consent.id).status is (
        ConsentStatus.DRAFT
    )


def test_an_expiration_event_is_enough(session, referral):
    consent = referral.sent(session, expires_on=None, expiry_event="the end of my treatment")
    assert consent.status is ConsentStatus.PENDING_SIGNATURE


def test_past_expiration_date_is_refused_at_send(session, referral):
    consent = referral.draft(session, expires_on=now().date())
    with pytest.raises(IncompleteConsent) as refused:
        lifecycle.send_for_signature(
            session,
            referral.therapist.actor,
            consent.id,
            referral.library,
            invitation_lifetime=timedelta(days=7),
        )
    assert "future" in refused.value.fields["expires_on"]


def test_psychotherapy_notes_need_their_own_form(session, referral):
    # 164.508(b)(3)(ii): not on a general authorization...
    with pytest.raises(Invalid) as refused:
        referral.draft(session, categories=("diagnosis", "psychotherapy_notes"))
    assert "own authorization" in refused.value.fields["categories"]
    # ...and the psychotherapy-notes form offers nothing else
    template = referral.library.get("psychotherapy-notes")
    assert [c.code for c in template.categories] == ["psychotherapy_notes"]
    with pytest.raises(Invalid):
        referral.draft(session, template_id="psychotherapy-notes", categories=("diagnosis",))


def test_part2_consent_must_describe_substance_use_explicitly(session, referral):
    template = referral.library.get("part2-consent")
    sud = next(c.code for c in template.categories if c.substance_use_disorder)
    purpose = template.purposes[0].code
    vague = referral.draft(
        session,
        template_id=template.id,
        categories=(sud,),
        purposes=(purpose,),
        information_description="Everything in my chart that is relevant.",
    )
    with pytest.raises(IncompleteConsent) as refused:
        lifecycle.send_for_signature(
            session,
            referral.therapist.actor,
            vague.id,
            referral.library,
            invitation_lifetime=timedelta(days=7),
        )
    assert "substance use" in refused.value.fields["information_description"]
    explicit = referral.sent(
        session,
        template_id=template.id,
        categories=(sud,),
        purposes=(purpose,),
        information_description="Diagnosis and medication for opioid use disorder since 2025.",
    )
    assert explicit.status is ConsentStatus.PENDING_SIGNATURE


def test_a_representative_must_state_their_authority(session, referral):
    # a minor's parent signs for them
    client = session.get(Client, referral.client_id)
    client.birth_date = now().date().replace(year=now().year - 15, day=1)
    session.commit()
    consent = referral.sent(session, signer_relationship=SignerRelationship.PARENT)
    # none, or a mark that describes nothing, is refused, saying what to write
    for authority in (None, " x. "):
        with pytest.raises(Invalid) as refused:
            lifecycle.sign_as_client(
                session,
                referral.client_person.actor,
                consent.id,
                signature(
                    relationship=SignerRelationship.PARENT, representative_authority=authority
                ),
                identity(referral.client_person),
                referral.library,
            )
        assert (
            "in a few words, for example “mother”"
            in refused.value.fields["representative_authority"]
        )
    # a word that says it is enough (a parent writes "Mother", a guardian "Guardian")
    signed = lifecycle.sign_as_client(
        session,
        referral.client_person.actor,
        consent.id,
        signature(relationship=SignerRelationship.PARENT, representative_authority="Mother"),
        identity(referral.client_person),
        referral.library,
    )
    assert signed.status is ConsentStatus.ACTIVE


def test_signing_needs_agreement_and_a_name(session, referral):
    consent = referral.sent(session)
    with pytest.raises(Invalid) as refused:
        lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            consent.id,
            signature(agree=False, signer_name="  "),
            identity(referral.client_person),
            referral.library,
        )
    assert set(refused.value.fields) == {"agree", "signer_name"}


def test_a_draft_cannot_be_signed_and_a_signed_one_cannot_change(session, referral):
    draft = referral.draft(session)
    # a draft is the practice's work in progress: the client cannot even see it
    with pytest.raises(NotFound):
        lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            draft.id,
            signature(),
            identity(referral.client_person),
            referral.library,
        )
    signed = referral.signed_with_document(session)
    # E4: immutable once signed
    with pytest.raises(WrongState):
        lifecycle.update_draft(
            session, referral.therapist.actor, signed.id, referral.fields(), referral.library
        )
    with pytest.raises(WrongState):
        lifecycle.void(session, referral.therapist.actor, signed.id)


def test_revocation_is_effective_and_happens_once(session, referral):
    consent = referral.signed_with_document(session)
    revoked = lifecycle.revoke(
        session, referral.client_person.actor, consent.id, reason="I changed my mind"
    )
    assert revoked.status is ConsentStatus.REVOKED
    assert revoked.revoked_at is not None
    with pytest.raises(WrongState) as twice:
        lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    assert "revoked" in twice.value.message
    # the signed PDF stays as signed; a receipt repeats the scope
    _, document = lifecycle.signed_pdf(session, referral.therapist.actor, consent.id)
    assert hashlib.sha256(document).hexdigest() == revoked.document_sha256
    _, receipt = lifecycle.revocation_receipt(
        session, referral.client_person.actor, consent.id, referral.library
    )
    assert receipt.startswith(b"%PDF")


def test_only_the_client_revokes_and_only_their_own(session, referral):
    consent = referral.signed_with_document(session)
    with pytest.raises(Forbidden):
        lifecycle.revoke(session, referral.therapist.actor, consent.id, reason=None)
    from roi.actor import Role
    from tests.factories import make_client_user

    _, stranger = make_client_user(session, referral.therapist, given_name="Ana")
    with pytest.raises(NotFound):
        lifecycle.revoke(session, stranger.actor, consent.id, reason=None)
    assert stranger.actor.role is Role.CLIENT


def test_expiry_by_date_needs_no_job(session, referral):
    import time_machine

    consent = referral.signed_with_document(session, expires_on=now().date() + timedelta(days=2))
    assert consent.status_at(now()) is ConsentStatus.ACTIVE
    later = now() + timedelta(days=2)
    assert consent.status_at(later) is ConsentStatus.EXPIRED
    with time_machine.travel(later, tick=False):
        expired = queries.consents_for(
            session, referral.therapist.actor, status=ConsentStatus.EXPIRED
        )
        assert [c.id for c in expired] == [consent.id]
        with pytest.raises(WrongState):
            lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)


def test_expiry_event_is_recorded_by_the_clinician(session, referral):
    consent = referral.signed_with_document(session, expiry_event="the end of treatment")
    with pytest.raises(Invalid):
        lifecycle.record_expiry_event(
            session, referral.therapist.actor, consent.id, now().date() + timedelta(days=1)
        )
    expired = lifecycle.record_expiry_event(
        session, referral.therapist.actor, consent.id, now().date()
    )
    assert expired.status is ConsentStatus.EXPIRED
    assert "consent.expired" in actions(session)


def test_void_a_pending_consent(session, referral):
    consent = referral.sent(session)
    voided = lifecycle.void(session, referral.therapist.actor, consent.id)
    assert voided.status is ConsentStatus.VOIDED
    with pytest.raises(WrongState):
        lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            consent.id,
            signature(),
            identity(referral.client_person),
            referral.library,
        )


def test_a_new_version_supersedes_when_signed(session, referral):
    first = referral.signed_with_document(session)
    draft = lifecycle.new_version(session, referral.therapist.actor, first.id, referral.library)
    assert draft.supersedes_id == first.id
    lifecycle.send_for_signature(
        session,
        referral.therapist.actor,
        draft.id,
        referral.library,
        invitation_lifetime=timedelta(days=7),
    )
    lifecycle.sign_as_client(
        session,
        referral.client_person.actor,
        draft.id,
        signature(),
        identity(referral.client_person),
        referral.library,
    )
    session.rollback()
    old = queries.consent_for(session, referral.therapist.actor, first.id)
    assert old.status is ConsentStatus.SUPERSEDED
    # the old PDF still verifies against its recorded hash
    _, document = lifecycle.signed_pdf(session, referral.therapist.actor, first.id)
    assert hashlib.sha256(document).hexdigest() == old.document_sha256


def test_a_send_under_the_old_version_while_the_new_one_is_signed_stays_within_it(
    session, referral
):
    # Given a signed release and its new version waiting for the client's signature
    start = now()
    with time_machine.travel(start, tick=False):
        old = referral.signed(session)
        new = lifecycle.new_version(session, referral.therapist.actor, old.id, referral.library)
        lifecycle.send_for_signature(
            session,
            referral.therapist.actor,
            new.id,
            referral.library,
            invitation_lifetime=timedelta(days=7),
        )
    sent = []
    with stand_in_documents(), time_machine.travel(start + timedelta(seconds=1)) as clock:
        sign_pdf = seal.sign_pdf

        def slow_sign(*args: object, **kwargs: object) -> bytes:
            # while the signature is sealed (a moment), the therapist sends under the old version
            clock.move_to(start + timedelta(seconds=5), tick=False)
            sent.append(send(session, referral))
            clock.move_to(start + timedelta(seconds=6), tick=False)
            return sign_pdf(*args, **kwargs)

        with mock.patch.object(seal, "sign_pdf", slow_sign):
            # When the client signs the new version
            lifecycle.sign_as_client(
                session,
                referral.client_person.actor,
                new.id,
                signature(),
                identity(referral.client_person),
                referral.library,
            )
    # Then the old version was still in force when that message went under it: it ends when the
    # new one is in place, not when the client began to sign
    session.rollback()
    old = session.get(Consent, old.id)
    (message,) = sent
    assert message.consent_id == old.id
    assert old.status_at(message.sent_at) is ConsentStatus.ACTIVE
    assert old.superseded_at > message.sent_at


def test_the_recipient_sees_but_cannot_manage(session, referral):
    consent = referral.signed_with_document(session)
    seen = queries.consent_for(session, referral.psychiatrist.actor, consent.id)
    assert seen.id == consent.id
    with pytest.raises(Forbidden):
        lifecycle.record_expiry_event(
            session, referral.psychiatrist.actor, consent.id, now().date()
        )
    # and the client becomes visible to the recipient while the consent is active
    seen_clients = queries.clients_for(session, referral.psychiatrist.actor)
    assert referral.client_id in [c.id for c in seen_clients]


def test_concurrent_signatures_make_exactly_one(engine, session, referral):
    # E3: two submissions race; one signs, the other gets WrongState, the chain still verifies
    consent_id = referral.sent(session).id
    actor, who = referral.client_person.actor, identity(referral.client_person)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                lifecycle.sign_as_client(own, actor, consent_id, signature(), who, referral.library)
                results.append("signed")
            except WrongState:
                results.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == ["refused", "signed"]
    session.rollback()
    signed_events = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "consent.signed")
    )
    assert signed_events == 1
    assert verify(session).ok


def test_concurrent_revocations_make_exactly_one(engine, session, referral):
    consent_id = referral.signed_with_document(session).id
    actor = referral.client_person.actor
    results: list[str] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                lifecycle.revoke(own, actor, consent_id, reason=None)
                results.append("revoked")
            except WrongState:
                results.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["refused", "revoked"]
    assert verify(session).ok


def test_description_is_sealed_at_rest(engine, session, referral, database_url):
    sentinel = "SENTINEL-" + hashlib.sha256(b"x").hexdigest()[:24]
    consent = referral.draft(session, information_description=f"Medications {sentinel}")
    session.rollback()
    assert lifecycle.description_of(
        queries.consent_for(session, referral.therapist.actor, consent.id)
    ).endswith(sentinel)
    session.close()
    if database_url.startswith("sqlite"):
        from pathlib import Path

        path = Path(database_url.removeprefix("sqlite:///"))
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        files = list(path.parent.glob(path.name + "*"))
        assert files
        for file in files:
            assert sentinel.encode() not in file.read_bytes()


def test_a_signature_racing_a_void_has_one_winner(engine, session, referral):
    consent_id = referral.sent(session).id
    client_actor, who = referral.client_person.actor, identity(referral.client_person)
    therapist = referral.therapist.actor
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def sign() -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                lifecycle.sign_as_client(
                    own, client_actor, consent_id, signature(), who, referral.library
                )
                results["sign"] = "ok"
            except WrongState:
                results["sign"] = "refused"

    def void() -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                lifecycle.void(own, therapist, consent_id)
                results["void"] = "ok"
            except WrongState:
                results["void"] = "refused"

    threads = [threading.Thread(target=sign), threading.Thread(target=void)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results.values()) == ["ok", "refused"]
    session.rollback()
    final = queries.consent_for(session, therapist, consent_id).status
    assert final is (ConsentStatus.ACTIVE if results["sign"] == "ok" else ConsentStatus.VOIDED)
    assert verify(session).ok


def test_the_clinicians_notices_name_the_client(session, referral):
    # Given a release the client signed
    consent = referral.signed_with_document(session)
    # When the client revokes it
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    # Then the therapist's dashboard notices say who, not only which number
    texts = [n.text for n in queries.notifications_for(session, referral.therapist.actor)]
    assert texts[0] == f"Jordan Avery revoked release #{consent.id}."
    assert f"Jordan Avery signed release #{consent.id}; it is active now." in texts


def test_a_recipient_outside_roi_is_told_of_a_revocation_without_being_asked_to_sign_in(
    session, referral
):
    # Given a release to a provider outside roi, with an address but no account
    outside = service.add_provider(
        session,
        referral.therapist.actor,
        service.NewProvider("Helen Brooks", "MD", "Lakeside", "1 Lake St", "brooks@lake.example"),
    )
    consent = referral.signed(session, recipient_provider_id=outside.id)
    # When the client revokes it
    revoked = lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    told = {m.to: m for m in notices.revocation_mails(revoked, revoked.revocation)}
    # Then the provider's mail names the practice the release let share with them, without
    # saying anything was shared (nothing was), and offers no sign-in
    theirs = told["brooks@lake.example"]
    assert theirs.subject == "A release from Riverside Counseling was revoked"
    assert theirs.text.startswith(
        "The release that let Riverside Counseling share a client's information with you "
        f"(release #{consent.id}) was revoked by the client"
    )
    assert theirs.link is None
    # while the clinician who prepared it is sent to roi for the details
    assert told[referral.therapist.email].link == "/login"
