"""progress.py: a run's slides spoken (the speech results written since it started), the step
in words, and the time left from the run's own pace or the job's recorded timings."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from deck2video_ui import progress

from deck2video import storage
from deck2video.job import Store
from deck2video.manifest import Manifest, SlideRecord, StageRecord

STARTED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def manifest(slides: int = 4) -> Manifest:
    records = [
        SlideRecord(number=n, source_index=n, title="", hidden=False, silent=False, notes_sha256="")
        for n in range(1, slides + 1)
    ]
    return Manifest(job_id="talk-0123456789abcdef", settings={}, slides=records)


def test_the_slides_spoken_are_the_results_written_since_the_run_started(tmp_path):
    folder = Store(str(tmp_path)).job("talk-0123456789abcdef")
    found = manifest()
    for number, minutes in ((1, -5), (2, 1), (3, 2)):  # slide 1's result is an older run's
        storage.write_bytes(folder.speech_result(number), b"{}")
        when = (STARTED + timedelta(minutes=minutes)).timestamp()
        os.utime(storage.parse(folder.speech_result(number)).key, (when, when))
    storage.write_bytes(folder.audio(4), b"RIFF")  # audio alone is not a finished slide
    spoken = progress.spoken_since(folder, found, STARTED)
    assert spoken.count == 2
    assert (spoken.last - spoken.first) == timedelta(minutes=1)
    assert progress.spoken_since(folder, found, None).count == 0


def test_the_time_left_comes_from_the_run_pace_then_the_job_timings():
    found = manifest()
    found.stages["assemble"] = StageRecord(status="done", seconds=20.0)
    found.stages["quality"] = StageRecord(status="done", seconds=10.0)
    pace = progress.Spoken(2, STARTED, STARTED + timedelta(seconds=15))  # 15 s a slide
    assert progress.seconds_left(found, pace, ["speak"]) == 2 * 15 + 30
    assert progress.seconds_left(found, progress.Spoken(0), ["speak"]) is None
    found.stages["speak"] = StageRecord(status="done", seconds=40.0)  # a past run: 10 s a slide
    assert progress.seconds_left(found, progress.Spoken(1), ["speak"]) == 3 * 10 + 30
    done = progress.Spoken(4, STARTED, STARTED)
    # Quality is checked inside the assemble task: while it runs, both are still ahead.
    assert progress.seconds_left(found, done, ["assemble"]) == 30.0
    assert progress.step_words(["speak"]) == "speaking"
    assert progress.step_words([]) is None
