"""The reference recording: any common audio file -> a clean 24 kHz mono 16-bit WAV clip.

Cleaning means: decode and resample with ffmpeg, cut the silence before the first and after the
last word (keeping a short margin), refuse a clip with too little speech to learn a voice from,
and normalise its level. Loudness target: the speech level (:func:`deck2video.audio.
speech_level_db`: the RMS of the frames the speech detector keeps, so pauses do not dilute it)
is set to -20 dBFS, which for speech is close to -20 LUFS, unless that would push a sample peak
above -1 dBFS, in which case the peak wins.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deck2video.audio import (
    FRAME_SAMPLES,
    FRAME_SECONDS,
    SAMPLE_RATE,
    speech_frames,
    speech_level_db,
    write_wav,
)
from deck2video.config import ToolLimits
from deck2video.errors import InputError, ProcessingError
from deck2video.procs import Sandbox, run_tool

# The recordings the decoder is asked to read (by extension; ffmpeg decides from the bytes).
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".oga", ".opus", ".aac")
TARGET_SPEECH_RMS_DBFS = -20.0
PEAK_CEILING_DBFS = -1.0
MARGIN_SECONDS = 0.15  # kept before the first and after the last speech frame
# Only the start of a long recording is used: a minute or two of speech is plenty for a voice.
MAX_DECODE_SECONDS = 600.0


def sniff_audio(head: bytes) -> str | None:
    """What is wrong with a file whose first bytes are ``head``, to be a recording (None:
    nothing): the containers of :data:`AUDIO_SUFFIXES`, by their signatures."""
    riff = head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE"
    tagged = head.startswith((b"ID3", b"fLaC", b"OggS"))  # MP3 (or FLAC) with ID3, FLAC, Ogg
    mp4 = head[4:8] == b"ftyp"  # M4A
    frame_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # MP3, ADTS AAC
    if riff or tagged or mp4 or frame_sync:
        return None
    return "not an audio file (not WAV, MP3, M4A, FLAC, Ogg or AAC by its first bytes)"


@dataclass(frozen=True)
class ReferenceVoice:
    path: Path
    duration: float  # seconds, after trimming
    speech_seconds: float  # frames judged to be speech
    sha256: str  # of the source file's bytes


def prepare_reference(
    src: Path,
    dst: Path,
    *,
    timeout: float = 120.0,
    min_speech_seconds: float = 3.0,
    limits: ToolLimits | None = None,
) -> ReferenceVoice:
    """Decode ``src`` (wav/mp3/m4a/flac/ogg/...), clean it and write ``dst``; ``limits`` bound
    the decoder's memory and CPU time."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"voice recording {src}: file not found")
    digest = _sha256(src)
    samples = _decode(src, timeout, limits)

    speech = speech_frames(samples)
    if not speech.any():
        raise InputError(f"voice recording {src} is silent")
    speech_seconds = float(speech.sum()) * FRAME_SECONDS
    if speech_seconds < min_speech_seconds:
        raise InputError(
            f"voice recording {src} has only {speech_seconds:.1f} s of speech; "
            f"at least {min_speech_seconds:g} s needed"
        )

    level = speech_level_db(samples, speech)
    assert level is not None  # there is speech: refused above otherwise
    clip = _normalise(_trim(samples, speech), level)
    write_wav(dst, clip)
    return ReferenceVoice(
        path=dst,
        duration=clip.size / SAMPLE_RATE,
        speech_seconds=speech_seconds,
        sha256=digest,
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as src:
        return hashlib.file_digest(src, "sha256").hexdigest()


def _decode(src: Path, timeout: float, limits: ToolLimits | None = None) -> np.ndarray:
    """First audio stream -> float32 mono at SAMPLE_RATE, whatever the container and codec."""
    src = src.resolve()  # the sandbox shows the file at its real path
    args: list[str | Path] = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        src,
        "-map",
        "0:a:0?",
        "-vn",
        "-sn",
        "-dn",
    ]
    args += ["-ac", "1", "-ar", str(SAMPLE_RATE), "-t", f"{MAX_DECODE_SECONDS:g}"]
    args += ["-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]
    try:
        done = run_tool(args, timeout=timeout, what=f"decode voice recording {src}", limits=limits,
                        sandbox=Sandbox(read_only=(src,)))  # fmt: skip
    except ProcessingError as error:
        reason = _undecodable_reason(str(error), src)
        if reason is None:
            raise
        raise InputError(f"voice recording {src}: not an audio file ({reason})") from None
    return np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)


def _undecodable_reason(message: str, src: Path) -> str | None:
    """ffmpeg refusing the input is the input's fault; a timeout or missing ffmpeg is not.

    run_tool reports a failed exit as "...: ffmpeg exited with N: <last stderr line>".
    """
    marker = " exited with "
    if marker not in message:
        return None
    detail = message.split(marker, 1)[1].split(": ", 1)[-1].removeprefix(f"{src}: ")
    # "0:a:0?" maps nothing (rather than failing) when there is no audio; ffmpeg then says so.
    if "does not contain any stream" in detail or "matches no streams" in detail:
        return "no audio stream"
    return detail


def _trim(samples: np.ndarray, speech: np.ndarray) -> np.ndarray:
    size = FRAME_SAMPLES
    margin = round(MARGIN_SECONDS * SAMPLE_RATE)
    indices = np.flatnonzero(speech)
    start = max(0, int(indices[0]) * size - margin)
    end = min(samples.size, (int(indices[-1]) + 1) * size + margin)
    return samples[start:end]


def _normalise(clip: np.ndarray, speech_db: float) -> np.ndarray:
    gain_db = TARGET_SPEECH_RMS_DBFS - speech_db
    peak = float(np.max(np.abs(clip)))
    gain_db = min(gain_db, PEAK_CEILING_DBFS - 20.0 * np.log10(peak))
    return (clip * 10.0 ** (gain_db / 20.0)).astype(np.float32)
