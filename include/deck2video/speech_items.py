"""What one mapped speech task speaks: a typed item, and its XCom form.

``prepare`` returns one :class:`SpeechItem` per speech task; Airflow maps the ``speak`` task over
their XCom form (plain JSON), and whichever runner speaks (the worker process or the speech
image) reads the item back with :meth:`SpeechItem.from_xcom`. An item names slides by number
only, never by note text: its command line goes into a templated container command.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deck2video.config import Deployment
    from deck2video.job import JobPlan

LABEL_LENGTH = 200  # Airflow's rendered map index is at most this long
# A sized speech task's fixed cost is at most this share of its time.
FIXED_SHARE = 0.2
# A slide whose narration was not estimated (a job prepared before estimates were kept).
UNKNOWN_ESTIMATE = 10.0


@dataclass(frozen=True)
class SlideToSpeak:
    number: int  # position among the shown slides: names the job's files
    source_index: int  # the deck's own (PowerPoint) slide number: what labels and messages show
    title: str
    take: int = 1


@dataclass(frozen=True)
class SpeechItem:
    """One speech task: one slide, or a group of slides spoken with the models loaded once."""

    job_id: str  # the job's folder is rebuilt from it and the deployment's job root
    label: str  # the task's map index in the UI: "slide 7: Pricing", "slides 4-7: ..."
    slides: tuple[SlideToSpeak, ...]

    @property
    def span(self) -> str:
        """ "slide 7", or "slides 4-7" for a group: what a failure names (PowerPoint numbers)."""
        first, last = self.slides[0].source_index, self.slides[-1].source_index
        return f"slide {first}" if len(self.slides) == 1 else f"slides {first}-{last}"

    def numbers_and_takes(self) -> list[tuple[int, int]]:
        return [(slide.number, slide.take) for slide in self.slides]

    def cli_args(self, job_url: str) -> list[str]:
        """``deck2video speak`` arguments for this item in the job at ``job_url``: a URL and
        numbers, never notes."""
        args = ["speak", "--job", job_url, "--slide"]
        args += [str(slide.number) for slide in self.slides]
        takes = [str(slide.take) for slide in self.slides]
        return args + (["--take", *takes] if set(takes) != {"1"} else [])

    def to_xcom(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "label": self.label,
            "slides": [
                {
                    "number": s.number,
                    "source_index": s.source_index,
                    "title": s.title,
                    "take": s.take,
                }
                for s in self.slides
            ],
        }

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> SpeechItem:
        """The item back from its XCom form; a malformed one raises ``ValueError``."""
        try:
            slides = tuple(
                SlideToSpeak(
                    number=int(s["number"]),
                    source_index=int(s["source_index"]),
                    title=str(s.get("title", "")),
                    take=int(s.get("take", 1)),
                )
                for s in value["slides"]
            )
            item = cls(job_id=str(value["job_id"]), label=str(value["label"]), slides=slides)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a speech item: {error!r}") from None
        if not slides:
            raise ValueError("not a speech item: no slides")
        return item


def label_span(label: str) -> range:
    """The PowerPoint numbers a task's label spans: "slide 7: ..." -> 7; "slides 4-7: ..." ->
    4 to 7 (hidden slides between them included)."""
    span = re.match(r"slides? (\d+)(?:-(\d+))?:", label)
    if span is None:
        raise ValueError(f"not a speech task's label: {label[:80]!r}")
    return range(int(span.group(1)), int(span.group(2) or span.group(1)) + 1)


def slide_label(number: int, title: str, take: int = 1) -> str:
    """``slide 7: Pricing``, and ``slide 7: Pricing (take 2)`` for a re-take."""
    suffix = f" (take {take})" if take != 1 else ""
    return f"slide {number}: {title}"[: LABEL_LENGTH - len(suffix)] + suffix


def items_per_slide(plan: JobPlan, takes: Mapping[int, int]) -> list[SpeechItem]:
    """One item per slide of a job's plan. A slide keeps the take in the job's current video
    unless ``takes`` (PowerPoint number -> take) asks for another."""
    items = []
    for slide in plan.slides:
        take = takes.get(slide.source_index, slide.take)
        label = slide_label(slide.source_index, slide.title, take)
        items.append(
            SpeechItem(
                plan.job_id,
                label,
                (SlideToSpeak(slide.number, slide.source_index, slide.title, take),),
            )
        )
    return items


def in_groups(items: Sequence[SpeechItem], per_task: int) -> list[SpeechItem]:
    """Per-slide ``items`` as groups of ``per_task`` (1: as they are), each labelled by its span
    and its slides' titles."""
    if per_task <= 1:
        return list(items)
    return [_group(items[at : at + per_task]) for at in range(0, len(items), per_task)]


@dataclass(frozen=True)
class Sizing:
    """How a deployment's speak tasks are sized: ``per_task`` slides each, or (0) groups whose
    estimated synthesis makes the task's fixed cost at most ``FIXED_SHARE`` of its time, and
    which hold at most ``max_task_seconds`` of synthesis."""

    per_task: int
    fixed_seconds: float
    synthesis_factor: float  # synthesis seconds per second of estimated narration
    max_task_seconds: float

    @classmethod
    def of(cls, deployment: Deployment) -> Sizing:
        fixed, factor = deployment.speech_task_costs
        return cls(
            deployment.speech_slides_per_task, fixed, factor, deployment.speech_max_task_seconds
        )

    @property
    def least_narration(self) -> float:
        """A group's narration (s) for its synthesis to be (1 - share) / share of the fixed cost."""
        return self.fixed_seconds * (1 - FIXED_SHARE) / FIXED_SHARE / self.synthesis_factor

    @property
    def most_narration(self) -> float:
        return self.max_task_seconds / self.synthesis_factor


def speech_items(plan: JobPlan, takes: Mapping[int, int], sizing: Sizing) -> list[SpeechItem]:
    """The speak tasks of a job's plan: groups sized by ``sizing``. A slide asked for anew (a
    re-take, in ``takes``) is a task of its own, so a one-slide re-take runs as a one-slide task."""
    items = items_per_slide(plan, takes)
    if sizing.per_task:
        return in_groups(items, sizing.per_task)
    estimates = [UNKNOWN_ESTIMATE if s.estimate is None else s.estimate for s in plan.slides]
    tasks: list[SpeechItem] = []
    run: list[int] = []  # consecutive slides spoken as the job's video has them
    for at, item in enumerate(items):
        if item.slides[0].source_index not in takes:
            run.append(at)
            continue
        tasks += _sized(items, estimates, run, sizing)
        tasks.append(item)
        run = []
    return tasks + _sized(items, estimates, run, sizing)


def _sized(
    items: Sequence[SpeechItem], estimates: Sequence[float], run: list[int], sizing: Sizing
) -> list[SpeechItem]:
    """The slides at ``run`` in as many groups as keep each at least ``least_narration`` long
    (else one), and no fewer than keep each under ``most_narration``; split where the estimated
    narration divides evenly."""
    if not run:
        return []
    seconds = [max(estimates[at], 0.0) for at in run]
    total = sum(seconds) or 1.0
    spread = max(1, math.floor(total / sizing.least_narration))
    count = min(len(run), max(spread, math.ceil(total / sizing.most_narration)))
    parts: list[list[SpeechItem]] = [[] for _ in range(count)]
    before = 0.0
    for at, length in zip(run, seconds, strict=True):
        middle = (before + length / 2) / total  # where the slide's narration sits in the run
        parts[min(count - 1, int(middle * count))].append(items[at])
        before += length
    return [_group(part) for part in parts if part]


def _group(part: Sequence[SpeechItem]) -> SpeechItem:
    """Consecutive per-slide items as one, labelled by its span and its slides' titles."""
    if len(part) == 1:
        return part[0]
    slides = tuple(slide for item in part for slide in item.slides)
    group = SpeechItem(part[0].job_id, "", slides)
    label = f"{group.span}: {', '.join(slide.title for slide in slides)}"
    return SpeechItem(group.job_id, label[:LABEL_LENGTH], slides)
