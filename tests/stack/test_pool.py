"""The gpu pool on the compose stack: three decks at once, never more speech tasks than slots.

The stack's gpu worker could run three tasks at once (GPU_WORKER_CONCURRENCY=3), the pool has two
slots (GPU_SLOTS=2): the pool alone is what holds the third back.
"""

from __future__ import annotations

import pytest

from deck2video import storage
from deck2video.speech_items import label_span
from scripts.stack import parse_time
from tests.support.stack_runs import VARIABLES, small_deck, task_instances, trigger, wait_for_runs

pytestmark = [pytest.mark.stack, pytest.mark.docker, pytest.mark.slow]

DECKS = 3
SLIDES = 3


def most_at_once(intervals: list[tuple]) -> int:
    """The largest number of intervals that overlap at one moment (an end frees its slot
    before a start at the same instant takes one)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda event: (event[0], event[1]))  # fmt: skip
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_most_at_once():
    assert most_at_once([(0, 2), (1, 3), (2, 4)]) == 2
    assert most_at_once([(0, 5), (1, 2), (3, 4), (1, 4)]) == 3


def test_never_more_speech_tasks_than_pool_slots(stack, api, bucket, reference_voice, tmp_path):
    slots = int(VARIABLES["GPU_SLOTS"])
    status, pool = api.call("GET", "/api/v2/pools/gpu")
    assert (status, pool["slots"]) == (200, slots)
    voice = storage.upload(reference_voice, "s3://deck2video/pool/voice.wav")
    run_ids = []
    for n in range(1, DECKS + 1):
        deck = small_deck(tmp_path / f"deck{n}.pptx", SLIDES, f"Pool{n}")
        run_ids.append(trigger(api, {
            "deck_url": storage.upload(deck, f"s3://deck2video/pool/deck{n}.pptx"),
            "voice_url": voice,
            "out_url": f"s3://deck2video/pool/out/deck{n}.mp4",
            "resolution": "1280x720",
        }))  # fmt: skip
    states = wait_for_runs(api, run_ids)
    assert set(states.values()) == {"success"}, states
    speak = [ti for run_id in run_ids for ti in task_instances(api, run_id)
             if ti["task_id"] == "speak"]  # fmt: skip
    # Sized by default: a few seconds of narration a deck make one task a deck, still more
    # tasks than slots.
    assert sorted(len(label_span(ti["rendered_map_index"])) for ti in speak) == [SLIDES] * DECKS
    intervals = [(parse_time(ti["start_date"]), parse_time(ti["end_date"])) for ti in speak]
    # Two at once: the pool was used to the full and never beyond.
    assert most_at_once(intervals) == slots
