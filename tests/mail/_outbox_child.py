"""A child process for the outbox durability test (SECURITY I4), killed with SIGKILL at random:

    python -m tests.mail._outbox_child DATABASE_URL INSTANCE_PATH writer USER_ID FIRST
    python -m tests.mail._outbox_child DATABASE_URL INSTANCE_PATH worker SMTP_URL

The writer commits changes FIRST, FIRST+1, …: each an in-app notice and its mail, in one
transaction. The worker delivers the outbox over SMTP as `roi worker` does. Both run until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from roi import mail, vault
from roi.config import Settings
from roi.consent.models import Notification
from roi.db import configure_engine, unit_of_work
from roi.models import import_all
from roi.vault.keyring import KEY_FILE, FileKeyProvider


def main() -> None:
    url, instance, role, *rest = sys.argv[1:]
    import_all()
    vault.use(FileKeyProvider(Path(instance) / KEY_FILE).load())
    engine = create_engine(url, hide_parameters=True)
    configure_engine(engine)
    with Session(engine) as session:
        if role == "writer":
            write(session, int(rest[0]), int(rest[1]))
        else:
            deliver(session, Path(instance), url, rest[0])


def write(session: Session, user_id: int, first: int) -> None:
    n = first
    while True:
        with unit_of_work(session):
            session.add(Notification(user_id=user_id, text=f"change {n}"))
            mail.enqueue(
                session, mail.Mail(to="staff@example.org", subject=f"change {n}", text=".")
            )
        n += 1


def deliver(session: Session, instance: Path, url: str, smtp_url: str) -> None:
    settings = Settings.from_env(
        {},
        {"instance_path": instance, "database_url": url, "secret_key": "x", "smtp_url": smtp_url},
    )
    while True:
        if not mail.deliver_due(session, settings, limit=5).sent:
            time.sleep(0.01)


if __name__ == "__main__":
    main()
