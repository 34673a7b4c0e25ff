"""Inputs the benchmarks make (and the tests of them): a long deck of deterministic notes, and
reference voices moved in pitch. Not part of the installed package."""

from __future__ import annotations

from pathlib import Path

from deck2video.procs import Sandbox, run_tool
from deck2video.samples import SampleSlide, build_deck

_BENCH_SENTENCES = (
    "Quarterly revenue grew in every region we track",
    "The team shipped the new onboarding flow ahead of schedule",
    "Customer support response times dropped by almost half",
    "We expect the next release to reduce infrastructure costs",
    "Our largest customers asked for better reporting and exports",
    "The mobile app now loads twice as fast on older phones",
    "Hiring stays focused on engineering and customer success",
    "Security reviews found no critical issues this quarter",
    "The partner program added twelve new resellers in Europe",
    "We will measure success by weekly active teams, not sign-ups",
    "Training material is being rewritten for the new interface",
    "The data platform migration finishes before the summer break",
)
_WORDS_PER_MINUTE = 150


def bench_notes(slides: int = 30, minutes: float = 10.0) -> list[str]:
    """Deterministic notes that add up to about ``minutes`` of speech at 150 words per minute."""
    words_per_slide = max(1, round(minutes * _WORDS_PER_MINUTE / slides))
    notes = []
    cursor = 0
    for number in range(1, slides + 1):
        sentences = [f"Slide {number} covers topic {number}."]
        count = len(sentences[0].split())
        # Add whole sentences while that brings the count closer to the target.
        while True:
            sentence = _BENCH_SENTENCES[cursor % len(_BENCH_SENTENCES)] + "."
            length = len(sentence.split())
            if count + length / 2 > words_per_slide:
                break
            cursor += 1
            sentences.append(sentence)
            count += length
        notes.append(" ".join(sentences))
    return notes


def bench_slides(slides: int = 30, minutes: float = 10.0) -> list[SampleSlide]:
    """``slides`` slides whose notes total about ``minutes`` of speech."""
    return [
        SampleSlide(f"Benchmark slide {number}", notes, image=number % 5 == 0)
        for number, notes in enumerate(bench_notes(slides, minutes), start=1)
    ]


def build_bench_deck(path: Path, slides: int = 30, minutes: float = 10.0) -> Path:
    """A deck for `make bench` (see :func:`bench_slides`)."""
    return build_deck(path, bench_slides(slides, minutes))


def pitch_shifted(source: Path, path: Path, *, cents: int, timeout: float = 60.0) -> Path:
    """``source`` (a WAV) with its pitch moved by ``cents`` and its tempo kept (sox): the same
    recording, made to sound like another speaker."""
    source, path = Path(source).resolve(), Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    run_tool(
        ["sox", source, path, "pitch", str(cents)],
        timeout=timeout,
        what=f"pitch-shift voice {path.name}",
        sandbox=Sandbox(read_only=(source,), writable=(path.parent,)),
    )
    return path
