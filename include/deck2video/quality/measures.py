"""What is measured on one slide's narration: speaker similarity, DNSMOS, pace (words over
speech time, the longest silence no ``[PAUSE]`` asked for), clipping and speech level.

Speech and silence are the 20 ms frames of :func:`deck2video.audio.speech_frames`, the same
detector that cleans the reference recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deck2video.audio import (
    FRAME_SAMPLES,
    FRAME_SECONDS,
    SAMPLE_RATE,
    frame_count,
    frame_mask,
    frame_runs,
    frames_audio,
    middle,
    speech_frames,
    speech_level_db,
)
from deck2video.captions import Cue
from deck2video.errors import ProcessingError
from deck2video.manifest import SlideQuality
from deck2video.narration import Pause, Segment, Speech
from deck2video.quality.models import (
    DNSMOS_SECONDS,
    Models,
    dnsmos_p808,
    dnsmos_p835,
    similarity,
    speaker_embedding,
)

# Bump when a score would come out differently for the same audio: cached scores are keyed on it.
# 3: one speech detector with the reference's cleaning (steady noise is no speech).
QUALITY_VERSION = 3
SPEAKER_SECONDS = 8.0  # of speech: enough for a stable embedding, a bounded cost
REFERENCE_SECONDS = 60.0  # of the reference recording's speech (once per recording)
# Silences shorter than this are part of speaking (between words), longer ones are pauses.
MIN_PAUSE_SECONDS = 0.25
# A 16-bit sample at (or within rounding of) full scale.
FULL_SCALE = 1.0 - 1e-4


@dataclass(frozen=True, eq=False)
class Narration:
    """One slide's audio and what the notes asked of it."""

    samples: np.ndarray  # float32 mono at SAMPLE_RATE
    words: int  # words spoken (numbers and abbreviations as they are said)
    asked_silences: tuple[tuple[float, float], ...] = ()  # [start, end) seconds of [PAUSE]s

    @property
    def duration(self) -> float:
        return self.samples.size / SAMPLE_RATE


def asked_silences(
    segments: Sequence[Segment], cues: Sequence[Cue], duration: float
) -> tuple[tuple[float, float], ...]:
    """Where the narration is silent because the notes say so: each Pause segment spans from the
    end of the speech before it to the start of the speech after it (or the slide's ends).

    Speech segments are matched to their cues by text, in order: a segment that produced no
    sound has no cue, and its pause then runs on to the next one that did.
    """
    spans: list[tuple[float, float]] = []
    previous_end, pause_from, index = 0.0, None, 0
    for segment in segments:
        if isinstance(segment, Pause):
            pause_from = previous_end if pause_from is None else pause_from
        elif isinstance(segment, Speech) and index < len(cues) and cues[index].text == segment.text:
            if pause_from is not None:
                spans.append((pause_from, cues[index].start))
                pause_from = None
            previous_end = cues[index].end
            index += 1
    if pause_from is not None:
        spans.append((pause_from, duration))
    return tuple(spans)


def score(
    narration: Narration, reference: np.ndarray, models: Models, *, p835: bool = True
) -> SlideQuality:
    """Every measure of one slide's narration (``reference``: the presenter's embedding);
    ``p835=False`` leaves DNSMOS P.835 for later (:func:`dnsmos_p835`)."""
    samples = np.asarray(narration.samples, dtype=np.float32)
    loud = speech_frames(samples)
    silent = ~loud
    asked = _asked_frames(narration.asked_silences, silent.size)
    unasked = frame_runs(silent & ~asked, minimum=1)
    longest = max(unasked, key=lambda run: run[1] - run[0], default=None)
    speech = _speaking(silent)
    speech_seconds = float(speech.sum()) * FRAME_SECONDS
    has_speech = speech_seconds >= MIN_PAUSE_SECONDS and not silent.all()
    level = speech_level_db(samples, loud) if has_speech else None

    measured = SlideQuality(
        words=narration.words,
        speech_seconds=round(speech_seconds, 3),
        words_per_minute=_rate(narration.words, speech_seconds) if has_speech else None,
        longest_silence=round((longest[1] - longest[0]) * FRAME_SECONDS, 3) if longest else 0.0,
        longest_silence_at=round(longest[0] * FRAME_SECONDS, 3) if longest else None,
        clipping=round(float(np.mean(np.abs(samples) >= FULL_SCALE)) if samples.size else 0.0, 6),
        loudness_dbfs=None if level is None else round(level, 2),
    )
    if samples.size == 0:
        return measured
    voiced = frames_audio(samples, speech) if has_speech else samples[:0]
    window = _dnsmos_window(samples, asked)
    measured.dnsmos_p808 = dnsmos_p808(models, window)
    measured.dnsmos_seconds = round(window.size / SAMPLE_RATE, 3)
    if p835:
        add_p835(measured, dnsmos_p835(models, window))
    if voiced.size:
        sample = middle(voiced, SPEAKER_SECONDS * SAMPLE_RATE)
        found = speaker_embedding(models, sample)
        if found is not None:  # else the encoder hears no voice in it (noise, garble)
            measured.similarity = similarity(found, reference)
            measured.speaker_seconds = round(sample.size / SAMPLE_RATE, 3)
    return measured


def voice_embedding(models: Models, samples: np.ndarray, seconds: float) -> np.ndarray:
    """The speaker embedding of a recording (24 kHz): up to ``seconds`` of its speech, from the
    middle, its pauses left out."""
    samples = np.asarray(samples, dtype=np.float32)
    silent = ~speech_frames(samples)
    voiced = samples[:0] if silent.all() else frames_audio(samples, _speaking(silent))
    found = (
        speaker_embedding(models, middle(voiced, seconds * SAMPLE_RATE)) if voiced.size else None
    )
    if found is None:
        raise ProcessingError("speaker embedding: the recording has no voice in it")
    return found


def dnsmos_window(narration: Narration) -> np.ndarray:
    """What DNSMOS hears of a slide (24 kHz): one model window from the middle of its
    narration, the pauses the notes asked for left out."""
    samples = np.asarray(narration.samples, dtype=np.float32)
    if samples.size == 0:
        return samples
    frames = -(-samples.size // FRAME_SAMPLES)
    return _dnsmos_window(samples, _asked_frames(narration.asked_silences, frames))


def add_p835(measured: SlideQuality, scores: tuple[float, float, float]) -> None:
    measured.dnsmos_sig, measured.dnsmos_bak, measured.dnsmos_ovrl = scores


def _dnsmos_window(samples: np.ndarray, asked: np.ndarray) -> np.ndarray:
    return middle(frames_audio(samples, ~asked), DNSMOS_SECONDS * SAMPLE_RATE)


def _rate(words: int, speech_seconds: float) -> float | None:
    return round(words / speech_seconds * 60, 1) if words and speech_seconds else None


def _speaking(silent: np.ndarray) -> np.ndarray:
    """The frames that are not part of a pause (short silences between words are speech)."""
    return ~frame_mask(frame_runs(silent, minimum=frame_count(MIN_PAUSE_SECONDS)), silent.size)


def _asked_frames(spans: Sequence[tuple[float, float]], size: int) -> np.ndarray:
    runs = [(round(a / FRAME_SECONDS), round(b / FRAME_SECONDS)) for a, b in spans]
    return frame_mask(runs, size)
