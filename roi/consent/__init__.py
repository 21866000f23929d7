"""Consents: the form library, the core-element checks, the lifecycle and the gate.

`library` loads the release-form templates in `forms/`; `elements` checks a draft against
45 CFR 164.508(c); `lifecycle` creates, sends, signs, revokes and expires consents; `gate.decide`
is the only place a disclosure is decided.
"""
