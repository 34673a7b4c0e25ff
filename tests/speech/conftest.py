"""Fixtures for the speech tests: OpenVoice converters with random weights, a 24 kHz reference.

Two converters: ``v2_converter`` has the released V2 layout and size (131 MB of random
weights; a second of audio costs several CPU seconds), ``tiny_converter`` the same framing with
small layers, for tests that need many conversions.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import soundfile

from deck2video.audio import SAMPLE_RATE, resample, write_wav
from deck2video.speech import testing, weights

TINY_CONFIG = copy.deepcopy(testing.V2_CONFIG)
TINY_CONFIG["model"].update(
    inter_channels=16,
    hidden_channels=16,
    filter_channels=32,
    n_layers=1,
    p_dropout=0.0,
    resblock_kernel_sizes=[3],
    resblock_dilation_sizes=[[1, 3, 5]],
    upsample_initial_channel=32,
    gin_channels=32,
)


@pytest.fixture(scope="session")
def v2_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return testing.write_random_weights(tmp_path_factory.mktemp("openvoice-v2"))


@pytest.fixture(scope="session")
def v2_converter(v2_weights: Path):
    return weights.load_converter(v2_weights)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return testing.write_random_weights(
        tmp_path_factory.mktemp("openvoice-tiny"), config=TINY_CONFIG, base_speakers=("en-us", "es")
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


def tone(seconds: float, frequency: float = 220.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A voiced-sounding test signal: a few harmonics with a slow loudness wobble."""
    t = np.arange(round(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in (1, 2, 3, 4))
    return (0.2 * wave * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
