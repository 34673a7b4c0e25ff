"""fingerprint.py: the render cache's key is read in a stream, whatever a deck's parts unpack to."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from deck2video.fingerprint import visual_fingerprint
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files
from tests.support.measure import run_measured


def test_notes_do_not_change_the_visual_fingerprint(tmp_path: Path):
    one = build_deck(tmp_path / "a.pptx", [SampleSlide("Same", "notes one")])
    two = build_deck(tmp_path / "b.pptx", [SampleSlide("Same", "notes two")])
    other = build_deck(tmp_path / "c.pptx", [SampleSlide("Different", "notes one")])
    assert visual_fingerprint(one) == visual_fingerprint(two) != visual_fingerprint(other)


def test_a_huge_part_is_hashed_in_a_stream(tmp_path: Path):
    """It read each part whole: 2.7 GB resident for a deck with 900 MiB of zeros in one part."""
    deck = bad_files.entry_bomb(tmp_path / "zeros.pptx", zero_mib=400, noise_mib=1)
    measured = run_measured(
        [sys.executable, "-c", textwrap.dedent(f"""
            from deck2video.fingerprint import visual_fingerprint
            print(visual_fingerprint({str(deck)!r}))
        """)]
    )  # fmt: skip
    print(f"\nfingerprint of 400 MiB of zeros: {measured.line()}")
    assert measured.returncode == 0, measured.stderr
    assert measured.stdout.strip() == visual_fingerprint(deck)
    assert measured.peak_rss_mb < 100
