"""`make bench-builds`: what click builds cost, and what the steady frame rate costs.

.venv/bin/python -m bench.builds_bench cold [--slides 10] [--minutes 3]
    cold runs of a deck whose every slide builds three bullets, with builds on and off
.venv/bin/python -m bench.builds_bench assembly [--slides 30] [--minutes 10]
    assembly alone (time, MP4 size) on rendered stills and tones of the given length; run it
    with PYTHONPATH=<an older checkout>/include to measure that version the same way
.venv/bin/python -m bench.builds_bench corpus DIR
    over every .pptx in DIR: slides with entrance animations, how many became steps, how
    many fell back to one still and why
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
import wave
import zipfile
from pathlib import Path

import numpy as np

from bench import inputs
from deck2video import job, samples
from deck2video.audio import SAMPLE_RATE
from deck2video.config import JobSettings


def cold(slides: int, minutes: float) -> None:
    from tests.support.build_decks import build_builds_bench_deck

    with tempfile.TemporaryDirectory(prefix="bench-builds-") as tmp:
        folder = Path(tmp)
        deck = build_builds_bench_deck(folder / "builds.pptx", slides, minutes)
        voice = samples.make_reference_voice(folder / "voice.wav")
        for builds in (True, False):
            root = folder / f"root-{builds}"  # a cold run: caches of its own
            out = folder / f"out-{builds}.mp4"
            began = time.perf_counter()
            summary = job.run(
                str(deck), str(voice), out_url=str(out), root_url=str(root),
                settings=JobSettings(builds=builds),
            )  # fmt: skip
            seconds = time.perf_counter() - began
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in summary.stage_seconds.items())
            print(
                f"builds {'on ' if builds else 'off'}: cold run {seconds:.1f} s for "
                f"{summary.video_seconds:.0f} s of video, {out.stat().st_size / 1e6:.2f} MB "
                f"({stages})"
            )


def assembly(slides: int, minutes: float) -> None:
    from deck2video.assemble import SlideClip, assemble_video
    from deck2video.render import render_slides

    seconds = minutes * 60 / slides
    with tempfile.TemporaryDirectory(prefix="bench-assembly-") as tmp:
        folder = Path(tmp)
        deck = inputs.build_bench_deck(folder / "deck.pptx", slides, minutes)
        stills = render_slides(
            deck, folder / "stills", expected=slides, include_hidden=False,
            width=1920, height=1080, timeout=600,
        )  # fmt: skip
        clips = []
        for number, image in enumerate(stills, start=1):
            audio = folder / f"{number:04d}.wav"
            t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
            tone = 0.2 * np.sin(2 * np.pi * (200 + 40 * number) * t)
            with wave.open(str(audio), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(SAMPLE_RATE)
                wav.writeframes((tone * 32767).astype("<i2").tobytes())
            clips.append(SlideClip(image=image, audio=audio, title=f"Slide {number}", cues=()))
        for attempt in range(2):
            began = time.perf_counter()
            video = assemble_video(
                clips, folder / f"out{attempt}", padding=0.5, min_slide_seconds=2.0, timeout=1800
            )
            took = time.perf_counter() - began
            print(
                f"assembly of {slides} slides, {video.duration:.0f} s: {took:.2f} s, "
                f"{video.path.stat().st_size / 1e6:.2f} MB"
            )


def corpus(folder: Path) -> None:
    from deck2video.builds import plan_builds
    from deck2video.errors import InputError

    counts: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    for deck in sorted(folder.glob("*.pptx")):
        try:
            with zipfile.ZipFile(deck) as archive:
                animated = [
                    n for n in archive.namelist()
                    if n.startswith("ppt/slides/slide") and b'presetClass="entr"' in archive.read(n)
                ]  # fmt: skip
                total = sum(
                    1 for n in archive.namelist() if n.startswith("ppt/slides/slide")
                    and n.endswith(".xml")
                )  # fmt: skip
        except (zipfile.BadZipFile, OSError):
            counts["unreadable decks"] += 1
            continue
        counts["decks"] += 1
        if not animated:
            continue
        counts["decks with entrance animations"] += 1
        counts["slides with entrance animations"] += len(animated)
        try:
            plan = plan_builds(
                deck, list(range(1, total + 1)), max_steps_per_slide=50,
                max_steps_per_deck=10_000, label=deck.name,
            )  # fmt: skip
        except InputError as error:
            counts["decks refused by the caps"] += 1
            reasons[str(error)[:100]] += 1
            continue
        except (KeyError, ValueError) as error:
            counts["decks whose slide list could not be read"] += 1
            reasons[f"{type(error).__name__}"] += 1
            continue
        for build in plan.slides:
            if build.steps > 1:
                counts["slides that became steps"] += 1
                counts["steps"] += build.steps
        for warning in plan.warnings:
            counts["slides shown as one still (not understood)"] += 1
            reasons[warning.split("(", 1)[1].rsplit(")", 1)[0][:60]] += 1
    for name, count in counts.items():
        print(f"{name}: {count}")
    for reason, count in reasons.most_common():
        print(f"  {count} x {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    for name, slides, minutes in (("cold", 10, 3.0), ("assembly", 30, 10.0)):
        mode = modes.add_parser(name)
        mode.add_argument("--slides", type=int, default=slides)
        mode.add_argument("--minutes", type=float, default=minutes)
    modes.add_parser("corpus").add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.mode == "cold":
        cold(args.slides, args.minutes)
    elif args.mode == "assembly":
        assembly(args.slides, args.minutes)
    else:
        corpus(args.folder)


if __name__ == "__main__":
    main()
