"""A child process for the audit tests: `python -m tests.audit._writer URL KEYFILE COUNT`.

It prints `ready` once connected and, unless COUNT is 0, waits for a line on stdin before it
appends COUNT organizations, each with its audit entry in one unit of work. COUNT 0 loops for ever
(the crash test kills it) and prints `ready` after its first commit instead.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from roi import vault
from roi.actor import Actor
from roi.db import configure_engine
from roi.models import import_all
from roi.vault.keyring import FileKeyProvider
from tests.audit.helpers import append_with_organization


def main(url: str, key_file: str, count: int) -> None:
    import_all()
    vault.use(FileKeyProvider(Path(key_file)).load())
    engine = create_engine(url, hide_parameters=True)
    configure_engine(engine)
    actor = Actor.system(request_id=f"pid-{uuid.uuid4().hex[:8]}")
    with Session(engine) as session:
        session.connection()
        if count:
            print("ready", flush=True)
            sys.stdin.readline()
        done = 0
        while not count or done < count:
            append_with_organization(session, actor, f"org-{uuid.uuid4()}")
            done += 1
            if not count and done == 1:
                print("ready", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
