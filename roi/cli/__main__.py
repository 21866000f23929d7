"""`python -m roi.cli`: the same as the `roi` console script."""

from __future__ import annotations

from roi.cli import main

main()
