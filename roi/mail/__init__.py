"""Outgoing mail through a transactional outbox.

A service that promises someone a mail writes it with `enqueue` in its own transaction, so the
mail exists exactly when the change that caused it committed; `roi worker` delivers it afterwards
(`deliver_due`). Mails carry no health information: they say that something is waiting and link
to it. Links hold only a path: the worker puts ROI_BASE_URL in front at delivery, so no request's
`Host` header ever reaches a mail (SECURITY D6).
"""

from __future__ import annotations

from roi.mail import links, outbox
from roi.mail.outbox import (
    Delivery,
    FailedMail,
    Mail,
    deliver_due,
    enqueue,
    failed_mail,
    outbox_item,
    retry,
)

__all__ = [
    "Delivery",
    "FailedMail",
    "Mail",
    "deliver_due",
    "enqueue",
    "failed_mail",
    "links",
    "outbox",
    "outbox_item",
    "retry",
]
