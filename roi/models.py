"""Imports every model module so the metadata is complete (for Alembic, create_all, rotation)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "roi.accounts.models",
    "roi.audit.models",
    "roi.compliance.models",
    "roi.consent.models",
    "roi.documents.models",
    "roi.messaging.models",
    "roi.mail.models",
)


def import_all() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
