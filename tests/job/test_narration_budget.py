"""job/budget.py in the speak and assemble steps, with real Piper: what the estimate let through
is measured after synthesis, and each synthesis call has a timeout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deck2video import job, storage
from deck2video.errors import InputError, ProcessingError
from deck2video.job import JobFolder, load_manifest
from deck2video.samples import SampleSlide
from tests.support.jobs import prepared_job

# ~38 characters: estimated at 1.5 s (at 25 characters a second), spoken in well over 2 s.
SENTENCE = "A short sentence to speak aloud here."


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, reference_voice) -> JobFolder:
    slides = [SampleSlide("One", SENTENCE), SampleSlide("Two")]
    return prepared_job(tmp_path_factory.mktemp("budget"), slides, reference_voice)


def cached_audio(folder: JobFolder) -> list[str]:
    return [o.url for o in storage.list_objects(storage.join(folder.store.cache.url, "audio"))]


def test_a_synthesis_call_past_its_timeout_fails_and_is_retryable(prepared, monkeypatch):
    monkeypatch.setenv("DECK2VIDEO_SYNTHESIS_TIMEOUT", "0.001")
    with pytest.raises(ProcessingError, match=r"speech synthesis \(piper, 37 characters\): took "):
        job.speak_slide(prepared, 1)
    manifest = load_manifest(prepared)
    assert (manifest.status, manifest.stage) == ("failed", "speak")
    assert manifest.reason.startswith("slide 1: speech synthesis (piper, 37 characters): took")


def test_narration_over_its_limit_once_spoken_is_refused_and_not_cached(prepared, monkeypatch):
    monkeypatch.setenv("DECK2VIDEO_MAX_SLIDE_NARRATION_SECONDS", "2")
    before = cached_audio(prepared)
    with pytest.raises(InputError) as refused:
        job.speak_slide(prepared, 1)
    message = str(refused.value)
    assert message.startswith("slide 1: narration is ")
    assert message.endswith(
        "s, more than the limit of 2 s per slide (DECK2VIDEO_MAX_SLIDE_NARRATION_SECONDS)"
    )
    assert cached_audio(prepared) == before
    assert not storage.exists(prepared.speech_result(1))


def test_the_whole_narration_is_measured_before_assembly(prepared, monkeypatch):
    for number in (1, 2):
        job.speak_slide(prepared, number)
    spoken = sum(
        json.loads(storage.read_bytes(prepared.speech_result(n)))["duration"] for n in (1, 2)
    )
    monkeypatch.setenv("DECK2VIDEO_MAX_JOB_NARRATION_SECONDS", str(int(spoken)))
    with pytest.raises(InputError, match=r"narration is \d+ s in all, more than the limit of "):
        job.assemble(prepared)
    assert not Path(prepared.video).exists()
    monkeypatch.delenv("DECK2VIDEO_MAX_JOB_NARRATION_SECONDS")
    assert job.assemble(prepared)["slides"] == 2
