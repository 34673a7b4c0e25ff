"""A job's state in its manifest: each step timed, a failure recorded once, in one line; and
two runs of one job sharing it (issue 9): conditional writes (S3 If-Match / If-None-Match on the
loopback S3 server; a folder lock locally) and a merge keep both runs' changes, and a published
job is never marked failed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.errors import InputError
from deck2video.job.layout import JobFolder, Store
from deck2video.job.state import (
    error_reason,
    load_manifest,
    record_failure,
    save_manifest,
    stage,
    stage_done,
)
from deck2video.manifest import Manifest, StageRecord


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
    assert stage_done(stored, "prepare")
    assert stored.stages["prepare"].seconds is not None
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


def test_error_reason_escapes_what_a_quoted_url_could_forge():
    error = InputError("deck s3://in/a\x1b[2K\u202eb.pptx: not a zip file\nERROR forged")
    assert error_reason(error) == "deck s3://in/a\\x1b[2K\\u202eb.pptx: not a zip file ERROR forged"


def test_error_reason_names_unexpected_error_types():
    assert error_reason(InputError("deck a.pptx:\n bad")) == "deck a.pptx: bad"
    assert error_reason(KeyError("slides")) == "KeyError: 'slides'"
    assert error_reason(RuntimeError()) == "RuntimeError"


# --- two runs of one job -----------------------------------------------------------------------


@pytest.fixture
def folder(storage_root: str) -> JobFolder:
    return Store(f"{storage_root}/store").job("talk-0123456789abcdef")


def new_manifest() -> Manifest:
    return Manifest(job_id="talk-0123456789abcdef", settings={"speed": 1.0})


def test_a_stale_save_merges_instead_of_overwriting(folder):
    save_manifest(folder, new_manifest())
    first, second = load_manifest(folder), load_manifest(folder)
    first.published.append({"video_url": "s3://v/a.mp4"})
    first.voice["duration"] = 12.5
    save_manifest(folder, first)
    second.published.append({"video_url": "s3://v/b.mp4"})
    second.stages["assemble"] = StageRecord(status="done", seconds=3.0)
    save_manifest(folder, second)  # loaded before the first save: conflicts, then merges

    final = load_manifest(folder)
    assert [p["video_url"] for p in final.published] == ["s3://v/a.mp4", "s3://v/b.mp4"]
    assert final.voice == {"duration": 12.5}
    assert final.stages["assemble"].status == "done"
    assert final.settings == {"speed": 1.0}


def test_two_runs_creating_the_manifest_at_once_both_count(folder):
    first, second = new_manifest(), new_manifest()
    first.warnings.append("slide 2: malformed XML, read leniently (the fault was dropped)")
    save_manifest(folder, first)
    second.stages["prepare"] = StageRecord(status="running")
    save_manifest(folder, second)  # "only if it does not exist yet": conflicts, then merges
    final = load_manifest(folder)
    assert final.warnings == first.warnings
    assert final.stages["prepare"].status == "running"


def test_a_stale_failure_cannot_undo_a_publication(folder):
    save_manifest(folder, new_manifest())
    finisher, loser = load_manifest(folder), load_manifest(folder)
    finisher.published.append({"video_url": "/videos/a.mp4"})
    finisher.set_status("completed", stage="publish")
    save_manifest(folder, finisher)
    loser.set_status("failed", stage="speak", reason="slide 2: worker lost")
    save_manifest(folder, loser)

    final = load_manifest(folder)
    assert (final.status, final.stage, final.reason) == ("completed", "publish", None)
    assert final.stages["speak"].detail["reason"] == "slide 2: worker lost"


def test_a_failure_recorded_from_outside_keeps_a_finished_job_completed(folder):
    manifest = new_manifest()
    manifest.published.append({"video_url": "/videos/a.mp4"})
    manifest.set_status("completed", stage="publish")
    save_manifest(folder, manifest)
    record_failure(folder, "speak", "slide 1: Timeout after 1800 s")
    final = load_manifest(folder)
    assert final.status == "completed"
    assert final.stages["speak"].detail["reason"] == "slide 1: Timeout after 1800 s"


def test_many_concurrent_writers_lose_nothing(tmp_path):
    """Local storage, threads racing for real (moto's S3 server checks its conditions without
    a lock, so a real race there says nothing about S3 itself)."""
    folder = Store(str(tmp_path / "store")).job("talk-0123456789abcdef")
    save_manifest(folder, new_manifest())

    def publish(n: int) -> None:
        manifest = load_manifest(folder)
        manifest.published.append({"video_url": f"/videos/{n}.mp4"})
        save_manifest(folder, manifest)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    videos = {p["video_url"] for p in load_manifest(folder).published}
    assert videos == {f"/videos/{n}.mp4" for n in range(12)}
    assert [p.name for p in (tmp_path / "store" / "jobs" / folder.job_id).iterdir()] == [
        "manifest.json"
    ]  # no lock file left beside it


def test_s3_refuses_a_write_whose_condition_no_longer_holds(s3_bucket):
    url = f"s3://{s3_bucket}/store/jobs/x/manifest.json"
    version = storage.write_if(url, b"one", None)
    with pytest.raises(storage.Conflict):
        storage.write_if(url, b"two", None)  # it exists now
    newer = storage.write_if(url, b"two", version)
    with pytest.raises(storage.Conflict):
        storage.write_if(url, b"three", version)  # stale version
    assert storage.read_versioned(url) == (b"two", newer)
