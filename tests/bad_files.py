"""Builders for test inputs: hostile or broken ones, shared by the stage tests and the
end-to-end tests, and the WAV writer they and the good-input builders use."""

from __future__ import annotations

import wave
import zipfile
from pathlib import Path

import numpy as np

from deck2video.procs import run_tool

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def not_a_zip(path: Path) -> Path:
    path.write_text("this is a plain text file, not a presentation\n")
    return path


def zip_without_presentation(path: Path) -> Path:
    """An Office Open XML zip (content types and all) that holds a Word document, not slides."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return path


def encrypted_deck(path: Path) -> Path:
    """What PowerPoint writes for a password-protected deck: an OLE compound file."""
    path.write_bytes(OLE_MAGIC + bytes(4096))
    return path


def zip_bomb(path: Path, megabytes: int = 64) -> Path:
    """A small zip that inflates to ``megabytes`` of zeros, beside a presentation part."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
        archive.writestr("ppt/media/zeros.bin", bytes(megabytes * 1024 * 1024))
    return path


def short_speech(path: Path) -> Path:
    """About a second of real speech (espeak-ng) between stretches of silence."""
    run_tool(["espeak-ng", "-v", "en-us", "-w", path, "Hi there."], timeout=60, what="espeak-ng")
    with wave.open(str(path)) as clip:
        rate, speech = clip.getframerate(), np.frombuffer(clip.readframes(-1), "<i2")
    silence = np.zeros(rate, dtype="<i2")
    return write_wav(path, np.concatenate([silence, speech, silence]), rate)


def silent_wav(path: Path, seconds: float = 5.0, rate: int = 24000) -> Path:
    return tone_wav(path, seconds, rate=rate, amplitude=0.0)


def tone_wav(
    path: Path, seconds: float, *, rate: int = 24000, amplitude: float = 0.3, hz: float = 220.0
) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    return write_wav(path, amplitude * np.sin(2 * np.pi * hz * t), rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """A 16-bit PCM WAV. ``samples`` are floats in [-1, 1] (clipped, then scaled to 16 bits) or
    int16 values written as they are; one column per channel for more than one channel."""
    if samples.dtype.kind == "f":
        samples = np.clip(samples, -1, 1) * 32767
    frames = samples.astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if frames.ndim == 1 else frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return path
