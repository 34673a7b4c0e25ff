"""`make bench-voice`: does the narration sound like the presenter? Matching and cloning judged.

For several reference voices made here (espeak-ng voices of both sexes, different pitch and
accent, and a recording pitch-shifted with sox), the reference is cleaned as a job cleans it and a
few sentences are narrated by the job's own speaking stack: with no converter, plain and matched
to the reference's pitch and formants (:mod:`deck2video.speech.match`), and, where this
deployment has converter weights (DECK2VIDEO_OPENVOICE_DIR), re-voiced by OpenVoice. Each
narration's speaker similarity (deck2video.quality) to its reference and to the base voice is
one row of the similarity table; the second table judges matching's cost in quality: DNSMOS P.808
and P.835 overall, and the word error rate of an offline recognizer (pocketsphinx and the
English model in its wheel) on the narration, plain and matched; the verdict line holds matching
to the issue's bar (mean similarity up by 0.08, no speaker's DNSMOS overall down by more than
0.15, WER up by at most 2 points). The plain narration is the base voice (similarity to it near
1) and its similarity to the presenter is the honest baseline; with trained weights on a GPU
host, the same command is the check of voice cloning: similarity to the reference should
rise towards the same-voice ceiling, and to the base voice fall.

    .venv/bin/python -m bench.voice_bench [--json result.json] [--speakers N]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench import inputs
from deck2video import quality, samples
from deck2video.audio import MODEL_RATE, SAMPLE_RATE, read_wav, resample
from deck2video.errors import ProcessingError
from deck2video.narration import narrate
from deck2video.pronounce import PronouncingBackend
from deck2video.speech import load_backend, synthesize_slide
from deck2video.speech.embedding import CALIBRATION_TEXT, embedding_to_bytes, extract_embedding
from deck2video.speech.match import Match, MatchedBackend, measure
from deck2video.speech.narrator import build_narrator, find_converter
from deck2video.speech.weights import Converter
from deck2video.voice import ReferenceVoice, prepare_reference

NARRATION = (
    "Welcome to the quarterly review. Revenue grew in every region, and the team shipped two "
    "major releases. Next, we look at what the numbers mean for the year ahead, and where we "
    "will invest. Thank you all for the hard work that made it possible."
)
ANOTHER_TAKE = (
    "Good ideas often start as small experiments that nobody expects to work. Thank you for "
    "joining us today, and let us look at what happens next."
)
# (name, espeak-ng voice, pitch 0-99, sox pitch shift in cents or None): four male, four female.
VOICES = [
    ("m: espeak en-gb, pitch 50", "en-gb", 50, None),
    ("m: espeak en-us, pitch 25", "en-us", 25, None),
    ("m: espeak en-gb-scotland, pitch 40", "en-gb-scotland", 40, None),
    ("m: espeak en-gb, sox -400 cents", "en-gb", 50, -400),
    ("f: espeak en-us+f3, pitch 80", "en-us+f3", 80, None),
    ("f: espeak en-us+f2, pitch 60", "en-us+f2", 60, None),
    ("f: espeak en-gb+f4, pitch 70", "en-gb+f4", 70, None),
    ("f: espeak en-gb, sox +500 cents", "en-gb", 50, 500),
]
TAKES = 3  # readings of the narration that each score is the mean over
# The bar for shipping matching on by default.
MIN_SIMILARITY_GAIN, MAX_DNSMOS_DROP, MAX_WER_RISE = 0.08, 0.15, 0.02

COLUMNS = (
    "same voice, other take",
    "plain: to reference",
    "matched: to reference",
    "plain: to base",
    "matched: to base",
    "converter: to reference",
    "converter: to base",
)


@dataclass
class Row:
    voice: str
    same_voice: float  # another take of the reference voice: the ceiling
    plain_to_reference: float  # narration without a converter
    plain_to_base: float
    matched_to_reference: float | None = None  # the same, matched to the reference's traits
    matched_to_base: float | None = None
    cloned_to_reference: float | None = None  # narration re-voiced by the converter
    cloned_to_base: float | None = None
    match: dict | None = None  # Praat's change: formant ratio, new pitch median, range factor
    plain_p808: float = 0.0
    matched_p808: float = 0.0
    plain_ovrl: float = 0.0  # DNSMOS P.835 overall
    matched_ovrl: float = 0.0
    plain_wer: float = 0.0  # word error rate, 0..1
    matched_wer: float = 0.0
    seconds: float = 0.0


def make_reference(
    work: Path, name: str, voice: str, pitch: int, cents: int | None, **text: Any
) -> ReferenceVoice:
    """An espeak-ng recording (``text=``: other words than the default reference's), cleaned
    as a job cleans it."""
    source = samples.make_reference_voice(work / f"{name}.wav", voice=voice, pitch=pitch, **text)
    if cents is not None:
        source = inputs.pitch_shifted(source, work / f"{name}-shifted.wav", cents=cents)
    return prepare_reference(source, work / f"{name}-clean.wav")


def narrate_with(converter: Converter, reference_clip: Path) -> np.ndarray:
    """The job's speaking stack (Piper, pronunciation rules, the converter)."""
    backend = build_narrator(
        "piper",
        "en",
        converter=converter,
        target_embedding=lambda found: embedding_to_bytes(extract_embedding(found, reference_clip)),
        lexicon={},
    )
    return synthesize_slide(narrate(NARRATION), backend, speed=1.0).samples


class Take:
    """One reading by Piper, remembered sentence by sentence. Piper samples (each call speaks a
    little differently, and DNSMOS moves by 0.1-0.2 with it), so the plain and the matched
    narrations are made from the same takes: what differs between them is the matching."""

    def __init__(self) -> None:
        self.base = load_backend("piper", "en")
        self.name, self.model_version = self.base.name, self.base.model_version
        self.spoken: dict[tuple[str, float], np.ndarray] = {}

    def synthesize(self, text: str, *, speed: float) -> np.ndarray:
        if (text, speed) not in self.spoken:
            self.spoken[text, speed] = self.base.synthesize(text, speed=speed)
        return self.spoken[text, speed]

    def narration(self, match: Match | None = None) -> np.ndarray:
        """The narration as a job without a converter speaks it (matched when ``match``)."""
        spoken = self if match is None else MatchedBackend(self, match)
        stack = PronouncingBackend(spoken, "en", {})
        return synthesize_slide(narrate(NARRATION), stack, speed=1.0).samples


class Judge:
    """The measures of one narration: the speaker encoder, DNSMOS and the recognizer."""

    def __init__(self, models: quality.Models) -> None:
        from pocketsphinx import Decoder

        self.models = models
        self.decoder = Decoder(samprate=MODEL_RATE)

    def embed(self, samples_24k: np.ndarray) -> np.ndarray | None:
        try:
            return quality.voice_embedding(self.models, samples_24k, quality.REFERENCE_SECONDS)
        except ProcessingError:  # a converter that makes no voice at all (random weights)
            return None

    def dnsmos(self, samples_24k: np.ndarray) -> tuple[float, float]:
        """(P.808, P.835 overall) on the window the quality step would hear."""
        window = quality.dnsmos_window(quality.Narration(samples_24k, words=0))
        return (
            quality.dnsmos_p808(self.models, window),
            quality.dnsmos_p835(self.models, window)[2],
        )

    def wer(self, samples_24k: np.ndarray, text: str = NARRATION) -> float:
        pcm = np.clip(resample(samples_24k, SAMPLE_RATE, MODEL_RATE), -1.0, 1.0)
        self.decoder.start_utt()
        self.decoder.process_raw((pcm * 32767).astype("<i2").tobytes(), full_utt=True)
        self.decoder.end_utt()
        heard = self.decoder.hyp().hypstr if self.decoder.hyp() is not None else ""
        return word_error_rate(_words(text), _words(heard))


def word_error_rate(truth: list[str], heard: list[str]) -> float:
    """Word-level edit distance over the true word count."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(truth, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1] / max(1, len(truth))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@dataclass
class Heard:
    """The means over the takes of one narration's measures."""

    embedding: np.ndarray | None
    p808: float
    ovrl: float
    wer: float

    @classmethod
    def of(cls, judge: Judge, narrations: list[np.ndarray]) -> Heard:
        found = [judge.embed(n) for n in narrations]
        scores = np.array([(*judge.dnsmos(n), judge.wer(n)) for n in narrations])
        p808, ovrl, wer = scores.mean(axis=0)
        usable = [e for e in found if e is not None]
        mean = np.mean(usable, axis=0) if usable else None
        return cls(mean, round(float(p808), 3), round(float(ovrl), 3), round(float(wer), 4))


def evaluate(
    work: Path,
    judge: Judge,
    converter: Converter | None,
    base: np.ndarray,
    voices: list[tuple[str, str, int, int | None]],
) -> list[Row]:
    def similar(a: np.ndarray | None, b: np.ndarray) -> float | None:
        return None if a is None else quality.similarity(a, b)

    base_traits = measure(_base_voice())
    assert base_traits is not None  # Piper's reading has voiced speech
    takes = [Take() for _ in range(TAKES)]
    plain = Heard.of(judge, [timed(take.narration, "synthesis") for take in takes])
    assert plain.embedding is not None  # Piper's voice is heard
    rows = []
    for index, (label, voice, pitch, cents) in enumerate(voices):
        began = time.perf_counter()
        clip = make_reference(work, f"v{index}", voice, pitch, cents)
        other = make_reference(work, f"t{index}", voice, pitch, cents, text=ANOTHER_TAKE)
        reference = judge.embed(read_wav(clip.path))
        other_take = judge.embed(read_wav(other.path))
        traits = measure(read_wav(clip.path))
        assert reference is not None
        assert other_take is not None
        assert traits is not None
        match = Match.between(base_traits, traits)
        matched = Heard.of(judge, [timed(take.narration, "matching", match) for take in takes])
        row = Row(
            voice=label,
            same_voice=quality.similarity(other_take, reference),
            plain_to_reference=quality.similarity(plain.embedding, reference),
            plain_to_base=quality.similarity(plain.embedding, base),
            matched_to_reference=similar(matched.embedding, reference),
            matched_to_base=similar(matched.embedding, base),
            match=match.to_dict(),
            plain_p808=plain.p808,
            matched_p808=matched.p808,
            plain_ovrl=plain.ovrl,
            matched_ovrl=matched.ovrl,
            plain_wer=plain.wer,
            matched_wer=matched.wer,
        )
        if converter is not None:
            cloned = judge.embed(narrate_with(converter, clip.path))
            row.cloned_to_reference = similar(cloned, reference)
            row.cloned_to_base = similar(cloned, base)
        row.seconds = round(time.perf_counter() - began, 2)
        rows.append(row)
    return rows


def similarity_table(rows: list[Row], converter: Converter | None) -> Table:
    title = "deck2video voice matching and cloning: speaker similarity (resemblyzer cosine, 0..1)"
    out = Table(title=title)
    out.add_column("reference voice")
    for column in COLUMNS:
        out.add_column(column, justify="right")
    for row in rows:
        out.add_row(
            row.voice,
            f"{row.same_voice:.3f}",
            f"{row.plain_to_reference:.3f}",
            _cell(row.matched_to_reference, converter),
            f"{row.plain_to_base:.3f}",
            _cell(row.matched_to_base, converter),
            _cell(row.cloned_to_reference, converter),
            _cell(row.cloned_to_base, converter),
        )
    out.caption = (
        f"converter: {converter.version} {converter.checkpoint_sha256[:12]} on {converter.device}"
        if converter is not None
        else "converter: none configured (set DECK2VIDEO_OPENVOICE_DIR): no cloning here"
    )
    return out


def cost_table(rows: list[Row]) -> Table:
    out = Table(title="voice matching: its change, and what it costs in quality (plain -> matched)")
    for column in ("reference voice", "formants x", "pitch Hz", "range x"):
        out.add_column(column, justify="right" if column != "reference voice" else "left")
    for column in ("DNSMOS P.808", "DNSMOS P.835 overall", "WER"):
        out.add_column(column, justify="right")
    for row in rows:
        match = row.match or {}
        out.add_row(
            row.voice,
            f"{match.get('formant_ratio', 1.0):.3f}",
            f"{match.get('pitch_hz', 0.0):.0f}",
            f"{match.get('range_factor', 1.0):.2f}",
            f"{row.plain_p808:.2f} -> {row.matched_p808:.2f}",
            f"{row.plain_ovrl:.2f} -> {row.matched_ovrl:.2f}",
            f"{100 * row.plain_wer:.1f}% -> {100 * row.matched_wer:.1f}%",
        )
    return out


SECONDS: dict[str, float] = {"synthesis": 0.0, "matching": 0.0}


def timed(narration: Callable[..., np.ndarray], what: str, *args: Any) -> np.ndarray:
    """``narration(*args)``, its wall time added to ``SECONDS[what]``. A take's first reading
    is synthesis; a matched reading of a take is then the matching alone (Piper's audio is
    remembered), so the two add up to what a matched slide costs."""
    began = time.perf_counter()
    try:
        return narration(*args)
    finally:
        SECONDS[what] += time.perf_counter() - began


def cost(rows: list[Row]) -> dict:
    """Matching's time per narration against synthesis's, per narration."""
    synthesis = SECONDS["synthesis"] / TAKES
    matching = SECONDS["matching"] / (TAKES * max(1, len(rows)))
    return {
        "synthesis_seconds": round(synthesis, 3),
        "matching_seconds": round(matching, 3),
        "matching_share": round(matching / synthesis, 3),
    }


def verdict(rows: list[Row]) -> dict:
    """Matching held to the issue's bar."""
    gain = statistics.fmean(_known(r.matched_to_reference) - r.plain_to_reference for r in rows)
    drop = max(r.plain_ovrl - r.matched_ovrl for r in rows)
    rise = statistics.fmean(r.matched_wer - r.plain_wer for r in rows)
    return {
        "mean_similarity_gain": round(gain, 4),
        "largest_dnsmos_ovrl_drop": round(drop, 3),
        "mean_wer_rise": round(rise, 4),
        "passes": gain >= MIN_SIMILARITY_GAIN and drop <= MAX_DNSMOS_DROP and rise <= MAX_WER_RISE,
    }


def _known(value: float | None) -> float:
    assert value is not None  # Piper's matched narration is always heard
    return value


def _cell(value: float | None, converter: Converter | None) -> str:
    if value is not None:
        return f"{value:.3f}"
    return "no voice" if converter is not None else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--speakers", type=int, default=len(VOICES), help="the first N voices")
    args = parser.parse_args()
    console = Console(width=180)  # the tables are wide; logs and pipes get them whole
    judge = Judge(quality.load_models())
    converter = find_converter()
    base = judge.embed(_base_voice())
    assert base is not None  # Piper's voice is heard
    with tempfile.TemporaryDirectory(prefix="deck2video-voice-bench-") as tmp:
        rows = evaluate(Path(tmp), judge, converter, base, VOICES[: args.speakers])
    console.print(similarity_table(rows, converter))
    console.print(cost_table(rows))
    judged = verdict(rows)
    console.print(
        f"matching: mean similarity {judged['mean_similarity_gain']:+.3f} "
        f"(bar +{MIN_SIMILARITY_GAIN}), largest DNSMOS overall drop "
        f"{judged['largest_dnsmos_ovrl_drop']:.2f} (bar {MAX_DNSMOS_DROP}), mean WER "
        f"{100 * judged['mean_wer_rise']:+.1f} points (bar +{100 * MAX_WER_RISE:.0f}): "
        + ("passes" if judged["passes"] else "does not pass")
    )
    spent = cost(rows)
    console.print(
        f"cost: synthesis {spent['synthesis_seconds']:.2f} s a narration, matching "
        f"{spent['matching_seconds']:.3f} s (+{100 * spent['matching_share']:.1f}%, bar +15%)"
    )
    if args.json:
        result = {"rows": [asdict(r) for r in rows], "verdict": judged, "cost": spent}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def _base_voice() -> np.ndarray:
    """The base voice on its own: Piper reading the converter's calibration text."""
    return load_backend("piper", "en").synthesize(CALIBRATION_TEXT, speed=1.0)


if __name__ == "__main__":
    main()
