"""Narration quality, measured on each slide's audio: does it sound like the presenter, is it
clean speech, is it paced right.

- speaker similarity: cosine of two speaker embeddings (resemblyzer's encoder, its weights in
  its wheel), the narration's against the cleaned reference recording's;
- DNSMOS (speechmos, ONNX models in its wheel): P.808's overall score on every slide, and P.835's
  signal, background and overall (1 to 5) where they matter, see below;
- pace: spoken words over speech time, and the longest silence that no ``[PAUSE]`` asked for;
- clipping (share of samples at full scale) and the speech level.

Cost is bounded per slide, whatever its length: DNSMOS hears one window of its models' input
length (9.01 s) from the middle of the slide, the speaker encoder at most
:data:`SPEAKER_SECONDS` of its speech, both in the calling thread (one core). P.835 costs 0.37
CPU-seconds a window here, as much as Piper takes to speak it, P.808 0.012: so every slide gets
P.808, and P.835 (:func:`dnsmos_p835`) is for the slides P.808 does not clear and a small sample
(the job step chooses them, :func:`needs_p835`). The models load once per process and never
download.
The mel spectrogram the encoder takes is computed here with numpy, the same one resemblyzer's
helper computes with librosa: importing librosa's feature module costs seconds per process.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deck2video.audio import SAMPLE_RATE, frame_levels_db, resample
from deck2video.captions import Cue
from deck2video.config import QualitySettings
from deck2video.errors import ProcessingError
from deck2video.manifest import JobQuality, SlideQuality, SlideRecord, WorstSlide
from deck2video.narration import Pause, Segment, Speech

# Bump when a score would come out differently for the same audio: cached scores are keyed on it.
QUALITY_VERSION = 2
EXTRA = "quality"  # pip install 'deck2video[quality]'

MODEL_RATE = 16_000  # both models hear 16 kHz
DNSMOS_SECONDS = 9.01  # the DNSMOS model's fixed input length
DNSMOS_SAMPLES = round(DNSMOS_SECONDS * MODEL_RATE)
# P.808 scores above P.835's overall: by 0.3 (silence) to 1.0 (white noise) on the audio the tests
# make, 0.55 on Piper. A slide whose P.808 is at least this far above the run's DNSMOS threshold
# passes it; any other is heard by P.835 too, and judged on that.
P835_SCREEN_MARGIN = 1.0
# Slides heard by P.835 whatever their P.808 (the first, middle and last spoken ones): the
# job's signal and background figures come from them.
P835_SAMPLE = 3
SPEAKER_SECONDS = 8.0  # of speech: enough for a stable embedding, a bounded cost
REFERENCE_SECONDS = 60.0  # of the reference recording's speech (once per recording)
# Fewer words than this give no meaningful rate ("Thank you."): recorded, not judged.
MIN_RATE_WORDS = 8
FRAME_SECONDS = 0.02
# A frame this far below the slide's loudest, or below the absolute floor, is silence.
SILENCE_BELOW_PEAK_DB = 40.0
SILENCE_FLOOR_DBFS = -60.0
# Silences shorter than this are part of speaking (between words), longer ones are pauses.
MIN_PAUSE_SECONDS = 0.25
# A 16-bit sample at (or within rounding of) full scale.
FULL_SCALE = 1.0 - 1e-4

# The models' mel front ends (librosa's melspectrogram: centred Hann windows, Slaney mels), as
# (FFT size, hop, bands): resemblyzer's 25 ms every 10 ms into 40 bands; DNSMOS P.808's 20 ms
# (321 samples) every 10 ms into 120 bands.
_ENCODER_MEL = (400, 160, 40)
_P808_MEL = (321, 160, 120)
# resemblyzer's embed_utterance defaults: overlapping 1.6 s partials, 1.3 a second, the last one
# kept when it is three-quarters full.
_PARTIALS_PER_SECOND = 1.3
_MIN_COVERAGE = 0.75


@dataclass(frozen=True)
class Models:
    encoder: Any  # resemblyzer.VoiceEncoder on the CPU
    dnsmos: Any  # speechmos.dnsmos.DNSMOS: its P.835 session and its calibration curves
    p808: Any  # onnxruntime session of DNSMOS P.808 (its input: a log-mel spectrogram)

    @property
    def version(self) -> str:
        return f"resemblyzer-{_version('resemblyzer')}+speechmos-{_version('speechmos')}"


_LOAD_LOCK = threading.Lock()


def load_models() -> Models:
    """The speaker encoder and DNSMOS, loaded once per process from their wheels."""
    with _LOAD_LOCK:
        return _load_models()


@functools.cache
def _load_models() -> Models:
    resemblyzer = _require("resemblyzer")
    dnsmos = _require("speechmos.dnsmos")
    import onnxruntime

    def single_thread_session(model: str) -> Any:
        # Scoring shares its machine with speech synthesis, which has the other cores.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        path = importlib.resources.files("speechmos") / "dnsmos_models" / model
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    class SingleThreadDNSMOS(dnsmos.DNSMOS):
        """speechmos's scorer (its calibration curves) on the P.835 model, in the calling
        thread; P.808 runs on its own session with our front end (see :func:`dnsmos_p808`)."""

        def __init__(self) -> None:
            self.primary_model_path = "sig_bak_ovr.onnx"
            self.onnx_sess = single_thread_session(self.primary_model_path)

    return Models(
        encoder=resemblyzer.VoiceEncoder("cpu", verbose=False),
        dnsmos=SingleThreadDNSMOS(),
        p808=single_thread_session("model_v8.onnx"),
    )


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ProcessingError(
            f"narration quality: {error.name or module} is not installed; it comes with the "
            f"'{EXTRA}' extra (pip install 'deck2video[{EXTRA}]', or make install)"
        ) from None


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# --- what a slide's narration is -----------------------------------------------------------------


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


# --- scoring -------------------------------------------------------------------------------------


def score(
    narration: Narration, reference: np.ndarray, models: Models, *, p835: bool = True
) -> SlideQuality:
    """Every measure of one slide's narration (``reference``: the presenter's embedding);
    ``p835=False`` leaves DNSMOS P.835 for later (:func:`dnsmos_p835`)."""
    samples = np.asarray(narration.samples, dtype=np.float32)
    silent = _silent_frames(samples)
    asked = _asked_frames(narration.asked_silences, silent.size)
    unasked = _runs(silent & ~asked, minimum=1)
    longest = max(unasked, key=lambda run: run[1] - run[0], default=None)
    speech = _speaking(silent)
    speech_seconds = float(speech.sum()) * FRAME_SECONDS
    has_speech = speech_seconds >= MIN_PAUSE_SECONDS and not silent.all()

    measured = SlideQuality(
        words=narration.words,
        speech_seconds=round(speech_seconds, 3),
        words_per_minute=_rate(narration.words, speech_seconds) if has_speech else None,
        longest_silence=round((longest[1] - longest[0]) * FRAME_SECONDS, 3) if longest else 0.0,
        longest_silence_at=round(longest[0] * FRAME_SECONDS, 3) if longest else None,
        clipping=round(float(np.mean(np.abs(samples) >= FULL_SCALE)) if samples.size else 0.0, 6),
        loudness_dbfs=_speech_level(samples, ~silent) if has_speech else None,
    )
    if samples.size == 0:
        return measured
    voiced = _frames_audio(samples, speech) if has_speech else samples[:0]
    window = _dnsmos_window(samples, asked)
    measured.dnsmos_p808 = dnsmos_p808(models, window)
    measured.dnsmos_seconds = round(window.size / SAMPLE_RATE, 3)
    if p835:
        add_p835(measured, dnsmos_p835(models, window))
    if voiced.size:
        sample = _middle(voiced, SPEAKER_SECONDS * SAMPLE_RATE)
        found = speaker_embedding(models, sample)
        if found is not None:  # else the encoder hears no voice in it (noise, garble)
            measured.similarity = similarity(found, reference)
            measured.speaker_seconds = round(sample.size / SAMPLE_RATE, 3)
    return measured


def voice_embedding(models: Models, samples: np.ndarray, seconds: float) -> np.ndarray:
    """The speaker embedding of a recording (24 kHz): up to ``seconds`` of its speech, from the
    middle, its pauses left out."""
    samples = np.asarray(samples, dtype=np.float32)
    silent = _silent_frames(samples)
    voiced = samples[:0] if silent.all() else _frames_audio(samples, _speaking(silent))
    found = (
        speaker_embedding(models, _middle(voiced, seconds * SAMPLE_RATE)) if voiced.size else None
    )
    if found is None:
        raise ProcessingError("speaker embedding: the recording has no voice in it")
    return found


def _rate(words: int, speech_seconds: float) -> float | None:
    return round(words / speech_seconds * 60, 1) if words and speech_seconds else None


def dnsmos_window(narration: Narration) -> np.ndarray:
    """What DNSMOS hears of a slide (24 kHz): one model window from the middle of its
    narration, the pauses the notes asked for left out."""
    samples = np.asarray(narration.samples, dtype=np.float32)
    if samples.size == 0:
        return samples
    return _dnsmos_window(
        samples, _asked_frames(narration.asked_silences, _silent_frames(samples).size)
    )


def _dnsmos_window(samples: np.ndarray, asked: np.ndarray) -> np.ndarray:
    return _middle(_frames_audio(samples, ~asked), DNSMOS_SECONDS * SAMPLE_RATE)


def dnsmos_p835(models: Models, window: np.ndarray) -> tuple[float, float, float]:
    """DNSMOS P.835 (signal, background, overall) of a :func:`dnsmos_window`."""
    audio = _model_input(window)
    raw = models.dnsmos.onnx_sess.run(None, {"input_1": audio[np.newaxis]})
    sig, bak, ovrl = models.dnsmos.get_polyfit_val(*raw[0][0], False)
    return round(float(sig), 3), round(float(bak), 3), round(float(ovrl), 3)


def dnsmos_p808(models: Models, window: np.ndarray) -> float:
    """DNSMOS P.808 (overall, 1 to 5) of a :func:`dnsmos_window`: the reference scorer's
    log-mel features of the window less its last 10 ms."""
    audio = _model_input(window)[: -_P808_MEL[1]]
    power = mel_spectrogram(audio, _P808_MEL)
    decibels = 10 * np.log10(np.maximum(power, 1e-10)) - 10 * np.log10(max(1e-10, power.max()))
    features = (np.maximum(decibels, -80.0) + 40) / 40  # librosa's top_db=80, DNSMOS's scaling
    found = models.p808.run(None, {"input_1": features[np.newaxis].astype(np.float32)})
    return round(float(found[0][0][0]), 3)


def add_p835(measured: SlideQuality, scores: tuple[float, float, float]) -> None:
    measured.dnsmos_sig, measured.dnsmos_bak, measured.dnsmos_ovrl = scores


def needs_p835(slides: Sequence[SlideRecord], thresholds: QualitySettings) -> list[int]:
    """The slide numbers P.835 should hear: each whose P.808 does not clear the DNSMOS
    threshold by :data:`P835_SCREEN_MARGIN`, and the first, middle and last scored ones."""
    scored = [s for s in slides if s.quality is not None and s.quality.dnsmos_p808 is not None]
    picks = {scored[round(i * (len(scored) - 1) / max(1, P835_SAMPLE - 1))].number
             for i in range(P835_SAMPLE)} if scored else set()  # fmt: skip
    screen = thresholds.min_dnsmos + P835_SCREEN_MARGIN
    picks |= {s.number for s in scored if s.quality.dnsmos_p808 < screen}
    return sorted(picks)


def _model_input(window: np.ndarray) -> np.ndarray:
    """16 kHz, within [-1, 1], exactly one model window: shorter audio is repeated to fill it,
    as the DNSMOS reference scorer does."""
    audio = np.clip(resample(window, SAMPLE_RATE, MODEL_RATE), -1.0, 1.0).astype(np.float32)
    if audio.size == 0:
        audio = np.zeros(DNSMOS_SAMPLES, dtype=np.float32)
    return np.tile(audio, -(-DNSMOS_SAMPLES // audio.size))[:DNSMOS_SAMPLES]


def speaker_embedding(
    models: Models, samples: np.ndarray, rate: int = SAMPLE_RATE
) -> np.ndarray | None:
    """The speaker embedding (256 values, unit length) of speech samples at ``rate``; None when
    the encoder's voice detector finds no voice in them."""
    import torch
    from resemblyzer import preprocess_wav

    wav = preprocess_wav(resample(samples, rate, MODEL_RATE).astype(np.float64))
    if wav.size == 0:
        return None
    encoder = models.encoder
    wav_slices, mel_slices = encoder.compute_partial_slices(
        wav.size, _PARTIALS_PER_SECOND, _MIN_COVERAGE
    )
    wav = np.pad(wav, (0, max(0, wav_slices[-1].stop - wav.size)))
    mel = mel_spectrogram(wav.astype(np.float32), _ENCODER_MEL)
    partials = np.stack([mel[s] for s in mel_slices])
    threads = torch.get_num_threads()
    # A small LSTM batch: one thread is as fast, and threads fighting for a busy CPU are slower;
    # scoring then runs in the calling thread alone, like DNSMOS.
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            found = encoder(torch.from_numpy(partials)).numpy()
    finally:
        torch.set_num_threads(threads)
    mean = found.mean(axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings: 1 is the same voice."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return round(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))), 4)


def embedding_bytes(embedding: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(embedding, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def embedding_from_bytes(data: bytes, what: str) -> np.ndarray:
    try:
        found = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise ProcessingError(f"{what}: not a stored speaker embedding") from None
    if found.shape != (256,) or not np.isfinite(found).all():
        raise ProcessingError(f"{what}: not a stored speaker embedding (shape {found.shape})")
    return found


# --- judging -------------------------------------------------------------------------------------


def problems(measured: SlideQuality, thresholds: QualitySettings) -> list[str]:
    """Each threshold this slide misses, as one line with its score and the threshold."""
    found = []
    if measured.words and measured.words_per_minute is None:
        found.append(f"no speech, where the notes have {measured.words} words")
    if measured.words_per_minute is not None and measured.similarity is None:
        found.append("no voice: the speaker encoder hears none in the narration")
    if measured.similarity is not None and measured.similarity < thresholds.min_similarity:
        found.append(f"voice similarity {measured.similarity:.2f} < {thresholds.min_similarity:g}")
    if measured.dnsmos_ovrl is not None and measured.dnsmos_ovrl < thresholds.min_dnsmos:
        found.append(f"DNSMOS overall {measured.dnsmos_ovrl:.2f} < {thresholds.min_dnsmos:g}")
    rate = measured.words_per_minute
    if rate is not None and measured.words >= MIN_RATE_WORDS:
        if rate < thresholds.min_wpm:
            found.append(f"{rate:.0f} words/min < {thresholds.min_wpm:g}")
        elif rate > thresholds.max_wpm:
            found.append(f"{rate:.0f} words/min > {thresholds.max_wpm:g}")
    silent_through = measured.words and measured.words_per_minute is None  # said above
    if measured.longest_silence > thresholds.max_silence_seconds and not silent_through:
        found.append(
            f"{measured.longest_silence:.1f} s of silence at {measured.longest_silence_at:.1f} s "
            f"that no [PAUSE] asked for > {thresholds.max_silence_seconds:g} s"
        )
    return found


def summarise(
    slides: Sequence[SlideRecord],
    durations: dict[int, float],
    thresholds: QualitySettings,
    base_similarity: float | None = None,
) -> JobQuality:
    """The job's quality from its slides' (``slide.quality`` set; ``durations`` by slide
    number weight the means), with every problem named by PowerPoint slide number."""
    scored = [s for s in slides if s.quality is not None]
    weights = {s.number: max(durations.get(s.number, 0.0), 1e-3) for s in scored}

    def mean(name: str) -> float | None:
        values = [(getattr(s.quality, name), weights[s.number]) for s in scored]
        values = [(v, w) for v, w in values if v is not None]
        if not values:
            return None
        return round(sum(v * w for v, w in values) / sum(w for _, w in values), 4)

    words = sum(s.quality.words for s in scored if s.quality.words_per_minute is not None)
    speech = sum(s.quality.speech_seconds for s in scored if s.quality.words_per_minute is not None)
    warnings = [f"slide {s.source_index}: {p}" for s in scored for p in s.quality.problems]
    return JobQuality(
        mode=thresholds.quality_mode,
        thresholds={k: v for k, v in thresholds.to_dict().items() if k != "quality_mode"},
        passed=not warnings,
        slides_scored=len(scored),
        similarity=mean("similarity"),
        base_similarity=base_similarity,
        dnsmos_p808=mean("dnsmos_p808"),
        dnsmos_sig=mean("dnsmos_sig"),
        dnsmos_bak=mean("dnsmos_bak"),
        dnsmos_ovrl=mean("dnsmos_ovrl"),
        dnsmos_slides=sum(1 for s in scored if s.quality.dnsmos_ovrl is not None),
        words_per_minute=round(words / speech * 60, 1) if speech else None,
        longest_silence=max((s.quality.longest_silence for s in scored), default=0.0),
        clipping=mean("clipping") or 0.0,
        worst=_lowest(scored, "dnsmos_ovrl"),
        least_similar=_lowest(scored, "similarity"),
        warnings=warnings,
    )


def _lowest(slides: Sequence[SlideRecord], name: str) -> WorstSlide | None:
    rated = [s for s in slides if getattr(s.quality, name) is not None]
    if not rated:
        return None
    worst = min(rated, key=lambda s: getattr(s.quality, name))
    return WorstSlide(
        slide=worst.source_index,
        title=worst.title,
        dnsmos_ovrl=worst.quality.dnsmos_ovrl,
        similarity=worst.quality.similarity,
        problems=list(worst.quality.problems),
    )


def one_line(quality: JobQuality) -> str:
    """``similarity 0.52, DNSMOS 3.31, 163 words/min; worst: slide 7 (DNSMOS 1.20)``."""
    parts = [
        f"similarity {_number(quality.similarity)}"
        + (
            f" (base voice {quality.base_similarity:.2f})"
            if quality.base_similarity is not None
            else ""
        ),
        f"DNSMOS {_number(quality.dnsmos_ovrl)} (P.808 {_number(quality.dnsmos_p808)})",
        f"{quality.words_per_minute:.0f} words/min"
        if quality.words_per_minute is not None
        else "rate -",
    ]
    line = ", ".join(parts)
    if quality.worst is not None:
        worst = quality.worst
        line += f"; worst: slide {worst.slide} (DNSMOS {_number(worst.dnsmos_ovrl)})"
    if quality.warnings:
        verdict = "failed" if quality.mode == "fail" else "warnings"
        line += f"; {len(quality.warnings)} {verdict} (mode {quality.mode})"
    return line


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# --- the encoder's front end ---------------------------------------------------------------------


def mel_spectrogram(wav: np.ndarray, front_end: tuple[int, int, int] = _ENCODER_MEL) -> np.ndarray:
    """Mel power spectrogram (frames, bands) of 16 kHz audio, as librosa's melspectrogram makes
    it: centred, zero-padded Hann windows of the FFT size every hop, Slaney mel filters.
    ``front_end`` is (FFT size, hop, bands): the speaker encoder's by default."""
    size, hop, _ = front_end
    padded = np.pad(wav.astype(np.float32), size // 2)
    count = 1 + (padded.size - size) // hop
    frames = np.lib.stride_tricks.as_strided(
        padded,
        shape=(count, size),
        strides=(padded.strides[0] * hop, padded.strides[0]),
        writeable=False,
    )
    power = np.abs(np.fft.rfft(frames * _hann(size), axis=1)) ** 2
    return (power @ _mel_filters(size, front_end[2]).T).astype(np.float32)


@functools.cache
def _hann(size: int) -> np.ndarray:
    n = np.arange(size)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / size)).astype(np.float32)  # periodic


@functools.cache
def _mel_filters(size: int, bands: int) -> np.ndarray:
    """Slaney-style mel filter bank (bands, FFT bins), each triangle normalised to unit area."""
    bins = np.fft.rfftfreq(size, 1.0 / MODEL_RATE)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(MODEL_RATE / 2), bands + 2))
    widths = np.diff(edges)
    ramps = edges[:, np.newaxis] - bins[np.newaxis, :]
    rising = -ramps[:-2] / widths[:-1, np.newaxis]
    falling = ramps[2:] / widths[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]


# The Slaney mel scale: linear below 1 kHz (200/3 Hz a mel), logarithmic above.
_LINEAR_HZ_PER_MEL = 200.0 / 3
_LOG_FROM_HZ = 1000.0
_LOG_FROM_MEL = _LOG_FROM_HZ / _LINEAR_HZ_PER_MEL
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    if hz < _LOG_FROM_HZ:
        return hz / _LINEAR_HZ_PER_MEL
    return _LOG_FROM_MEL + float(np.log(hz / _LOG_FROM_HZ)) / _LOG_STEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    linear = mels * _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_FROM_HZ * np.exp(_LOG_STEP * (mels - _LOG_FROM_MEL))
    return np.where(mels >= _LOG_FROM_MEL, logarithmic, linear)


# --- frames and runs -----------------------------------------------------------------------------

_FRAME = round(FRAME_SECONDS * SAMPLE_RATE)


def _frames(seconds: float) -> int:
    return max(1, round(seconds / FRAME_SECONDS))


def _silent_frames(samples: np.ndarray) -> np.ndarray:
    levels = frame_levels_db(samples, FRAME_SECONDS)
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    threshold = max(float(levels.max()) - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS)
    return levels <= threshold


def _speaking(silent: np.ndarray) -> np.ndarray:
    """The frames that are not part of a pause (short silences between words are speech)."""
    return ~_mask(_runs(silent, minimum=_frames(MIN_PAUSE_SECONDS)), silent.size)


def _runs(flags: np.ndarray, *, minimum: int) -> list[tuple[int, int]]:
    """[start, end) frame indices of each run of True at least ``minimum`` frames long."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= minimum]


def _mask(runs: list[tuple[int, int]], size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    for start, end in runs:
        mask[start:end] = True
    return mask


def _asked_frames(spans: Sequence[tuple[float, float]], size: int) -> np.ndarray:
    runs = [(round(a / FRAME_SECONDS), round(b / FRAME_SECONDS)) for a, b in spans]
    return _mask(runs, size)


def _frames_audio(samples: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The samples of the frames marked in ``keep``, joined."""
    count = keep.size
    padded = np.zeros(count * _FRAME, dtype=np.float32)
    padded[: samples.size] = samples
    return padded.reshape(count, _FRAME)[keep].ravel()[: samples.size]


def _middle(samples: np.ndarray, length: float) -> np.ndarray:
    size = round(length)
    if samples.size <= size:
        return samples
    start = (samples.size - size) // 2
    return samples[start : start + size]


def _speech_level(samples: np.ndarray, loud: np.ndarray) -> float | None:
    voiced = _frames_audio(samples, loud).astype(np.float64)
    if voiced.size == 0:
        return None
    return round(10.0 * float(np.log10(max(np.mean(voiced**2), 1e-12))), 2)
