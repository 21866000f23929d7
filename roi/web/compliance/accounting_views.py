"""Accounting of disclosures and accounting requests, for compliance officers."""

from __future__ import annotations
