"""Voice cloning: OpenVoice V2's tone-colour converter re-voices any base backend's speech.

The converter keeps what was said and how (timing, intonation) and swaps the timbre: it encodes
the base audio under the base voice's speaker embedding and decodes it under the reference
speaker's. The model comes from :mod:`deck2video.speech.weights`, both embeddings from
:mod:`deck2video.speech.embedding`; this module converts each spoken chunk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from deck2video.audio import SAMPLE_RATE, resample
from deck2video.speech.embedding import source_embedding, spectrogram
from deck2video.speech.weights import Converter, checked_embedding

if TYPE_CHECKING:
    import torch

    from deck2video.speech import Backend

__all__ = ["DEFAULT_TAU", "ConvertedBackend", "convert"]

# How strongly the base recording's fine detail is resampled (OpenVoice's default): 0 keeps
# it exactly, higher values trade fidelity to the base audio for more of the target's timbre.
DEFAULT_TAU = 0.3


def convert(
    converter: Converter,
    audio_24k: np.ndarray,
    source_embedding: Any,
    target_embedding: Any,
    tau: float = DEFAULT_TAU,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Re-voice ``audio_24k`` (float32 mono at 24 kHz) from the source speaker to the target.

    Returns float32 at 24 kHz with exactly as many samples as the input, so caption cues
    computed on the base audio stay valid. ``seed`` fixes the converter's sampling noise: the
    same input gives the same output, which keeps re-runs and the audio cache consistent.
    """
    import torch

    samples = np.asarray(audio_24k, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"convert: expected mono samples, got shape {samples.shape}")
    if samples.size == 0:
        return samples.copy()
    source = _on_device(converter, source_embedding, "source embedding")
    target = _on_device(converter, target_embedding, "target embedding")
    base = resample(samples, SAMPLE_RATE, converter.sampling_rate)
    # Reflect padding needs at least a window of signal; one extra hop makes the frames cover
    # the last partial hop. The result is cut back to the input's length below.
    base = np.pad(base, (0, max(0, converter.filter_length - base.size) + converter.hop_length))
    spec = spectrogram(converter, base)
    lengths = torch.tensor([spec.shape[-1]], device=converter.device)
    devices = [torch.device(converter.device).index or 0] if converter.device != "cpu" else []
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        voiced = converter.model.voice_conversion(
            spec, lengths, sid_src=source, sid_tgt=target, tau=tau
        )[0]
    out = resample(voiced[0, 0].float().cpu().numpy(), converter.sampling_rate, SAMPLE_RATE)
    return _fit_length(out, samples.size)


def _on_device(converter: Converter, embedding: Any, what: str) -> torch.Tensor:
    return checked_embedding(embedding, converter.gin_channels, what).to(converter.device)


def _fit_length(samples: np.ndarray, size: int) -> np.ndarray:
    if samples.size >= size:
        return np.ascontiguousarray(samples[:size], dtype=np.float32)
    return np.pad(samples, (0, size - samples.size)).astype(np.float32, copy=False)


class ConvertedBackend:
    """A base backend whose speech comes out in the reference speaker's voice.

    It is a Backend itself, so ``synthesize_slide`` and ``cache_key`` work unchanged: the
    model version names the converter checkpoint and tau (the target voice is already in
    ``cache_key``'s ``voice_sha256``).
    """

    def __init__(
        self,
        base: Backend,
        converter: Converter,
        target_embedding: Any,
        *,
        tau: float = DEFAULT_TAU,
        source: Any = None,
    ) -> None:
        self.base = base
        self.converter = converter
        self.name = base.name
        self.tau = tau
        self.target = checked_embedding(target_embedding, converter.gin_channels, "target")
        source = source if source is not None else source_embedding(converter, base)
        self.source = checked_embedding(source, converter.gin_channels, "source")
        self.model_version = (
            f"{base.model_version}+openvoice-{converter.version}"
            f"-{converter.checkpoint_sha256[:16]}-tau{tau:g}"
        )

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        spoken = self.base.synthesize(text, speed=speed)
        return convert(self.converter, spoken, self.source, self.target, self.tau)
