"""The pipeline's one audio format: 24 kHz mono 16-bit WAV, and its plumbing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deck2video.audio import (
    FRAME_SECONDS,
    SAMPLE_RATE,
    mel_spectrogram,
    read_pcm16,
    read_wav,
    resample,
    silence,
    speech_frames,
    speech_level_db,
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
    assert silence(1.5).size == 36_000
    assert not silence(1.5).any()
    tone = np.sin(np.arange(48_000) / 48_000 * 2 * np.pi * 440).astype(np.float32)
    assert resample(tone, 48_000).size == SAMPLE_RATE


def test_trim_edges_keeps_a_short_margin_of_silence() -> None:
    sound = np.concatenate([silence(1.0), np.full(2400, 0.5, np.float32), silence(1.0)])
    trimmed = trim_edges(sound, keep_seconds=0.1)
    assert trimmed.size == 2400 + 2 * 2400
    assert trim_edges(silence(1.0), keep_seconds=0.1).size == 0


def test_the_mel_front_end_matches_resemblyzers_librosa_one():
    import librosa

    wav = np.random.default_rng(1).normal(0, 0.1, 16_000 * 2).astype(np.float32)
    expected = librosa.feature.melspectrogram(
        y=wav, sr=16_000, n_fft=400, hop_length=160, n_mels=40
    ).T
    np.testing.assert_allclose(mel_spectrogram(wav), expected, rtol=1e-4, atol=1e-6)


def _tone(seconds: float, dbfs: float) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_speech_frames_leave_out_a_rooms_noise_but_keep_quiet_speech() -> None:
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 10 ** (-45 / 20), 4 * SAMPLE_RATE).astype(np.float32)
    assert not speech_frames(hiss).any()  # steady noise: no speech
    assert not speech_frames(silence(2.0)).any()

    # Speech bursts at -10 dBFS in a -45 dBFS room: only the bursts are speech.
    bursts = np.concatenate([_tone(0.5, -10.0), silence(0.5)] * 4)
    noisy = bursts + hiss[: bursts.size]
    found = speech_frames(noisy)
    assert found.sum() == pytest.approx(4 * 0.5 / FRAME_SECONDS, abs=2)

    # Continuous speech with no pause, only 40 ms stop closures: its quietest syllables, 30 dB
    # under the peak, are still speech (a noise floor from the 10th percentile would cut them).
    syllables = [np.concatenate([_tone(0.2, level), silence(0.04)]) for level in (-6, -20, -36)]
    words = np.concatenate(syllables * 5)
    assert speech_frames(words).sum() == 15 * 0.2 / FRAME_SECONDS
    level = speech_level_db(noisy, found)
    assert level == pytest.approx(-10.0, abs=0.5)
    assert speech_level_db(noisy, np.zeros(found.size, dtype=bool)) is None
