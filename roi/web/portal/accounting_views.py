"""A client's own accounting of disclosures: who received what about me."""

from __future__ import annotations
