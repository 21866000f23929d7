"""From consent records to the plain data `roi.documents` renders (it knows no consent model)."""

from __future__ import annotations

from roi import i18n
from roi.accounts.models import Provider
from roi.consent.library import FormTemplate
from roi.consent.models import Consent, Direction, ExpiryEventKind
from roi.documents.model import ConsentDocument, Party


def party(provider: Provider) -> Party:
    return Party(
        name=provider.name,
        credentials=provider.credentials,
        organization=provider.organization_name,
        address=provider.address,
        email=provider.email,
    )


def event_words(kind: ExpiryEventKind | None, *, organization: str, recipient: str) -> str | None:
    """An expiration event roi sees itself, in the language being spoken (None for "other",
    whose words the clinician writes)."""
    if kind is ExpiryEventKind.AFTER_FIRST_DISCLOSURE:
        return i18n.gettext(
            "once the information has been sent to %(recipient)s one time", recipient=recipient
        )
    if kind is ExpiryEventKind.END_OF_TREATMENT:
        return i18n.gettext(
            "the end of your treatment with %(organization)s", organization=organization
        )
    return None


def client_time_zone(consent: Consent) -> str:
    """The zone a client reads the times of their release in: their own, else the practice's."""
    return consent.client.time_zone or consent.organization.time_zone or "UTC"


def consent_document(
    consent: Consent, template: FormTemplate, description: str, language: str | None = None
) -> ConsentDocument:
    """Everything the client reads and signs, with the template's statements filled in, in
    `language` (default: the consent's own), or in English when the form has no such text."""
    template = template.in_language(language or consent.language)
    recipient = consent.recipient
    values = {"discloser_organization": consent.organization.name, "recipient_name": recipient.name}
    statements = template.statement_texts(**values)
    originals = template.statement_originals(**values)
    return ConsentDocument(
        consent_id=consent.id,
        consent_uuid=consent.uuid,
        title=template.title,
        kind=template.kind.value,
        introduction=template.fill(template.introduction, **values),
        client_name=consent.client.display_name,
        client_birth_date=consent.client.birth_date,
        discloser=party(consent.discloser),
        recipient=party(recipient),
        direction=Direction(consent.direction).value,
        categories=tuple(
            (template.category(code).label, template.category(code).explanation)
            for code in consent.categories
        ),
        information_description=description,
        purposes=tuple(template.purpose(code).label for code in consent.purposes),
        expires_on=consent.expires_on,
        expiry_event=expiry_event_in(consent, template.language),
        statements=statements,
        how_to_revoke=template.fill(template.how_to_revoke, **values),
        supersedes_consent_id=consent.supersedes_id,
        language=template.language,
        originals=originals if any(originals) else (),
        time_zone=client_time_zone(consent),
    )


def expiry_event_in(consent: Consent, language: str) -> str | None:
    """The consent's expiration event in `language` when it is in roi's own words (an event roi
    sees itself); words a clinician wrote stay as written."""
    values = {"organization": consent.organization.name, "recipient": consent.recipient.name}
    with i18n.speaking(i18n.DEFAULT_LANGUAGE):
        english = event_words(consent.expiry_event_kind, **values)
    if english is None or consent.expiry_event != english:
        return consent.expiry_event
    with i18n.speaking(language):
        return event_words(consent.expiry_event_kind, **values)
