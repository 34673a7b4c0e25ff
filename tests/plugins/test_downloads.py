"""downloads.py: a job's files are saved under the deck's own name, in plain characters."""

from __future__ import annotations

import pytest
from deck2video_ui.downloads import DOWNLOADS, disposition, file_name


@pytest.mark.parametrize(
    ("deck", "kind", "expected"),
    [
        ("Quarterly review.pptx", "video", "Quarterly review.mp4"),
        ("Café Zürich.pptx", "srt", "Cafe Zurich.srt"),
        ("talk.pptx", "quality", "talk.quality.json"),
        ('../"evil"\r\n.pptx', "vtt", "evil.vtt"),
        (".pptx", "video", "pptx.mp4"),
        ("日本語.pptx", "video", "video.mp4"),
    ],
)
def test_the_saved_file_is_named_after_the_deck(deck, kind, expected):
    assert file_name(deck, DOWNLOADS[kind]) == expected


def test_the_disposition_carries_the_deck_own_name_encoded():
    found = disposition('Café "x".pptx', DOWNLOADS["video"])
    assert found == (
        "attachment; filename=\"Cafe -x.mp4\"; filename*=UTF-8''Caf%C3%A9%20%22x%22.mp4"
    )
    assert "\r" not in disposition("a\r\nSet-Cookie: x.pptx", DOWNLOADS["video"])
