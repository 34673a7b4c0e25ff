"""What one mapped speech task speaks: a typed item, and its XCom form.

``prepare`` returns one :class:`SpeechItem` per speech task; Airflow maps the ``speak`` task over
their XCom form (plain JSON), and whichever runner speaks (the worker process or the speech
image) reads the item back with :meth:`SpeechItem.from_xcom`. An item names slides by number
only, never by note text: its command line goes into a templated container command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deck2video.job import JobPlan

LABEL_LENGTH = 200  # Airflow's rendered map index is at most this long


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
    groups = []
    for at in range(0, len(items), per_task):
        part = items[at : at + per_task]
        if len(part) == 1:
            groups.append(part[0])
            continue
        slides = tuple(slide for item in part for slide in item.slides)
        group = SpeechItem(part[0].job_id, "", slides)
        label = f"{group.span}: {', '.join(slide.title for slide in slides)}"
        groups.append(SpeechItem(group.job_id, label[:LABEL_LENGTH], slides))
    return groups
