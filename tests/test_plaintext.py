"""plaintext.py: user text made inert for logs and for Markdown, checked as each sink shows it."""

from __future__ import annotations

import html
import logging

import pytest
from markdown_it import MarkdownIt

from deck2video.plaintext import for_log, markdown_literal

HOSTILE_MARKDOWN = [
    "![x](https://evil.example/p.png)",
    "[Sign in](https://evil.example/login)",
    "<img src=x onerror=alert(1)>",
    "<https://evil.example>",
    "**bold** _it_ `code` # heading",
    "[ref]: https://evil.example\n[ref]",
    "line one\n\n- a list\n> a quote",
    "a\\](https://evil.example)",  # a backslash of its own must not undo an escape
]


def rendered_text(markdown: str) -> tuple[str, str]:
    """The HTML CommonMark makes of ``markdown``, and the text a reader sees in it."""
    page = MarkdownIt("commonmark").render(markdown)
    inner = page.strip().removeprefix("<p>").removesuffix("</p>")
    return page, html.unescape(inner)


@pytest.mark.parametrize("text", HOSTILE_MARKDOWN)
def test_markdown_literal_renders_as_exactly_its_characters(text: str):
    page, seen = rendered_text(markdown_literal(text))
    assert "<a" not in page
    assert "<img" not in page
    assert "<strong" not in page
    assert "<li" not in page
    assert seen == for_log(text)  # the same characters, on one line


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("talk.pptx\nINFO - forged line", "talk.pptx\\x0aINFO - forged line"),
        ("\x1b[2K\x1b[1Acleared.pptx", "\\x1b[2K\\x1b[1Acleared.pptx"),
        ("invoice\u202efdp.pptx", "invoice\\u202efdp.pptx"),  # shown reversed otherwise
        ("\x9b31mred", "\\x9b31mred"),  # the one-byte CSI
        ("Café Zürich — 2024.pptx", "Café Zürich — 2024.pptx"),  # printable text as it is
    ],
)
def test_for_log_escapes_control_and_invisible_characters(text: str, logged: str):
    assert for_log(text) == logged


def test_a_forged_log_line_stays_inside_its_record(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO):
        logging.getLogger("deck2video.test").info("skipped %s", for_log("a.pptx\nERROR boom"))
    assert len(caplog.text.splitlines()) == 1
    assert "\x1b" not in caplog.text
