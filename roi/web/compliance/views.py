"""The compliance overview."""

from __future__ import annotations

from flask import render_template

from roi.accounts.policy import Permission
from roi.compliance import overview
from roi.extensions import db
from roi.web.compliance import bp
from roi.web.security import actor, requires


@bp.get("/")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def dashboard() -> str:
    """Consents about to expire, refused disclosures, open accounting requests, the chain."""
    return render_template(
        "compliance/dashboard.html", overview=overview.overview(db.session(), actor())
    )
