"""The prepare step: fetch and check the inputs, read the notes, render the slides, and write
the job's manifest. It decides the job's id, so it is the one step that takes input URLs."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deck2video import storage
from deck2video.config import Deployment, JobSettings, Limits
from deck2video.deck import Slide, open_deck
from deck2video.errors import InputError
from deck2video.fingerprint import file_sha256, visual_fingerprint
from deck2video.job.cache import CACHE_VERSION, get_or_put
from deck2video.job.layout import JobFolder, Store, numbered
from deck2video.job.state import load_manifest, save_manifest, stage, stage_done
from deck2video.manifest import Manifest, SlideRecord
from deck2video.narration import is_silent
from deck2video.pronounce import load_lexicon
from deck2video.render import render_slides
from deck2video.voice import AUDIO_SUFFIXES


@dataclass(frozen=True)
class SlidePlan:
    number: int  # position among the shown slides: names the job's files
    title: str
    source_index: int  # the deck's own (PowerPoint) slide number: what a user sees
    take: int = 1  # the take in the job's current video: a re-take stays until replaced


@dataclass(frozen=True)
class JobPlan:
    job_id: str
    job_url: str
    out_url: str
    slides: tuple[SlidePlan, ...]


@dataclass(frozen=True)
class Inputs:
    """The job's inputs, fetched into a local folder (None: over its size limit, not fetched)."""

    deck: Path | None
    deck_sha: str
    voice: Path | None
    voice_sha: str
    lexicon: Path | None
    lexicon_sha: str


def job_id_for(deck_name: str, *parts: str) -> str:
    """Stable id: a readable deck name plus a hash of the content and settings."""
    stem = re.sub(r"[^a-z0-9]+", "-", PurePosixPath(deck_name).stem.lower()).strip("-")[:40]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"{stem or 'deck'}-{digest}"


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
    deployment = Deployment.from_env()
    settings = settings or JobSettings()
    limits = limits or deployment.limits
    store = Store(root_url or deployment.root_url)
    if not storage.parse(out_url).key.endswith(".mp4"):
        raise InputError(f"output URL {out_url}: must name an .mp4 file")
    deck_name = PurePosixPath(storage.parse(deck_url).key).name
    voice_suffix = PurePosixPath(storage.parse(voice_url).key).suffix.lower()

    with tempfile.TemporaryDirectory(prefix="deck2video-prepare-") as tmp:
        work = Path(tmp)
        # Keep the user's file name: stage errors name the file they were given.
        inputs = Inputs(
            *_fetch(deck_url, work / "deck" / deck_name, limits.max_deck_bytes),
            *_fetch(voice_url, work / f"voice{voice_suffix or '.bin'}", limits.max_voice_bytes),
            *_fetch(lexicon_url, work / "lexicon.txt", limits.max_lexicon_bytes),
        )
        settings_json = json.dumps(settings.to_dict(), sort_keys=True)
        job = store.job(
            job_id_for(
                deck_name, inputs.deck_sha, inputs.voice_sha, settings_json, inputs.lexicon_sha
            )
        )
        existing = _load_if_prepared(job)
        if existing is not None:
            existing.outputs["video"] = out_url
            save_manifest(job, existing)
            return _plan(existing, job)

        manifest = Manifest(
            job_id=job.job_id,
            settings=settings.to_dict(),
            root_url=store.url,
            deck={"url": deck_url, "name": deck_name, "sha256": inputs.deck_sha},
            voice={"url": voice_url, "sha256": inputs.voice_sha, "suffix": voice_suffix},
            lexicon={"url": lexicon_url, "sha256": inputs.lexicon_sha} if lexicon_url else {},
            outputs={"video": out_url},
        )
        with stage(job, manifest, "prepare", "processing_slides") as record:
            _store_inputs(job, manifest, inputs, settings, limits)
            shown = _read_slides(job, manifest, inputs.deck, settings, limits)
            record.detail["render_cached"] = _render_into_job(
                inputs.deck, job, settings, limits, expected=len(shown), work=work
            )
    manifest.set_status("synthesizing_audio", stage="prepare")
    save_manifest(job, manifest)
    return _plan(manifest, job)


def _fetch(url: str | None, dest: Path, max_bytes: int) -> tuple[Path | None, str]:
    """Download an input; an oversize one is not downloaded (None) but still gets an id."""
    if url is None:
        return None, ""
    size = storage.size(url)
    if size > max_bytes:
        return None, hashlib.sha256(f"oversize\0{url}\0{size}".encode()).hexdigest()
    path = storage.download(url, dest)
    return path, file_sha256(path)


def _store_inputs(
    job: JobFolder, manifest: Manifest, inputs: Inputs, settings: JobSettings, limits: Limits
) -> None:
    """Keep the inputs in the job folder, refusing oversize ones and what is not audio."""
    deck_url, voice_url = manifest.deck["url"], manifest.voice["url"]
    suffix = manifest.voice["suffix"]
    if inputs.deck is None:
        raise InputError(f"deck {deck_url}: larger than the {_mib(limits.max_deck_bytes)} limit")
    if inputs.voice is None:
        raise InputError(
            f"voice recording {voice_url}: larger than the {_mib(limits.max_voice_bytes)} limit"
        )
    storage.upload(inputs.deck, job.deck)
    storage.upload(inputs.voice, job.voice_input(suffix))
    if suffix not in AUDIO_SUFFIXES:
        raise InputError(
            f"voice recording {voice_url}: {suffix or 'no extension'} is not an "
            f"audio format ({', '.join(AUDIO_SUFFIXES)})"
        )
    if manifest.lexicon:
        lexicon_url = manifest.lexicon["url"]
        if inputs.lexicon is None:
            limit = _mib(limits.max_lexicon_bytes)
            raise InputError(f"lexicon {lexicon_url}: larger than the {limit} limit")
        load_lexicon(inputs.lexicon, settings.language, name=lexicon_url)  # refuse early
        storage.upload(inputs.lexicon, job.lexicon)


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _read_slides(
    job: JobFolder, manifest: Manifest, deck_path: Path, settings: JobSettings, limits: Limits
) -> list[Slide]:
    """The shown slides into the manifest, and each one's notes into the job folder."""
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
        storage.write_bytes(job.notes(n), slide.notes.encode())
    return shown


def _load_if_prepared(job: JobFolder) -> Manifest | None:
    """A job with the same id already rendered the same deck: reuse it as it is."""
    if not storage.exists(job.manifest):
        return None
    manifest = load_manifest(job)
    return manifest if stage_done(manifest, "prepare") else None


def _plan(manifest: Manifest, job: JobFolder) -> JobPlan:
    return JobPlan(
        job_id=manifest.job_id,
        job_url=job.url,
        out_url=manifest.outputs["video"],
        slides=tuple(SlidePlan(s.number, s.title, s.source_index, s.take) for s in manifest.slides),
    )


def _render_into_job(
    deck_path: Path,
    job: JobFolder,
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
                settings.resolution,
                str(settings.include_hidden),
            )
        ).encode()
    ).hexdigest()

    def render() -> dict[str, Path | bytes]:
        images = render_slides(
            deck_path,
            work / "slides",
            expected=expected,
            include_hidden=settings.include_hidden,
            width=settings.width,
            height=settings.height,
            timeout=limits.soffice_timeout,
        )
        stills = {numbered(n, ".png"): image for n, image in enumerate(images, start=1)}
        return {**stills, "complete": str(expected).encode()}

    entry = job.store.cache.slides(key, expected)
    copy_to = {numbered(n, ".png"): job.slide(n) for n in range(1, expected + 1)}
    return get_or_put(entry, render, copy_to=copy_to).hit
