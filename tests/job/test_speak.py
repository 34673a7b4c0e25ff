"""job/speak.py: a speech task's group of slides, with real Piper."""

from __future__ import annotations

import pytest

from deck2video import job, storage
from deck2video.config import JobSettings
from deck2video.job import JobFolder
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck


@pytest.fixture
def prepared(tmp_path, reference_voice) -> JobFolder:
    deck = build_deck(
        tmp_path / "talk.pptx",
        [SampleSlide(f"Part {n}", f"Part {n} is about the budget.") for n in (1, 2, 3)],
    )
    plan = job.prepare(
        str(deck), str(reference_voice), out_url=str(tmp_path / "out.mp4"),
        root_url=str(tmp_path / "store"), roots=Roots.anywhere(),
        settings=JobSettings(width=640, height=360),
    )  # fmt: skip
    folder = JobFolder(plan.job_url)
    job.prepare_voice(folder)
    return folder


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
