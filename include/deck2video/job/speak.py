"""The speak step: one slide's notes -> audio/NNNN.wav and audio/NNNN.json, via the audio cache.

Slides are spoken in parallel (one Airflow task each, possibly in separate containers), so this
step never writes the manifest on success: its result file is what assembly folds in.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from deck2video import storage
from deck2video.audio import write_wav
from deck2video.captions import Cue
from deck2video.config import MAX_TAKE, Deployment, JobSettings
from deck2video.errors import InputError, ProcessingError
from deck2video.job.budget import check_slide_seconds, estimate, narration_lexicon
from deck2video.job.cache import Content, get_or_put, put
from deck2video.job.layout import JobFolder
from deck2video.job.state import error_reason, load_manifest, record_failure
from deck2video.job.voice import ensure_embedding, voice_match
from deck2video.lexicon import Lexicon
from deck2video.manifest import Manifest
from deck2video.narration import Speech, narrate
from deck2video.procs import scratch
from deck2video.pronounce import PronouncingBackend, load_lexicon
from deck2video.speech import cache_key, synthesize_slide
from deck2video.speech.narrator import build_narrator, find_converter


@dataclass(frozen=True)
class SpeakResult:
    number: int
    duration: float
    synthesized: bool
    take: int = 1


def speak_slide(job: JobFolder, number: int, take: int = 1) -> SpeakResult:
    """Synthesize one slide's narration (+ its cues), or copy it from the cache.

    ``take`` > 1 records the slide anew (a re-take) instead of reusing the cached first take.
    """
    [spoken] = _speak_each(job, [(number, take)])
    return spoken


def speak_slides(
    job: JobFolder, slides: Iterable[tuple[int, int]]
) -> dict[str, Any] | list[dict[str, Any]]:
    """Speak each (slide number, take) in turn, the models loaded once for all: one slide's
    result, or a list for several. What ``deck2video speak`` prints and the worker's speech
    task returns (its XCom): one shape, whichever runner speaks."""
    spoken = [asdict(result) for result in _speak_each(job, slides)]
    return spoken[0] if len(spoken) == 1 else spoken


class _Speaker:
    """What every slide of a speech task shares, read once per task: the manifest, the settings,
    the lexicons, and the narrator (its models loaded once, by the task's first slide)."""

    def __init__(self, job: JobFolder, manifest: Manifest) -> None:
        self.job, self.manifest = job, manifest
        self.settings = JobSettings.from_dict(manifest.settings)
        self.deployment = Deployment.from_env()
        self._lexicon: Lexicon | None = None
        self._narrator: PronouncingBackend | None = None

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = _lexicon(self.job, self.manifest, self.settings, self.deployment)
        return self._lexicon

    @property
    def narrator(self) -> PronouncingBackend:
        if self._narrator is None:
            self._narrator = narrator(self.job, self.manifest, self.settings, self.lexicon)
        return self._narrator


class _Uploads:
    """A task's slides' files on their way to storage, one slide after another on one thread
    beside synthesis: a slide's four writes (tens of milliseconds each to S3) overlap the next
    slide's synthesis instead of adding to the task. A slide's writes stop at its first failure,
    so its cache marker is never written without its audio. At most two slides wait to be
    written (a slide's audio may be tens of MB): the next one waits for room."""

    PENDING = 2

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deck2video-upload")
        self._room = threading.BoundedSemaphore(self.PENDING)
        self._queued: list[tuple[int, Future[None]]] = []
        self.failed = 0  # the number of the slide whose writes failed first, once wait() raised

    def submit(self, number: int, writes: list[tuple[Content, str]]) -> None:
        self._room.acquire()
        writing = self._pool.submit(_write_in_order, writes)
        writing.add_done_callback(lambda _: self._room.release())
        self._queued.append((number, writing))

    def wait(self) -> None:
        """Returns once every slide's writes have ended; raises the first failure."""
        first: BaseException | None = None
        for number, writing in self._queued:
            error = writing.exception()
            if error is not None and first is None:
                first, self.failed = error, number
        self._pool.shutdown()
        if first is not None:
            raise first


def _write_in_order(writes: list[tuple[Content, str]]) -> None:
    for content, url in writes:
        put(content, url)


def _speak_each(job: JobFolder, slides: Iterable[tuple[int, int]]) -> list[SpeakResult]:
    manifest = load_manifest(job)
    speaker = _Speaker(job, manifest)
    uploads = _Uploads()
    spoken = []
    for number, take in slides:
        try:
            spoken.append(_speak(speaker, number, take, uploads))
        except BaseException as error:
            if isinstance(error, Exception):  # not a timeout or an interrupt: no hurry
                # The slides spoken before it reach the cache all the same: a retry reuses them.
                with contextlib.suppress(Exception):
                    uploads.wait()
            _record_failure(job, manifest, number, error)
            raise
    try:
        uploads.wait()
    except Exception as error:
        _record_failure(job, manifest, uploads.failed, error)
        raise
    return spoken


def _record_failure(job: JobFolder, manifest: Manifest, number: int, error: BaseException) -> None:
    with contextlib.suppress(Exception):
        record_failure(job, "speak", f"slide {_shown_as(manifest, number)}: {error_reason(error)}")


def _shown_as(manifest: Manifest, number: int) -> int:
    """The deck's own slide number, which is what a user reads; the position if unknown."""
    for slide in manifest.slides:
        if slide.number == number:
            return slide.source_index
    return number


def _speak(speaker: _Speaker, number: int, take: int, uploads: _Uploads) -> SpeakResult:
    started = time.perf_counter()
    job, manifest, settings = speaker.job, speaker.manifest, speaker.settings
    limits = speaker.deployment.limits
    label = f"slide {manifest.slide(number).source_index}"  # refuses a number the job lacks
    if not 1 <= take <= MAX_TAKE:
        raise InputError(f"{label}: take {take} is not 1..{MAX_TAKE}")
    segments = narrate(storage.read_bytes(job.notes(number)).decode(), settings.silence_seconds)
    estimate(label, segments, settings=settings, lexicon=speaker.lexicon, limits=limits)
    loading = time.perf_counter()
    backend = speaker.narrator  # loaded by the task's first slide; models once per process
    timings = {"load_seconds": time.perf_counter() - loading, "synthesis_seconds": 0.0}
    key = cache_key(
        segments,
        backend=backend,
        speed=settings.speed,
        voice_sha256=manifest.voice["sha256"],
        take=take,
    )

    def synthesize() -> dict[str, Content]:
        synthesizing = time.perf_counter()
        audio = synthesize_slide(
            segments, backend, speed=settings.speed, call_timeout=limits.synthesis_timeout
        )
        timings["synthesis_seconds"] = time.perf_counter() - synthesizing
        check_slide_seconds(label, audio.duration, limits, measured=True)  # before caching
        info = {"duration": audio.duration, "cues": [_cue_json(c) for c in audio.cues]}
        with scratch("speak") as work:
            write_wav(work / "slide.wav", audio.samples)
            wav = (work / "slide.wav").read_bytes()  # held until uploaded: a slide is < 10 MB
        return {"wav": wav, "info": json.dumps(info).encode()}

    writes: list[tuple[Content, str]] = []
    cached = get_or_put(
        job.store.cache.audio(key),
        synthesize,
        copy_to={"wav": job.audio(number)},
        store=lambda content, url: writes.append((content, url)),
    )
    info = json.loads(cached.marker)
    result = {
        **info,
        "number": number,
        "key": key,
        "take": take,
        # What the engine was given, after the pronunciation rules and lexicons: what a
        # reviewer compares with the notes when a word sounds wrong.
        "spoken": [backend.spoken_form(s.text) for s in segments if isinstance(s, Speech)],
        "synthesized": not cached.hit,
        # The step's time, and what of it went to loading models and to synthesis (the rest:
        # reading the notes and the cache; the slide's writes go on beside the next slide's
        # synthesis); the stack benchmark reads them.
        "seconds": round(time.perf_counter() - started, 3),
        **{name: round(seconds, 3) for name, seconds in timings.items()},
    }
    writes.append((json.dumps(result).encode(), job.speech_result(number)))  # after its audio
    uploads.submit(number, writes)
    return SpeakResult(number, info["duration"], not cached.hit, take)


def narrator(
    job: JobFolder,
    manifest: Manifest,
    settings: JobSettings,
    lexicon: Mapping[str, str] | None = None,
) -> PronouncingBackend:
    """The backend that speaks this job's slides: base TTS, in the presenter's voice when
    converter weights are configured here, with the pronunciation rules and lexicons."""
    converter = find_converter()
    if converter is None and "embedding" in manifest.voice:
        raise ProcessingError(
            f"job {manifest.job_id}: its voice was prepared for cloning, but this worker has "
            "no converter weights (set DECK2VIDEO_OPENVOICE_DIR)"
        )
    return build_narrator(
        settings.backend,
        settings.language,
        converter=converter,
        target_embedding=lambda found: ensure_embedding(job, manifest, found)[1],
        lexicon=lexicon if lexicon is not None else _lexicon(job, manifest, settings),
        match=voice_match(manifest),
    )


def _lexicon(
    job: JobFolder, manifest: Manifest, settings: JobSettings, deployment: Deployment | None = None
) -> Lexicon:
    """The deployment's lexicon, then the job's own (which wins)."""
    deployment = deployment or Deployment.from_env()
    own: dict[str, str] = {}
    if manifest.lexicon:
        text = storage.read_bytes(job.lexicon).decode("utf-8-sig")
        own = load_lexicon(
            text, settings.language, name=manifest.lexicon["url"], limits=deployment.limits
        )
    return narration_lexicon(settings, own, deployment)


def _cue_json(cue: Cue) -> list:
    return [round(cue.start, 4), round(cue.end, 4), cue.text]
