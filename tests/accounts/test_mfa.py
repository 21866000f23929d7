"""Second factors in the domain: who needs one, enrolment, a code used once, recovery codes."""

from __future__ import annotations

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from roi.accounts import mfa, practice
from roi.accounts.models import Organization, RecoveryCode, TotpCredential
from roi.actor import Actor, Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.errors import Invalid
from tests.factories import TEST_TOTP_SECRET, make_client_user, make_user


def test_who_needs_which_step(session):
    staff = make_user(session, Role.CLINICIAN, second_factor=False)
    enrolled = make_user(session, Role.COMPLIANCE)
    _, client = make_client_user(session, staff)
    assert mfa.required_step(session, staff.user) is mfa.SecondStep.ENROL
    assert mfa.required_step(session, enrolled.user) is mfa.SecondStep.VERIFY
    assert mfa.required_step(session, client.user) is None
    # a practice that turns the setting off: staff sign in with the password alone
    admin = make_user(session, Role.ADMIN)
    off = practice.PracticeSettings(
        state=None, mfa_required_for_staff=False, emergency_sends_per_day=3, time_zone="UTC"
    )
    practice.update_practice_settings(session, admin.actor, off, states=())
    assert mfa.required_step(session, staff.user) is None
    assert mfa.required_step(session, enrolled.user) is mfa.SecondStep.VERIFY


def test_enrolment_seals_the_secret_and_stores_only_digests_of_recovery_codes(session):
    _, person = make_client_user(session, make_user(session, Role.CLINICIAN))
    enrolment = mfa.begin_totp(session, person.actor, person.email)
    assert not mfa.has_second_factor(session, person.user.id)
    codes = mfa.confirm_totp(session, person.actor, pyotp.TOTP(enrolment.secret).now())
    assert mfa.has_second_factor(session, person.user.id)
    assert len(set(codes)) == mfa.RECOVERY_CODE_COUNT
    stored = session.scalar(select(TotpCredential.secret_sealed))
    assert enrolment.secret.encode() not in stored
    digests = set(session.scalars(select(RecoveryCode.code_sha256)))
    assert len(digests) == 10
    assert not any(code.replace("-", "") in digest for code in codes for digest in digests)
    assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.seq.desc())) == (
        Action.AUTH_MFA_ENROLLED
    )


def test_a_wrong_confirmation_code_enrols_nothing(session):
    person = make_user(session, Role.CLINICIAN, second_factor=False)
    mfa.begin_totp(session, person.actor, person.email)
    with pytest.raises(Invalid) as refused:
        mfa.confirm_totp(session, person.actor, "123456x")
    assert "otp" in refused.value.fields
    assert not mfa.has_second_factor(session, person.user.id)


def test_a_totp_code_is_accepted_once_and_an_earlier_one_never(session):
    person = make_user(session, Role.CLINICIAN)
    totp = pyotp.TOTP(TEST_TOTP_SECRET)
    with time_machine.travel(now().replace(second=1), tick=False):
        earlier = totp.at(now(), counter_offset=-1)
        current = totp.at(now())
        assert mfa.verify(session, person.actor, current)
        assert not mfa.verify(session, person.actor, current)
        assert not mfa.verify(session, person.actor, earlier)
    two_steps_on = now().replace(second=1).timestamp() + 60
    with time_machine.travel(two_steps_on, tick=False):
        assert mfa.verify(session, person.actor, totp.at(now()))


def test_a_recovery_code_works_once_and_only_for_its_owner(session):
    _, person = make_client_user(session, make_user(session, Role.CLINICIAN))
    other = make_user(session, Role.COMPLIANCE)
    secret = mfa.begin_totp(session, person.actor, person.email).secret
    codes = mfa.confirm_totp(session, person.actor, pyotp.TOTP(secret).now())
    assert not mfa.verify(session, other.actor, codes[0])
    assert mfa.verify(session, person.actor, f" {codes[0].upper()} ")
    assert not mfa.verify(session, person.actor, codes[0])
    assert mfa.recovery_codes_left(session, person.user.id) == 9


def test_reset_removes_every_factor_and_is_audited(session):
    person = make_user(session, Role.CLINICIAN)
    mfa.reset(session, Actor.system(), person.user.id)
    assert not mfa.has_second_factor(session, person.user.id)
    assert mfa.required_step(session, person.user) is mfa.SecondStep.ENROL
    assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.seq.desc())) == (
        Action.AUTH_MFA_RESET
    )


def test_new_practices_require_a_second_factor_of_staff(session):
    make_user(session, Role.CLINICIAN, org="Brand New Practice")
    organization = session.scalar(
        select(Organization).where(Organization.name == "Brand New Practice")
    )
    assert organization.mfa_required_for_staff is True
