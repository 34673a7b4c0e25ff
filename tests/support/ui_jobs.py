"""The jobs the UI tests look at: the review deck, and what the runs that made them left."""

from __future__ import annotations

from dataclasses import dataclass

from deck2video import storage
from deck2video.job import JobFolder
from deck2video.manifest import Manifest
from deck2video.samples import SampleSlide

# PowerPoint numbers 1, 2, 4: the hidden slide 3 keeps its number and is not narrated. The
# notes hold what the pronunciation rules spell out ("$5" -> "five dollars").
SLIDES = [
    SampleSlide("Welcome", "Welcome to the 2024 review. Tickets cost $5."),
    SampleSlide("Café Zürich", "We met at Café Zürich. [PAUSE 0.5] It was 3 pm."),
    SampleSlide("Backstage", "This hidden slide is never read.", hidden=True),
    SampleSlide("Pricing", "Prices start at 10%."),
]
NARRATED = [1, 2, 4]


@dataclass(frozen=True)
class MadeJob:
    run_id: str
    job_id: str | None
    conf: dict

    def folder(self, root: str) -> JobFolder:
        assert self.job_id, "this run made no job"
        return JobFolder(storage.join(root, "jobs", self.job_id))

    def manifest(self, root: str) -> Manifest:
        from deck2video.job import load_manifest

        return load_manifest(self.folder(root))


@dataclass(frozen=True)
class MadeJobs:
    finished: MadeJob  # a video, published
    failed: MadeJob  # failed in prepare_voice: the recording is silent
    not_a_deck: MadeJob  # failed in prepare, before it made a job
    seconds: float  # how long the three runs took
