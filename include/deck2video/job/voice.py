"""The prepare_voice step: the reference recording -> a clean clip, and (where this deployment
clones voices) the presenter's speaker embedding, computed once per recording and converter;
where it does not, the presenter's pitch and formants and the base voice's (each measured once,
cached like the embedding), and the change that matches one to the other when the job asks.

``manifest.voice["spoken_by"]`` says which voice speaks the job (``deck2video.manifest``'s
``VOICE_CONVERTED``, ``VOICE_MATCHED`` or ``VOICE_BASE``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from deck2video import storage
from deck2video.audio import read_wav
from deck2video.config import Deployment, JobSettings
from deck2video.errors import Deck2VideoError, InputError
from deck2video.job.cache import Cached, Content, get_or_put
from deck2video.job.layout import JobFolder
from deck2video.job.state import load_manifest, stage, stage_done
from deck2video.manifest import VOICE_BASE, VOICE_CONVERTED, VOICE_MATCHED, Manifest
from deck2video.procs import scratch
from deck2video.speech.embedding import (
    CALIBRATION_TEXT,
    embedding_cache_key,
    embedding_to_bytes,
    extract_embedding,
)
from deck2video.speech.match import MATCH_VERSION, Match, VoiceTraits, measure
from deck2video.speech.narrator import find_converter
from deck2video.speech.weights import Converter
from deck2video.voice import prepare_reference

log = logging.getLogger(__name__)


def prepare_voice(job: JobFolder) -> dict:
    """Clean the reference recording once per job: voice/reference.wav."""
    manifest = load_manifest(job)
    if stage_done(manifest, "prepare_voice"):
        return manifest.voice
    limits = Deployment.from_env().limits
    with (
        stage(job, manifest, "prepare_voice", "synthesizing_audio"),
        scratch("voice") as tmp,
    ):
        suffix = manifest.voice["suffix"]
        source = storage.download(job.voice_input(suffix), tmp / f"source{suffix}")
        try:
            clip = prepare_reference(source, tmp / "reference.wav", limits=limits.tool("ffmpeg"))
        except InputError as error:  # name the user's URL, not our temporary copy
            raise InputError(str(error).replace(str(source), manifest.voice["url"])) from error
        storage.upload(clip.path, job.reference)
        manifest.voice.update(
            duration=round(clip.duration, 3), speech_seconds=round(clip.speech_seconds, 3)
        )
        converter = find_converter()
        if converter is not None:
            started = time.perf_counter()
            name, _, computed = ensure_embedding(job, manifest, converter, clip.path)
            manifest.voice["embedding"] = {
                "file": f"voice/{name}",
                "computed": computed,
                "seconds": round(time.perf_counter() - started, 3),
                "checkpoint_sha256": converter.checkpoint_sha256,
            }
            manifest.voice["spoken_by"] = VOICE_CONVERTED
        else:
            manifest.voice.update(plan_match(job, manifest, clip.path))
    return manifest.voice


def plan_match(job: JobFolder, manifest: Manifest, clip: Path) -> dict:
    """Without a converter: the traits of the presenter and of the base voice, and (where the
    job's ``match_voice`` asks and the difference is audible) the change between them."""
    settings = JobSettings.from_dict(manifest.settings)
    reference = voice_traits(
        job,
        f"traits-{manifest.voice['sha256'][:16]}-v{MATCH_VERSION}.json",
        lambda: read_wav(clip),
    )
    planned: dict = {"spoken_by": VOICE_BASE, "traits": {"reference": _as_dict(reference)}}
    if reference is None or not settings.match_voice:
        return planned
    from deck2video.speech import load_backend

    try:
        backend = load_backend(settings.backend, settings.language)
    except (Deck2VideoError, ImportError) as error:  # e.g. MeloTTS lives in the GPU image
        log.warning("voice matching: the base voice cannot be measured here (%s)", error)
        return planned
    described = f"{backend.name}\0{backend.model_version}"
    base = voice_traits(
        job,
        f"traits-base-{hashlib.sha256(described.encode()).hexdigest()[:24]}-v{MATCH_VERSION}.json",
        lambda: backend.synthesize(CALIBRATION_TEXT, speed=1.0),
    )
    planned["traits"]["base"] = _as_dict(base)
    if base is None:
        return planned
    match = Match.between(base, reference)
    if match.is_audible(base):
        planned.update(spoken_by=VOICE_MATCHED, match=match.to_dict())
    return planned


def voice_traits(job: JobFolder, name: str, speech: Callable[[], np.ndarray]) -> VoiceTraits | None:
    """The traits of a voice (None: too little voiced speech to tell), measured once: from the
    shared cache's voice/ folder, or measured on ``speech()`` now and stored there."""

    def compute() -> dict[str, bytes]:
        return {"embedding": json.dumps(_as_dict(measure(speech()))).encode()}

    found = json.loads(get_or_put(job.store.cache.voice(name), compute).marker)
    return None if found is None else VoiceTraits.from_dict(found)


def spoken_by(manifest: Manifest) -> str:
    """Which voice speaks the job (a job prepared before this was recorded: from its
    embedding)."""
    found = manifest.voice.get("spoken_by")
    if found is None:
        return VOICE_CONVERTED if "embedding" in manifest.voice else VOICE_BASE
    return str(found)


def voice_match(manifest: Manifest) -> Match | None:
    """The change prepare_voice planned for this job's speech; None: speak the base voice."""
    planned = manifest.voice.get("match")
    return None if planned is None else Match(**planned)


def _as_dict(traits: VoiceTraits | None) -> dict | None:
    return None if traits is None else traits.to_dict()


def ensure_embedding(
    job: JobFolder, manifest: Manifest, converter: Converter, reference: Path | None = None
) -> tuple[str, bytes, bool]:
    """The presenter's speaker embedding in the job's voice/ folder: from this job, from another
    job with the same recording and converter (the shared cache), or computed now.

    Returns its file name, its bytes and whether it was computed here.
    """
    name = embedding_cache_key(manifest.voice["sha256"], converter.checkpoint_sha256)

    def compute() -> dict[str, bytes]:
        with scratch("embedding") as tmp:
            clip = reference or storage.download(job.reference, tmp / "reference.wav")
            return {"embedding": embedding_to_bytes(extract_embedding(converter, clip))}

    cached = job_embedding(job, name, compute)
    return name, cached.marker, not cached.hit


def job_embedding(
    job: JobFolder, name: str, compute: Callable[[], Mapping[str, Content]]
) -> Cached:
    """A speaker embedding in the job's voice/ folder: this job's copy; else the shared cache's,
    copied in; else ``compute()``, stored in both. ``hit`` is False only when computed here."""
    job_copy = job.embedding(name)
    if storage.exists(job_copy):
        return Cached(storage.read_bytes(job_copy), hit=True)
    return get_or_put(job.store.cache.voice(name), compute, copy_to={"embedding": job_copy})
