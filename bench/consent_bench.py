"""Signing renders the PDF once; downloads never re-render.

Prints the ratio of signing time to download time (goal: downloads at least 20 times faster),
both measured in the same run on a temporary SQLite database (or --database-url).

    python bench/consent_bench.py [--signatures 5] [--downloads 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roi import vault  # noqa: E402
from roi.accounts import service  # noqa: E402
from roi.accounts.models import Provider  # noqa: E402
from roi.actor import Actor, Role  # noqa: E402
from roi.clock import now  # noqa: E402
from roi.config import Argon2Parameters  # noqa: E402
from roi.consent import lifecycle  # noqa: E402
from roi.consent.library import FormLibrary  # noqa: E402
from roi.consent.models import SignerRelationship  # noqa: E402
from roi.db import Base, configure_engine  # noqa: E402
from roi.models import import_all  # noqa: E402

CHEAP = Argon2Parameters(time_cost=1, memory_cost=1024, parallelism=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signatures", type=int, default=5)
    parser.add_argument("--downloads", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="ignored: SQLite keeps it simple")
    args = parser.parse_args()
    import_all()
    vault.use(vault.KeyRing.generate())
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/bench.db")
        configure_engine(engine)
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            sign_times, download_times = run(session, args.signatures, args.downloads)
        engine.dispose()
    sign = statistics.median(sign_times)
    download = statistics.median(download_times)
    print(f"sign (render + PAdES + store): median {sign * 1000:.1f} ms over {len(sign_times)}")
    print(
        f"download (unseal stored PDF):  median {download * 1000:.2f} ms over {len(download_times)}"
    )
    print(f"ratio sign/download: {sign / download:.1f}x (goal >= 20x)")


def run(session: Session, signatures: int, downloads: int) -> tuple[list[float], list[float]]:
    library = FormLibrary.load(ROOT / "forms")
    system = Actor.system()

    def user(role: Role, email: str, org: str | None, client_id: int | None = None):
        return service.create_user(
            session,
            system,
            email=email,
            password="violet kettle harbor thunder",  # noqa: S106 - a throwaway bench account
            role=role,
            name=email.split("@")[0],
            organization=org,
            client_id=client_id,
            argon2=CHEAP,
        )

    therapist = user(Role.CLINICIAN, "t@bench.example", "Bench Therapy")
    psychiatrist = user(Role.CLINICIAN, "p@bench.example", "Bench Psychiatry")
    clinician = Actor(therapist.id, Role.CLINICIAN, therapist.organization_id)
    record = service.create_client(
        session, clinician, service.NewClient("Bench", "Client", date(1990, 1, 1), None)
    )
    client_user = user(Role.CLIENT, "c@bench.example", None, client_id=record.id)
    client = Actor(client_user.id, Role.CLIENT, client_user.organization_id, client_id=record.id)
    recipient = session.scalar(select(Provider.id).where(Provider.user_id == psychiatrist.id))
    if recipient is None:
        raise SystemExit("the psychiatrist has no directory entry")
    sign_times: list[float] = []
    last = 0
    for _ in range(signatures):
        draft = lifecycle.create(
            session,
            clinician,
            lifecycle.ConsentFields(
                client_id=record.id,
                template_id="general-authorization",
                recipient_provider_id=recipient,
                categories=("diagnosis",),
                purposes=("treatment",),
                information_description="Diagnosis for the referral.",
                expires_on=now().date() + timedelta(days=90),
            ),
            library,
        )
        lifecycle.send_for_signature(
            session, clinician, draft.id, library, invitation_lifetime=timedelta(days=7)
        )
        start = time.perf_counter()
        lifecycle.sign_as_client(
            session,
            client,
            draft.id,
            lifecycle.SignatureInput("Bench Client", SignerRelationship.SELF, agree=True),
            lifecycle.Identity("password", "bench", None, None),
            library,
        )
        sign_times.append(time.perf_counter() - start)
        last = draft.id
    download_times: list[float] = []
    for _ in range(downloads):
        start = time.perf_counter()
        lifecycle.signed_pdf(session, client, last)
        download_times.append(time.perf_counter() - start)
    return sign_times, download_times


if __name__ == "__main__":
    main()
