"""The benchmarks' inputs (bench/inputs.py): a long deck whose notes add up to the minutes asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pptx import Presentation

from bench import inputs


@pytest.mark.parametrize(("count", "minutes"), [(30, 10.0), (10, 3.0), (3, 1.0)])
def test_bench_notes_add_up_to_the_requested_minutes(count: int, minutes: float) -> None:
    notes = inputs.bench_notes(count, minutes)
    assert len(notes) == count
    words = sum(len(n.split()) for n in notes)
    assert abs(words - minutes * 150) <= 0.1 * minutes * 150
    assert notes == inputs.bench_notes(count, minutes)  # deterministic
    assert len(set(notes)) == count


def test_bench_deck_has_the_slides(tmp_path: Path) -> None:
    path = inputs.build_bench_deck(tmp_path / "bench.pptx", slides=5, minutes=1.0)
    prs = Presentation(str(path))
    notes = [s.notes_slide.notes_text_frame.text for s in prs.slides]
    assert notes == inputs.bench_notes(5, 1.0)
