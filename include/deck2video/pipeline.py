"""The job-level steps: prepare, prepare_voice, speak_slide, assemble, publish.

Each step reads and writes the job folder in storage (see the architecture page for the layout)
and calls the stage modules. The CLI, the Airflow tasks and the speech image all call these, so a
step must be runnable in a fresh process that shares nothing but storage with the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from deck2video import manifest as manifests
from deck2video import storage
from deck2video.assemble import SlideClip, assemble_video
from deck2video.captions import Cue
from deck2video.config import JobSettings, Limits
from deck2video.deck import open_deck
from deck2video.errors import Deck2VideoError, InputError, ProcessingError
from deck2video.fingerprint import file_sha256, visual_fingerprint
from deck2video.manifest import Manifest, SlideRecord, StageRecord
from deck2video.narration import is_silent, narrate
from deck2video.pronounce import PronouncingBackend, load_lexicon
from deck2video.render import render_slides
from deck2video.speech import Backend, cache_key, convert, load_backend, synthesize_slide, write_wav
from deck2video.voice import prepare_reference

# Bump when a change makes cached renders or audio stale.
CACHE_VERSION = "1"
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".oga", ".opus", ".aac")
MAX_LEXICON_BYTES = 1024 * 1024
# A deployment-wide lexicon file (word -> spoken form); a job's own lexicon overrides it.
LEXICON_ENV = "DECK2VIDEO_LEXICON"


@dataclass(frozen=True)
class SlidePlan:
    number: int
    title: str


@dataclass(frozen=True)
class JobPlan:
    job_id: str
    job_url: str
    out_url: str
    slides: tuple[SlidePlan, ...]


@dataclass(frozen=True)
class SpeakResult:
    number: int
    duration: float
    synthesized: bool


@dataclass(frozen=True)
class PublishResult:
    video_url: str
    vtt_url: str
    srt_url: str


@dataclass
class RunSummary:
    job_id: str
    job_url: str
    video_url: str
    slides: int
    video_seconds: float
    narration_seconds: float
    synthesized: int
    cached: int
    stage_seconds: dict[str, float] = field(default_factory=dict)


def default_root() -> str:
    return os.environ.get("DECK2VIDEO_ROOT") or str(Path.home() / ".deck2video")


# --- job identity and layout -------------------------------------------------------------


def job_id_for(deck_name: str, *parts: str) -> str:
    """Stable id: a readable deck name plus a hash of the content and settings."""
    stem = re.sub(r"[^a-z0-9]+", "-", PurePosixPath(deck_name).stem.lower()).strip("-")[:40]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"{stem or 'deck'}-{digest}"


def slide_file(folder: str, number: int, suffix: str) -> str:
    return f"{folder}/{number:04d}{suffix}"


def sibling_url(url: str, suffix: str) -> str:
    """``s3://b/videos/talk.mp4`` -> ``s3://b/videos/talk.vtt``."""
    head, _, name = url.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{head}/{stem}{suffix}" if head else f"{stem}{suffix}"


# --- stage bookkeeping -------------------------------------------------------------------


@contextlib.contextmanager
def stage(job_url: str, manifest: Manifest, name: str, status: str) -> Iterator[StageRecord]:
    """Time a step and record it; on any error the manifest says ``failed`` with the reason."""
    record = manifest.stages.setdefault(name, StageRecord())
    record.status, record.started = "running", manifests.now()
    manifest.set_status(status, stage=name)
    manifests.save(job_url, manifest)
    started = time.perf_counter()
    try:
        yield record
    except BaseException as error:
        record.status, record.seconds = "failed", round(time.perf_counter() - started, 3)
        manifest.set_status("failed", stage=name, reason=one_line(error))
        with contextlib.suppress(Exception):  # keep the original error if storage is down
            manifests.save(job_url, manifest)
        raise
    record.status, record.seconds = "done", round(time.perf_counter() - started, 3)
    manifests.save(job_url, manifest)


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if isinstance(error, Deck2VideoError) else f"{type(error).__name__}: {text}"


def record_failure(job_url: str, stage_name: str, reason: str) -> None:
    """Mark a job failed from outside a step (e.g. an Airflow task killed by its timeout)."""
    manifest = manifests.load(job_url)
    if manifest.status == "failed" and manifest.stage == stage_name:
        return  # the step already recorded its own, more precise, reason
    manifest.stages.setdefault(stage_name, StageRecord()).status = "failed"
    manifest.set_status("failed", stage=stage_name, reason=" ".join(reason.split()))
    manifests.save(job_url, manifest)


# --- steps -------------------------------------------------------------------------------


def prepare(
    deck_url: str,
    voice_url: str,
    *,
    out_url: str,
    root_url: str | None = None,
    settings: JobSettings | None = None,
    limits: Limits | None = None,
    lexicon_url: str | None = None,
) -> JobPlan:
    """Fetch and validate the inputs, render the slides, and write the job's manifest.

    ``lexicon_url`` names an optional pronunciation lexicon (see :mod:`deck2video.pronounce`).
    """
    settings = settings or JobSettings()
    limits = limits or Limits.from_env()
    root_url = (root_url or default_root()).rstrip("/")
    if not storage.parse(out_url).key.endswith(".mp4"):
        raise InputError(f"output URL {out_url}: must name an .mp4 file")
    deck_name = PurePosixPath(storage.parse(deck_url).key).name
    voice_suffix = PurePosixPath(storage.parse(voice_url).key).suffix.lower()

    with tempfile.TemporaryDirectory(prefix="deck2video-prepare-") as tmp:
        work = Path(tmp)
        # Keep the user's file name: stage errors name the file they were given.
        deck_path, deck_sha = _fetch_input(
            deck_url, work / "deck" / deck_name, limits.max_deck_bytes
        )
        voice_path, voice_sha = _fetch_input(
            voice_url, work / f"voice{voice_suffix or '.bin'}", limits.max_voice_bytes
        )
        lexicon_path, lexicon_sha = (
            _fetch_input(lexicon_url, work / "lexicon.txt", MAX_LEXICON_BYTES)
            if lexicon_url
            else (None, "")
        )
        settings_json = json.dumps(settings.to_dict(), sort_keys=True)
        job_id = job_id_for(deck_name, deck_sha, voice_sha, settings_json, lexicon_sha)
        job_url = storage.join(root_url, "jobs", job_id)

        existing = _load_if_prepared(job_url)
        if existing is not None:
            existing.outputs["video"] = out_url
            manifests.save(job_url, existing)
            return _plan(existing, job_url)

        manifest = Manifest(
            job_id=job_id,
            settings=settings.to_dict(),
            root_url=root_url,
            deck={"url": deck_url, "name": deck_name, "sha256": deck_sha},
            voice={"url": voice_url, "sha256": voice_sha, "suffix": voice_suffix},
            lexicon={"url": lexicon_url, "sha256": lexicon_sha} if lexicon_url else {},
            outputs={"video": out_url},
        )
        with stage(job_url, manifest, "prepare", "processing_slides") as record:
            if deck_path is None or voice_path is None:
                raise _oversize_error(deck_url, voice_url, deck_path, limits)
            storage.upload(deck_path, storage.join(job_url, "input/deck.pptx"))
            storage.upload(voice_path, storage.join(job_url, f"input/voice{voice_suffix}"))
            if voice_suffix not in AUDIO_SUFFIXES:
                raise InputError(
                    f"voice recording {voice_url}: {voice_suffix or 'no extension'} is not an "
                    f"audio format ({', '.join(AUDIO_SUFFIXES)})"
                )
            if lexicon_url:
                if lexicon_path is None:
                    limit = MAX_LEXICON_BYTES / 2**20
                    raise InputError(f"lexicon {lexicon_url}: larger than the {limit:g} MiB limit")
                load_lexicon(lexicon_path, settings.language, name=lexicon_url)  # refuse early
                storage.upload(lexicon_path, storage.join(job_url, "input/lexicon.txt"))
            deck = open_deck(deck_path, limits)
            shown = deck.shown(settings.include_hidden)
            manifest.deck.update(slides_total=len(deck.slides), slides_shown=len(shown))
            manifest.slides = [
                SlideRecord(
                    number=n,
                    source_index=slide.index,
                    title=slide.title,
                    hidden=slide.hidden,
                    silent=is_silent(slide.notes),
                    notes_sha256=hashlib.sha256(slide.notes.encode()).hexdigest(),
                )
                for n, slide in enumerate(shown, start=1)
            ]
            for n, slide in enumerate(shown, start=1):
                storage.write_bytes(
                    storage.join(job_url, slide_file("notes", n, ".txt")), slide.notes.encode()
                )
            record.detail["render_cached"] = _render_into_job(
                deck_path, job_url, root_url, settings, limits, expected=len(shown), work=work
            )
    manifest.set_status("synthesizing_audio", stage="prepare")
    manifests.save(job_url, manifest)
    return _plan(manifest, job_url)


def _fetch_input(url: str, dest: Path, max_bytes: int) -> tuple[Path | None, str]:
    """Download an input; an oversize one is not downloaded (None) but still gets an id."""
    size = storage.size(url)
    if size > max_bytes:
        return None, hashlib.sha256(f"oversize\0{url}\0{size}".encode()).hexdigest()
    path = storage.download(url, dest)
    return path, file_sha256(path)


def _oversize_error(deck_url: str, voice_url: str, deck_path: Path | None, limits: Limits):
    if deck_path is None:
        mib = limits.max_deck_bytes / 2**20
        return InputError(f"deck {deck_url}: larger than the {mib:g} MiB limit")
    mib = limits.max_voice_bytes / 2**20
    return InputError(f"voice recording {voice_url}: larger than the {mib:g} MiB limit")


def _load_if_prepared(job_url: str) -> Manifest | None:
    """A job with the same id already rendered the same deck: reuse it as it is."""
    if not storage.exists(manifests.manifest_url(job_url)):
        return None
    manifest = manifests.load(job_url)
    done = manifest.stages.get("prepare")
    return manifest if done is not None and done.status == "done" else None


def _plan(manifest: Manifest, job_url: str) -> JobPlan:
    return JobPlan(
        job_id=manifest.job_id,
        job_url=job_url,
        out_url=manifest.outputs["video"],
        slides=tuple(SlidePlan(s.number, s.title) for s in manifest.slides),
    )


def _render_into_job(
    deck_path: Path,
    job_url: str,
    root_url: str,
    settings: JobSettings,
    limits: Limits,
    *,
    expected: int,
    work: Path,
) -> bool:
    """Render the slides, or copy them from the render cache when only the notes changed.

    Returns whether the cache served them.
    """
    key = hashlib.sha256(
        "\0".join(
            (
                CACHE_VERSION,
                visual_fingerprint(deck_path),
                f"{settings.width}x{settings.height}",
                str(settings.include_hidden),
            )
        ).encode()
    ).hexdigest()
    cache_url = storage.join(root_url, "cache", "slides", key)
    targets = [
        storage.join(job_url, slide_file("slides", n, ".png")) for n in range(1, expected + 1)
    ]
    cached = [
        storage.join(cache_url, slide_file("", n, ".png").lstrip("/"))
        for n in range(1, expected + 1)
    ]
    if storage.exists(storage.join(cache_url, "complete")):
        for source, target in zip(cached, targets, strict=True):
            storage.copy(source, target)
        return True
    images = render_slides(
        deck_path,
        work / "slides",
        expected=expected,
        include_hidden=settings.include_hidden,
        width=settings.width,
        height=settings.height,
        timeout=limits.soffice_timeout,
    )
    for image, target, cache_target in zip(images, targets, cached, strict=True):
        storage.upload(image, target)
        storage.upload(image, cache_target)
    storage.write_bytes(storage.join(cache_url, "complete"), str(expected).encode())
    return False


def prepare_voice(job_url: str) -> dict:
    """Clean the reference recording once per job: voice/reference.wav."""
    manifest = manifests.load(job_url)
    if manifest.stages.get("prepare_voice", StageRecord()).status == "done":
        return manifest.voice
    with (
        stage(job_url, manifest, "prepare_voice", "synthesizing_audio"),
        tempfile.TemporaryDirectory(prefix="deck2video-voice-") as tmp,
    ):
        source = storage.download(
            storage.join(job_url, f"input/voice{manifest.voice['suffix']}"),
            Path(tmp) / f"source{manifest.voice['suffix']}",
        )
        try:
            clip = prepare_reference(source, Path(tmp) / "reference.wav")
        except InputError as error:  # name the user's URL, not our temporary copy
            raise InputError(str(error).replace(str(source), manifest.voice["url"])) from error
        storage.upload(clip.path, storage.join(job_url, "voice/reference.wav"))
        manifest.voice.update(
            duration=round(clip.duration, 3), speech_seconds=round(clip.speech_seconds, 3)
        )
        weights = convert.find_weights()
        if weights is not None:
            converter = convert.load_converter(weights, "auto")
            started = time.perf_counter()
            key, _, computed = _ensure_embedding(job_url, manifest, converter, clip.path)
            manifest.voice["embedding"] = {
                "file": f"voice/{key}",
                "computed": computed,
                "seconds": round(time.perf_counter() - started, 3),
                "checkpoint_sha256": converter.checkpoint_sha256,
            }
    return manifest.voice


def _ensure_embedding(
    job_url: str, manifest: Manifest, converter: convert.Converter, reference: Path | None = None
) -> tuple[str, bytes, bool]:
    """The target speaker embedding in the job's voice/ folder: from this job, from another
    job with the same recording and converter (the shared cache), or computed now.

    Returns its file name, its bytes and whether it was computed here.
    """
    key = convert.embedding_cache_key(manifest.voice["sha256"], converter.checkpoint_sha256)
    job_copy = storage.join(job_url, "voice", key)
    shared = storage.join(manifest.root_url, "cache", "voice", key)
    if storage.exists(job_copy):
        return key, storage.read_bytes(job_copy), False
    if storage.exists(shared):
        storage.copy(shared, job_copy)
        return key, storage.read_bytes(job_copy), False
    with tempfile.TemporaryDirectory(prefix="deck2video-embedding-") as tmp:
        if reference is None:
            reference = storage.download(
                storage.join(job_url, "voice/reference.wav"), Path(tmp) / "reference.wav"
            )
        data = convert.embedding_to_bytes(convert.extract_embedding(converter, reference))
    storage.write_bytes(shared, data)
    storage.write_bytes(job_copy, data)
    return key, data, True


def narrator(job_url: str, manifest: Manifest, settings: JobSettings) -> Backend:
    """The backend that speaks this job's slides: base TTS, in the presenter's voice when
    converter weights are configured here, with the pronunciation rules and lexicons."""
    backend = load_backend(settings.backend, settings.language)
    weights = convert.find_weights()
    if weights is not None:
        converter = convert.load_converter(weights, "auto")
        _, data, _ = _ensure_embedding(job_url, manifest, converter)
        target = convert.embedding_from_bytes(data, gin_channels=converter.gin_channels)
        backend = convert.ConvertedBackend(backend, converter, target)
    elif "embedding" in manifest.voice:
        raise ProcessingError(
            f"job {manifest.job_id}: its voice was prepared for cloning, but this worker has "
            f"no converter weights (set {convert.WEIGHTS_ENV})"
        )
    return PronouncingBackend(backend, settings.language, _lexicon(job_url, manifest, settings))


def _lexicon(job_url: str, manifest: Manifest, settings: JobSettings) -> dict[str, str]:
    entries: dict[str, str] = {}
    deployment = os.environ.get(LEXICON_ENV)
    if deployment:
        entries.update(load_lexicon(Path(deployment), settings.language))
    if manifest.lexicon:
        text = storage.read_bytes(storage.join(job_url, "input/lexicon.txt")).decode("utf-8-sig")
        entries.update(load_lexicon(text, settings.language, name=manifest.lexicon["url"]))
    return entries


def speak_slide(job_url: str, number: int) -> SpeakResult:
    """Synthesize one slide's narration into audio/NNNN.wav (+ .json with cues), via the cache.

    Runs in parallel with the other slides, so it never writes the manifest on success.
    """
    manifest = manifests.load(job_url)
    try:
        return _speak(job_url, manifest, number)
    except BaseException as error:
        with contextlib.suppress(Exception):
            record_failure(job_url, "speak", f"slide {number}: {one_line(error)}")
        raise


def _speak(job_url: str, manifest: Manifest, number: int) -> SpeakResult:
    started = time.perf_counter()
    settings = JobSettings.from_dict(manifest.settings)
    manifest.slide(number)  # refuses a slide number the job doesn't have
    notes = storage.read_bytes(storage.join(job_url, slide_file("notes", number, ".txt"))).decode()
    segments = narrate(notes, settings.silence_seconds)
    backend = narrator(job_url, manifest, settings)
    key = cache_key(
        segments, backend=backend, speed=settings.speed, voice_sha256=manifest.voice["sha256"]
    )
    cache_wav = storage.join(manifest.root_url, "cache", "audio", f"{key}.wav")
    cache_json = storage.join(manifest.root_url, "cache", "audio", f"{key}.json")
    job_wav = storage.join(job_url, slide_file("audio", number, ".wav"))

    if storage.exists(cache_json) and storage.exists(cache_wav):
        info = json.loads(storage.read_bytes(cache_json))
        storage.copy(cache_wav, job_wav)
        synthesized = False
    else:
        audio = synthesize_slide(segments, backend, speed=settings.speed)
        info = {"duration": audio.duration, "cues": [_cue_json(c) for c in audio.cues]}
        with tempfile.TemporaryDirectory(prefix="deck2video-speak-") as tmp:
            wav = Path(tmp) / "slide.wav"
            write_wav(wav, audio.samples)
            storage.upload(wav, cache_wav)
            storage.write_bytes(cache_json, json.dumps(info).encode())
            storage.upload(wav, job_wav)
        synthesized = True
    result = {
        **info,
        "number": number,
        "key": key,
        "synthesized": synthesized,
        "seconds": round(time.perf_counter() - started, 3),
    }
    storage.write_bytes(
        storage.join(job_url, slide_file("audio", number, ".json")), json.dumps(result).encode()
    )
    return SpeakResult(number, info["duration"], synthesized)


def _cue_json(cue: Cue) -> list:
    return [round(cue.start, 4), round(cue.end, 4), cue.text]


def assemble(job_url: str) -> dict:
    """Stills + narration -> output/video.mp4 and captions; folds the speech results in."""
    manifest = manifests.load(job_url)
    settings = JobSettings.from_dict(manifest.settings)
    limits = Limits.from_env()
    with (
        stage(job_url, manifest, "assemble", "assembling_video") as record,
        tempfile.TemporaryDirectory(prefix="deck2video-assemble-") as tmp,
    ):
        work = Path(tmp)
        clips, speech_seconds = [], 0.0
        for slide in manifest.slides:
            result = _speech_result(job_url, slide.number)
            slide.audio_key = result["key"]
            slide.duration = round(result["duration"], 3)
            slide.synthesized = result["synthesized"]
            speech_seconds += result.get("seconds", 0.0)
            clips.append(
                SlideClip(
                    image=storage.download(
                        storage.join(job_url, slide_file("slides", slide.number, ".png")),
                        work / slide_file("slides", slide.number, ".png"),
                    ),
                    audio=storage.download(
                        storage.join(job_url, slide_file("audio", slide.number, ".wav")),
                        work / slide_file("audio", slide.number, ".wav"),
                    ),
                    title=slide.title,
                    cues=tuple(Cue(*cue) for cue in result["cues"]),
                )
            )
        manifest.stages["speak"] = StageRecord(
            status="done",
            seconds=round(speech_seconds, 3),
            detail={
                "synthesized": sum(1 for s in manifest.slides if s.synthesized),
                "cached": sum(1 for s in manifest.slides if not s.synthesized),
            },
        )
        video = assemble_video(
            clips,
            work / "output",
            padding=settings.padding,
            min_slide_seconds=settings.min_slide_seconds,
            timeout=limits.ffmpeg_timeout,
        )
        for slide, (start, end) in zip(manifest.slides, video.intervals, strict=True):
            slide.start, slide.end = round(start, 3), round(end, 3)
        storage.upload(video.vtt, storage.join(job_url, "output/captions.vtt"))
        storage.upload(video.srt, storage.join(job_url, "output/captions.srt"))
        storage.upload(video.path, storage.join(job_url, "output/video.mp4"))
        record.detail["video_seconds"] = round(video.duration, 3)
    return {"video_seconds": video.duration, "slides": len(clips)}


def _speech_result(job_url: str, number: int) -> dict:
    url = storage.join(job_url, slide_file("audio", number, ".json"))
    if not storage.exists(url):
        raise ProcessingError(f"job {job_url}: slide {number} has no narration yet ({url})")
    return json.loads(storage.read_bytes(url))


def publish(job_url: str) -> PublishResult:
    """Copy the finished video and captions to the output location; the video goes last."""
    manifest = manifests.load(job_url)
    out_url = manifest.outputs["video"]
    result = PublishResult(out_url, sibling_url(out_url, ".vtt"), sibling_url(out_url, ".srt"))
    with stage(job_url, manifest, "publish", "assembling_video"):
        storage.copy(storage.join(job_url, "output/captions.vtt"), result.vtt_url)
        storage.copy(storage.join(job_url, "output/captions.srt"), result.srt_url)
        storage.copy(storage.join(job_url, "output/video.mp4"), result.video_url)
        manifest.outputs.update(captions_vtt=result.vtt_url, captions_srt=result.srt_url)
    manifest.set_status("completed", stage="publish")
    manifests.save(job_url, manifest)
    return result


# --- the whole job in one process --------------------------------------------------------

Progress = Callable[[str, int, int], None]  # (step, done, total)


def run(
    deck_url: str,
    voice_url: str,
    *,
    out_url: str,
    root_url: str | None = None,
    settings: JobSettings | None = None,
    limits: Limits | None = None,
    lexicon_url: str | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Run every step for one deck, in this process (the CLI's ``run`` and ``make demo``)."""
    notify = progress or (lambda step, done, total: None)
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args):
        started = time.perf_counter()
        value = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return value

    notify("prepare", 0, 1)
    plan = timed(
        "prepare",
        lambda: prepare(
            deck_url,
            voice_url,
            out_url=out_url,
            root_url=root_url,
            settings=settings,
            limits=limits,
            lexicon_url=lexicon_url,
        ),
    )
    notify("prepare", 1, 1)
    timed("prepare_voice", prepare_voice, plan.job_url)
    total = len(plan.slides)
    for done, slide in enumerate(plan.slides, start=1):
        timed("speak", speak_slide, plan.job_url, slide.number)
        notify("speak", done, total)
    notify("assemble", 0, 1)
    timed("assemble", assemble, plan.job_url)
    published = timed("publish", publish, plan.job_url)
    notify("assemble", 1, 1)

    manifest = manifests.load(plan.job_url)
    synthesized = sum(1 for s in manifest.slides if s.synthesized)
    return RunSummary(
        job_id=plan.job_id,
        job_url=plan.job_url,
        video_url=published.video_url,
        slides=total,
        video_seconds=manifest.stages["assemble"].detail["video_seconds"],
        narration_seconds=round(sum(s.duration or 0.0 for s in manifest.slides), 3),
        synthesized=synthesized,
        cached=total - synthesized,
        stage_seconds={k: round(v, 3) for k, v in timings.items()},
    )
