"""`roi worker`: delivers the outbox, on as many hosts as you like (roi.mail.outbox), and
answers the signers' requests for their links (roi.consent.invitations), whose mail it then
delivers in the same pass."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from roi import mail
from roi.config import Settings
from roi.consent import invitations
from roi.extensions import db

logger = logging.getLogger(__name__)


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05, max=60),
    default=1.0,
    show_default=True,
    help="Seconds between looks at an empty outbox.",
)
@with_appcontext
def worker_command(once: bool, interval: float) -> None:
    """Deliver mail written by the app: SMTP, or the instance's outbox folder; retries with
    back-off; several workers never deliver one mail twice. Answers signers' requests for their
    links first, so their mail goes out in the same pass."""
    settings: Settings = current_app.config["ROI_SETTINGS"]
    if once:
        done = drain(settings)
        click.echo(f"delivered {done.sent}, to retry {done.retried}, failed {done.failed}")
        return
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"roi worker: delivering the outbox (every {interval:g} s when idle)")
    while not stop.is_set():
        try:
            done = drain(settings)
        except OperationalError as error:
            # the database went away for a moment (a restart, a fail-over): try again shortly
            db.session.rollback()
            logger.warning("outbox: database unavailable (%s)", type(error).__name__)
            done = mail.Delivery()
        if done.sent or done.retried or done.failed:
            logger.info(
                "outbox: %s sent, %s to retry, %s failed", done.sent, done.retried, done.failed
            )
        stop.wait(interval)


def drain(settings: Settings) -> mail.Delivery:
    """Everything due now: the waiting link requests answered (their mail goes to the outbox),
    then the outbox delivered, batch by batch until one comes back short.

    It looks first with reads alone, and ends them: an idle worker neither takes SQLite's one
    write turn from the app every time it looks nor keeps a snapshot open between looks (a
    SQLite read transaction would go on showing it the outbox as it was)."""
    session = db.session()
    waiting = invitations.any_link_request_waiting(session)
    due = mail.outbox.any_due(session)
    session.rollback()  # the worker's own session: nothing but the looks is in it
    if not waiting and not due:
        return mail.Delivery()
    while waiting and invitations.answer_link_requests(session) == invitations.ANSWER_BATCH:
        pass
    sent = retried = failed = 0
    while True:
        done = mail.deliver_due(session, settings)
        sent, retried, failed = sent + done.sent, retried + done.retried, failed + done.failed
        if done.sent + done.retried + done.failed < mail.outbox.BATCH:
            return mail.Delivery(sent=sent, retried=retried, failed=failed)
