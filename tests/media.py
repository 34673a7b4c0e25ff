"""Inspect outputs as a user would: ffprobe streams and chapters, grab frames, read captions."""

from __future__ import annotations

import json
import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            "-show_chapters",
            str(path),
        ],
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


def frame_at(video: Path, seconds: float, dest: Path) -> Image.Image:
    """The frame on screen at ``seconds``, as RGB.

    ``-noaccurate_seek``: a slide is one long frame that started before ``seconds``, which an
    accurate seek would skip. The video is tagged BT.709, which ffmpeg 5.1's converter ignores.
    """
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-noaccurate_seek",
            "-ss",
            f"{seconds:.3f}",
            "-i",
            str(video),
            "-map",
            "0:v",
            "-frames:v",
            "1",
            "-fps_mode",
            "passthrough",
            "-vf",
            "scale=in_color_matrix=bt709:in_range=tv",
            str(dest),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(dest).convert("RGB")


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


@dataclass(frozen=True)
class Caption:
    start: float
    end: float
    text: str


_TIME = r"(\d+):(\d\d):(\d\d)[.,](\d{3})"


def read_captions(text: str) -> list[Caption]:
    """Parse WebVTT or SRT cue timings and text."""
    cues = []
    for block in re.split(r"\n\s*\n", text.strip()):
        match = re.search(_TIME + r"\s+-->\s+" + _TIME, block)
        if not match:
            continue
        g = [int(v) for v in match.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        body = block[match.end() :].strip()
        cues.append(Caption(start, end, body))
    return cues


def loudness_lufs(path: Path) -> float:
    """Integrated loudness measured by ffmpeg's ebur128 filter."""
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-map", "0:a", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])
