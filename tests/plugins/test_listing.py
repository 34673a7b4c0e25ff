"""The Videos list's pure parts, without servers: which jobs a search and a status filter keep,
a run's progress from its task instances (slides spoken of slides, the step, the time left),
and the uploads behind New video: bounded, typed, and stored under names made here."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deck2video_ui import listing, uploads

from deck2video import storage
from deck2video.config import Limits
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files

Instance = namedtuple("Instance", "run_id task_id map_index state start_date")
Labelled = namedtuple("Labelled", "run_id task_id map_index state start_date rendered_map_index")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def entry(name: str, state: str, n: int = 0) -> listing.JobEntry:
    return listing.JobEntry(f"job-{n}", f"job-{n}", f"run-{n}", state, name, 1)


def test_a_search_matches_part_of_a_deck_name_in_any_case_and_the_filter_by_state():
    entries = [
        entry("Quarterly Review.pptx", "success", 1),
        entry("quarterly-plan.pptx", "running", 2),
        entry("Roadmap.pptx", "failed", 3),
        entry("roadmap-2.pptx", "queued", 4),
    ]
    names = lambda q: [e.deck_name for e in listing.matching(entries, q)]  # noqa: E731
    assert names(listing.ListQuery(search="QUARTERLY")) == [
        "Quarterly Review.pptx",
        "quarterly-plan.pptx",
    ]
    assert names(listing.ListQuery(status="active")) == ["quarterly-plan.pptx", "roadmap-2.pptx"]
    assert names(listing.ListQuery(search="road", status="failed")) == ["Roadmap.pptx"]
    assert names(listing.ListQuery()) == [e.deck_name for e in entries]


def speak(states: list[str | None], started: datetime) -> list[Instance]:
    return [
        Instance("r", "speak", n, state, started + timedelta(seconds=10 * n) if state else None)
        for n, state in enumerate(states)
    ]


def test_progress_counts_the_slides_spoken_and_estimates_the_rest_at_the_runs_own_pace():
    started = NOW - timedelta(seconds=60)
    found = [
        Instance("r", "prepare", -1, "success", started - timedelta(seconds=30)),
        *speak(["success", "success", "success", "running", None, None], started),
    ]
    progress = listing._progress(found, 6, 1, NOW)
    assert (progress.step, progress.slides_text) == ("speaking", "3 / 6 slides")
    assert progress.seconds_left == pytest.approx(60.0)  # 3 slides in 60 s: 3 more in 60 s
    assert listing.left_text(progress.seconds_left) == "about 1 min left"


def test_progress_of_grouped_speech_counts_each_groups_slides():
    found = speak(["success", "success", "running"], NOW - timedelta(seconds=30))
    progress = listing._progress(found, 7, 3, NOW)  # groups of 3, 3 and 1 slides
    assert progress.slides_text == "6 / 7 slides"


def test_progress_of_sized_groups_counts_the_slides_their_labels_span():
    # Sized groups differ in size: each done task's label says which slides it spoke (hidden
    # slide 3 inside the first span is not one of the job's).
    found = [
        Labelled("r", "speak", 0, "success", NOW, "slides 1-4: Welcome"),
        Labelled("r", "speak", 1, "running", NOW, None),
    ]
    progress = listing._progress(found, 5, 0, NOW, frozenset({1, 2, 4, 5, 6}))
    assert progress.slides_text == "3 / 5 slides"


def test_progress_before_and_after_speech():
    preparing = listing._progress([Instance("r", "prepare", -1, "running", NOW)], None, 1, NOW)
    assert (preparing.step, preparing.slides_text, preparing.seconds_left) == (
        "rendering slides",
        "",
        None,
    )
    assembling = [
        *speak(["success", "success"], NOW - timedelta(seconds=20)),
        Instance("r", "assemble", -1, "running", NOW),
    ]
    progress = listing._progress(assembling, 2, 1, NOW)
    assert (progress.step, progress.slides_text) == ("assembling the video", "2 / 2 slides")
    assert progress.seconds_left is None
    assert listing.left_text(20) == "under a minute left"


# --- uploads ----------------------------------------------------------------------------------


async def chunks_of(data: bytes, size: int = 4096, seen: list[int] | None = None):
    for start in range(0, len(data), size):
        if seen is not None:
            seen.append(start)
        yield data[start : start + size]


def receive(kind: str, name: str, data: bytes, area: str, limits: Limits = Limits(), **kw):  # noqa: B008
    declared = kw.pop("declared", str(len(data)))
    return asyncio.run(uploads.receive(kind, name, declared, chunks_of(data, **kw), area, limits))


@pytest.fixture
def area(tmp_path: Path) -> str:
    return str(tmp_path / "uploads")


def stored(area: str) -> list[str]:
    return [o.url for o in storage.list_objects(area)] if Path(area).exists() else []


def test_a_deck_is_stored_under_a_random_folder_and_a_name_made_of_letters_and_digits(
    tmp_path, area
):
    deck = build_deck(tmp_path / "d.pptx", [SampleSlide("One", "Hello.")]).read_bytes()
    found = receive("deck", "../../etc/Quarterly Review (final)\x00.PPTX", deck, area)
    assert found.name == "quarterly-review-final.pptx"
    folder, name = found.url.removeprefix(area + "/").split("/")
    assert (len(folder), int(folder, 16) >= 0, name) == (16, True, found.name)
    assert storage.read_bytes(found.url) == deck
    again = receive("deck", "日本語.pptx", deck, area)
    assert again.name == "deck.pptx"
    assert again.url != found.url


def test_an_upload_over_the_limit_is_refused_before_it_is_read_whole(area):
    limits = Limits(max_deck_bytes=10_000)
    with pytest.raises(uploads.UploadRefused) as declared:
        receive("deck", "d.pptx", b"PK\x03\x04" + b"\0" * 20_000, area, limits)
    assert declared.value.status == 413
    seen: list[int] = []
    with pytest.raises(uploads.UploadRefused) as streamed:  # a length that lies
        receive("deck", "d.pptx", b"PK\x03\x04" + b"\0" * 50_000, area, limits, declared="100",
                seen=seen)  # fmt: skip
    assert streamed.value.status == 413
    assert max(seen) < 16_384  # it stopped reading at the limit
    assert stored(area) == []


@pytest.mark.parametrize(
    ("kind", "make", "says"),
    [
        ("deck", lambda p: bad_files.not_a_zip(p / "x.pptx").read_bytes(), "not a zip file"),
        ("voice", lambda p: b"<html>hello</html>", "not an audio file"),
        ("deck", lambda p: b"", "empty"),
    ],
)
def test_an_upload_of_the_wrong_type_is_refused_and_nothing_is_stored(
    tmp_path, area, kind, make, says
):
    data = make(tmp_path)
    with pytest.raises(uploads.UploadRefused, match=says) as refused:
        receive(kind, "upload.bin", data, area)
    assert refused.value.status == 415
    if data:  # no byte of the file in the message
        assert data[:8].decode(errors="replace") not in str(refused.value)
    assert stored(area) == []


def test_a_recording_keeps_a_known_audio_suffix_or_gets_its_containers(area, reference_voice):
    wav = Path(reference_voice).read_bytes()
    assert receive("voice", "Anna's voice.WAV", wav, area).name == "anna-s-voice.wav"
    assert receive("voice", "anna.exe", wav, area).name == "anna.wav"


def test_the_uploads_area_lies_under_the_roots_and_outside_the_inbox(tmp_path):
    from deck2video.config import Deployment
    from deck2video.errors import InputError
    from deck2video.roots import Roots

    root = str(tmp_path / "root")
    fine = Deployment(root=root)
    assert uploads.uploads_area(fine, Roots.for_service(fine)) == f"{root}/uploads"
    inside = Deployment(root=root, uploads_url=f"{root}/inbox/uploads")
    with pytest.raises(InputError, match="overlaps the inbox"):
        uploads.uploads_area(inside, Roots.for_service(inside))
    outside = Deployment(root=root, uploads_url=str(tmp_path / "elsewhere"))
    with pytest.raises(InputError, match="not under a root"):
        uploads.uploads_area(outside, Roots.for_service(outside))


@pytest.mark.parametrize(
    ("stored", "job_id"),
    [
        ('"\\"talk-0123456789abcdef\\""', "talk-0123456789abcdef"),  # as XComModel.set stores it
        ('"talk-0123456789abcdef"', "talk-0123456789abcdef"),  # as the execution API does
        ('{"job": "talk"}', None),
        ('"../talk"', None),
        (None, None),
    ],
)
def test_a_job_id_is_read_from_its_xcoms_stored_text(stored, job_id):
    assert listing.job_id_in(stored) == job_id


def test_a_rows_state_for_the_poll_says_what_the_badge_does_not():
    from deck2video_ui.runs import Run

    run = Run("manual__1", "running", NOW, NOW - timedelta(seconds=75), None, {}, None, "ann",
              None)  # fmt: skip
    state = listing.row_state(run, None, listing.Progress("rendering slides", None, None, None))
    assert (state["status"], state["doing"], state["spoken"]) == ("running", "rendering slides", "")
    assert (state["active"], state["started"], state["job"]) == (True, "2026-12-01 09:58 UTC", None)
    same = listing.row_state(run, None, listing.Progress("running", None, None, None))
    assert same["doing"] == ""
