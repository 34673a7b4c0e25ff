"""Voice matching without a converter: the base voice's pitch and vocal-tract length moved
towards the presenter's, on the CPU, with Praat (praat-parselmouth).

Two traits of a voice are cheap to measure and to change: its pitch (median and spread of F0 over
voiced frames) and its vocal-tract length, measured as the average spacing of its formants (a
uniform tube closed at the glottis resonates at odd multiples of ``ΔF = c / 2L``, so
``F_i = (i - 1/2) ΔF``). The reference recording is measured once (cached with its embedding), the
base voice once per model; each slide's speech is then moved by Praat's "Change gender" (PSOLA
pitch change, formant shift by resampling) with the ratios between them, bounded so that a bad
estimate cannot make a cartoon voice. Never on top of a conversion: a converter already gives the
presenter's timbre.

Why Praat rather than the WORLD vocoder (pyworld): on a 10 s Piper sentence (1.0 CPU-s to speak)
Praat's change costs 0.12 CPU-s, inside the 15% bound; WORLD's analysis and resynthesis
(dio, cheaptrick, d4c, synthesize) cost 0.65 CPU-s, and its latest release has no wheel for
current Pythons.
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from deck2video.audio import SAMPLE_RATE
from deck2video.errors import ProcessingError

if TYPE_CHECKING:
    from deck2video.speech import Backend

__all__ = ["MATCH_VERSION", "Match", "MatchedBackend", "VoiceTraits", "match_voice", "measure"]

# Bump when the same traits would move a voice differently: cached slides are keyed on it.
MATCH_VERSION = 1
EXTRA = "piper"  # praat-parselmouth comes with the CPU speech extra
# Praat's pitch search range: the lowest bass to a child's voice.
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 60.0, 600.0
# Praat's formant analysis: five formants under 5.5 kHz (its default, meant for any adult voice).
FORMANTS, FORMANT_CEILING_HZ = 5, 5500.0
SPACING_FORMANTS = 4  # F1..F4 give the spacing estimate
# Too little voiced speech gives no stable traits (a second at 10 ms frames).
MIN_VOICED_FRAMES = 100
# Bounds on the change: an octave of pitch either way, a range factor of 2, and a formant shift
# of 25% (Praat's manual: 1.1 to 1.2 takes an adult male voice to a female one).
PITCH_RATIO_BOUNDS = (0.5, 2.0)
RANGE_FACTOR_BOUNDS = (0.5, 2.0)
FORMANT_RATIO_BOUNDS = (0.8, 1.25)
# Changes smaller than these are not heard (a semitone's 6%, formants' 3%): left alone.
MIN_PITCH_CHANGE, MIN_FORMANT_CHANGE = 0.03, 0.03


@dataclass(frozen=True)
class VoiceTraits:
    """What is measured of a voice: its pitch, and its vocal-tract length as formant spacing."""

    pitch_hz: float  # median F0 over voiced frames
    # Semitones: F0's spread over voiced frames, as the interquartile range over 1.349 (the
    # standard deviation of a normal spread), which the tracker's octave jumps do not inflate.
    pitch_spread: float
    formant_spacing_hz: float  # ΔF; a longer vocal tract (a larger speaker) has a smaller one
    voiced_seconds: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VoiceTraits:
        return cls(**{k: float(data[k]) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Match:
    """Praat's "Change gender" settings that move the base voice towards the presenter."""

    formant_ratio: float  # > 1: a shorter vocal tract
    pitch_hz: float  # the new median
    range_factor: float  # > 1: more pitch movement

    @classmethod
    def between(cls, base: VoiceTraits, reference: VoiceTraits) -> Match:
        """The change from ``base`` to ``reference``, each ratio within its bounds."""
        pitch = _bounded(reference.pitch_hz / base.pitch_hz, PITCH_RATIO_BOUNDS)
        spread = _bounded(reference.pitch_spread / base.pitch_spread, RANGE_FACTOR_BOUNDS)
        formants = _bounded(
            reference.formant_spacing_hz / base.formant_spacing_hz, FORMANT_RATIO_BOUNDS
        )
        return cls(
            formant_ratio=round(formants, 3),
            pitch_hz=round(base.pitch_hz * pitch, 1),
            range_factor=round(spread, 3),
        )

    def is_audible(self, base: VoiceTraits) -> bool:
        """Whether the change is large enough to be heard (else it is not worth its cost)."""
        return (
            abs(math.log(self.pitch_hz / base.pitch_hz)) >= MIN_PITCH_CHANGE
            or abs(math.log(self.formant_ratio)) >= MIN_FORMANT_CHANGE
        )

    @property
    def version(self) -> str:
        change = f"f{self.formant_ratio:g}-p{self.pitch_hz:g}-r{self.range_factor:g}"
        return f"match{MATCH_VERSION}-{change}"

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def measure(samples: np.ndarray) -> VoiceTraits | None:
    """The traits of the speech in ``samples`` (24 kHz); None with too little voiced speech."""
    sound = _sound(samples)
    pitch = sound.to_pitch_ac(pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    f0 = pitch.selected_array["frequency"]
    times = pitch.xs()
    voiced = f0 > 0
    if voiced.sum() < MIN_VOICED_FRAMES:
        return None
    formant = sound.to_formant_burg(
        max_number_of_formants=FORMANTS, maximum_formant=FORMANT_CEILING_HZ
    )
    spacing = _formant_spacing(formant, times[voiced])
    if spacing is None:
        return None
    quartiles = np.percentile(12.0 * np.log2(f0[voiced]), [25, 75])
    return VoiceTraits(
        pitch_hz=float(np.median(f0[voiced])),
        pitch_spread=float(quartiles[1] - quartiles[0]) / 1.349,
        formant_spacing_hz=spacing,
        voiced_seconds=float(voiced.sum()) * pitch.time_step,
    )


def _formant_spacing(formant: Any, times: np.ndarray) -> float | None:
    """Median over voiced frames of each frame's least-squares ΔF from F1..F4."""
    order = np.arange(1, SPACING_FORMANTS + 1) - 0.5
    found = np.array(
        [[formant.get_value_at_time(i, t) for i in range(1, SPACING_FORMANTS + 1)] for t in times]
    )
    whole = np.isfinite(found).all(axis=1)
    if whole.sum() < MIN_VOICED_FRAMES // 2:
        return None
    per_frame = found[whole] @ order / float(order @ order)
    return float(np.median(per_frame))


def match_voice(samples: np.ndarray, match: Match) -> np.ndarray:
    """``samples`` (24 kHz) in the matched voice: same length, same timing (captions hold)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size < SAMPLE_RATE // 10:  # too short for a pitch analysis: left as it is
        return samples
    changed = _praat().call(
        _sound(samples),
        "Change gender",
        PITCH_FLOOR_HZ,
        PITCH_CEILING_HZ,
        match.formant_ratio,
        match.pitch_hz,
        match.range_factor,
        1.0,  # duration factor: timing unchanged
    )
    out = np.asarray(changed.values[0], dtype=np.float32)
    if out.size >= samples.size:
        out = out[: samples.size]
    else:
        out = np.pad(out, (0, samples.size - out.size))
    return np.nan_to_num(out).clip(-1.0, 1.0)


class MatchedBackend:
    """A base backend whose speech comes out matched to the presenter's pitch and formants.

    A Backend itself, so ``synthesize_slide`` and ``cache_key`` work unchanged: the model
    version names the change (the presenter is already in ``cache_key``'s ``voice_sha256``).
    """

    def __init__(self, base: Backend, match: Match) -> None:
        self.base = base
        self.match = match
        self.name = base.name
        self.model_version = f"{base.model_version}+{match.version}"

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        return match_voice(self.base.synthesize(text, speed=speed), self.match)


def _bounded(ratio: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return min(high, max(low, ratio)) if math.isfinite(ratio) else 1.0


def _sound(samples: np.ndarray) -> Any:
    return _parselmouth().Sound(np.asarray(samples, dtype=np.float64), float(SAMPLE_RATE))


@functools.cache
def _parselmouth() -> Any:
    try:
        return importlib.import_module("parselmouth")
    except ImportError:
        raise ProcessingError(
            f"voice matching: praat-parselmouth is not installed; it comes with the '{EXTRA}' "
            f"extra (pip install 'deck2video[{EXTRA}]', or make install)"
        ) from None


def _praat() -> Any:
    _parselmouth()
    return importlib.import_module("parselmouth.praat")
