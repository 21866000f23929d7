"""The access log never carries a signing link's secret; each worker freezes what it loaded."""

from __future__ import annotations

import gc

from roi import serving
from roi.serving import mask


def test_signing_tokens_are_masked_in_logged_paths():
    line = "GET /sign/AbCdEf0123456789_-xyzXYZ0123456789abcdEF HTTP/1.1"
    assert mask(line) == "GET /sign/[token] HTTP/1.1"


def test_other_paths_are_left_alone():
    for path in (
        "/sign/identity",
        "/sign/review",
        "/sign/done/release.pdf",
        "/clinician/clients/12",
    ):
        assert mask(path) == path


def test_a_worker_keeps_what_it_loaded_out_of_the_cycle_collectors_scans():
    loaded_for_life = [{"mapper": object()} for _ in range(100)]
    frozen_before = gc.get_freeze_count()
    serving.post_worker_init(worker=None)
    # what the worker held when the hook ran is frozen, not scanned by every full collection
    assert gc.get_freeze_count() >= frozen_before + len(loaded_for_life)
