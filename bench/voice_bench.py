"""`make bench-voice`: does the narration sound like the presenter? A cloning evaluation.

For several reference voices made here (espeak-ng voices of different pitch and accent, and a
recording pitch-shifted with sox), the reference is cleaned as a job cleans it and a few
sentences are narrated by the job's own speaking stack: once with no converter and, where this
deployment has converter weights (DECK2VIDEO_OPENVOICE_DIR), once re-voiced by OpenVoice.
Each narration's speaker similarity (deck2video.quality) to its reference and to the base voice
is one row of the table. Without a converter the narration is the base voice (similarity to it
near 1) and its similarity to the presenter is the honest baseline; with trained weights on a
GPU host, the same command is the check of voice cloning: similarity to the reference should
rise towards the same-voice ceiling, and to the base voice fall.

    .venv/bin/python -m bench.voice_bench [--json result.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench import inputs
from deck2video import quality, samples
from deck2video.audio import read_wav
from deck2video.errors import ProcessingError
from deck2video.narration import narrate
from deck2video.speech import synthesize_slide
from deck2video.speech.embedding import CALIBRATION_TEXT, embedding_to_bytes, extract_embedding
from deck2video.speech.narrator import build_narrator, find_converter
from deck2video.voice import prepare_reference

NARRATION = (
    "Welcome to the quarterly review. Revenue grew in every region, and the team shipped two "
    "major releases. Next, we look at what the numbers mean for the year ahead, and where we "
    "will invest. Thank you all for the hard work that made it possible."
)
ANOTHER_TAKE = (
    "Good ideas often start as small experiments that nobody expects to work. Thank you for "
    "joining us today, and let us look at what happens next."
)
# (name, espeak-ng voice, pitch 0-99, sox pitch shift in cents or None)
VOICES = [
    ("espeak en-gb, pitch 50", "en-gb", 50, None),
    ("espeak en-us, pitch 25", "en-us", 25, None),
    ("espeak en-us+f3, pitch 80", "en-us+f3", 80, None),
    ("espeak en-gb-scotland, pitch 40", "en-gb-scotland", 40, None),
    ("espeak en-gb, sox pitch -400 cents", "en-gb", 50, -400),
    ("espeak en-gb, sox pitch +500 cents", "en-gb", 50, 500),
]


COLUMNS = (
    "same voice, other take",
    "no converter: to reference",
    "no converter: to base",
    "converter: to reference",
    "converter: to base",
)


@dataclass
class Row:
    voice: str
    same_voice: float  # another take of the reference voice: the ceiling
    plain_to_reference: float  # narration without a converter
    plain_to_base: float
    cloned_to_reference: float | None = None  # narration re-voiced by the converter
    cloned_to_base: float | None = None
    seconds: float = 0.0


def make_reference(work: Path, name: str, voice: str, pitch: int, cents: int | None, **text):
    """An espeak-ng recording (``text=``: other words than the default reference's), cleaned
    as a job cleans it."""
    source = samples.make_reference_voice(work / f"{name}.wav", voice=voice, pitch=pitch, **text)
    if cents is not None:
        source = inputs.pitch_shifted(source, work / f"{name}-shifted.wav", cents=cents)
    return prepare_reference(source, work / f"{name}-clean.wav")


def narrate_with(converter, reference_clip: Path | None) -> np.ndarray:
    """The job's speaking stack (Piper, pronunciation rules, the converter if given)."""
    backend = build_narrator(
        "piper",
        "en",
        converter=converter,
        target_embedding=lambda found: embedding_to_bytes(extract_embedding(found, reference_clip)),
        lexicon={},
    )
    return synthesize_slide(narrate(NARRATION), backend, speed=1.0).samples


def evaluate(work: Path, models: quality.Models, converter, base: np.ndarray) -> list[Row]:
    def embed(samples_24k: np.ndarray) -> np.ndarray | None:
        try:
            return quality.voice_embedding(models, samples_24k, quality.REFERENCE_SECONDS)
        except ProcessingError:  # a converter that makes no voice at all (random weights)
            return None

    def similar(a: np.ndarray | None, b: np.ndarray) -> float | None:
        return None if a is None else quality.similarity(a, b)

    plain = embed(narrate_with(None, None))
    rows = []
    for index, (label, voice, pitch, cents) in enumerate(VOICES):
        began = time.perf_counter()
        clip = make_reference(work, f"v{index}", voice, pitch, cents)
        take = make_reference(work, f"t{index}", voice, pitch, cents, text=ANOTHER_TAKE)
        reference = embed(read_wav(clip.path))
        row = Row(
            voice=label,
            same_voice=quality.similarity(embed(read_wav(take.path)), reference),
            plain_to_reference=quality.similarity(plain, reference),
            plain_to_base=quality.similarity(plain, base),
        )
        if converter is not None:
            cloned = embed(narrate_with(converter, clip.path))
            row.cloned_to_reference = similar(cloned, reference)
            row.cloned_to_base = similar(cloned, base)
        row.seconds = round(time.perf_counter() - began, 2)
        rows.append(row)
    return rows


def table(rows: list[Row], converter) -> Table:
    title = "deck2video voice cloning: speaker similarity (resemblyzer cosine, 0..1)"
    out = Table(title=title)
    out.add_column("reference voice")
    for column in COLUMNS:
        out.add_column(column, justify="right")
    for row in rows:
        cloned = (row.cloned_to_reference, row.cloned_to_base)
        out.add_row(
            row.voice,
            f"{row.same_voice:.3f}",
            f"{row.plain_to_reference:.3f}",
            f"{row.plain_to_base:.3f}",
            *(_cell(value, converter) for value in cloned),
        )
    out.caption = (
        f"converter: {converter.version} {converter.checkpoint_sha256[:12]} on {converter.device}"
        if converter is not None
        else "converter: none configured (set DECK2VIDEO_OPENVOICE_DIR): no cloning here"
    )
    return out


def _cell(value: float | None, converter) -> str:
    if value is not None:
        return f"{value:.3f}"
    return "no voice" if converter is not None else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    console = Console(width=160)  # the table is wide; logs and pipes get it whole
    models = quality.load_models()
    converter = find_converter()
    base = quality.voice_embedding(models, _base_voice(), quality.REFERENCE_SECONDS)
    with tempfile.TemporaryDirectory(prefix="deck2video-voice-bench-") as tmp:
        rows = evaluate(Path(tmp), models, converter, base)
    console.print(table(rows, converter))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")


def _base_voice() -> np.ndarray:
    """The base voice on its own: Piper reading the converter's calibration text."""
    from deck2video.speech import load_backend

    return load_backend("piper", "en").synthesize(CALIBRATION_TEXT, speed=1.0)


if __name__ == "__main__":
    main()
