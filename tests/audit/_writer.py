"""A child process for the audit tests: `python -m tests.audit._writer URL KEYFILE COUNT`.

It prints `ready` once connected and waits for a line on stdin before it appends COUNT
organizations, each with its audit entry in one unit of work.

COUNT 0 makes it a fork server for the crash test: it imports and loads the keys once, prints
`ready`, and for each `go` line forks a writer that connects and loops "organization + entry"
for ever, printing `writing PID` after its first commit. The test kills that writer; the server
reaps it and prints `ended STATUS`. Forking saves a Python start and the imports (a second of
CPU) per kill, so the test can afford many kills.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, configure_mappers

from roi import vault
from roi.actor import Actor
from roi.db import configure_engine
from roi.models import import_all
from roi.vault.keyring import FileKeyProvider
from tests.audit.helpers import append_with_organization


def write(url: str, count: int) -> None:
    """Append `count` organizations with their entries (0: for ever, saying so after the first)."""
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
                print(f"writing {os.getpid()}", flush=True)
    engine.dispose()


def fork_server(url: str) -> None:
    """Fork one endless writer per `go` line; report how each ended."""
    # done once here rather than in every writer: importing the database driver and configuring
    # the mappers took most of a writer's CPU before its first commit
    create_engine(url).dispose()
    configure_mappers()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        pid = os.fork()
        if pid == 0:  # the writer: no connection was inherited, it opens its own
            try:
                write(url, 0)
            finally:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        print(f"ended {status}", flush=True)


def main(url: str, key_file: str, count: int) -> None:
    import_all()
    vault.use(FileKeyProvider(Path(key_file)).load())
    if count:
        write(url, count)
    else:
        fork_server(url)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
