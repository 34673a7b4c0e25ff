"""The plugin's pure parts, without servers: byte ranges, which job files exist for a page, a
run's status in words, and the conf a Re-take asks Airflow for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from deck2video_ui import jobs, media, pages
from deck2video_ui.runs import Approval, Failure, Run

from deck2video.job import Store
from deck2video.manifest import Manifest, SlideRecord

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
    ],
)
def test_one_byte_range_is_read_from_the_header(header, size, expected):
    found = media.parse_range(header, size)
    assert (found.start, found.end) == expected if expected else found is None


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=9-3", "bytes=-0"])
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


@pytest.mark.parametrize("job_id", ["..", "../cache", "a/b", "", "Talk", "x" * 90, "a\x00b"])
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


def view(takes: dict[int, int]) -> jobs.JobView:
    slides = tuple(
        jobs.SlideView(
            number=n, position=i, title="", hidden=False, notes="", spoken=(), cues=(),
            start=None, end=None, duration=None, synthesized=False, take=takes.get(n, 1),
            spoken_yet=True,
        )
        for i, n in enumerate((1, 2, 4), start=1)
    )  # fmt: skip
    return jobs.JobView(
        job_id="talk-0123456789abcdef", deck_name="talk.pptx", status="completed", stage=None,
        reason=None, created="", updated="", slides=slides, slides_total=3, video_seconds=9.0,
        has_video=True, quality={}, language="en", version="1",
    )  # fmt: skip


def test_a_retake_repeats_the_newest_conf_with_the_next_take_of_that_slide():
    newest = run(run_id="manual__2", conf={**run().conf, "takes": {"4": 2}})
    body = pages.retake_request(view({4: 2}), [newest, run()], 2, "anna")
    assert body["conf"] == {**run().conf, "takes": {"2": 2, "4": 2}}
    assert body["note"].startswith("Re-take of slide 2 (take 2) of talk.pptx")
    # A re-take still running counts: asking again gives the take after it.
    running = run(run_id="manual__3", state="running", conf={**run().conf, "takes": {"2": 2}})
    again = pages.retake_request(view({4: 2}), [running, newest], 2, "anna")
    assert again["conf"]["takes"] == {"2": 3, "4": 2}


def test_no_retake_of_a_slide_the_video_does_not_have():
    assert pages.retake_request(view({}), [run()], 3, "anna") is None
    assert pages.retake_request(view({}), [], 1, "anna") is None


def test_rows_fold_the_runs_of_one_job():
    rows = pages.job_rows([run(run_id="r3"), run(run_id="r2", job_id=None), run(run_id="r1")], {})
    assert [(r.run.run_id, r.runs) for r in rows] == [("r3", 2), ("r2", 1)]
    assert rows[1].deck_name == "talk.pptx" and rows[0].voice_name == "v.wav"


def test_no_retake_while_a_run_of_the_job_is_at_work():
    assert pages.working([run(), run(state="failed")]) is None
    busy = run(run_id="r2", state="running")
    assert pages.working([busy, run()]) is busy
    waiting = run(state="running", approval=Approval("waiting"))
    assert pages.working([waiting]) is None  # a reviewer may still re-take before answering


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
