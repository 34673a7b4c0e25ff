"""Inspect outputs as a user would: ffprobe streams and chapters, grab frames, read captions."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from deck2video.audio import SAMPLE_RATE
from deck2video.captions import Cue

_EVERYTHING = ("-show_streams", "-show_format", "-show_chapters")


def ffprobe(path: Path, *options: str) -> dict:
    """ffprobe's JSON for ``path``: streams, format and chapters unless ``options`` choose."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *(options or _EVERYTHING), str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def codecs(info: dict) -> dict[str, str]:
    """codec_type -> codec_name for the media streams (the mp4 chapter track is left out)."""
    return {
        s["codec_type"]: s["codec_name"]
        for s in info["streams"]
        if s["codec_type"] in ("video", "audio", "subtitle")
    }


def chapters(info: dict) -> list[tuple[float, float, str]]:
    return [
        (float(c["start_time"]), float(c["end_time"]), c.get("tags", {}).get("title", ""))
        for c in info["chapters"]
    ]


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4's top-level boxes, in file order (``moov`` before ``mdat``...)."""
    boxes = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind.decode("latin-1"))
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            elif size == 0:
                break
            f.seek(size - 8, 1)
    return boxes


def frame_at(video: Path, seconds: float, dest: Path) -> Image.Image:
    """The frame on screen at ``seconds``, as RGB, seeked the way most tools do it
    (``ffmpeg -ss T -i video -frames:v 1``). The video is tagged BT.709, which ffmpeg 5.1's
    converter ignores.
    """
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-ss",
            f"{seconds:.3f}",
            "-i",
            str(video),
            "-map",
            "0:v",
            "-frames:v",
            "1",
            "-vf",
            "scale=in_color_matrix=bt709:in_range=tv",
            str(dest),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(dest).convert("RGB")


def mean_colour(image: Image.Image) -> np.ndarray:
    """The average (R, G, B) of an image."""
    return np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


def image_distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference (0..255) after scaling both to a small size."""
    size = (160, 90)
    x = np.asarray(a.convert("RGB").resize(size), dtype=np.float32)
    y = np.asarray(b.convert("RGB").resize(size), dtype=np.float32)
    return float(np.abs(x - y).mean())


def wav_info(path: Path) -> tuple[int, int, int, float]:
    """(rate, channels, sample width in bytes, seconds)."""
    with wave.open(str(path)) as w:
        return (
            w.getframerate(),
            w.getnchannels(),
            w.getsampwidth(),
            w.getnframes() / w.getframerate(),
        )


def decoded_audio(path: Path, rate: int) -> np.ndarray:
    """The audio track as ffmpeg decodes it: mono at ``rate``, samples in [-1, 1)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a",
         "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, "<i2").astype(np.float64) / 32768


class Loudness(NamedTuple):
    integrated: float  # LUFS
    sample_peak: float  # dBFS


def loudness(path: Path) -> Loudness:
    """The audio track's loudness as ffmpeg's EBU R128 meter (ebur128) sums it up."""
    err = subprocess.run(
        ["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a",
         "-af", "ebur128=framelog=verbose:peak=sample", "-f", "null", "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stderr  # fmt: skip
    summary = err.rpartition("Summary:")[2]
    lufs = re.search(r"I:\s*(\S+) LUFS", summary).group(1)
    peak = re.search(r"Peak:\s*(\S+) dBFS", summary).group(1)
    return Loudness(float(lufs), float(peak))


def read_vtt(text: str) -> list[Cue]:
    """Strictly parse WebVTT as deck2video writes it: the header, then timing + text blocks."""
    header, *blocks = text.strip("\n").split("\n\n")
    assert header == "WEBVTT", header
    return [_cue(block.split("\n"), ".") for block in blocks]


def read_srt(text: str) -> list[Cue]:
    """Strictly parse SubRip: blocks numbered from 1, each a timing line and the text."""
    body = text.strip("\n")
    cues = []
    for number, block in enumerate(body.split("\n\n") if body else [], start=1):
        index, *lines = block.split("\n")
        assert index == str(number), (number, block)
        cues.append(_cue(lines, ","))
    return cues


def read_captions(text: str) -> list[Cue]:
    """WebVTT or SRT, told apart by the WebVTT header."""
    return read_vtt(text) if text.startswith("WEBVTT") else read_srt(text)


def _cue(lines: list[str], decimal_mark: str) -> Cue:
    """A timing line ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` (SRT: a comma) and the text lines."""
    timing, *text = lines
    time = rf"(\d{{2,}}):(\d{{2}}):(\d{{2}}){re.escape(decimal_mark)}(\d{{3}})"
    found = re.fullmatch(f"{time} --> {time}", timing)
    assert found, timing
    h1, m1, s1, f1, h2, m2, s2, f2 = (int(g) for g in found.groups())
    start = h1 * 3600 + m1 * 60 + s1 + f1 / 1000
    end = h2 * 3600 + m2 * 60 + s2 + f2 / 1000
    return Cue(start, end, "\n".join(text))


def tone(seconds: float, frequency: float = 220.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A voiced-sounding test signal: a few harmonics with a slow loudness wobble."""
    t = np.arange(round(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in (1, 2, 3, 4))
    return (0.2 * wave * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def write_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (640, 360)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def sound(kind: str, seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    if kind == "tone":
        return 0.3 * np.sin(2 * np.pi * 440 * t)
    if kind == "noise":
        return np.random.default_rng(seed).uniform(-0.2, 0.2, len(t))
    return np.zeros(len(t))
