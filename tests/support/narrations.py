"""Bad narrations, as a broken converter or a garbled take leaves them, and a way to put one in
a job the way its speak step would have: through the audio cache, under the slide's own key."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from deck2video import storage
from deck2video.audio import SAMPLE_RATE, write_wav
from deck2video.config import JobSettings
from deck2video.job import JobFolder, load_manifest
from deck2video.job.cache import get_or_put
from deck2video.job.speak import narrator
from deck2video.narration import narrate
from deck2video.speech import cache_key


def white_noise(seconds: float, level: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.0, level, round(seconds * SAMPLE_RATE)), -1, 1).astype(np.float32)


def seed_narration(job: JobFolder, number: int, samples: np.ndarray) -> str:
    """Store ``samples`` in the audio cache as slide ``number``'s narration (one caption over
    all of it), so that its speak step copies them instead of synthesizing. Returns the key."""
    manifest = load_manifest(job)
    settings = JobSettings.from_dict(manifest.settings)
    notes = storage.read_bytes(job.notes(number)).decode()
    segments = narrate(notes, settings.silence_seconds)
    key = cache_key(
        segments,
        backend=narrator(job, manifest, settings),
        speed=settings.speed,
        voice_sha256=manifest.voice["sha256"],
    )
    duration = samples.size / SAMPLE_RATE
    info = {"duration": duration, "cues": [[0.0, round(duration, 4), notes.strip()]]}
    with tempfile.TemporaryDirectory(prefix="deck2video-test-") as tmp:
        wav = Path(tmp) / "slide.wav"
        write_wav(wav, samples)
        get_or_put(
            job.store.cache.audio(key), lambda: {"wav": wav, "info": json.dumps(info).encode()}
        )
    return key
