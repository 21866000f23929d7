"""The disclosure log, an entry's detail, its CSV export, and chain verification."""

from __future__ import annotations
