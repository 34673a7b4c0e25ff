"""The MoviePy baseline that assemble_video is measured against, and a quick comparison.

The baseline is what a straightforward script does: one ImageClip per slide for its duration with
that slide's narration, concatenated and written at a fixed frame rate. Every frame goes through
the encoder, which is exactly the cost deck2video's one-frame-per-slide encoding avoids.

    .venv/bin/python bench/assembly.py [--slides 3] [--seconds 5] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from deck2video.audio import SAMPLE_RATE, write_wav


def moviepy_baseline(
    images: Sequence[Path],
    audios: Sequence[Path],
    durations: Sequence[float],
    out_path: Path,
    fps: int = 24,
) -> Path:
    """Write the same slides + narration with MoviePy 2 (libx264 + AAC at a constant fps)."""
    from moviepy import AudioFileClip, CompositeAudioClip, ImageClip, concatenate_videoclips

    opened = []
    clips = []
    for image, audio, duration in zip(images, audios, durations, strict=True):
        narration = AudioFileClip(str(audio))
        opened.append(narration)
        # A composite pads with silence when the slide outlasts its narration.
        sound = CompositeAudioClip([narration]).with_duration(duration)
        clips.append(ImageClip(str(image)).with_duration(duration).with_audio(sound))
    video = concatenate_videoclips(clips)
    try:
        video.write_videofile(
            str(out_path), fps=fps, codec="libx264", audio_codec="aac", logger=None
        )
    finally:
        video.close()
        for clip in opened:
            clip.close()
    return out_path


def make_inputs(
    folder: Path, *, slides: int, seconds: float, size: tuple[int, int]
) -> tuple[list[Path], list[Path]]:
    """Distinct flat-colour slides and tone narrations of `seconds` each."""
    rng = np.random.default_rng(7)
    images, audios = [], []
    for number in range(1, slides + 1):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        image = folder / f"{number:04d}.png"
        Image.new("RGB", size, colour).save(image)
        t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        tone = 0.2 * np.sin(2 * np.pi * (200 + 40 * number) * t)
        audio = folder / f"{number:04d}.wav"
        write_wav(audio, tone)
        images.append(image)
        audios.append(audio)
    return images, audios


def compare(
    *, slides: int = 3, seconds: float = 5.0, size: tuple[int, int] = (1920, 1080)
) -> dict[str, float]:
    """Time assemble_video and the MoviePy baseline on the same inputs and slide lengths."""
    from deck2video.assemble import SlideClip, assemble_video

    padding = 0.5
    with tempfile.TemporaryDirectory(prefix="bench-assembly-") as tmp:
        folder = Path(tmp)
        images, audios = make_inputs(folder, slides=slides, seconds=seconds, size=size)
        clips = [
            SlideClip(image=i, audio=a, title=f"Slide {n}", cues=())
            for n, (i, a) in enumerate(zip(images, audios, strict=True), start=1)
        ]
        began = time.perf_counter()
        video = assemble_video(
            clips, folder / "out", padding=padding, min_slide_seconds=2.0, timeout=600
        )
        ours = time.perf_counter() - began
        durations = [end - start for start, end in video.intervals]
        began = time.perf_counter()
        moviepy_baseline(images, audios, durations, folder / "moviepy.mp4")
        baseline = time.perf_counter() - began
    return {"deck2video_s": ours, "moviepy_s": baseline, "speedup": baseline / ours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    result = compare(slides=args.slides, seconds=args.seconds, size=(width, height))
    print(
        f"{args.slides} slides x {args.seconds:g} s at {args.size}: "
        f"deck2video {result['deck2video_s']:.2f} s, MoviePy {result['moviepy_s']:.2f} s, "
        f"{result['speedup']:.1f}x faster"
    )


if __name__ == "__main__":
    main()
