"""The compliance overview."""

from __future__ import annotations

from flask import render_template

from roi.accounts.policy import Permission
from roi.web.compliance import bp
from roi.web.security import requires


@bp.get("/")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def dashboard() -> str:
    return render_template("compliance/dashboard.html")
