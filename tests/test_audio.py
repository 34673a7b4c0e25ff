"""The pipeline's one audio format: 24 kHz mono 16-bit WAV, and its plumbing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deck2video.audio import (
    SAMPLE_RATE,
    read_pcm16,
    read_wav,
    resample,
    silence,
    trim_edges,
    write_wav,
)
from deck2video.errors import InputError, ProcessingError
from tests.support import bad_files, media


def test_wav_round_trip_is_24k_mono_16bit_and_clips(tmp_path: Path) -> None:
    samples = np.linspace(-0.5, 0.5, SAMPLE_RATE, dtype=np.float32)
    samples[:2] = [1.7, -3.0]  # out of range: clipped, not wrapped
    path = tmp_path / "audio" / "0001.wav"
    write_wav(path, samples)
    assert media.wav_info(path) == (SAMPLE_RATE, 1, 2, samples.size / SAMPLE_RATE)
    back = read_wav(path)
    assert back.dtype == np.float32
    assert back[:2] == pytest.approx([1.0, -1.0])
    assert np.max(np.abs(back[2:] - samples[2:])) < 1e-4
    assert [p.name for p in path.parent.iterdir()] == ["0001.wav"]  # no temporary left over


@pytest.mark.parametrize(
    ("rate", "channels", "message"),
    [(44_100, 1, "44100 Hz, 1 channel"), (SAMPLE_RATE, 2, "24000 Hz, 2 channel")],
)
def test_read_wav_refuses_other_formats(
    tmp_path: Path, rate: int, channels: int, message: str
) -> None:
    path = bad_files.write_wav(tmp_path / "other.wav", np.zeros((100, channels)), rate)
    with pytest.raises(InputError, match=rf"^audio other\.wav: {message}.*expected 24000 Hz mono"):
        read_wav(path)


def test_read_wav_refuses_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not a wav")
    with pytest.raises(InputError, match=r"^audio notes\.wav: not a PCM WAV file"):
        read_wav(path)


def test_read_pcm16_says_whose_fault_a_wrong_file_is(tmp_path: Path) -> None:
    path = bad_files.write_wav(tmp_path / "0001.wav", np.zeros((100, 1)), 44_100)
    with pytest.raises(ProcessingError, match=r"^narration .*0001\.wav: 44100 Hz"):
        read_pcm16(path, what=f"narration {path}", error=ProcessingError)


def test_silence_and_resampling_keep_the_length_in_time() -> None:
    assert silence(1.5).size == 36_000 and not silence(1.5).any()
    tone = np.sin(np.arange(48_000) / 48_000 * 2 * np.pi * 440).astype(np.float32)
    assert resample(tone, 48_000).size == SAMPLE_RATE


def test_trim_edges_keeps_a_short_margin_of_silence() -> None:
    sound = np.concatenate([silence(1.0), np.full(2400, 0.5, np.float32), silence(1.0)])
    trimmed = trim_edges(sound, keep_seconds=0.1)
    assert trimmed.size == 2400 + 2 * 2400
    assert trim_edges(silence(1.0), keep_seconds=0.1).size == 0
