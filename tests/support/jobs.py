"""A job prepared the way the CLI prepares one, on local storage, for the step tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from deck2video import job
from deck2video.config import JobSettings
from deck2video.job import JobFolder
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck


def prepared_job(base: Path, slides: Sequence[SampleSlide], reference_voice: Path) -> JobFolder:
    """A deck of ``slides`` prepared (at 640x360) and its voice cleaned, under ``base``."""
    deck = build_deck(base / "talk.pptx", list(slides))
    plan = job.prepare(
        str(deck), str(reference_voice), out_url=str(base / "out.mp4"),
        root_url=str(base / "store"), roots=Roots.anywhere(),
        settings=JobSettings(width=640, height=360),
    )  # fmt: skip
    folder = JobFolder(plan.job_url)
    job.prepare_voice(folder)
    return folder
