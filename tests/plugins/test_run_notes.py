"""run_notes.py: a failed run's note quotes the failing step and reason as literal Markdown."""

from __future__ import annotations

from deck2video_ui.run_notes import failure_note

from deck2video.plaintext import markdown_literal


def test_a_reason_quoting_a_hostile_deck_name_is_literal_in_the_note():
    # An inbox file named so that a quoted URL becomes an image and a link on the run's page.
    reason = (
        "deck s3://in/![x](https://evil.example/p.png)[Sign in](https://evil.example).pptx: "
        "not a zip file"
    )
    note = failure_note("prepare", reason)
    assert note == f"Failed at prepare: {markdown_literal(reason)}"
    assert "](" not in note
    assert "![" not in note


def test_a_successful_run_note_links_to_its_video_tab():
    from deck2video_ui.run_notes import watch_note

    note = watch_note("manual__2026-12-03T13:52:01+00:00")
    assert note == (
        "[Watch the video](/dags/deck_to_video/runs/manual__2026-12-03T13%3A52%3A01%2B00%3A00"
        "/plugin/deck2video-run)"
    )
