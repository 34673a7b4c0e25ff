"""The job manifest's data types: slides, hashes, settings and stage status, as JSON.

Tools outside Airflow read a job's state from it (``deck2video.job.state`` loads and saves it).
Only sequential steps write it; the per-slide speech steps, which run in parallel, each write
their own ``audio/NNNN.json`` instead, and the assembly step folds those in, so no two writers
ever race on this file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from deck2video.errors import InputError

STATUSES = (
    "pending",
    "processing_slides",
    "synthesizing_audio",
    "assembling_video",
    "completed",
    "failed",
)


def now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


@dataclass
class SlideRecord:
    number: int  # position among the slides in the video, 1-based; names the job's files
    source_index: int  # position in the deck, 1-based
    title: str
    hidden: bool
    silent: bool  # empty or [SILENCE] notes
    notes_sha256: str
    audio_key: str = ""  # speech cache key; equal keys mean equal audio
    duration: float | None = None  # narration seconds
    synthesized: bool | None = None  # False: the audio came from the cache
    take: int = 1  # which recording of the notes (a re-take asks for another)
    start: float | None = None  # the slide's interval in the video
    end: float | None = None


@dataclass
class StageRecord:
    status: str = "pending"  # pending | running | done | failed
    started: str | None = None
    seconds: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    job_id: str
    settings: dict[str, Any]
    root_url: str = ""  # the storage root holding jobs/ and cache/
    status: str = "pending"
    stage: str | None = None  # the stage running, or the one that failed
    reason: str | None = None  # one line, when failed
    created: str = field(default_factory=now)
    updated: str = field(default_factory=now)
    deck: dict[str, Any] = field(default_factory=dict)
    voice: dict[str, Any] = field(default_factory=dict)
    lexicon: dict[str, Any] = field(default_factory=dict)  # the job's own lexicon, if any
    slides: list[SlideRecord] = field(default_factory=list)
    stages: dict[str, StageRecord] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["slides"] = [SlideRecord(**s) for s in data.get("slides", [])]
        data["stages"] = {k: StageRecord(**v) for k, v in data.get("stages", {}).items()}
        return cls(**data)

    def slide(self, number: int) -> SlideRecord:
        for record in self.slides:
            if record.number == number:
                return record
        raise InputError(f"job {self.job_id}: no slide {number} (it has {len(self.slides)})")

    def set_status(self, status: str, stage: str | None = None, reason: str | None = None) -> None:
        assert status in STATUSES, status
        self.status, self.stage, self.reason = status, stage, reason
        self.updated = now()
