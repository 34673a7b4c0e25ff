"""The whole deck in one process: every step in order, with progress and a summary (the CLI's
``run`` and the benchmarks; Airflow runs the same steps as separate tasks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from deck2video.config import Deployment, JobSettings, Limits, QualitySettings
from deck2video.job.assemble import assemble
from deck2video.job.layout import JobFolder
from deck2video.job.prepare import prepare
from deck2video.job.publish import publish
from deck2video.job.quality import ScoreAhead, check_quality
from deck2video.job.speak import speak_slide
from deck2video.job.state import load_manifest
from deck2video.job.voice import prepare_voice
from deck2video.manifest import JobQuality
from deck2video.roots import Roots

Progress = Callable[[str, int, int], None]  # (step, done, total)
T = TypeVar("T")


@dataclass
class RunSummary:
    job_id: str
    job_url: str
    video_url: str
    slides: int
    video_seconds: float
    narration_seconds: float
    synthesized: int
    cached: int
    stage_seconds: dict[str, float] = field(default_factory=dict)
    quality: JobQuality | None = None
    quality_url: str | None = None
    fonts: str = ""  # the font report's summary line
    # Scoring done in the background while slides were spoken (not in stage_seconds' sum),
    # and the CPU time of all scoring, in the background and in the quality step.
    quality_ahead_seconds: float = 0.0
    quality_cpu_seconds: float = 0.0


class _Timings(dict[str, float]):
    def timed(self, name: str, step: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        value = step(*args)
        self[name] = self.get(name, 0.0) + time.perf_counter() - started
        return value


def run(
    deck_url: str,
    voice_url: str,
    *,
    out_url: str,
    root_url: str | None = None,
    settings: JobSettings | None = None,
    limits: Limits | None = None,
    lexicon_url: str | None = None,
    quality: QualitySettings | None = None,
    progress: Progress | None = None,
    roots: Roots | None = None,
) -> RunSummary:
    """Run every step for one deck, in this process (``quality``: the run's thresholds; in
    fail mode a slide below them raises BadOutputError before anything is published).

    This is a person's own run (the CLI's), so ``roots`` default to what they may reach:
    anywhere, unless the deployment configures roots (:meth:`Roots.for_person`).
    """
    roots = roots or Roots.for_person(Deployment.from_env())
    notify = progress or (lambda step, done, total: None)
    timings = _Timings()
    with ScoreAhead() as ahead:
        ahead.warm()
        notify("prepare", 0, 1)
        plan = timings.timed(
            "prepare",
            lambda: prepare(
                deck_url,
                voice_url,
                out_url=out_url,
                root_url=root_url,
                settings=settings,
                limits=limits,
                lexicon_url=lexicon_url,
                roots=roots,
            ),
        )
        notify("prepare", 1, 1)
        job = JobFolder(plan.job_url)
        timings.timed("prepare_voice", prepare_voice, job)
        total = len(plan.slides)
        for done, slide in enumerate(plan.slides, start=1):
            timings.timed("speak", speak_slide, job, slide.number)
            ahead.submit(job, slide.number)
            notify("speak", done, total)
        timings.timed("quality", _after, ahead, check_quality, job, quality)
    notify("assemble", 0, 1)
    timings.timed("assemble", assemble, job)
    published = timings.timed("publish", lambda: publish(job, plan.out_url, roots=roots))
    notify("assemble", 1, 1)

    manifest = load_manifest(job)
    synthesized = sum(1 for s in manifest.slides if s.synthesized)
    return RunSummary(
        job_id=plan.job_id,
        job_url=job.url,
        video_url=published.video_url,
        slides=total,
        video_seconds=manifest.stages["assemble"].detail["video_seconds"],
        narration_seconds=round(sum(s.duration or 0.0 for s in manifest.slides), 3),
        synthesized=synthesized,
        cached=total - synthesized,
        stage_seconds={k: round(v, 3) for k, v in timings.items()},
        quality=manifest.quality,
        quality_url=published.quality_url,
        fonts=manifest.fonts.get("summary", ""),
        quality_ahead_seconds=round(ahead.busy_seconds, 3),
        quality_cpu_seconds=round(
            ahead.cpu_seconds + manifest.stages["quality"].detail["cpu_seconds"], 3
        ),
    )


def _after(ahead: ScoreAhead, step: Callable[..., T], *args: Any) -> T:
    """``step`` once the background scoring is done (waiting for it is part of its time)."""
    ahead.close()
    return step(*args)
