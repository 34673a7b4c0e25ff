"""voice.prepare_reference on real recordings decoded by the real ffmpeg."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deck2video import samples
from deck2video.audio import SAMPLE_RATE, read_wav
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import run_tool
from deck2video.voice import TARGET_SPEECH_RMS_DBFS, prepare_reference
from tests.support import media
from tests.support.bad_files import write_wav
from tests.support.processes import unsandboxed

FORMATS = [".wav", ".mp3", ".flac", ".ogg", ".m4a"]
LEAD_SILENCE, TAIL_SILENCE = 1.5, 1.0


def ffmpeg(*args: str | Path) -> None:
    with unsandboxed():
        run_tool(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], timeout=60, what="test ffmpeg")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Per format: (the sample voice as made, the same made quieter and padded with silence)."""
    folder = tmp_path_factory.mktemp("voices")
    made = {}
    for suffix in FORMATS:
        plain = samples.make_reference_voice(folder / f"plain{suffix}")
        padded = folder / f"padded{suffix}"
        delay_ms = int(LEAD_SILENCE * 1000)
        ffmpeg(
            "-i",
            plain,
            "-af",
            f"adelay={delay_ms}:all=1,apad=pad_dur={TAIL_SILENCE},volume=-15dB",
            padded,
        )
        made[suffix] = (plain, padded)
    return made


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_format_becomes_a_trimmed_normalised_24k_mono_clip(
    recordings: dict[str, tuple[Path, Path]], suffix: str, tmp_path: Path
) -> None:
    plain, padded = recordings[suffix]
    reference = prepare_reference(padded, tmp_path / "reference.wav", timeout=60)
    baseline = prepare_reference(plain, tmp_path / "baseline.wav", timeout=60)

    assert reference.path == tmp_path / "reference.wav"
    assert media.wav_info(reference.path)[:3] == (SAMPLE_RATE, 1, 2)
    audio = read_wav(reference.path)
    assert reference.duration == pytest.approx(audio.size / SAMPLE_RATE)
    assert reference.sha256 == hashlib.sha256(padded.read_bytes()).hexdigest()

    # The 2.5 s of silence added around the speech is gone; the speech itself is kept.
    padded_duration = float(media.ffprobe(padded, "-show_format")["format"]["duration"])
    assert padded_duration > reference.duration + LEAD_SILENCE + TAIL_SILENCE - 0.1
    assert reference.duration == pytest.approx(baseline.duration, abs=0.15)
    assert reference.speech_seconds == pytest.approx(baseline.speech_seconds, abs=0.3)
    assert 6.0 < reference.speech_seconds <= reference.duration
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    assert loud[0] < 0.25 * SAMPLE_RATE
    assert audio.size - loud[-1] < 0.25 * SAMPLE_RATE

    # 15 dB quieter input, same loudness out.
    lufs = media.loudness(reference.path).integrated
    assert lufs == pytest.approx(TARGET_SPEECH_RMS_DBFS, abs=2.0)
    assert media.loudness(baseline.path).integrated == pytest.approx(lufs, abs=1)
    assert np.max(np.abs(audio)) <= 10 ** (-1 / 20) + 1e-3


def test_text_file_named_wav_is_not_audio(tmp_path: Path) -> None:
    fake = tmp_path / "voice.wav"
    fake.write_text("These are my speaker notes, not a recording.\n" * 50)
    with pytest.raises(InputError, match=r"^voice recording .*voice\.wav: not an audio file \("):
        prepare_reference(fake, tmp_path / "out.wav", timeout=30)
    assert not (tmp_path / "out.wav").exists()


def test_picture_has_no_audio_stream(tmp_path: Path) -> None:
    picture = tmp_path / "voice.png"
    Image.new("RGB", (64, 48), "red").save(picture)
    with pytest.raises(InputError, match=r"not an audio file \(no audio stream\)$"):
        prepare_reference(picture, tmp_path / "out.wav", timeout=30)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        prepare_reference(tmp_path / "nope.mp3", tmp_path / "out.wav", timeout=30)


@pytest.mark.parametrize(
    "signal",
    [
        np.zeros(5 * 44_100),
        # Steady hiss at -45 dBFS: a level but no speech in it.
        np.random.default_rng(1).normal(0, 10 ** (-45 / 20), 5 * 44_100),
    ],
    ids=["digital-silence", "steady-hiss"],
)
def test_silent_recording_is_refused(tmp_path: Path, signal: np.ndarray) -> None:
    silent = write_wav(tmp_path / "quiet.wav", signal, 44_100)
    with pytest.raises(InputError, match=r"^voice recording .*quiet\.wav is silent$"):
        prepare_reference(silent, tmp_path / "out.wav", timeout=30)


def test_too_little_speech_is_refused(
    recordings: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    plain, _ = recordings[".wav"]
    short = tmp_path / "short.wav"
    # 1.5 s of the sample speech with a second of silence either side.
    ffmpeg("-i", plain, "-af", "atrim=0:1.5,adelay=1000:all=1,apad=pad_dur=1", short)
    with pytest.raises(
        InputError, match=r"short\.wav has only 1\.\d s of speech; at least 3 s needed$"
    ):
        prepare_reference(short, tmp_path / "out.wav", timeout=30)
    # The threshold is the caller's to choose.
    accepted = prepare_reference(short, tmp_path / "out.wav", timeout=30, min_speech_seconds=1)
    assert 1.0 <= accepted.speech_seconds <= 1.5


def test_decoder_timeout_is_a_processing_error_not_the_users_fault(
    recordings: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    plain, _ = recordings[".flac"]
    with pytest.raises(ProcessingError, match="timed out"):
        prepare_reference(plain, tmp_path / "out.wav", timeout=0.001)
