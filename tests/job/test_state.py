"""A job's state in its manifest: each step timed, a failure recorded once, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from deck2video.errors import InputError
from deck2video.job.layout import Store
from deck2video.job.state import (
    load_manifest,
    one_line,
    record_failure,
    save_manifest,
    stage,
    stage_done,
)
from deck2video.manifest import Manifest


@pytest.fixture
def job(tmp_path: Path):
    folder = Store(str(tmp_path / "root")).job("talk-0123")
    save_manifest(folder, Manifest(job_id="talk-0123", settings={}))
    return folder


def test_a_step_is_timed_and_marked_done(job):
    manifest = load_manifest(job)
    with stage(job, manifest, "prepare", "processing_slides") as record:
        assert load_manifest(job).status == "processing_slides"  # visible while it runs
        assert load_manifest(job).stages["prepare"].status == "running"
        record.detail["render_cached"] = False
    stored = load_manifest(job)
    assert stage_done(stored, "prepare") and stored.stages["prepare"].seconds is not None
    assert stored.stages["prepare"].detail == {"render_cached": False}


def test_a_failing_step_records_its_stage_and_one_line_reason(job):
    manifest = load_manifest(job)
    with (
        pytest.raises(InputError),
        stage(job, manifest, "prepare_voice", "synthesizing_audio"),
    ):
        raise InputError("voice recording s3://v/a.wav is silent\n(second line)")
    stored = load_manifest(job)
    assert (stored.status, stored.stage) == ("failed", "prepare_voice")
    assert stored.reason == "voice recording s3://v/a.wav is silent (second line)"
    assert stored.stages["prepare_voice"].status == "failed"


def test_record_failure_keeps_the_steps_own_more_precise_reason(job):
    manifest = load_manifest(job)
    with pytest.raises(InputError), stage(job, manifest, "speak", "synthesizing_audio"):
        raise InputError("slide 3: notes too long")
    record_failure(job.url, "speak", "Task timed out")
    assert load_manifest(job).reason == "slide 3: notes too long"
    record_failure(job, "assemble", "worker lost\n  heartbeat")
    stored = load_manifest(job)
    assert (stored.stage, stored.reason) == ("assemble", "worker lost heartbeat")


def test_one_line_names_unexpected_error_types():
    assert one_line(InputError("deck a.pptx:\n bad")) == "deck a.pptx: bad"
    assert one_line(KeyError("slides")) == "KeyError: 'slides'"
    assert one_line(RuntimeError()) == "RuntimeError"
