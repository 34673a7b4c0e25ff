"""The quality step: every slide's narration scored (:mod:`deck2video.quality`), checked
against the run's thresholds, and recorded in the manifest and in ``output/quality.json``.

It runs once per job, after the speak tasks and before assembly, in one CPU process: the models
load once, the presenter's embedding is computed once per recording (and cached like the
converter's), and each slide's scores are cached by its audio, so a re-run or a re-take scores
only what changed. Speaking is where the GPU is; scoring needs none, and the speech images
need neither torch nor the quality models for it. In ``fail`` mode a slide that misses a
threshold fails the job (BadOutputError, not retried) before anything is assembled or published.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from deck2video import quality, storage
from deck2video.audio import SAMPLE_RATE, read_wav
from deck2video.captions import Cue
from deck2video.config import JobSettings, QualitySettings
from deck2video.errors import BadOutputError, Deck2VideoError
from deck2video.job.cache import get_or_put
from deck2video.job.layout import JobFolder
from deck2video.job.state import load_manifest, speech_result, stage
from deck2video.job.voice import job_embedding, spoken_by
from deck2video.manifest import (
    VOICE_BASE,
    VOICE_CONVERTED,
    JobQuality,
    Manifest,
    SlideQuality,
    SlideRecord,
)
from deck2video.narration import narrate
from deck2video.procs import scratch
from deck2video.pronounce import expand_for_speech

log = logging.getLogger(__name__)


def check_quality(job: JobFolder, thresholds: QualitySettings | None = None) -> JobQuality:
    """Score each spoken slide, record the scores, and hold the job to ``thresholds``."""
    thresholds = thresholds or QualitySettings()
    manifest = load_manifest(job)
    with stage(job, manifest, "quality", "synthesizing_audio") as record:
        started, cpu = time.perf_counter(), time.thread_time()
        scoring = Scoring.of(job, manifest)
        record.detail["load_seconds"] = round(time.perf_counter() - started, 3)
        durations, results, scored = {}, {}, 0
        for slide in manifest.slides:
            results[slide.number] = speech_result(job, slide.number)
            durations[slide.number] = results[slide.number]["duration"]
            slide.quality, computed = scoring.slide(slide, results[slide.number])
            scored += computed
        heard = quality.needs_p835(manifest.slides, thresholds)
        for number in heard:
            slide = manifest.slide(number)
            assert slide.quality is not None  # P.835 hears scored slides only
            quality.add_p835(slide.quality, scoring.p835(slide, results[number]))
        voice = spoken_by(manifest)
        for slide in manifest.slides:
            if slide.quality is not None:
                slide.quality.problems = quality.problems(
                    slide.quality, thresholds, cloned=voice == VOICE_CONVERTED
                )
        base = scoring.base_similarity()
        manifest.quality = quality.summarise(manifest.slides, durations, thresholds, base, voice)
        storage.write_bytes(job.quality, report_json(manifest).encode())
        record.detail.update(
            scored=scored,
            p835_slides=[manifest.slide(n).source_index for n in heard],
            cached=manifest.quality.slides_scored - scored,
            cpu_seconds=round(time.thread_time() - cpu, 3),  # scoring runs in this thread
        )
        for warning in manifest.quality.warnings:
            log.warning("narration quality: %s", warning)
        if thresholds.quality_mode == "fail" and not manifest.quality.passed:
            raise BadOutputError(
                "narration quality below the thresholds: " + "; ".join(manifest.quality.warnings)
            )
    return manifest.quality


def report_json(manifest: Manifest) -> str:
    """The published quality file: the job's figures and each slide's, by PowerPoint number."""
    assert manifest.quality is not None  # the quality step sets it before writing its report
    report = {
        "job_id": manifest.job_id,
        "job": asdict(manifest.quality),
        "slides": [
            {"slide": s.source_index, "title": s.title, **asdict(s.quality)}
            for s in manifest.slides
            if s.quality is not None
        ],
    }
    return json.dumps(report, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Scoring:
    """What scoring a job's slides needs: the models and the presenter's embedding."""

    job: JobFolder
    manifest: Manifest
    settings: JobSettings
    models: quality.Models
    reference: np.ndarray

    @classmethod
    def of(cls, job: JobFolder, manifest: Manifest) -> Scoring:
        models = quality.load_models()
        return cls(
            job,
            manifest,
            JobSettings.from_dict(manifest.settings),
            models,
            _reference_embedding(job, manifest, models),
        )

    def slide(self, slide: SlideRecord, result: dict) -> tuple[SlideQuality | None, bool]:
        """One slide's scores (None for a slide with nothing to say) and whether they were
        computed now rather than found in the cache; ``result``: what its speak task said."""
        if slide.silent:
            return None, False
        entry = self.job.store.cache.quality(self._key(result))
        cached = get_or_put(entry, lambda: self._measure(slide, result))
        return SlideQuality(**json.loads(cached.marker)), not cached.hit

    def p835(self, slide: SlideRecord, result: dict) -> tuple[float, float, float]:
        """DNSMOS P.835 of a slide (cached apart: most slides never need it)."""

        def measure() -> dict[str, bytes]:
            window = quality.dnsmos_window(self._narration(slide, result))
            return {"scores": json.dumps(quality.dnsmos_p835(self.models, window)).encode()}

        entry = self.job.store.cache.quality(self._key(result, "p835"))
        sig, bak, ovrl = json.loads(get_or_put(entry, measure).marker)
        return sig, bak, ovrl

    def _key(self, result: dict, *part: str) -> str:
        described = [
            quality.QUALITY_VERSION,
            self.models.version,
            result["key"],
            self.manifest.voice["sha256"],
            *part,
        ]
        return hashlib.sha256(json.dumps(described).encode()).hexdigest()

    def _measure(self, slide: SlideRecord, result: dict) -> dict[str, bytes]:
        narration = self._narration(slide, result)
        measured = quality.score(narration, self.reference, self.models, p835=False)
        return {"scores": json.dumps(asdict(measured)).encode()}

    def _narration(self, slide: SlideRecord, result: dict) -> quality.Narration:
        with scratch("quality") as tmp:
            samples = read_wav(storage.download(self.job.audio(slide.number), tmp / "a.wav"))
        cues = [Cue(*cue) for cue in result["cues"]]
        notes = storage.read_bytes(self.job.notes(slide.number)).decode()
        segments = narrate(notes, self.settings.silence_seconds)
        return quality.Narration(
            samples=samples,
            words=spoken_words(cues, self.settings.language),
            asked_silences=quality.asked_silences(segments, cues, samples.size / SAMPLE_RATE),
        )

    def base_similarity(self) -> float | None:
        """Where the voice was cloned or matched: how close the base voice itself is to the
        presenter (the gain is the narration's similarity less this). None where the narration
        is the base voice."""
        if spoken_by(self.manifest) == VOICE_BASE:
            return None
        from deck2video.speech import load_backend
        from deck2video.speech.embedding import CALIBRATION_TEXT

        try:
            backend = load_backend(self.settings.backend, self.settings.language)
        except (Deck2VideoError, ImportError) as error:  # e.g. MeloTTS lives in the GPU image
            log.warning("narration quality: base voice not measured here (%s)", error)
            return None
        described = f"{backend.name}\0{backend.model_version}\0{self.models.version}"
        name = f"speaker-base-{hashlib.sha256(described.encode()).hexdigest()[:24]}.npy"

        def compute() -> dict[str, bytes]:
            spoken = backend.synthesize(CALIBRATION_TEXT, speed=1.0)
            embedding = quality.voice_embedding(self.models, spoken, quality.REFERENCE_SECONDS)
            return {"embedding": quality.embedding_bytes(embedding)}

        data = get_or_put(self.job.store.cache.voice(name), compute).marker
        base = quality.embedding_from_bytes(data, f"cache voice/{name}")
        return quality.similarity(base, self.reference)


class ScoreAhead:
    """Scores slides in one background thread while the next ones are spoken (the local run):
    speech synthesis on a GPU leaves the CPU idle, and on a CPU leaves gaps, so much of the
    scoring is done by the time the quality step runs, which then finds it in the cache. The
    thread runs at the lowest CPU priority, so that it takes only what the speech leaves; what
    it has not done, the step does. A failure here is left for the step to meet again and
    report."""

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(
            1, thread_name_prefix="deck2video-quality", initializer=_lowest_priority
        )
        self._scoring: Scoring | None = None
        self.busy_seconds = 0.0  # wall time
        self.cpu_seconds = 0.0  # scoring runs in this one thread, so its CPU time is the cost

    def warm(self) -> None:
        """Load the models now, while the slides are rendered."""
        self._worker.submit(self._timed, quality.load_models)

    def submit(self, job: JobFolder, number: int) -> None:
        self._worker.submit(self._timed, self._score, job, number)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def __enter__(self) -> ScoreAhead:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self._worker.shutdown(wait=True, cancel_futures=kind is not None)

    def _score(self, job: JobFolder, number: int) -> None:
        if self._scoring is None or self._scoring.job != job:
            self._scoring = Scoring.of(job, load_manifest(job))
        slide = self._scoring.manifest.slide(number)
        self._scoring.slide(slide, speech_result(job, number))

    def _timed(self, work: Callable[..., object], *args: object) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            work(*args)
        except Exception as error:  # the quality step scores this slide again, and says why
            log.debug("narration quality ahead of the step: %s", error)
        finally:
            self.busy_seconds += time.perf_counter() - started
            self.cpu_seconds += time.thread_time() - cpu


def spoken_words(cues: list[Cue], language: str) -> int:
    """Words as they are said ("$5" is "five dollars"), over every caption of a slide."""
    return sum(len(re.findall(r"\w+", expand_for_speech(c.text, language))) for c in cues)


def _lowest_priority() -> None:
    """Make the calling thread yield the CPU to everything else (Linux: a thread's own nice)."""
    with contextlib.suppress(AttributeError, OSError):  # elsewhere: it just runs at normal
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _reference_embedding(job: JobFolder, manifest: Manifest, models: quality.Models) -> np.ndarray:
    """The presenter's speaker embedding: from this job, the shared cache, or computed now."""
    digest = hashlib.sha256(models.version.encode()).hexdigest()[:12]
    name = f"speaker-{manifest.voice['sha256'][:16]}-{digest}.npy"

    def compute() -> dict[str, bytes]:
        with scratch("quality") as tmp:
            samples = read_wav(storage.download(job.reference, tmp / "reference.wav"))
        embedding = quality.voice_embedding(models, samples, quality.REFERENCE_SECONDS)
        return {"embedding": quality.embedding_bytes(embedding)}

    data = job_embedding(job, name, compute).marker
    return quality.embedding_from_bytes(data, f"job {job.job_id}: voice/{name}")
