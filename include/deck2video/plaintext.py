"""User-supplied text (deck names and keys, URLs, titles, messages that quote them) made inert
for the place it is written: one helper per kind of sink.

- :func:`for_log`: task logs, XCom values, one-line error messages. Control characters (a
  newline that would start a forged log line, an ANSI escape that would recolour or erase the
  terminal) and invisible bidi controls are written as escapes (``\\x1b``, ``\\u202e``).
- :func:`markdown_literal`: text placed in Markdown that Airflow renders (a run's note): every
  ASCII punctuation character is backslash-escaped, so no link, image, emphasis or HTML can be
  formed, and a URL stays plain text.

Captions have their own (:func:`deck2video.captions.to_srt`), and HTML pages are escaped by
their templates.
"""

from __future__ import annotations

import re
import string

__all__ = ["for_log", "markdown_literal"]

# C0 and C1 controls, DEL, and the invisible characters that reorder or hide text.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_MARKDOWN_SPECIAL = re.compile(f"([{re.escape(string.punctuation)}])")


def for_log(text: object) -> str:
    """``text`` on one line, with every control and invisible character written as an escape."""
    return _UNSAFE.sub(_escape, str(text))


def markdown_literal(text: object) -> str:
    """``text`` as Markdown that renders as exactly these characters, on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", for_log(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
