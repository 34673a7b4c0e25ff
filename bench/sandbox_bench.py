"""What the tool sandbox costs: the same tool calls through procs.run_tool with bubblewrap
(DECK2VIDEO_TOOL_SANDBOX=bwrap, the default) and without (none), medians of wall time per call.

The calls are the ones a job makes: ffmpeg decoding a reference recording (prepare_voice),
ffmpeg measuring a track's loudness (assemble), pdfinfo and one pdftoppm page of a rendered deck
(prepare), and /usr/bin/true (the sandbox's own start, nothing else).

    .venv/bin/python -m bench.sandbox_bench [--calls 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from deck2video import samples
from deck2video.audio import read_wav
from deck2video.procs import Sandbox, run_tool
from deck2video.render import convert_to_pdf, read_pdf_info
from deck2video.soundtrack import loudness
from deck2video.voice import prepare_reference


def median_seconds(call: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def workloads(folder: Path) -> dict[str, Callable[[], object]]:
    voice = samples.make_reference_voice(folder / "voice.m4a")
    track = read_wav(samples.make_reference_voice(folder / "track.wav"))
    deck = samples.build_demo_deck(folder / "deck.pptx")
    (folder / "render").mkdir()
    pdf = convert_to_pdf(deck, folder / "render", include_hidden=False, timeout=120)
    pages = folder / "pages"
    pages.mkdir()
    return {
        "true (the sandbox alone)": lambda: run_tool(["/usr/bin/true"], timeout=30, what="true"),
        "ffmpeg: decode a 9 s m4a": lambda: prepare_reference(voice, folder / "clean.wav"),
        "ffmpeg: loudness of 9 s": lambda: loudness([track], folder, timeout=60, what="bench"),
        "pdfinfo": lambda: read_pdf_info(pdf, label="bench", timeout=30),
        "pdftoppm: one 1080p page": lambda: run_tool(
            [
                "pdftoppm",
                "-scale-to-x",
                "1920",
                "-scale-to-y",
                "1080",
                "-f",
                "1",
                "-l",
                "1",
                pdf,
                pages / "page",
            ],
            timeout=60,
            what="bench",
            sandbox=Sandbox(read_only=(pdf,), writable=(pages,)),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deck2video-bench-") as tmp:
        jobs = workloads(Path(tmp))
        print(f"median of {args.calls} calls, ms | none | bwrap | sandbox's cost")
        for name, call in jobs.items():
            found = {}
            for mode in ("none", "bwrap"):
                os.environ["DECK2VIDEO_TOOL_SANDBOX"] = mode
                call()  # warm the page cache
                found[mode] = median_seconds(call, args.calls) * 1000
            cost = found["bwrap"] - found["none"]
            print(f"{name:28} | {found['none']:6.1f} | {found['bwrap']:6.1f} | {cost:+6.1f}")


if __name__ == "__main__":
    main()
