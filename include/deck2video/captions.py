"""Caption cues and their WebVTT / SRT text."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Broadcast caption guidelines: at most two lines of about 42 characters on screen at once.
LINE_CHARS = 42
MAX_LINES = 2


@dataclass(frozen=True)
class Cue:
    """One caption: a sentence chunk and when it is spoken (seconds)."""

    start: float
    end: float
    text: str

    def shifted(self, offset: float) -> Cue:
        return Cue(self.start + offset, self.end + offset, self.text)


def to_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT text: a header, then one block per cue (times HH:MM:SS.mmm)."""
    blocks = ["WEBVTT\n"]
    for cue in screen_cues(cues):
        times = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append(f"{times}\n{_escape_vtt(cue.text)}\n")
    return "\n".join(blocks)


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip text: numbered blocks (times HH:MM:SS,mmm)."""
    blocks = []
    for number, cue in enumerate(screen_cues(cues), start=1):
        times = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        # A literal arrow inside the text would read as a timing line to some parsers.
        text = cue.text.replace("-->", "->")
        blocks.append(f"{number}\n{times}\n{text}\n")
    return "\n".join(blocks)


def screen_cues(cues: Iterable[Cue]) -> Iterator[Cue]:
    """Cues as shown on screen: text wrapped to two short lines, in time order.

    A chunk too long for two lines becomes consecutive cues that share its time in proportion to
    their length, rather than a wall of text. Cues that are empty or last under a millisecond
    after rounding are dropped (players show them badly or not at all).
    """
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        words = " ".join(cue.text.split())
        if not words or round(cue.end * 1000) <= round(cue.start * 1000):
            continue
        yield from _split_into_screens(Cue(cue.start, cue.end, words))


def wrap_lines(text: str) -> list[str]:
    """Break text into lines of at most LINE_CHARS (longer only for a single long word)."""
    return textwrap.wrap(text, LINE_CHARS, break_long_words=False, break_on_hyphens=False)


def _split_into_screens(cue: Cue) -> Iterator[Cue]:
    lines = wrap_lines(cue.text)
    screens = [" ".join(lines[i : i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]
    total_chars = sum(len(s) for s in screens)
    start, elapsed = cue.start, 0
    for screen in screens:
        elapsed += len(screen)
        end = cue.start + (cue.end - cue.start) * elapsed / total_chars
        yield Cue(start, end, "\n".join(_balanced(screen)))
        start = end


def _balanced(text: str) -> list[str]:
    """One line if it fits, else two lines of similar length (easier to read than a full + stub)."""
    if len(text) <= LINE_CHARS:
        return [text]
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return [text]

    def cost(i: int) -> tuple[bool, int]:
        longest = max(i, len(text) - i - 1)
        return longest > LINE_CHARS, longest

    cut = min(spaces, key=cost)
    return [text[:cut], text[cut + 1 :]]


def _timestamp(seconds: float, decimal_mark: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"


def _escape_vtt(text: str) -> str:
    # Also defuses "-->", which may not appear in a WebVTT cue's text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
