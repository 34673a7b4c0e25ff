"""Text to speech: narration segments -> one 24 kHz mono track per slide, with caption cues.

Backends sit behind the small :class:`Backend` protocol and load once per process (a model load
takes seconds; a slide takes a fraction of that). Imports of the TTS engines are lazy, so importing
this package (for its cache keys, say) loads none of them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from deck2video.audio import SAMPLE_RATE, silence, trim_edges
from deck2video.captions import Cue
from deck2video.errors import InputError
from deck2video.narration import Pause, Segment, Speech
from deck2video.procs import call_with_timeout

__all__ = [
    "SAMPLE_RATE",
    "Backend",
    "SlideAudio",
    "cache_key",
    "load_backend",
    "synthesize_slide",
]

# Bump when synthesize_slide lays audio out differently: it invalidates every cached slide.
FORMAT_VERSION = 1
# Silence kept at each end of a synthesized chunk, and the gap between two chunks in a row
# (a Pause segment replaces the gap: its length is exactly what the notes asked for).
EDGE_SECONDS = 0.08
SENTENCE_GAP_SECONDS = 0.3


class Backend(Protocol):
    name: str
    model_version: str  # changes whenever the same text would sound different

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        """Float32 mono samples at 24 kHz; ``speed`` > 1 speaks faster."""
        ...


def _load_piper(language: str) -> Backend:
    if language != "en":  # load_backend passes the primary subtag only
        raise InputError(
            f"backend piper speaks English only; language {language!r} needs the melo backend"
        )
    from deck2video.speech.piper import PiperBackend

    return PiperBackend.load()


def _load_melo(language: str) -> Backend:
    from deck2video.speech.melo import MeloBackend

    return MeloBackend.load(language)


_LOADERS: dict[str, Callable[[str], Backend]] = {"piper": _load_piper, "melo": _load_melo}
# Backends whose voice depends on the region ("en-gb" vs "en-us"); the others load one model
# per language.
_REGIONAL = frozenset({"melo"})
_LOAD_LOCK = threading.Lock()


def load_backend(name: str, language: str = "en") -> Backend:
    """The backend ``name`` for ``language`` (e.g. "en", "en-US"), loaded once per process."""
    name = name.strip().lower()
    if name not in _LOADERS:
        raise InputError(f"backend {name!r}: unknown (available: {', '.join(sorted(_LOADERS))})")
    tag = language.strip().replace("_", "-").lower()
    if name not in _REGIONAL:
        tag = tag.split("-")[0]
    with _LOAD_LOCK:  # two threads asking at once must not load the model twice
        return _cached_backend(name, tag)


@functools.cache
def _cached_backend(name: str, language: str) -> Backend:
    return _LOADERS[name](language)


@dataclass(frozen=True, eq=False)
class SlideAudio:
    samples: np.ndarray  # float32 mono @ 24 kHz
    cues: tuple[Cue, ...]  # one per spoken Speech segment, times within this audio

    @property
    def duration(self) -> float:
        return self.samples.size / SAMPLE_RATE


def synthesize_slide(
    segments: Sequence[Segment],
    backend: Backend,
    *,
    speed: float,
    call_timeout: float | None = None,
) -> SlideAudio:
    """Speak a slide's segments in order; Pause segments become exactly that much silence.

    Each spoken chunk is trimmed to a short lead-in/out so that chunk boundaries sound like
    sentence breaks rather than whatever padding the model happened to produce. A Speech whose
    text produces no sound (punctuation only) adds neither audio nor a cue. ``call_timeout``
    bounds each call of the backend (a ProcessingError past it).
    """
    if not speed > 0:
        raise InputError(f"setting speed: {speed} must be greater than 0")
    parts: list[np.ndarray] = []
    cues: list[Cue] = []
    position = 0  # samples so far
    after_speech = False
    for segment in segments:
        if isinstance(segment, Pause):
            part = silence(segment.seconds)
            after_speech = False
        elif isinstance(segment, Speech):
            spoken = _speak_one(backend, segment.text, speed, call_timeout)
            spoken = trim_edges(spoken, keep_seconds=EDGE_SECONDS)
            if spoken.size == 0:
                continue
            if after_speech:
                gap = silence(SENTENCE_GAP_SECONDS)
                parts.append(gap)
                position += gap.size
            start = position
            cues.append(Cue(start / SAMPLE_RATE, (start + spoken.size) / SAMPLE_RATE, segment.text))
            part = spoken.astype(np.float32, copy=False)
            after_speech = True
        else:
            raise TypeError(f"not a narration segment: {segment!r}")
        parts.append(part)
        position += part.size
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return SlideAudio(samples=samples, cues=tuple(cues))


def _speak_one(backend: Backend, text: str, speed: float, timeout: float | None) -> np.ndarray:
    if timeout is None:
        return backend.synthesize(text, speed=speed)
    return call_with_timeout(
        lambda: backend.synthesize(text, speed=speed),
        timeout=timeout,
        what=f"speech synthesis ({backend.name}, {len(text)} characters)",
    )


def cache_key(
    segments: Sequence[Segment],
    *,
    backend: Backend,
    speed: float,
    voice_sha256: str,
    take: int = 1,
) -> str:
    """Content address of a slide's audio: same key, same sound (up to the model's sampling).

    ``take`` > 1 asks for another recording of the same text: speech engines sample, so a new
    take sounds different and is cached beside the others. The first take's key leaves it out,
    so audio cached before takes existed is still found.
    """
    described: list[dict[str, float | str]] = []
    for segment in segments:
        if isinstance(segment, Pause):
            described.append({"pause": float(segment.seconds)})
        elif isinstance(segment, Speech):
            described.append({"speech": segment.text})
        else:
            raise TypeError(f"not a narration segment: {segment!r}")
    payload = {
        "format": FORMAT_VERSION,
        "sample_rate": SAMPLE_RATE,
        "backend": backend.name,
        "model_version": backend.model_version,
        "speed": float(speed),
        "voice_sha256": voice_sha256,
        "segments": described,
    }
    if take != 1:
        payload["take"] = int(take)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
