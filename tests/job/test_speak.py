"""job/speak.py: a speech task's group of slides, with real Piper."""

from __future__ import annotations

import pytest

from deck2video import job, storage
from deck2video.job import JobFolder
from deck2video.samples import SampleSlide
from tests.support.jobs import prepared_job


@pytest.fixture
def prepared(tmp_path, reference_voice) -> JobFolder:
    slides = [SampleSlide(f"Part {n}", f"Part {n} is about the budget.") for n in (1, 2, 3)]
    return prepared_job(tmp_path, slides, reference_voice)


def test_a_retried_group_takes_its_finished_slides_from_the_cache(prepared):
    # The group's last slide fails (its notes unreadable: a storage hiccup) after the first two
    # were spoken; the retry speaks only what is missing.
    notes = storage.read_bytes(prepared.notes(3))
    storage.delete(prepared.notes(3))
    with pytest.raises(Exception, match="0003"):
        job.speak_slides(prepared, [(1, 1), (2, 1), (3, 1)])
    assert storage.exists(prepared.speech_result(2))
    storage.write_bytes(prepared.notes(3), notes)
    retried = job.speak_slides(prepared, [(1, 1), (2, 1), (3, 1)])
    assert [(r["number"], r["synthesized"]) for r in retried] == [(1, False), (2, False), (3, True)]
