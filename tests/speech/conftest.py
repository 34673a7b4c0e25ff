"""Fixtures for the speech tests: OpenVoice converters with random weights, a 24 kHz reference.

Two converters: ``v2_converter`` has the released V2 layout and size (131 MB of random
weights; a second of audio costs several CPU seconds), ``tiny_converter`` the same framing with
small layers, for tests that need many conversions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from deck2video.audio import SAMPLE_RATE, resample, write_wav
from deck2video.speech import weights
from tests.support import openvoice_weights


@pytest.fixture(scope="session")
def v2_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return openvoice_weights.write_random_weights(tmp_path_factory.mktemp("openvoice-v2"))


@pytest.fixture(scope="session")
def v2_converter(v2_weights: Path):
    return weights.load_converter(v2_weights)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return openvoice_weights.write_random_weights(
        tmp_path_factory.mktemp("openvoice-tiny"),
        config=openvoice_weights.TINY_CONFIG,
        base_speakers=("en-us", "es"),
    )


@pytest.fixture(scope="session")
def tiny_converter(tiny_weights: Path):
    return weights.load_converter(tiny_weights)


@pytest.fixture(scope="session")
def reference_24k(reference_voice: Path, assets: Path) -> Path:
    """The espeak reference as the voice stage leaves it: 24 kHz mono 16-bit WAV."""
    samples, rate = soundfile.read(reference_voice, dtype="float32", always_2d=True)
    path = assets / "reference-24k.wav"
    write_wav(path, resample(samples.mean(axis=1), rate, SAMPLE_RATE))
    return path
