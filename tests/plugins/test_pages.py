"""The plugin's pure parts, without servers: byte ranges, which job files exist for a page, a
run's status in words, and the conf a Re-take asks Airflow for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from deck2video_ui import jobs, media, pages
from deck2video_ui.quality_words import QualityView
from deck2video_ui.runs import Approval, Failure, Run

from deck2video.job import Store
from deck2video.manifest import Manifest, SlideRecord
from deck2video.plaintext import markdown_literal

STORE = Store("s3://videos/d2v")


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=90-500", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=0-1,5-9", 100, None),  # several ranges: the whole file
        ("items=0-9", 100, None),
        ("bytes=9-3", 100, None),  # invalid (last before first): ignored, as RFC 9110 says
        (f"bytes=0-{'9' * 5000}", 100, (0, 99)),  # a last byte past any end is the end
        (f"bytes=-{'9' * 5000}", 100, (0, 99)),
        (f"bytes={'0' * 5000}5-9", 100, (5, 9)),
        (f"bytes=5-{'0' * 5000}3", 100, None),
    ],
)
def test_one_byte_range_is_read_from_the_header(header, size, expected):
    found = media.parse_range(header, size)
    assert (found.start, found.end) == expected if expected else found is None


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", f"bytes={'9' * 5000}-"])
def test_a_range_outside_the_file_is_unsatisfiable(header):
    with pytest.raises(media.Unsatisfiable):
        media.parse_range(header, 100)


def manifest() -> Manifest:
    slides = [
        SlideRecord(number=1, source_index=1, title="Welcome", hidden=False, silent=False,
                    notes_sha256=""),
        SlideRecord(number=2, source_index=4, title="Pricing", hidden=False, silent=False,
                    notes_sha256="", take=3),
    ]  # fmt: skip
    return Manifest(job_id="talk-0123456789abcdef", settings={}, slides=slides)


def test_page_files_are_a_known_kind_of_a_known_slide():
    folder = jobs.job_folder(STORE, "talk-0123456789abcdef")
    found = manifest()
    assert jobs.file_url(folder, found, "slide", 4) == folder.slide(2)
    assert jobs.file_url(folder, found, "audio", 1) == folder.audio(1)
    assert jobs.file_url(folder, found, "video", None) == folder.video
    assert jobs.file_url(folder, found, "captions", None) == folder.captions_vtt
    assert jobs.file_url(folder, found, "slide", 2) is None  # PowerPoint 2 is not narrated
    assert jobs.file_url(folder, found, "video", 1) is None
    assert jobs.file_url(folder, found, "manifest", None) is None


@pytest.mark.parametrize(
    "job_id", ["..", "../cache", "a/b", "", "Talk", "x" * 90, "a\x00b", "talk-0123\n"]
)
def test_only_job_ids_name_a_job_folder(job_id):
    assert jobs.job_folder(STORE, job_id) is None


def run(**fields) -> Run:
    defaults = dict(
        run_id="manual__1", state="success", run_after=datetime(2026, 12, 1, tzinfo=UTC),
        started=None, ended=None, conf={"deck_url": "s3://in/talk.pptx", "voice_url": "/v.wav"},
        note=None, triggered_by="anna", job_id="talk-0123456789abcdef",
    )  # fmt: skip
    return Run(**{**defaults, **fields})


def test_status_names_the_failing_step_and_reason():
    failed = run(state="failed", failures=(Failure("speak", "slide 4: engine crashed"),))
    assert pages.status_of(failed, None) == pages.Status(
        "failed", "bad", "speak", "slide 4: engine crashed"
    )
    unexplained = run(state="failed", failed_tasks=("assemble",))
    assert pages.status_of(unexplained, None).step == "assemble"


def test_status_tells_an_approval_apart_from_work():
    waiting = run(state="running", approval=Approval("waiting"))
    assert pages.status_of(waiting, None).label == "awaiting approval"
    rejected = run(state="success", approval=Approval("rejected", "anna"))
    status = pages.status_of(rejected, None)
    assert (status.label, status.reason) == ("rejected", "Rejected by anna; nothing was published.")


JOB_CONF = {"deck_url": "s3://in/talk.pptx", "voice_url": "/v.wav", "resolution": "1920x1080"}


def view(takes: dict[int, int], deck_name: str = "talk.pptx") -> jobs.JobView:
    slides = tuple(
        jobs.SlideView(
            number=n, position=i, title="", hidden=False, notes="", spoken=(), cues=(),
            start=None, end=None, duration=None, synthesized=False, take=takes.get(n, 1),
            spoken_yet=True,
        )
        for i, n in enumerate((1, 2, 4), start=1)
    )  # fmt: skip
    return jobs.JobView(
        job_id="talk-0123456789abcdef", deck_name=deck_name, status="completed", stage=None,
        reason=None, created="", updated="", slides=slides, slides_total=3, video_seconds=9.0,
        has_video=True, quality=QualityView(), language="en", version="1", conf=JOB_CONF,
        outline=tuple(
            jobs.SlideOutline(s.number, s.title, None, s.take, (1, 2)) for s in slides
        ),
    )  # fmt: skip


def test_a_retake_asks_for_the_job_own_settings_with_the_next_take_of_that_slide():
    newest = run(run_id="manual__2", conf={**run().conf, "takes": {"4": 2}})
    body = pages.retake_request(view({4: 2}), [newest, run()], 2, "anna")
    assert body["conf"] == {**JOB_CONF, "out_url": "s3://in/talk.mp4", "takes": {"2": 2, "4": 2}}
    assert body["note"].startswith("Re-take of slide 2 (take 2) of talk\\.pptx")
    # A re-take still running counts: asking again gives the take after it.
    running = run(run_id="manual__3", state="running", conf={**run().conf, "takes": {"2": 2}})
    again = pages.retake_request(view({4: 2}), [running, newest], 2, "anna")
    assert again["conf"]["takes"] == {"2": 3, "4": 2}


def test_a_retake_never_repeats_another_users_run_conf():
    # The newest run was triggered by someone else, publishing to their own bucket with their
    # own quality thresholds: none of it reaches the re-take, which publishes where its user says.
    theirs = run(
        run_id="manual__9", triggered_by="mallory",
        conf={**JOB_CONF, "out_url": "s3://mallory/stolen.mp4", "min_similarity": 0.0},
    )  # fmt: skip
    body = pages.retake_request(view({}), [theirs], 1, "anna", "s3://in/anna.mp4")
    assert body["conf"] == {**JOB_CONF, "out_url": "s3://in/anna.mp4", "takes": {"1": 2}}
    assert pages.retake_request(view({}), [theirs], 1, "anna")["conf"]["out_url"] == (
        "s3://in/talk.mp4"
    )


def test_a_retake_note_is_literal_markdown():
    # Airflow renders run notes as Markdown: an uploaded deck's name must not become an image
    # or a link on the run's page (tests/test_plaintext.py renders what markdown_literal makes).
    hostile = "![x](https://evil.example/p.png) [Sign in](https://evil.example)"
    body = pages.retake_request(view({}, deck_name=hostile), [run()], 1, "anna_[me](x)")
    assert body["note"] == (
        f"Re-take of slide 1 (take 2) of {markdown_literal(hostile)}, asked for by "
        f"{markdown_literal('anna_[me](x)')} on the deck2video page."
    )
    assert "](" not in body["note"]


def test_an_earlier_take_is_chosen_through_a_run_that_asks_for_it():
    # Slide 4's second take is in the video; its first is put back: the run asks for take 1
    # of slide 4 (a cache hit), and keeps every other re-take the video has.
    body = pages.retake_request(view({4: 2, 2: 2}), [run()], 4, "anna", take=1)
    assert body["conf"]["takes"] == {"2": 2, "4": 1}
    assert body["note"].startswith("Take 1 of slide 4 of talk\\.pptx chosen again")
    assert pages.retake_request(view({4: 2}), [run()], 4, "anna", take=3) is None  # none such


def test_no_retake_of_a_slide_the_video_does_not_have():
    assert pages.retake_request(view({}), [run()], 3, "anna") is None
    assert pages.retake_request(view({}), [], 1, "anna") is None


def test_rows_fold_the_runs_of_one_job():
    rows = pages.job_rows([run(run_id="r3"), run(run_id="r2", job_id=None), run(run_id="r1")], {})
    assert [(r.run.run_id, r.runs) for r in rows] == [("r3", 2), ("r2", 1)]
    assert rows[1].deck_name == "talk.pptx"
    assert rows[0].voice_name == "v.wav"


def test_no_retake_while_a_run_of_the_job_is_at_work():
    assert pages.working([run(), run(state="failed")]) is None
    busy = run(run_id="r2", state="running")
    assert pages.working([busy, run()]) is busy
    waiting = run(state="running", approval=Approval("waiting"))
    assert pages.working([waiting]) is None  # a reviewer may still re-take before answering


def test_a_job_page_reads_the_manifest_once_and_the_files_of_its_page_of_slides(
    tmp_path, monkeypatch
):
    from deck2video import storage
    from deck2video.job.state import save_manifest

    folder = Store(str(tmp_path / "store")).job("talk-0123456789abcdef")
    records = [
        SlideRecord(number=n, source_index=n, title=f"S{n}", hidden=False, silent=False,
                    notes_sha256="", take=2 if n == 130 else 1)
        for n in range(1, 131)
    ]  # fmt: skip
    save_manifest(folder, Manifest(job_id=folder.job_id, settings={}, slides=records))
    reads: list[str] = []
    for name in ("read_bytes", "read_versioned"):  # every storage read a page may make
        real = getattr(storage, name)
        monkeypatch.setattr(storage, name, lambda url, *a, _real=real, **k: reads.append(url)
                            or _real(url, *a, **k))  # fmt: skip

    last = jobs.load_job(folder, page=3)
    assert not any(s.skipped for s in last.slides)
    assert [s.number for s in last.slides] == list(range(101, 131))
    assert (last.page, last.pages, len(last.outline), last.takes) == (3, 3, 130, {130: 2})
    assert reads.count(folder.manifest) == 1
    assert len(reads) == 1 + 2 * 30
    reads.clear()
    jobs.load_summary(folder)  # the jobs list and a re-take: the manifest only
    assert reads == [folder.manifest]


def test_a_note_shows_as_the_text_its_markdown_reads():
    reason = "voice recording s3://in/![x](https://evil.example).wav is silent"
    failed = f"Failed at {markdown_literal('prepare_voice')}: {markdown_literal(reason)}"
    note = f"Re-take of slide 2\n{failed}"
    assert pages.note_text(note) == f"Re-take of slide 2\nFailed at prepare_voice: {reason}"
    assert pages.note_text(None) == ""
    watch = f"{failed}\n[Watch the video](/dags/deck_to_video/runs/r%3A1/plugin/deck2video-run)"
    assert pages.note_text(watch).endswith(f"{reason}\nWatch the video")


def test_a_slide_shows_its_substituted_faces_and_missing_glyphs() -> None:
    report = {
        "slides": [
            {
                "number": 1,
                "faces": [
                    {"asked": "Calibri", "got": "Carlito", "kind": "metric"},
                    {"asked": "Brand Sans", "got": "Liberation Sans", "kind": "substitute"},
                    {"asked": "Arial", "got": "Arial", "kind": "same"},
                ],
                "missing": "\U0001f9ff",
            }
        ]
    }
    shown = jobs._slide_fonts(report, 1)
    assert shown["fonts"] == (
        "Calibri → Carlito (metric-compatible)",
        "Brand Sans → Liberation Sans (a substitute: text may reflow)",
        "no font draws U+1F9FF",
    )
    assert shown["font_problems"] == 2
    assert jobs._slide_fonts(report, 2) == {}


def slide_view(number: int, notes: str, spoken: tuple[str, ...], cues: tuple[str, ...]):
    return jobs.SlideView(
        number=number, position=1, title="", hidden=False, notes=notes, spoken=spoken,
        cues=tuple(jobs.CueView(0.0, 1.0, c) for c in cues), start=0.0, end=1.0,
        duration=1.0, synthesized=True, take=1, spoken_yet=True,
    )  # fmt: skip


def test_the_review_shows_spoken_text_and_captions_only_where_they_differ_from_the_notes():
    same = slide_view(1, "Hello there. [PAUSE 0.5] Bye.", ("Hello there.", "Bye."),
                      ("Hello there.", "Bye."))  # fmt: skip
    assert not same.spoken_differs
    assert not same.captions_differ
    numbers = slide_view(2, "It costs $5.", ("It costs five dollars.",), ("It costs $5.",))
    assert numbers.spoken_differs
    assert not numbers.captions_differ


def test_hidden_slides_get_a_row_where_the_deck_has_them():
    records = [
        SlideRecord(number=i, source_index=n, title="", hidden=False, silent=False,
                    notes_sha256="")
        for i, n in enumerate((2, 4), start=1)
    ]  # fmt: skip
    found = Manifest(job_id="talk-0123456789abcdef", settings={}, slides=records)
    found.deck["slides_total"] = 6
    shown = [slide_view(2, "", (), ()), slide_view(4, "", (), ())]
    shown = [replace(s, position=i) for i, s in enumerate(shown, start=1)]
    rows = jobs._with_skipped(shown, found, last_page=True)
    assert [(r.number, r.skipped) for r in rows] == [
        (1, True), (2, False), (3, True), (4, False), (5, True), (6, True),
    ]  # fmt: skip


def test_a_take_plays_from_the_audio_cache_by_its_recorded_key():
    folder = jobs.job_folder(STORE, "talk-0123456789abcdef")
    found = manifest()
    first, third = "a" * 64, "c" * 64
    found.slides[1].take_keys = {"1": first, "2": "not-a-key"}
    found.slides[1].audio_key = third
    assert jobs.take_keys(found.slides[1]) == {1: first, 3: third}
    assert jobs.take_url(folder, found, 4, 1) == STORE.cache.audio(first).files["wav"]
    assert jobs.take_url(folder, found, 4, 3) == STORE.cache.audio(third).files["wav"]
    assert jobs.take_url(folder, found, 4, 2) is None  # a malformed key names no file
    assert jobs.take_url(folder, found, 1, 1) is None  # slide 1 has no recorded take
