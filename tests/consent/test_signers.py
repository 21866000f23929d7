"""The right signer (issue 12 item 5, SECURITY E9): the rules file, the one rule, and signing
refusing the wrong person with a reason that names the rule, for each form kind."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from roi.accounts.models import Client, Organization, RepresentativeKind
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.consent import lifecycle, representation
from roi.consent.lifecycle import signing
from roi.consent.models import (
    Consent,
    ConsentStatus,
    RequiredSigner,
    Signature,
    SignerRelationship,
)
from roi.consent.signers import SignerRules, SignerRulesError, age_on, required_signer
from roi.documents import seal
from roi.documents.attachments import Upload
from roi.errors import Forbidden, Invalid, NotFound
from tests.consent.conftest import identity, signature
from tests.factories import make_user, stand_in_documents
from tests.helpers import PATIENCE, held_up, login_as

SELF = SignerRelationship.SELF
PARENT = SignerRelationship.PARENT
GUARDIAN = SignerRelationship.GUARDIAN
PDF = b"%PDF-1.7\n% letters of guardianship\n"
#: the three form kinds, with a category and a description each accepts
KINDS = {
    "general-authorization": ("diagnosis", "Diagnosis and a treatment summary since 2025."),
    "psychotherapy-notes": ("psychotherapy_notes", "Psychotherapy notes of sessions since 2025."),
    "part2-consent": (
        "sud_diagnosis",
        "Diagnosis and medication for opioid use disorder since 2025.",
    ),
}


def years_ago(years: int) -> date:
    today = now().date()
    return today.replace(year=today.year - years, day=1)


def test_the_shipped_rules_list_the_states_with_their_statutes():
    from roi.consent.signers import shipped_rules

    rules = shipped_rules()
    assert {"WA", "OR", "CA", "NY", "TX", "FL", "IL", "MA"} <= set(rules.states)
    wa = rules.for_state("WA")
    assert (wa.age_of_majority, wa.mental_health_age, wa.substance_use_age) == (18, 13, 13)
    assert "RCW 71.34.530" in (wa.mental_health_citation or "")
    assert rules.for_state("CA").mental_health_age == 12
    # unset or unlisted: the conservative default, under which no minor signs alone
    assert rules.for_state(None) is rules.default is rules.for_state("ZZ")
    assert rules.default.mental_health_age is None
    assert rules.default.substance_use_age is None


def test_a_broken_rules_file_names_the_field(tmp_path: Path):
    path = tmp_path / "signers.toml"
    path.write_text(
        '[default]\nname = "D"\nage_of_majority = 18\nage_of_majority_citation = "x"\n'
        '[states.WA]\nname = "W"\nage_of_majority = 18\nage_of_majority_citation = "x"\n'
        "mental_health_age = 13\n"
    )
    with pytest.raises(SignerRulesError, match=r"states\.WA\.mental_health_citation"):
        SignerRules.load(path)


def test_age_counts_completed_years():
    assert age_on(date(2010, 6, 15), date(2023, 6, 14)) == 12
    assert age_on(date(2010, 6, 15), date(2023, 6, 15)) == 13
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17


def test_the_rule_for_minors_adults_and_part2():
    from roi.consent.signers import shipped_rules

    wa = shipped_rules().for_state("WA")
    today = now().date()

    def rule(kind: str, age: int, **record: object):
        client = Client(given_name="Sam", birth_date=years_ago(age), **record)
        return required_signer(kind, client, wa, today)

    assert rule("general", 12).who is RequiredSigner.REPRESENTATIVE
    assert "164.502(g)(3)" in rule("general", 12).reason
    assert rule("psychotherapy_notes", 15, own_care_consent=True).who is RequiredSigner.CLIENT
    assert rule("part2", 14).who is RequiredSigner.CLIENT
    assert "42 CFR 2.14(a)" in rule("part2", 14).reason
    assert "RCW 71.34.530" in rule("part2", 14).reason
    assert rule("part2", 12).who is RequiredSigner.REPRESENTATIVE
    assert rule("general", 30).who is RequiredSigner.CLIENT
    default = shipped_rules().default
    minor = Client(given_name="Sam", birth_date=years_ago(16), own_care_consent=False)
    assert required_signer("part2", minor, default, today).who is RequiredSigner.REPRESENTATIVE


# --- E9: signing refuses the wrong person ---------------------------------------------------


@pytest.fixture
def washington(session, referral):
    """The therapist's practice applies Washington law; its admin set it."""
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    representation.set_practice_state(session, admin.actor, "WA")
    return referral


def make_minor(session, referral, age: int, *, own_care: bool = False) -> None:
    client = session.get(Client, referral.client_id)
    client.birth_date = years_ago(age)
    session.commit()
    if own_care:
        representation.set_own_care_consent(
            session, referral.therapist.actor, referral.client_id, True
        )


def add_guardian(session, referral) -> None:
    representation.record_representative(
        session,
        referral.therapist.actor,
        referral.client_id,
        representation.NewRepresentative(
            RepresentativeKind.GUARDIAN, "Maria Avery", Upload("order.pdf", "application/pdf", PDF)
        ),
    )


#: who signs in each role: the client, a parent, and the representatives the tests record
SIGNERS = {
    SELF: "Jordan Avery",
    PARENT: "Pat Avery",
    GUARDIAN: "Maria Avery",
    SignerRelationship.PERSONAL_REPRESENTATIVE: "Lee Avery",
}


def sign(
    session, referral, consent_id: int, relationship: SignerRelationship, name: str | None = None
):
    authority = None if relationship is SELF else "Parent or court-appointed guardian of Jordan"
    with stand_in_documents():
        return lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            consent_id,
            signature(
                signer_name=name or SIGNERS[relationship],
                relationship=relationship,
                representative_authority=authority,
            ),
            identity(referral.client_person),
            referral.library,
        )


def release(session, referral, template_id: str):
    category, description = KINDS[template_id]
    return referral.sent(
        session,
        template_id=template_id,
        categories=(category,),
        purposes=("treatment",),
        information_description=description,
    )


def assert_refused(session, referral, consent_id, relationship, *rule_words: str) -> None:
    with pytest.raises(Invalid) as refused:
        sign(session, referral, consent_id, relationship)
    reason = refused.value.fields["signer_relationship"]
    for words in rule_words:
        assert words in reason
    session.rollback()
    consent = session.get(Consent, consent_id)
    assert consent.status is ConsentStatus.PENDING_SIGNATURE
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "consent.signature_refused")
        .order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None
    assert entry.consent_id == consent_id


# (situation, form) -> the relationship refused with the rule's words, and the one that signs
E9 = {
    ("minor", "general-authorization"): (SELF, ("164.502(g)(3)", "RCW 26.28.010"), PARENT),
    ("minor", "psychotherapy-notes"): (SELF, ("164.502(g)(3)",), PARENT),
    ("minor", "part2-consent"): (SELF, ("42 CFR 2.14(b)",), PARENT),
    ("own_care", "general-authorization"): (PARENT, ("164.502(g)(3)(i)",), SELF),
    ("own_care", "psychotherapy-notes"): (PARENT, ("164.502(g)(3)(i)",), SELF),
    ("own_care", "part2-consent"): (PARENT, ("42 CFR 2.14(a)", "RCW 71.34.530"), SELF),
    ("guardian", "general-authorization"): (SELF, ("164.502(g)(2)", "Maria Avery"), GUARDIAN),
    ("guardian", "psychotherapy-notes"): (SELF, ("164.502(g)(2)",), GUARDIAN),
    ("guardian", "part2-consent"): (SELF, ("164.502(g)(2)",), GUARDIAN),
}


@pytest.mark.parametrize(("situation", "template_id"), sorted(E9))
def test_e9_the_wrong_signer_is_refused_naming_the_rule_and_the_right_one_signs(
    session, washington, situation, template_id
):
    referral = washington
    # Given a client who is 12 (a minor in WA, too young to consent alone to anything), or 15
    # and consented to their own care, or an adult under guardianship
    if situation == "minor":
        make_minor(session, referral, 12)
    elif situation == "own_care":
        make_minor(session, referral, 15, own_care=True)
    else:
        add_guardian(session, referral)
    consent = release(session, referral, template_id)
    wrong, words, right = E9[(situation, template_id)]
    # When the wrong person signs, it is refused with the rule named, and audited
    assert_refused(session, referral, consent.id, wrong, *words)
    # Then the right person signs
    signed = sign(session, referral, consent.id, right)
    assert signed.status is ConsentStatus.ACTIVE
    assert signed.required_signer is not None
    assert signed.required_signer is not RequiredSigner.CLIENT_OR_REPRESENTATIVE


def test_an_adult_with_another_representative_may_sign_or_have_them_sign(session, referral):
    representation.record_representative(
        session,
        referral.therapist.actor,
        referral.client_id,
        representation.NewRepresentative(
            RepresentativeKind.OTHER, "Lee Avery", Upload("poa.pdf", "application/pdf", PDF)
        ),
    )
    first = sign(session, referral, referral.sent(session).id, SELF)
    second = sign(
        session, referral, referral.sent(session).id, SignerRelationship.PERSONAL_REPRESENTATIVE
    )
    assert (
        first.required_signer is second.required_signer is RequiredSigner.CLIENT_OR_REPRESENTATIVE
    )


def test_with_a_representative_on_record_only_they_sign_in_their_name_and_role(session, washington):
    # Given an adult under guardianship, the guardian on record
    add_guardian(session, washington)
    consent = release(session, washington, "general-authorization")
    # When someone signs as guardian in another name, or in the guardian's name in another role
    for relationship, name in (
        (GUARDIAN, "Somebody Else"),
        (SignerRelationship.PERSONAL_REPRESENTATIVE, "Maria Avery"),
    ):
        # Then it is refused, naming the representative on record
        with pytest.raises(Invalid) as refused:
            sign(session, washington, consent.id, relationship, name)
        assert (
            "Maria Avery is the client's personal representative on record"
            in (refused.value.fields["signer_relationship"])
        )
    # And the guardian signs, however the name's case and spaces are typed
    signed = sign(session, washington, consent.id, GUARDIAN, "  maria   AVERY ")
    assert signed.status is ConsentStatus.ACTIVE


def test_a_minors_guardian_on_record_signs_not_a_parent_beside_another_representative_a_parent_may(
    session, washington
):
    make_minor(session, washington, 12)
    # under guardianship, the parents no longer sign
    add_guardian(session, washington)
    consent = release(session, washington, "general-authorization")
    assert_refused(session, washington, consent.id, PARENT, "Maria Avery")
    assert sign(session, washington, consent.id, GUARDIAN).status is ConsentStatus.ACTIVE
    # beside another kind of representative, a parent still signs for a minor
    representation.record_representative(
        session,
        washington.therapist.actor,
        washington.client_id,
        representation.NewRepresentative(
            RepresentativeKind.OTHER, "Lee Avery", Upload("poa.pdf", "application/pdf", PDF)
        ),
    )
    other = release(session, washington, "general-authorization")
    assert sign(session, washington, other.id, PARENT).status is ConsentStatus.ACTIVE


def test_own_care_is_refused_where_state_law_does_not_allow_it(session, washington):
    make_minor(session, washington, 11)
    with pytest.raises(Invalid) as refused:
        representation.set_own_care_consent(
            session, washington.therapist.actor, washington.client_id, True
        )
    assert "RCW 71.34.530" in refused.value.fields["own_care_consent"]


def test_only_the_clients_practice_records_representatives_and_only_an_admin_the_state(
    session, referral
):
    new = representation.NewRepresentative(
        RepresentativeKind.GUARDIAN,
        "Maria Avery",
        Upload("order.pdf", "application/pdf", b"not a pdf"),
    )
    with pytest.raises(Invalid) as bad:
        representation.record_representative(
            session, referral.therapist.actor, referral.client_id, new
        )
    assert "document" in bad.value.fields
    with pytest.raises(NotFound):
        representation.set_own_care_consent(
            session, referral.psychiatrist.actor, referral.client_id, False
        )
    with pytest.raises(Forbidden):
        representation.set_practice_state(session, referral.therapist.actor, "WA")
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    with pytest.raises(Invalid):
        representation.set_practice_state(session, admin.actor, "ZZ")
    assert session.get(Organization, admin.actor.organization_id).state is None


def test_a_birthday_comes_at_the_clients_midnight_not_at_utc(client, session, washington):
    # Given a practice in Washington on Pacific time, and a client who turns 18 on 10 March
    organization = session.get(Client, washington.client_id).organization
    organization.time_zone = "America/Los_Angeles"
    record = session.get(Client, washington.client_id)
    record.birth_date = date(2009, 3, 10)
    session.commit()
    # When they sign alone at 4:30 p.m. on 9 March in Seattle (already 10 March in UTC)
    evening_before = datetime(2027, 3, 10, 0, 30, tzinfo=UTC)
    with time_machine.travel(evening_before, tick=False):
        consent = release(session, washington, "general-authorization")
        # Then they are still 17 there, and a parent must sign
        assert_refused(session, washington, consent.id, SELF, "is 17", "164.502(g)(3)")
        # and the client's page says the same
        login_as(client, washington.therapist.email, washington.therapist.password)
        page = client.get(f"/clinician/clients/{washington.client_id}").get_data(as_text=True)
        assert "Jordan is 17" in page
    # And from midnight in Seattle they sign for themselves
    with time_machine.travel(datetime(2027, 3, 10, 8, 1, tzinfo=UTC), tick=False):
        assert sign(session, washington, consent.id, SELF).status is ConsentStatus.ACTIVE


def test_own_care_follows_the_mental_health_law_not_the_substance_use_one(session, referral):
    # Given a Florida practice: a minor consents alone to mental-health care from 13, to
    # substance-use treatment at any age
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    representation.set_practice_state(session, admin.actor, "FL")
    make_minor(session, referral, 10)
    # When the clinician records that a 10-year-old consented to their own care, it is refused:
    # the flag decides who signs mental-health releases, which a 10-year-old may not sign alone
    with pytest.raises(Invalid) as refused:
        representation.set_own_care_consent(
            session, referral.therapist.actor, referral.client_id, True
        )
    assert "mental-health care (from 13" in refused.value.fields["own_care_consent"]


def test_an_own_care_flag_the_practices_new_state_does_not_know_leaves_the_parent_signing(
    session, washington
):
    # Given a 15-year-old who consented to their own care under Washington's law (from 13)
    make_minor(session, washington, 15, own_care=True)
    # When the practice moves to Texas, whose law gives minors no general right to it
    admin = make_user(session, Role.ADMIN, name="Sam Admin")
    representation.set_practice_state(session, admin.actor, "TX")
    consent = release(session, washington, "general-authorization")
    # Then the minor alone may not sign a mental-health release; a parent signs
    assert_refused(session, washington, consent.id, SELF, "164.502(g)(3)")
    assert sign(session, washington, consent.id, PARENT).status is ConsentStatus.ACTIVE


def clear_own_care(session, referral) -> None:
    representation.set_own_care_consent(
        session, referral.therapist.actor, referral.client_id, False
    )


#: a change the practice records while a signature is being sealed -> who was signing, who may
#: sign once it is recorded, and the words of the refusal
CHANGES_WHILE_SIGNING = {
    "a guardian is recorded": (add_guardian, 12, PARENT, GUARDIAN, ("Maria Avery",)),
    "the own-care flag is cleared": (clear_own_care, 15, SELF, PARENT, ("164.502(g)(3)",)),
}


@pytest.mark.parametrize("change", sorted(CHANGES_WHILE_SIGNING))
def test_who_may_sign_is_decided_again_when_the_signature_is_recorded(
    engine, session, washington, change
):
    record, age, signing, right, words = CHANGES_WHILE_SIGNING[change]
    # Given a minor's release being signed by the person the rule names now
    make_minor(session, washington, age, own_care=signing is SELF)
    consent = release(session, washington, "general-authorization")

    # When, while the signed document is being sealed (after the signer was checked, before
    # anything is written), the practice records a change in the client's record
    def seal_after_the_change(document: bytes, identity: seal.SigningIdentity, **kwargs):
        with Session(engine) as practice:
            record(practice, washington)
        return sealing(document, identity, **kwargs)

    with stand_in_documents():
        sealing = seal.sign_pdf
        with (
            mock.patch.object(seal, "sign_pdf", seal_after_the_change),
            # Then the signature is refused under the record as it is now, naming the reason
            pytest.raises(Invalid) as refused,
        ):
            lifecycle.sign_as_client(
                session,
                washington.client_person.actor,
                consent.id,
                signature(
                    signer_name=SIGNERS[signing],
                    relationship=signing,
                    representative_authority=None if signing is SELF else "Parent of Jordan",
                ),
                identity(washington.client_person),
                washington.library,
            )
    for word in words:
        assert word in refused.value.fields["signer_relationship"]
    # and nothing of it was written but the audited refusal
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.PENDING_SIGNATURE
    assert session.scalar(select(Signature).where(Signature.consent_id == consent.id)) is None
    refusal = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.CONSENT_SIGNATURE_REFUSED)
    ).one()
    assert refusal.consent_id == consent.id
    # And the person the record names now signs
    assert sign(session, washington, consent.id, right).status is ConsentStatus.ACTIVE


def test_a_guardian_recorded_while_a_signature_is_written_waits_for_it(
    engine, session, washington, is_postgres
):
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")
    # Given a 12-year-old's release, being signed by a parent
    make_minor(session, washington, 12)
    consent = release(session, washington, "general-authorization")
    recorder_pid: list[int] = []
    recorded: list[object] = []

    def record_guardian() -> None:
        with Session(engine) as practice:
            recorder_pid.append(practice.scalar(text("SELECT pg_backend_pid()")))
            practice.rollback()
            try:
                add_guardian(practice, washington)
                recorded.append("recorded")
            except BaseException as failed:  # reported below
                recorded.append(failed)

    thread = threading.Thread(target=record_guardian)
    waited: list[bool] = []
    verdicts = []
    verdict = signing._signer_verdict

    def decide_then_record(*args: object, **kwargs: object) -> object:
        found = verdict(*args, **kwargs)
        verdicts.append(found)
        if len(verdicts) == 2:  # the one inside the signature's write transaction
            # When the practice records a guardian just then, from another server
            waited.append(
                held_up(engine, thread, recorder_pid, "the guardian wait, or be recorded")
            )
        return found

    with mock.patch.object(signing, "_signer_verdict", decide_then_record):
        signed = sign(session, washington, consent.id, PARENT)
    thread.join(PATIENCE)
    # Then the guardian waited for the signature the rule allowed when it was written, and is on
    # record after it: the next release is theirs to sign
    assert waited == [True]
    assert recorded == ["recorded"]
    assert signed.status is ConsentStatus.ACTIVE
    after = release(session, washington, "general-authorization")
    assert_refused(session, washington, after.id, PARENT, "Maria Avery")
