"""Speaker embeddings for the converter: the presenter's, once per reference recording, and the
base voice's, once per process and backend.

Store the presenter's with :func:`embedding_to_bytes` under :func:`embedding_cache_key`, never
recompute it per slide: it depends only on the recording and the converter checkpoint.
"""

from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from deck2video.audio import SAMPLE_RATE, resample
from deck2video.errors import InputError, ProcessingError
from deck2video.speech.weights import Converter, checked_embedding, first_line

if TYPE_CHECKING:
    import torch

    from deck2video.speech import Backend

# Less speech than this gives an embedding that wanders from one take to the next.
MIN_SPEECH_SECONDS = 3.0
# The reference's speech is cut into pieces of about this length and their embeddings averaged:
# long enough for the reference encoder to settle on a timbre, short enough to average a few.
PIECE_SECONDS = 6.0
# Level below the loudest frame that counts as a pause when picking out the voiced parts.
SILENCE_TOP_DB = 35.0


def extract_embedding(
    converter: Converter,
    reference: str | os.PathLike[str] | np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    min_speech_seconds: float = MIN_SPEECH_SECONDS,
) -> torch.Tensor:
    """The speaker embedding of a reference recording: a (1, gin_channels, 1) CPU tensor.

    ``reference`` is an audio file (the cleaned 24 kHz reference) or float samples at
    ``sample_rate``. Only the voiced parts count; too little speech raises InputError.
    """
    import torch

    what = f"reference voice {Path(reference).name}" if _is_path(reference) else "reference voice"
    samples, rate = _read_samples(reference, sample_rate, what)
    samples = resample(samples, rate, converter.sampling_rate)
    speech = _voiced(samples, converter)
    seconds = speech.size / converter.sampling_rate
    if seconds < min_speech_seconds:
        raise InputError(
            f"{what}: only {seconds:.1f} s of speech; voice cloning needs at least "
            f"{min_speech_seconds:g} s"
        )
    pieces = np.array_split(speech, max(1, round(seconds / PIECE_SECONDS)))
    with torch.inference_mode():
        found = [
            converter.model.ref_enc(spectrogram(converter, piece).transpose(1, 2))
            for piece in pieces
        ]
        embedding = torch.stack(found).mean(0).unsqueeze(-1).float().cpu()
    if not torch.isfinite(embedding).all():
        raise ProcessingError(f"{what}: the converter produced a non-finite embedding")
    return embedding


def _is_path(reference: object) -> TypeGuard[str | os.PathLike[str]]:
    return isinstance(reference, str | os.PathLike)


def _read_samples(
    reference: str | os.PathLike[str] | np.ndarray, sample_rate: int, what: str
) -> tuple[np.ndarray, int]:
    if not _is_path(reference):
        samples = np.asarray(reference, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"{what}: expected mono samples, got shape {samples.shape}")
        return samples, sample_rate
    import soundfile

    try:
        samples, rate = soundfile.read(os.fspath(reference), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise InputError(f"{what}: not a readable audio file ({first_line(exc)})") from None
    return samples.mean(axis=1), int(rate)


def _voiced(samples: np.ndarray, converter: Converter) -> np.ndarray:
    """The recording with its pauses cut out: silence says nothing about the voice."""
    import librosa

    if samples.size < converter.filter_length:
        return samples[:0]
    intervals = librosa.effects.split(
        samples,
        top_db=SILENCE_TOP_DB,
        frame_length=converter.filter_length,
        hop_length=converter.hop_length,
    )
    # The split is relative to the loudest frame, so a silent recording would be all "voice":
    # parts quieter than an absolute floor are not speech either way.
    voiced = [samples[a:b] for a, b in intervals if np.sqrt(np.mean(samples[a:b] ** 2)) > 1e-3]
    return np.concatenate(voiced) if voiced else samples[:0]


def spectrogram(converter: Converter, samples: np.ndarray) -> torch.Tensor:
    """Linear magnitude spectrogram (1, filter_length // 2 + 1, frames), framed as in training:
    reflect-padded by half the window overlap on each side, then not centred."""
    import torch
    import torch.nn.functional as F

    y = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(converter.device)
    pad = (converter.filter_length - converter.hop_length) // 2
    y = F.pad(y.view(1, 1, -1), (pad, pad), mode="reflect").view(1, -1)
    window = torch.hann_window(converter.win_length, device=converter.device)
    spec = torch.stft(
        y,
        converter.filter_length,
        hop_length=converter.hop_length,
        win_length=converter.win_length,
        window=window,
        center=False,
        return_complex=True,
    )
    return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-6)


def embedding_cache_key(recording_sha256: str, checkpoint_sha256: str) -> str:
    """File name of a reference's embedding, e.g. ``embedding-<16 hex>-<16 hex>.npy``.

    It depends only on the cleaned recording and the converter checkpoint, so the same voice
    reused in another job (or folder) finds its embedding instead of recomputing it.
    """
    for name, sha in (("recording", recording_sha256), ("checkpoint", checkpoint_sha256)):
        if not re.fullmatch(r"[0-9a-f]{16,64}", sha):
            raise ValueError(f"{name} sha256 {sha!r}: expected lower-case hex")
    return f"embedding-{recording_sha256[:16]}-{checkpoint_sha256[:16]}.npy"


def embedding_to_bytes(embedding: Any) -> bytes:
    """A .npy file's bytes (no pickle inside, so loading one is safe)."""
    array = np.asarray(embedding.detach().cpu() if hasattr(embedding, "detach") else embedding)
    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32), allow_pickle=False)
    return buffer.getvalue()


def embedding_from_bytes(
    data: bytes, *, gin_channels: int | None = None, what: str = "speaker embedding"
) -> torch.Tensor:
    """Inverse of :func:`embedding_to_bytes`; ``what`` names the source in errors."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ProcessingError(f"{what}: not a .npy speaker embedding ({first_line(exc)})") from None
    return checked_embedding(array, gin_channels or array.size, what)


# --- the base voice's embedding -----------------------------------------------------------------

# Read by the base voice to learn its timbre when the weights folder has no embedding for it
# (Piper, or any other backend): about 20 s of ordinary sentences with varied sounds.
CALIBRATION_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "We measured the results twice, and the numbers were clear. "
    "She asked whether the new schedule would change anything for the team. "
    "Good ideas often start as small experiments that nobody expects to work. "
    "Thank you for joining us today; let's look at what happens next."
)
_SOURCE_CACHE: dict[tuple[str, str, str, str], Any] = {}
_SOURCE_LOCK = threading.Lock()


def source_embedding(converter: Converter, backend: Backend) -> torch.Tensor:
    """The embedding of the voice ``backend`` speaks with, once per process.

    A backend with an ``embedding_name`` attribute (MeloTTS's voices, e.g. "en-us") uses the
    matching ``base_speakers/ses`` file when the weights folder has it; otherwise the backend
    reads :data:`CALIBRATION_TEXT` and the embedding is taken from that.
    """
    name = getattr(backend, "embedding_name", None)
    if name and name in converter.base_embeddings:
        return converter.base_embeddings[name]
    key = (converter.checkpoint_sha256, converter.device, backend.name, backend.model_version)
    with _SOURCE_LOCK:
        if key not in _SOURCE_CACHE:
            spoken = backend.synthesize(CALIBRATION_TEXT, speed=1.0)
            _SOURCE_CACHE[key] = extract_embedding(converter, spoken, sample_rate=SAMPLE_RATE)
        return _SOURCE_CACHE[key]
