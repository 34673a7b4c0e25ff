"""Speech tasks sized from a deployment's fixed cost and each slide's estimated narration."""

from __future__ import annotations

import pytest

from deck2video.job import JobPlan, SlidePlan
from deck2video.speech_items import FIXED_SHARE, Sizing, label_span, speech_items

# A task costs 2 s besides synthesis, which takes 0.2 s a second of narration: a group needs
# 40 s of narration (8 s of synthesis) for the fixed cost to be a fifth of the task.
SIZED = Sizing(per_task=0, fixed_seconds=2.0, synthesis_factor=0.2, max_task_seconds=30.0)


def plan(*estimates: float | None) -> JobPlan:
    # PowerPoint's slide 2 is hidden: the shown slides keep the deck's own numbers.
    indexes = [1, *range(3, len(estimates) + 2)]
    slides = tuple(
        SlidePlan(n, f"Part {n}", index, estimate=seconds)
        for n, (index, seconds) in enumerate(zip(indexes, estimates, strict=True), start=1)
    )
    return JobPlan("talk-0123", "s3://media/jobs/talk-0123", "s3://media/out.mp4", slides)


def spans(items) -> list[str]:
    return [item.span for item in items]


def test_a_group_is_long_enough_for_its_fixed_cost_to_be_a_fifth_of_its_time():
    assert SIZED.least_narration == pytest.approx(40.0)
    fixed = SIZED.fixed_seconds
    assert fixed / (fixed + SIZED.least_narration * SIZED.synthesis_factor) == FIXED_SHARE
    # 10 slides of 10 s: 100 s of narration make two groups of 50 s, not ten tasks.
    items = speech_items(plan(*[10.0] * 10), {}, SIZED)
    assert spans(items) == ["slides 1-6", "slides 7-11"]
    assert [len(item.slides) for item in items] == [5, 5]
    assert items[0].label == "slides 1-6: Part 1, Part 2, Part 3, Part 4, Part 5"


def test_a_short_deck_is_one_task_and_a_long_one_spreads_under_the_cap():
    assert spans(speech_items(plan(3.0, 4.0, 5.0), {}, SIZED)) == ["slides 1-4"]
    # A long deck: as many tasks as keep each at 40 s of narration or more.
    assert [len(item.slides) for item in speech_items(plan(*[20.0] * 12), {}, SIZED)] == [2] * 6
    # With a cap of 6 s of synthesis (30 s of narration), the cap decides: 12 slides of 10 s
    # in 4 tasks, where the fixed cost alone would have made 3.
    capped = Sizing(per_task=0, fixed_seconds=2.0, synthesis_factor=0.2, max_task_seconds=6.0)
    assert [len(item.slides) for item in speech_items(plan(*[10.0] * 12), {}, capped)] == [3] * 4
    # One slide longer than the cap is still one task, never split.
    assert spans(speech_items(plan(400.0), {}, capped)) == ["slide 1"]


def test_groups_split_where_the_narration_divides_evenly():
    items = speech_items(plan(60.0, 5.0, 5.0, 5.0, 5.0, 60.0), {}, SIZED)
    assert [[s.number for s in item.slides] for item in items] == [[1], [2, 3, 4, 5], [6]]


def test_a_retaken_slide_is_a_task_of_its_own_between_its_neighbours():
    items = speech_items(plan(*[10.0] * 6), {4: 2}, SIZED)
    assert [item.label for item in items] == [
        "slides 1-3: Part 1, Part 2",
        "slide 4: Part 3 (take 2)",
        "slides 5-7: Part 4, Part 5, Part 6",
    ]


def test_an_explicit_slides_per_task_overrides_the_sizing():
    every = Sizing(per_task=1, fixed_seconds=2.0, synthesis_factor=0.2, max_task_seconds=30.0)
    assert spans(speech_items(plan(3.0, 4.0, 5.0), {}, every)) == ["slide 1", "slide 3", "slide 4"]


def test_a_slide_without_an_estimate_counts_as_an_ordinary_one():
    items = speech_items(plan(None, None, None, None, None, None, None, None), {}, SIZED)
    assert spans(items) == ["slides 1-5", "slides 6-9"]


def test_a_label_names_the_powerpoint_numbers_it_spans():
    items = speech_items(plan(*[10.0] * 10), {}, SIZED)
    # The hidden slide 2 lies within the first group's span.
    assert [label_span(item.label) for item in items] == [range(1, 7), range(7, 12)]
    assert list(label_span("slide 7: Pricing (take 2)")) == [7]
    with pytest.raises(ValueError, match="not a speech task's label"):
        label_span("Pricing")
