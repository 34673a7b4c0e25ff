"""A job's state in its manifest: loading and saving it, timing each step, recording failures.

A job goes ``pending -> processing_slides -> synthesizing_audio -> assembling_video ->
completed``, or ``failed`` with the stage that failed and a one-line reason.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

from deck2video import storage
from deck2video.errors import Deck2VideoError, ProcessingError
from deck2video.job.layout import JobFolder
from deck2video.manifest import Manifest, StageRecord, now


def load_manifest(job: JobFolder | str) -> Manifest:
    return Manifest.from_json(storage.read_bytes(JobFolder.at(job).manifest).decode())


def save_manifest(job: JobFolder, manifest: Manifest) -> None:
    manifest.updated = now()
    storage.write_bytes(job.manifest, manifest.to_json().encode())


@contextlib.contextmanager
def stage(job: JobFolder, manifest: Manifest, name: str, status: str) -> Iterator[StageRecord]:
    """Time a step and record it; on any error the manifest says ``failed`` with the reason."""
    record = manifest.stages.setdefault(name, StageRecord())
    record.status, record.started = "running", now()
    manifest.set_status(status, stage=name)
    save_manifest(job, manifest)
    started = time.perf_counter()
    try:
        yield record
    except BaseException as error:
        record.status, record.seconds = "failed", round(time.perf_counter() - started, 3)
        manifest.set_status("failed", stage=name, reason=one_line(error))
        with contextlib.suppress(Exception):  # keep the original error if storage is down
            save_manifest(job, manifest)
        raise
    record.status, record.seconds = "done", round(time.perf_counter() - started, 3)
    save_manifest(job, manifest)


def speech_result(job: JobFolder, number: int) -> dict[str, Any]:
    """What slide ``number``'s speak task reported (duration, cues, audio cache key)."""
    url = job.speech_result(number)
    if not storage.exists(url):
        raise ProcessingError(f"job {job.url}: slide {number} has no narration yet ({url})")
    return json.loads(storage.read_bytes(url))


def stage_done(manifest: Manifest, name: str) -> bool:
    return manifest.stages.get(name, StageRecord()).status == "done"


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, Deck2VideoError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def record_failure(job: JobFolder | str, stage_name: str, reason: str) -> None:
    """Mark a job failed from outside a step (e.g. an Airflow task killed by its timeout)."""
    job = JobFolder.at(job)
    manifest = load_manifest(job)
    if manifest.status == "failed" and manifest.stage == stage_name:
        return  # the step already recorded its own, more precise, reason
    manifest.stages.setdefault(stage_name, StageRecord()).status = "failed"
    manifest.set_status("failed", stage=stage_name, reason=" ".join(reason.split()))
    save_manifest(job, manifest)
