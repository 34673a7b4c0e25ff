"""`deck2video smoke`: load the speech models, speak one sentence (and re-voice it when converter
weights are configured), and report load times and real-time factors.

It is the speech image's self-test: run it on a new GPU host before sending it work.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from deck2video.audio import SAMPLE_RATE
from deck2video.speech import load_backend
from deck2video.speech.convert import ConvertedBackend, convert
from deck2video.speech.embedding import extract_embedding
from deck2video.speech.narrator import find_converter

SENTENCE = "Thank you for joining us today; here is what we learned this quarter."


@dataclass(frozen=True)
class SmokeReport:
    backend: str
    language: str
    load_seconds: float
    audio_seconds: float
    synthesis_rtf: float  # synthesis time / audio length
    device: str = "cpu"
    converter_load_seconds: float | None = None
    embedding_seconds: float | None = None
    conversion_rtf: float | None = None

    def lines(self) -> list[str]:
        rows = [
            f"backend          {self.backend} ({self.language})",
            f"model load       {self.load_seconds:.2f} s",
            f"audio            {self.audio_seconds:.2f} s",
            f"synthesis RTF    {self.synthesis_rtf:.3f}",
        ]
        if self.conversion_rtf is not None:
            rows += [
                f"converter        {self.device}, loaded in {self.converter_load_seconds:.2f} s",
                f"embedding        {self.embedding_seconds:.2f} s",
                f"conversion RTF   {self.conversion_rtf:.3f}",
            ]
        else:
            rows.append("converter        none configured (no voice cloning)")
        return rows


def run_smoke(
    backend_name: str = "piper",
    language: str = "en",
    *,
    text: str = SENTENCE,
    reference: Path | None = None,
) -> SmokeReport:
    """Speak ``text``; re-voice it towards ``reference`` (default: the base voice itself)."""
    started = time.perf_counter()
    backend = load_backend(backend_name, language)
    loaded = time.perf_counter()
    spoken = backend.synthesize(text, speed=1.0)
    synthesized = time.perf_counter()
    seconds = spoken.size / SAMPLE_RATE
    report = SmokeReport(
        backend=backend_name,
        language=language,
        load_seconds=loaded - started,
        audio_seconds=seconds,
        synthesis_rtf=(synthesized - loaded) / seconds,
    )
    began = time.perf_counter()
    converter = find_converter()
    if converter is None:
        return report
    converter_loaded = time.perf_counter()
    target = extract_embedding(
        converter, reference if reference is not None else spoken, min_speech_seconds=1.0
    )
    embedded = time.perf_counter()
    source = ConvertedBackend(backend, converter, target).source  # once per process
    began_conversion = time.perf_counter()
    convert(converter, spoken, source, target)
    conversion = time.perf_counter() - began_conversion
    return dataclasses.replace(
        report,
        device=converter.device,
        converter_load_seconds=converter_loaded - began,
        embedding_seconds=embedded - converter_loaded,
        conversion_rtf=conversion / seconds,
    )
