"""Caption cues and their WebVTT / SRT text, and the hygiene of any text a viewer sees.

Cue text comes from speaker notes, so it is treated as hostile: players apply markup they find
in it (``<b>``, ``<font>``, ``{\\an8}`` moves a caption to the top), so tag-like markup and
override blocks are stripped from every cue (SubRip cannot escape them; WebVTT escapes what is
left, a lone ``<`` too); and no text that reaches a screen (captions, titles, chapter names)
keeps control characters or the bidirectional overrides that make text display as something
else (``\u202e``).
"""

from __future__ import annotations

import re
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


# Embedding, override and isolate controls, and the marks that steer them (Unicode's Bidi_Control
# set): they reorder what is displayed without showing themselves.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = {ord(ch): None for ch in _BIDI_CONTROLS}
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # Unicode's Cc, less the newline
# What players read as markup: HTML-like tags (SubRip's and WebVTT's) and ASS override blocks
# (several players turn any caption format into ASS).
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|\{\\[^{}]*\}")


def visible_text(text: str) -> str:
    """``text`` as it may be shown: control characters become spaces, bidi controls go."""
    return _CONTROL.sub(" ", text.translate(_INVISIBLE))


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
        text = _without_arrows(cue.text)
        blocks.append(f"{number}\n{times}\n{text}\n")
    return "\n".join(blocks)


def screen_cues(cues: Iterable[Cue]) -> Iterator[Cue]:
    """Cues as shown on screen: text wrapped to two short lines, in time order.

    A chunk too long for two lines becomes consecutive cues that share its time in proportion to
    their length, rather than a wall of text. Cues that are empty or last under a millisecond
    after rounding are dropped (players show them badly or not at all).
    """
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        words = " ".join(_strip_markup(visible_text(cue.text)).split())
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


def _strip_markup(text: str) -> str:
    """Markup goes, repeatedly (``<<b>b>`` leaves no ``<b>``)."""
    while (stripped := _MARKUP.sub("", text)) != text:
        text = stripped
    return text


# An arrow however spelled ("-->", "--->", "-- >", with Unicode dashes): inside a cue it would
# make a line that SubRip readers take for a cue's timing line.
_ARROW = re.compile(r"[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+\s*[>\uff1e]+")


def _without_arrows(text: str) -> str:
    return _ARROW.sub("→", text)


def _escape_vtt(text: str) -> str:
    # Also defuses "-->", which may not appear in a WebVTT cue's text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
