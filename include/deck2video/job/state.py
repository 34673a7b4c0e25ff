"""A job's state in its manifest: loading and saving it, timing each step, recording failures.

A job goes ``pending -> processing_slides -> synthesizing_audio -> assembling_video ->
completed``, or ``failed`` with the stage that failed and a one-line reason. Once published it
stays ``completed`` (see :meth:`Manifest.set_status`).

Two runs of one job may write its manifest at once. Every save is conditional on the version
that was loaded (S3: If-Match / If-None-Match; local: compared under a lock); when the other
run wrote in between, the two are merged field by field against what was loaded (a field only
one side changed keeps that change; ``published`` and ``warnings`` keep both sides' entries)
and the save is tried again.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

from deck2video import storage
from deck2video.errors import Deck2VideoError, InputError, ProcessingError
from deck2video.job.layout import JobFolder
from deck2video.manifest import Manifest, StageRecord, now
from deck2video.plaintext import for_log

_SAVE_ATTEMPTS = 20
_UNION_FIELDS = ("published", "warnings")  # lists both writers add to
_ABSENT = object()


def load_manifest(job: JobFolder | str) -> Manifest:
    job = JobFolder.at(job)
    found = storage.read_versioned(job.manifest)
    if found is None:
        raise InputError(f"{job.manifest}: no such job manifest")
    data, version = found
    manifest = Manifest.from_json(data.decode())
    _remember(manifest, json.loads(data), version)
    return manifest


def save_manifest(job: JobFolder, manifest: Manifest) -> None:
    """Write the manifest, merging in what another run of the job wrote since it was loaded."""
    manifest.updated = now()
    for _ in range(_SAVE_ATTEMPTS):
        mine = manifest.to_dict()
        data = json.dumps(mine, indent=2, ensure_ascii=False).encode()
        try:
            version = storage.write_if(job.manifest, data, getattr(manifest, "_version", None))
        except storage.Conflict:
            _merge_from_storage(job, manifest, mine)
            continue
        _remember(manifest, mine, version)
        return
    raise ProcessingError(f"{job.manifest}: still changing after {_SAVE_ATTEMPTS} merges")


def _remember(manifest: Manifest, data: dict[str, Any], version: str) -> None:
    """What was last read or written, and its version: the base of the next merge."""
    manifest._base, manifest._version = data, version  # type: ignore[attr-defined]


def _merge_from_storage(job: JobFolder, manifest: Manifest, mine: dict[str, Any]) -> None:
    found = storage.read_versioned(job.manifest)
    if found is None:  # deleted meanwhile: create it again
        _remember(manifest, {}, None)  # type: ignore[arg-type]
        return
    data, version = found
    theirs = json.loads(data)
    merged = merge(getattr(manifest, "_base", None) or {}, mine, theirs)
    for name in _UNION_FIELDS:
        merged[name] = theirs.get(name, []) + [
            item for item in mine.get(name, []) if item not in theirs.get(name, [])
        ]
    fresh = Manifest.from_dict(merged)
    if fresh.status == "failed":
        fresh.set_status("failed", fresh.stage, fresh.reason)  # a finished job stays completed
    manifest.__dict__.update(fresh.__dict__)
    _remember(manifest, theirs, version)


def merge(base: Any, mine: Any, theirs: Any) -> Any:
    """Three-way merge of JSON values: whichever side changed a value from ``base`` wins (both
    changed: mine); objects are merged key by key."""
    if mine == base:
        return theirs
    if theirs == base:
        return mine
    if isinstance(mine, dict) and isinstance(theirs, dict):
        base = base if isinstance(base, dict) else {}
        merged = {}
        for key in [*theirs, *(k for k in mine if k not in theirs)]:
            value = merge(base.get(key, _ABSENT), mine.get(key, _ABSENT), theirs.get(key, _ABSENT))
            if value is not _ABSENT:
                merged[key] = value
        return merged
    return mine


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
        manifest.set_status("failed", stage=name, reason=error_reason(error))
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


def error_reason(error: BaseException) -> str:
    """The error's message on one line, control characters escaped: it goes to logs, XComs,
    the manifest and the pages, and may quote a user's URL."""
    text = for_log(" ".join(str(error).split()))
    if isinstance(error, Deck2VideoError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def record_failure(job: JobFolder | str, stage_name: str, reason: str) -> None:
    """Mark a job failed from outside a step (e.g. an Airflow task killed by its timeout).

    A finished job stays completed: the reason is kept in the stage's record only.
    """
    job = JobFolder.at(job)
    manifest = load_manifest(job)
    if manifest.status == "failed" and manifest.stage == stage_name:
        return  # the step already recorded its own, more precise, reason
    record = manifest.stages.setdefault(stage_name, StageRecord())
    if not manifest.finished:
        record.status = "failed"
    manifest.set_status("failed", stage=stage_name, reason=" ".join(reason.split()))
    save_manifest(job, manifest)
