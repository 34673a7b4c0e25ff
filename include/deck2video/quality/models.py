"""The scoring models, loaded once per process from their wheels, and what they hear: the
speaker encoder (resemblyzer) and its embeddings, DNSMOS P.808 and P.835 (speechmos's ONNX
models), each run in the calling thread (one core)."""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import io
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from deck2video.audio import (
    ENCODER_MEL,
    MODEL_RATE,
    P808_MEL,
    SAMPLE_RATE,
    mel_spectrogram,
    resample,
)
from deck2video.errors import ProcessingError

EXTRA = "quality"  # pip install 'deck2video[quality]'
DNSMOS_SECONDS = 9.01  # the DNSMOS model's fixed input length
DNSMOS_SAMPLES = round(DNSMOS_SECONDS * MODEL_RATE)
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

    DNSMOS: Any = dnsmos.DNSMOS  # untyped (speechmos): a name mypy accepts as a base class

    class SingleThreadDNSMOS(DNSMOS):
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


# --- DNSMOS --------------------------------------------------------------------------------------


def dnsmos_p835(models: Models, window: np.ndarray) -> tuple[float, float, float]:
    """DNSMOS P.835 (signal, background, overall) of a window of 24 kHz audio."""
    audio = model_input(window)
    raw = models.dnsmos.onnx_sess.run(None, {"input_1": audio[np.newaxis]})
    sig, bak, ovrl = models.dnsmos.get_polyfit_val(*raw[0][0], False)
    return round(float(sig), 3), round(float(bak), 3), round(float(ovrl), 3)


def dnsmos_p808(models: Models, window: np.ndarray) -> float:
    """DNSMOS P.808 (overall, 1 to 5) of a window of 24 kHz audio: the reference scorer's
    log-mel features of the window less its last 10 ms."""
    audio = model_input(window)[: -P808_MEL[1]]
    power = mel_spectrogram(audio, P808_MEL)
    decibels = 10 * np.log10(np.maximum(power, 1e-10)) - 10 * np.log10(max(1e-10, power.max()))
    features = (np.maximum(decibels, -80.0) + 40) / 40  # librosa's top_db=80, DNSMOS's scaling
    found = models.p808.run(None, {"input_1": features[np.newaxis].astype(np.float32)})
    return round(float(found[0][0][0]), 3)


def model_input(window: np.ndarray) -> np.ndarray:
    """16 kHz, within [-1, 1], exactly one model window: shorter audio is repeated to fill it,
    as the DNSMOS reference scorer does."""
    audio = np.clip(resample(window, SAMPLE_RATE, MODEL_RATE), -1.0, 1.0).astype(np.float32)
    if audio.size == 0:
        audio = np.zeros(DNSMOS_SAMPLES, dtype=np.float32)
    return np.tile(audio, -(-DNSMOS_SAMPLES // audio.size))[:DNSMOS_SAMPLES]


# --- the speaker encoder -------------------------------------------------------------------------


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
    mel = mel_spectrogram(wav.astype(np.float32), ENCODER_MEL)
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
