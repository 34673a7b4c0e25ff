"""The speech stage: the real Piper model, slide layout, cache keys and WAV I/O."""

from __future__ import annotations

import numpy as np
import pytest

from deck2video.audio import SAMPLE_RATE
from deck2video.errors import InputError
from deck2video.narration import Pause, Speech
from deck2video.speech import (
    SENTENCE_GAP_SECONDS,
    Backend,
    cache_key,
    load_backend,
    synthesize_slide,
)

SENTENCE = "Welcome to the quarterly review, where we look at revenue, costs and next year's plan."
VOICE = "a" * 64


@pytest.fixture(scope="module")
def piper() -> Backend:
    return load_backend("piper", "en")


class ToneBackend:
    """A deterministic stand-in speaker (the layout tests need exact lengths; Piper is random):
    0.01 s of a 440 Hz square wave per character, framed by 0.2 s of silence like a TTS model's."""

    name = "tone"

    def __init__(self, model_version: str = "1") -> None:
        self.model_version = model_version

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        t = np.arange(round(len(text) * 0.01 / speed * SAMPLE_RATE)) / SAMPLE_RATE
        tone = np.where(np.sin(2 * np.pi * 440 * t) >= 0, 0.5, -0.5)  # square: no quiet samples
        pad = np.zeros(round(0.2 * SAMPLE_RATE))
        return np.concatenate([pad, tone, pad]).astype(np.float32)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


# --- backends ---------------------------------------------------------------------------------


def test_backend_loads_once_per_process(piper: Backend) -> None:
    assert load_backend("piper") is piper
    assert load_backend("Piper", "en-US") is piper
    assert piper.name == "piper"
    assert len(piper.model_version) == 16
    int(piper.model_version, 16)


def test_piper_loads_its_model_without_graph_rewrites(piper: Backend) -> None:
    import onnxruntime

    # A speech task pays the load once per task; the rewrites gave this model no speed.
    options = piper._voice.session.get_session_options()  # type: ignore[attr-defined]
    assert options.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL


def test_piper_refuses_other_languages() -> None:
    with pytest.raises(
        InputError,
        match=r"^backend piper speaks English only; language 'fr' needs the melo backend$",
    ):
        load_backend("piper", "fr")


def test_unknown_backend() -> None:
    with pytest.raises(InputError, match=r"^backend 'espeak': unknown \(available: melo, piper\)$"):
        load_backend("espeak")


def test_piper_speaks_a_sentence(piper: Backend) -> None:
    audio = piper.synthesize(SENTENCE, speed=1.0)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    seconds = audio.size / SAMPLE_RATE
    words = len(SENTENCE.split())
    assert words / 5.0 < seconds < words / 1.5  # between 1.5 and 5 words a second
    assert rms(audio) > 0.02
    assert np.max(np.abs(audio)) <= 1.0


def test_piper_speed_changes_length(piper: Backend) -> None:
    normal = piper.synthesize(SENTENCE, speed=1.0).size
    fast = piper.synthesize(SENTENCE, speed=1.5).size
    slow = piper.synthesize(SENTENCE, speed=0.75).size
    # Not exactly 1/speed: Piper rounds each phoneme up to whole frames and draws durations at
    # random (measured ratios: 0.73-0.77 and 1.15-1.28).
    assert fast < 0.85 * normal
    assert slow > 1.08 * normal


def test_piper_unspeakable_text_gives_no_audio(piper: Backend) -> None:
    assert piper.synthesize("...", speed=1.0).size == 0


# --- slides -----------------------------------------------------------------------------------


def test_pauses_are_exact_silence() -> None:
    audio = synthesize_slide([Pause(1.5), Pause(0.25)], ToneBackend(), speed=1.0)
    assert audio.samples.size == round(1.75 * SAMPLE_RATE)
    assert audio.duration == pytest.approx(1.75)
    assert not audio.samples.any()
    assert audio.cues == ()
    assert synthesize_slide([], ToneBackend(), speed=1.0).duration == 0.0


def test_layout_trims_chunk_edges_and_keeps_pauses_whole() -> None:
    backend = ToneBackend()
    first, second, third = "First sentence here.", "Second one.", "Third and last."
    audio = synthesize_slide(
        [Speech(first), Pause(1.0), Speech(second), Speech(third)], backend, speed=1.0
    )
    edge = round(0.08 * SAMPLE_RATE)  # what is left of each chunk's 0.2 s framing silence
    sizes = [round(len(text) * 0.01 * SAMPLE_RATE) + 2 * edge for text in (first, second, third)]
    pause, gap = SAMPLE_RATE, round(SENTENCE_GAP_SECONDS * SAMPLE_RATE)
    assert audio.samples.size == sizes[0] + pause + sizes[1] + gap + sizes[2]

    starts = [0, sizes[0] + pause, sizes[0] + pause + sizes[1] + gap]
    assert [c.text for c in audio.cues] == [first, second, third]
    for cue, start, size in zip(audio.cues, starts, sizes, strict=True):
        assert cue.start == pytest.approx(start / SAMPLE_RATE)
        assert cue.end == pytest.approx((start + size) / SAMPLE_RATE)
    # The pause is untouched silence between the first two chunks.
    between = audio.samples[sizes[0] - edge : sizes[0] + pause + edge]
    assert between.size == pause + 2 * edge
    assert not between.any()


def test_slide_with_piper_has_ordered_cues_inside_the_audio(piper: Backend) -> None:
    texts = ["Hello and welcome.", "This slide shows our plan for next year.", "Any questions?"]
    segments = [Speech(texts[0]), Pause(1.0), Speech(texts[1]), Speech(texts[2]), Pause(0.5)]
    audio = synthesize_slide(segments, piper, speed=1.0)

    assert audio.samples.dtype == np.float32
    assert [c.text for c in audio.cues] == texts
    previous_end = 0.0
    for cue in audio.cues:
        assert previous_end <= cue.start < cue.end <= audio.duration
        spoken = audio.samples[round(cue.start * SAMPLE_RATE) : round(cue.end * SAMPLE_RATE)]
        assert rms(spoken) > 0.02
        previous_end = cue.end
    # The first pause lies between the first two cues, the last one ends the slide.
    assert audio.cues[1].start - audio.cues[0].end >= 1.0 - 1e-9
    assert not audio.samples[round(audio.cues[0].end * SAMPLE_RATE) :][:SAMPLE_RATE].any()
    assert audio.duration - audio.cues[-1].end == pytest.approx(0.5, abs=1e-4)


def test_zero_speed_is_refused() -> None:
    with pytest.raises(InputError, match="speed"):
        synthesize_slide([Speech("Hi there.")], ToneBackend(), speed=0)


# --- cache keys -------------------------------------------------------------------------------


def key(segments, backend: Backend | None = None, speed: float = 1.0, voice: str = VOICE) -> str:
    return cache_key(segments, backend=backend or ToneBackend(), speed=speed, voice_sha256=voice)


def test_cache_key_is_stable() -> None:
    base = key([Speech("Hello there."), Pause(1.0)])
    assert len(base) == 64
    assert int(base, 16) >= 0
    assert key([Speech("Hello there."), Pause(1)]) == base  # new objects, 1 == 1.0
    assert key([Speech("Hello there."), Pause(1.0)], speed=1) == base


@pytest.mark.parametrize(
    "changed",
    [
        {"segments": [Speech("Hello there!"), Pause(1.0)]},
        {"segments": [Speech("Hello there."), Pause(1.5)]},
        {"segments": [Pause(1.0), Speech("Hello there.")]},
        {"segments": [Speech("Hello there.")]},
        {"speed": 1.25},
        {"voice": "b" * 64},
        {"backend": ToneBackend(model_version="2")},
    ],
    ids=["text", "pause", "order", "missing-pause", "speed", "voice", "model"],
)
def test_cache_key_changes_with_what_is_heard(changed: dict) -> None:
    arguments = {"segments": [Speech("Hello there."), Pause(1.0)]} | changed
    assert key(**arguments) != key([Speech("Hello there."), Pause(1.0)])


def test_each_take_has_its_own_key_and_the_first_keeps_the_old_one() -> None:
    segments = [Speech("Hello there.")]
    first = key(segments)
    takes = [
        cache_key(segments, backend=ToneBackend(), speed=1.0, voice_sha256=VOICE, take=take)
        for take in (1, 2, 3)
    ]
    assert takes[0] == first  # audio cached before re-takes existed is still found
    assert len(set(takes)) == 3
