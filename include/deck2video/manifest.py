"""The job manifest's data types: slides, hashes, settings and stage status, as JSON.

Tools outside Airflow read a job's state from it (``deck2video.job.state`` loads and saves it).
Within a run only sequential steps write it; the per-slide speech steps, which run in parallel,
each write their own ``audio/NNNN.json`` instead, and the assembly step folds those in. Two runs
of one job (the same deck, voice and settings) do share it: ``state.save_manifest`` writes
conditionally and merges what the other run wrote. Where a run publishes is the run's own
business; the manifest only lists what was published (``published``).
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
class SlideQuality:
    """What :mod:`deck2video.quality` measured on one slide's narration (None: not measurable,
    e.g. no speech to judge)."""

    words: int = 0  # spoken words
    speech_seconds: float = 0.0  # the narration less its pauses
    words_per_minute: float | None = None
    longest_silence: float = 0.0  # seconds, the longest silence no [PAUSE] asked for
    longest_silence_at: float | None = None  # where it starts in the slide's narration
    clipping: float = 0.0  # share of samples at full scale
    loudness_dbfs: float | None = None  # RMS level of the speech frames
    similarity: float | None = None  # to the presenter's reference recording, 0..1
    dnsmos_p808: float | None = None  # DNSMOS P.808 overall, 1..5: every slide
    dnsmos_sig: float | None = None  # DNSMOS P.835, 1..5 (where it heard the slide): signal
    dnsmos_bak: float | None = None  # background
    dnsmos_ovrl: float | None = None  # overall
    dnsmos_seconds: float = 0.0  # how much of the narration DNSMOS heard
    speaker_seconds: float = 0.0  # how much speech the speaker encoder heard
    problems: list[str] = field(default_factory=list)  # each threshold it misses, one line


@dataclass
class WorstSlide:
    slide: int  # PowerPoint slide number
    title: str
    dnsmos_ovrl: float | None
    similarity: float | None
    problems: list[str] = field(default_factory=list)


# Which voice speaks a job (manifest.voice["spoken_by"], JobQuality.voice): the base voice
# re-voiced by the converter (the presenter's timbre), the base voice moved to the presenter's
# pitch and formants, or the speech engine's own.
VOICE_CONVERTED = "converted"
VOICE_MATCHED = "matched base voice"
VOICE_BASE = "base voice"


@dataclass
class JobQuality:
    """The job's narration quality: duration-weighted means over the spoken slides, the worst
    slide, and the checks against the run's thresholds."""

    mode: str  # warn | fail
    thresholds: dict[str, float]
    passed: bool
    slides_scored: int = 0
    similarity: float | None = None
    # Where the voice was cloned: the base voice's own similarity to the reference, so the
    # gain of cloning is similarity - base_similarity.
    base_similarity: float | None = None
    dnsmos_p808: float | None = None  # over every scored slide
    dnsmos_sig: float | None = None  # over the slides P.835 heard (dnsmos_slides of them)
    dnsmos_bak: float | None = None
    dnsmos_ovrl: float | None = None
    dnsmos_slides: int = 0
    words_per_minute: float | None = None
    longest_silence: float = 0.0
    clipping: float = 0.0
    worst: WorstSlide | None = None  # the lowest DNSMOS overall
    least_similar: WorstSlide | None = None
    warnings: list[str] = field(default_factory=list)  # "slide 4: ...", one per problem
    # Which voice spoke: "converted" (the presenter's, by the converter), "matched base voice"
    # (the engine's, moved to the presenter's pitch and formants) or "base voice".
    voice: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobQuality:
        data = dict(data)
        for name in ("worst", "least_similar"):
            if data.get(name) is not None:
                data[name] = WorstSlide(**data[name])
        return cls(**data)


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
    quality: SlideQuality | None = None  # its narration's measured quality
    steps: int = 1  # click-build stills; the last is the slide as it ends
    step_starts: list[float] = field(default_factory=list)  # each step's start in the video
    # Every take that was in a video, "take" -> its audio_key: an earlier one stays playable
    # from the audio cache, and a run can ask for it again (its key is a cache hit).
    take_keys: dict[str, str] = field(default_factory=dict)
    estimate: float | None = None  # narration seconds estimated from the notes (sizes speech tasks)


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
    outputs: dict[str, str] = field(default_factory=dict)  # the job's own video and captions
    published: list[dict[str, str]] = field(default_factory=list)  # each publication's URLs
    warnings: list[str] = field(default_factory=list)  # what was repaired or dropped, one line each
    quality: JobQuality | None = None
    fonts: dict[str, Any] = field(default_factory=dict)  # deck2video.fontreport.FontReport

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["slides"] = [_slide(s) for s in data.get("slides", [])]
        if data.get("quality") is not None:
            data["quality"] = JobQuality.from_dict(data["quality"])
        data["stages"] = {k: StageRecord(**v) for k, v in data.get("stages", {}).items()}
        return cls(**data)

    @property
    def finished(self) -> bool:
        """Published at least once: every file of the job is whole, whatever a run does later."""
        return bool(self.published)

    def slide(self, number: int) -> SlideRecord:
        for record in self.slides:
            if record.number == number:
                return record
        raise InputError(f"job {self.job_id}: no slide {number} (it has {len(self.slides)})")

    def set_status(self, status: str, stage: str | None = None, reason: str | None = None) -> None:
        """Move to ``status``. A finished job is never marked failed: a later run's failure (or a
        late failure callback) is kept in that stage's record instead."""
        assert status in STATUSES, status
        if status == "failed" and self.finished:
            if stage is not None:
                self.stages.setdefault(stage, StageRecord()).detail["reason"] = reason
            status, stage, reason = "completed", "publish", None
        self.status, self.stage, self.reason = status, stage, reason
        self.updated = now()


def _slide(data: dict[str, Any]) -> SlideRecord:
    quality = data.get("quality")
    return SlideRecord(**{**data, "quality": SlideQuality(**quality) if quality else None})
