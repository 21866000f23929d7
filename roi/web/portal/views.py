"""The client's own page."""

from __future__ import annotations

from flask import render_template

from roi.accounts import service
from roi.accounts.policy import Permission
from roi.extensions import db
from roi.web.portal import bp
from roi.web.security import actor, requires


@bp.get("/")
@requires(Permission.USE_PORTAL)
def dashboard() -> str:
    me = actor()
    client = service.client_for(db.session(), me, me.client_id) if me.client_id else None
    return render_template("portal/dashboard.html", client=client)
