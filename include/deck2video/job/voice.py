"""The prepare_voice step: the reference recording -> a clean clip, and (where this deployment
clones voices) the presenter's speaker embedding, computed once per recording and converter."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from deck2video import storage
from deck2video.config import Deployment
from deck2video.errors import InputError
from deck2video.job.cache import Cached, Content, get_or_put
from deck2video.job.layout import JobFolder
from deck2video.job.state import load_manifest, stage, stage_done
from deck2video.manifest import Manifest
from deck2video.procs import scratch
from deck2video.speech.embedding import embedding_cache_key, embedding_to_bytes, extract_embedding
from deck2video.speech.narrator import find_converter
from deck2video.speech.weights import Converter
from deck2video.voice import prepare_reference


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
    return manifest.voice


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
