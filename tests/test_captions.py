"""Caption text: WebVTT / SRT formatting, escaping and line wrapping."""

from __future__ import annotations

from itertools import pairwise

import pytest

from deck2video.captions import LINE_CHARS, Cue, screen_cues, to_srt, to_vtt
from tests.support.media import read_srt, read_vtt


def test_vtt_has_header_and_millisecond_times() -> None:
    text = to_vtt([Cue(1.5, 2.25, "Hello."), Cue(3725.0042, 3726.9996, "Later.")])
    assert text.startswith("WEBVTT\n\n")
    assert "00:00:01.500 --> 00:00:02.250\nHello.\n" in text
    assert "01:02:05.004 --> 01:02:07.000\nLater.\n" in text
    assert read_vtt(text) == [Cue(1.5, 2.25, "Hello."), Cue(3725.004, 3727.0, "Later.")]


def test_srt_is_numbered_with_comma_times() -> None:
    text = to_srt([Cue(0.0, 1.0, "One."), Cue(1.0, 2.5, "Two.")])
    assert (
        text == "1\n00:00:00,000 --> 00:00:01,000\nOne.\n\n2\n00:00:01,000 --> 00:00:02,500\nTwo.\n"
    )


def test_no_cues_gives_empty_documents() -> None:
    assert to_vtt([]) == "WEBVTT\n"
    assert to_srt([]) == ""


def test_cues_come_out_in_time_order() -> None:
    cues = [Cue(5, 6, "second"), Cue(1, 2, "first")]
    assert [c.text for c in read_srt(to_srt(cues))] == ["first", "second"]


def test_vtt_escapes_markup_and_arrows() -> None:
    # Tags are stripped before (issue 9: players applied them); what is left is escaped.
    text = to_vtt([Cue(0, 1, "R&D <b>costs</b> --> up, a < b")])
    assert read_vtt(text)[0].text == "R&amp;D costs --&gt; up, a &lt; b"


@pytest.mark.parametrize(
    "spelled",
    ["-->", "--->", "---->", "-- >", "- ->", "‐‐>", "–>", "—>", "−−>", "－－＞", "-->>"],
)
def test_srt_cues_never_hold_an_arrow_however_it_is_spelled(spelled: str) -> None:
    forged = f"Owned. 00:00:09,000 {spelled} 00:00:10,000 Forged cue"
    text = to_srt([Cue(0, 1, forged), Cue(1, 2, "Next.")])
    timing_lines = [line for line in text.splitlines() if ">" in line or "＞" in line]
    assert timing_lines == ["00:00:00,000 --> 00:00:01,000", "00:00:01,000 --> 00:00:02,000"]
    cues = read_srt(text)
    assert [(c.start, c.end) for c in cues] == [(0, 1), (1, 2)]
    assert "→ 00:00:10,000 Forged cue" in cues[0].text.replace("\n", " ")  # kept, as text


def test_whitespace_and_newlines_in_text_cannot_break_blocks() -> None:
    cues = [Cue(0, 1, "line one\n\nline   two\t end"), Cue(1, 2, "next")]
    assert [c.text for c in read_vtt(to_vtt(cues))] == ["line one line two end", "next"]


def test_empty_and_zero_length_cues_are_dropped() -> None:
    cues = [Cue(0, 1, "   "), Cue(2, 2.0004, "blink"), Cue(3, 4, "kept")]
    assert [c.text for c in read_srt(to_srt(cues))] == ["kept"]


def test_short_text_stays_on_one_line() -> None:
    text = "x" * 20 + " " + "y" * 21  # exactly 42 characters
    assert [c.text for c in screen_cues([Cue(0, 1, text)])] == [text]


def test_longer_text_wraps_into_two_balanced_lines() -> None:
    text = "The quarterly numbers look better than anyone expected."
    (cue,) = screen_cues([Cue(0, 3, text)])
    lines = cue.text.split("\n")
    assert len(lines) == 2
    assert " ".join(lines) == text
    assert all(len(line) <= LINE_CHARS for line in lines)
    assert abs(len(lines[0]) - len(lines[1])) <= 12
    assert (cue.start, cue.end) == (0, 3)


def test_very_long_text_becomes_consecutive_two_line_cues() -> None:
    words = [f"word{i}" for i in range(40)]  # ~260 characters
    cues = list(screen_cues([Cue(10.0, 20.0, " ".join(words))]))
    assert len(cues) >= 3
    assert all(len(c.text.split("\n")) <= 2 for c in cues)
    assert all(len(line) <= LINE_CHARS for c in cues for line in c.text.split("\n"))
    assert " ".join(c.text.replace("\n", " ") for c in cues) == " ".join(words)
    assert cues[0].start == 10.0
    assert cues[-1].end == pytest.approx(20.0)
    for before, after in pairwise(cues):
        assert before.end == pytest.approx(after.start)
        assert before.end > before.start


def test_a_single_overlong_word_is_not_cut() -> None:
    url = "https://example.com/" + "a" * 60
    (cue,) = screen_cues([Cue(0, 1, f"See {url}")])
    assert cue.text.split("\n") == ["See", url]


def test_shifted_moves_both_ends() -> None:
    assert Cue(1.0, 2.0, "x").shifted(3.5) == Cue(4.5, 5.5, "x")


# --- text hygiene: notes are hostile, and players apply what markup they find -----------------


def test_srt_drops_the_markup_players_would_apply() -> None:
    hostile = "<b>bold</b> <font color=red>red</font> {\\an8}on top <<i>i>x</i>"
    [cue] = read_srt(to_srt([Cue(0, 1, hostile)]))
    assert cue.text == "bold red on top x"


def test_vtt_drops_tags_and_override_blocks_and_escapes_the_rest() -> None:
    [cue] = read_vtt(to_vtt([Cue(0, 1, "<c.red>x</c> {\\an8}{\\pos(1,1)}y <v Bob>a<b")]))
    assert cue.text == "x y a&lt;b"


@pytest.mark.parametrize("to_text", [to_vtt, to_srt])
def test_bidi_overrides_and_controls_never_reach_a_caption(to_text) -> None:
    spoof = "pay to \u202eLIVE\u202c \u2066evil\u2069 now\x1b[31m \x85red"
    text = to_text([Cue(0, 1, spoof)])
    assert not any(ch in text for ch in "\u202e\u202c\u2066\u2069\x1b\x85")
    [cue] = (read_vtt if to_text is to_vtt else read_srt)(text)
    assert cue.text == "pay to LIVE evil now [31m red"


def test_visible_text_keeps_ordinary_unicode() -> None:
    from deck2video.captions import visible_text

    assert (
        visible_text("Café — naïve 漢字 עברית 👩\u200d💻\nnext")
        == "Café — naïve 漢字 עברית 👩\u200d💻\nnext"
    )
