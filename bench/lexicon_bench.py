"""What a worst-case lexicon costs prepare's narration estimate, per slide.

The worst case the limits allow: as many entries as ``max_lexicon_entries``, each as long as
``max_lexicon_entry_chars``, each matching far into the notes before failing on its last
characters, and notes of ``max_notes_chars`` in sentences just under ``max_expanded_chars``
(a longer sentence is refused as soon as it is expanded). One entry starts differently, so
that no common prefix can be factored out of the entries.

    .venv/bin/python -m bench.lexicon_bench [--slides 3]

To measure the code of another commit, run the same file with that commit's ``include`` first
on PYTHONPATH (``git archive <commit> include | tar -x -C /tmp/old``).
"""

from __future__ import annotations

import argparse
import time

import deck2video
from deck2video.config import JobSettings, Limits
from deck2video.job.budget import estimate
from deck2video.narration import narrate
from deck2video.pronounce import load_lexicon

REPEATED = "ab "


def worst_lexicon(limits: Limits) -> str:
    """The lexicon's text: long entries that all match the notes up to their last characters."""
    body = REPEATED * (limits.max_lexicon_entry_chars // len(REPEATED))
    lines = []
    for k in range(limits.max_lexicon_entries - 1):
        tail = f"q{k}"
        lines.append(f"{body[: limits.max_lexicon_entry_chars - len(tail)]}{tail} = x")
    lines.append("zz = y")
    return "\n".join(lines) + "\n"


def worst_notes(limits: Limits) -> str:
    """A slide's notes at the limit, in sentences that each just pass ``max_expanded_chars``."""
    sentence = (REPEATED * ((limits.max_expanded_chars - 10) // len(REPEATED))).strip() + "."
    count = limits.max_notes_chars // (len(sentence) + 1)
    return " ".join([sentence] * count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=3)
    args = parser.parse_args()
    limits = Limits()
    settings = JobSettings()
    building = time.perf_counter()
    lexicon = load_lexicon(worst_lexicon(limits), settings.language, limits=limits)
    loaded = time.perf_counter() - building
    notes = worst_notes(limits)
    segments = narrate(notes, settings.silence_seconds)
    print(f"code: {deck2video.__file__}")
    print(f"lexicon: {len(lexicon)} entries, loaded in {loaded:.2f} s; notes: {len(notes)} chars")
    per_slide = []
    for number in range(1, args.slides + 1):
        started = time.perf_counter()
        seconds = estimate(
            f"slide {number}", segments, settings=settings, lexicon=lexicon, limits=limits
        )
        per_slide.append(time.perf_counter() - started)
        print(f"slide {number}: estimated {seconds:.0f} s of narration in {per_slide[-1]:.2f} s")
    print(f"mean {sum(per_slide) / len(per_slide):.2f} s per slide, max {max(per_slide):.2f} s")


if __name__ == "__main__":
    main()
