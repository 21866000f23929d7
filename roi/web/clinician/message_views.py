"""Messages between providers: compose with a live consent check, inbox, sent box, read, reply."""

from __future__ import annotations
