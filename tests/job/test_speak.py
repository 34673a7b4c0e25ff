"""job/speak.py: a speech task's group of slides, with real Piper."""

from __future__ import annotations

import threading

import pytest

from deck2video import job, storage
from deck2video.errors import ProcessingError
from deck2video.job import JobFolder
from deck2video.samples import SampleSlide
from tests.support.jobs import prepared_job


@pytest.fixture
def prepared(tmp_path, reference_voice) -> JobFolder:
    slides = [SampleSlide(f"Part {n}", f"Part {n} is about the budget.") for n in (1, 2, 3)]
    return prepared_job(tmp_path, slides, reference_voice)


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


# A slide's writes, in order: its cache audio, its cache marker, its job copy, its result.
SLIDE_WRITES = 4


@pytest.mark.parametrize(
    ("failing_write", "marker_kept"),
    [(0, False), (2, True)],
    ids=["its cache audio", "its job copy"],
)
def test_a_slide_whose_write_fails_fails_the_task_and_leaves_no_half_cache_entry(
    prepared, monkeypatch, failing_write, marker_kept
):
    # The writes run on a thread beside the next slide's synthesis: a refused one (slide 2's)
    # still fails the task, named by its slide, and ends that slide's writes, so its cache
    # marker never stands without its audio; the other slides reach storage all the same.
    from deck2video.job import cache, speak

    written: list[str] = []

    def refusing_put(content, url):
        if len(written) == SLIDE_WRITES + failing_write:
            written.append(f"refused {url}")
            raise ProcessingError(f"{url}: storage error: the write was refused")
        cache.put(content, url)
        written.append(url)

    monkeypatch.setattr(speak, "put", refusing_put)
    with pytest.raises(ProcessingError, match="the write was refused"):
        job.speak_slides(prepared, [(1, 1), (2, 1), (3, 1)])
    assert job.load_manifest(prepared).reason.startswith("slide 2: ")
    assert written[SLIDE_WRITES + failing_write].startswith("refused ")
    cache_audio = written[SLIDE_WRITES].removeprefix("refused ")
    assert "/cache/audio/" in cache_audio
    assert storage.exists(cache_audio.removesuffix(".wav") + ".json") is marker_kept
    assert not storage.exists(prepared.audio(2))
    assert not storage.exists(prepared.speech_result(2))
    assert storage.exists(prepared.speech_result(1))
    assert storage.exists(prepared.speech_result(3))


def test_at_most_two_slides_wait_to_be_written(monkeypatch):
    # A slide's audio may be tens of MB: when storage is slower than synthesis, the next slide
    # waits for room instead of piling up in memory.
    from deck2video.job import speak

    release, written = threading.Event(), []

    def slow_put(content, url):
        release.wait(10)
        written.append(url)

    monkeypatch.setattr(speak, "put", slow_put)
    uploads = speak._Uploads()
    uploads.submit(1, [(b"one", "memory://1")])
    uploads.submit(2, [(b"two", "memory://2")])
    third = threading.Thread(target=uploads.submit, args=(3, [(b"three", "memory://3")]))
    third.start()
    third.join(0.5)
    assert third.is_alive()  # slide 1 is being written and slide 2 waits: no room for 3
    release.set()
    third.join(10)
    uploads.wait()
    assert written == ["memory://1", "memory://2", "memory://3"]
