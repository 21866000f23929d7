"""WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi roi ...`."""

from __future__ import annotations

import sys

from roi import create_app
from roi.errors import RoiError

try:
    app = create_app()
except RoiError as error:
    # One clear line for the operator instead of a traceback.
    print(f"roi: {error.message}", file=sys.stderr)
    sys.exit(2)
