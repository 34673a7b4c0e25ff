"""Click builds in a job: which stills a render makes and where they go (prepare), and when
each step starts in the video (assemble). The reading itself is :mod:`deck2video.builds`."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from deck2video import storage
from deck2video.builds import BuildPlan, no_builds, plan_builds, write_steps_deck
from deck2video.config import JobSettings
from deck2video.deck import Slide
from deck2video.fontreport import FontReport
from deck2video.job.layout import JobFolder, numbered
from deck2video.manifest import Manifest, SlideRecord
from deck2video.narration import click_points
from deck2video.timeline import step_timing


def plan(deck: Path, shown: list[Slide], settings: JobSettings, label: str) -> BuildPlan:
    """The shown slides' steps, as the settings ask (builds off: one still each)."""
    if not settings.builds:
        return no_builds(len(shown))
    return plan_builds(
        deck,
        [slide.index for slide in shown],
        max_steps_per_slide=settings.max_steps_per_slide,
        max_steps_per_deck=settings.max_steps_per_deck,
        label=label,
    )


def render_key(settings: JobSettings) -> str:
    """What of the settings changes the rendered stills, for the render cache's key."""
    if not settings.builds:
        return "builds=off"
    return f"builds=on/{settings.max_steps_per_slide}/{settings.max_steps_per_deck}"


def deck_to_render(deck: Path, build_plan: BuildPlan, work: Path) -> Path:
    """The deck itself, or (with builds) its copy with a slide per step, under the same name."""
    if not build_plan.any_builds:
        return deck
    return write_steps_deck(deck, build_plan, work / "steps" / deck.name)


def job_targets(job: JobFolder, build_plan: BuildPlan) -> dict[str, str]:
    """Each rendered page's name -> its place in the job: a slide's last step is the slide."""
    targets, page = {}, 0
    for number, steps in enumerate(build_plan.steps, start=1):
        for step in range(1, steps + 1):
            page += 1
            last = step == steps
            targets[numbered(page, ".png")] = job.slide(number) if last else job.step(number, step)
    return targets


def record(manifest: Manifest, build_plan: BuildPlan) -> None:
    """Each slide's step count, and why any slide's animations were left out."""
    for slide, steps in zip(manifest.slides, build_plan.steps, strict=True):
        slide.steps = steps
    manifest.warnings += list(build_plan.warnings)


def stills(job: JobFolder, slide: SlideRecord, work: Path) -> list[Path]:
    """A slide's step stills before its last, fetched into ``work`` (none without builds)."""
    return [
        storage.download(job.step(slide.number, step), work / f"{slide.number:04d}-{step}.png")
        for step in range(1, slide.steps)
    ]


def starts(
    job: JobFolder, slide: SlideRecord, cues: list[list], duration: float, manifest: Manifest
) -> list[float]:
    """When each of a slide's steps starts, seconds into its narration; a warning for clicks
    the slide does not have goes into the manifest."""
    if not manifest.settings.get("builds", True):
        return [0.0]  # builds off: [CLICK] markers mean nothing
    notes = storage.read_bytes(job.notes(slide.number)).decode()
    timing = step_timing(slide.steps, [cue[0] for cue in cues], duration, click_points(notes))
    if timing.warning:
        warning = f"slide {slide.source_index}: {timing.warning}"
        if warning not in manifest.warnings:
            manifest.warnings.append(warning)
    return list(timing.starts)


def fonts_per_slide(
    report: FontReport, build_plan: BuildPlan, source_indexes: list[int]
) -> FontReport:
    """The rendered pages' font report as one entry per shown slide: its last step's page, which
    shows all of the slide's text, under the slide's own numbers."""
    if not build_plan.any_builds:
        return report
    by_page = {slide.number: slide for slide in report.slides}
    last_pages = itertools.accumulate(build_plan.steps)
    slides = [
        dataclasses.replace(by_page[page], number=number, source_index=index)
        for number, (page, index) in enumerate(zip(last_pages, source_indexes, strict=True), 1)
        if page in by_page
    ]
    return dataclasses.replace(report, slides=slides)
