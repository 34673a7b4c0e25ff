"""Backfilling deck_inbox on the compose stack: decks that arrived over three hours, one run each.

Decks are put in the inbox prefix with their upload times spread over three hours (backdated in
the object store itself), then ``airflow backfill create`` over those hours has the real
scheduler run deck_inbox once per hour, which starts a deck_to_video run per deck that arrived in
that hour. A deck uploaded after the range is left alone; the bad deck's run fails with its
reason; a second backfill over the same range starts nothing new.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deck2video import storage
from scripts.stack import parse_time
from tests.support import media
from tests.support.stack_runs import small_deck, stack_storage, task_instances, wait_for_runs

pytestmark = [pytest.mark.stack, pytest.mark.docker, pytest.mark.slow]

INBOX = "s3://deck2video/inbox"
OUTBOX = "s3://deck2video/videos"
FOLDER = "q3"  # decks in a sub-folder: their videos keep it


@dataclass(frozen=True)
class InboxDeck:
    name: str
    slides: int  # 0: not a deck at all
    minutes: int  # after the first hour of the range began
    sidecar: dict | None = None

    @property
    def url(self) -> str:
        return f"{INBOX}/{FOLDER}/{self.name}.pptx"

    @property
    def video_url(self) -> str:
        return f"{OUTBOX}/{FOLDER}/{self.name}.mp4"


DECKS = [
    InboxDeck("kickoff", 1, 10),
    InboxDeck("roadmap", 3, 45),
    InboxDeck("pricing", 2, 70, sidecar={"voice_url": "voices/anna.wav", "speed": 1.25}),
    InboxDeck("broken", 0, 100),
    InboxDeck("hiring", 2, 130),
    InboxDeck("wrapup", 1, 170),
]
LATE = InboxDeck("too-late", 1, 200)  # uploaded in the hour after the backfilled ones
GOOD = [d for d in DECKS if d.slides]


@dataclass
class Backfill:
    start: datetime
    runs: dict[str, dict]  # deck url -> its deck_to_video run
    states: dict[str, str]  # run id -> final state
    inbox_runs: list[dict]


def backfill(stack, start: datetime, *extra: str) -> str:
    end = start + timedelta(hours=2)  # inclusive: the runs of start, start+1h, start+2h
    done = stack.airflow(
        "backfill", "create", "--dag-id", "deck_inbox", "--from-date", start.isoformat(),
        "--to-date", end.isoformat(), *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def inbox_runs(api) -> list[dict]:
    status, body = api.call("GET", "/api/v2/dags/deck_inbox/dagRuns?limit=100")
    assert status == 200, body
    return [r for r in body["dag_runs"] if r["run_type"] == "backfill"]


def wait_for_inbox_runs(api, count: int, newer_than: datetime | None = None) -> list[dict]:
    """The backfill's deck_inbox runs, once ``count`` of them have finished (after a time)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = inbox_runs(api)
        done = [r for r in runs if r["state"] in ("success", "failed") and r["end_date"]
                and (newer_than is None or parse_time(r["end_date"]) > newer_than)]  # fmt: skip
        if len(done) >= count:
            return done
        time.sleep(3)
    pytest.fail(f"deck_inbox backfill runs not done: {inbox_runs(api)}")


def video_runs(api) -> dict[str, dict]:
    """deck_to_video runs started by deck_inbox, by deck URL."""
    status, body = api.call("GET", "/api/v2/dags/deck_to_video/dagRuns?limit=100")
    assert status == 200, body
    runs = [r for r in body["dag_runs"] if r["dag_run_id"].startswith("inbox__")]
    return {r["conf"]["deck_url"]: r for r in runs}


@pytest.fixture(scope="module")
def backfilled(stack, reference_voice, tmp_path_factory) -> Backfill:
    folder = tmp_path_factory.mktemp("inbox")
    # Three whole hours in the past, and a fourth for the late deck; all before the last whole
    # hour, which the scheduler runs by itself (deck_inbox runs from the start in compose).
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    with stack_storage(stack):
        storage.upload(reference_voice, f"{INBOX}/voice.wav")
        storage.upload(reference_voice, f"{INBOX}/{FOLDER}/voices/anna.wav")
        for deck in [*DECKS, LATE]:
            local = folder / f"{deck.name}.pptx"
            if deck.slides:
                small_deck(local, deck.slides, deck.name.capitalize())
            else:
                local.write_bytes(b"PK but not really a presentation")
            storage.upload(local, deck.url)
            stack.backdate(storage.parse(deck.url).key, start + timedelta(minutes=deck.minutes))
            if deck.sidecar:
                sidecar = deck.url[: -len(".pptx")] + ".json"
                storage.write_bytes(sidecar, json.dumps(deck.sidecar).encode())
    api = stack.api()
    backfill(stack, start)
    runs = wait_for_inbox_runs(api, 3)
    started = video_runs(api)
    states = wait_for_runs(api, [r["dag_run_id"] for r in started.values()])
    return Backfill(start, started, states, runs)


def test_the_scheduler_ran_deck_inbox_once_per_hour(backfilled: Backfill):
    starts = sorted(parse_time(r["data_interval_start"]) for r in backfilled.inbox_runs)
    assert starts == [backfilled.start + timedelta(hours=h) for h in range(3)]
    assert {r["state"] for r in backfilled.inbox_runs} == {"success"}


def test_every_deck_of_the_range_got_one_run_and_the_late_one_none(backfilled: Backfill):
    assert sorted(backfilled.runs) == sorted(d.url for d in DECKS)
    assert LATE.url not in backfilled.runs


def test_every_good_deck_became_a_video(backfilled: Backfill, bucket, tmp_path: Path):
    for deck in GOOD:
        run = backfilled.runs[deck.url]
        assert backfilled.states[run["dag_run_id"]] == "success", deck.name
        video = storage.download(deck.video_url, tmp_path / f"{deck.name}.mp4")
        info = media.ffprobe(video)
        assert len(media.chapters(info)) == deck.slides, deck.name
        assert media.codecs(info)["audio"] == "aac"


def test_the_sidecar_options_reached_its_run(backfilled: Backfill):
    [deck] = [d for d in DECKS if d.sidecar]
    conf = backfilled.runs[deck.url]["conf"]
    assert conf["voice_url"] == f"{INBOX}/{FOLDER}/voices/anna.wav"
    assert conf["speed"] == 1.25
    assert backfilled.runs[DECKS[0].url]["conf"]["voice_url"] == f"{INBOX}/voice.wav"


def test_the_bad_deck_fails_with_its_reason_and_no_retry(stack, backfilled: Backfill, bucket):
    [bad] = [d for d in DECKS if not d.slides]
    run_id = backfilled.runs[bad.url]["dag_run_id"]
    assert backfilled.states[run_id] == "failed"
    api = stack.api()
    [prepare] = [ti for ti in task_instances(api, run_id) if ti["task_id"] == "prepare"]
    assert (prepare["state"], prepare["try_number"]) == ("failed", 1)
    status, log = api.call(
        "GET",
        f"/api/v2/dags/deck_to_video/dagRuns/{run_id}/taskInstances/prepare/logs/1"
        "?full_content=true",
    )
    assert status == 200, log
    assert "broken.pptx: not a zip file, so not a .pptx presentation" in json.dumps(log)
    assert not storage.exists(bad.video_url)


def test_a_second_backfill_starts_nothing_new(stack, backfilled: Backfill):
    """Even re-running the completed hours: every deck is done or already has its run."""
    api = stack.api()
    before = video_runs(api)
    again = datetime.now(UTC)
    backfill(stack, backfilled.start, "--reprocess-behavior", "completed")
    rerun = wait_for_inbox_runs(api, 3, newer_than=again)
    assert {r["state"] for r in rerun} == {"success"}
    assert video_runs(api).keys() == before.keys()
    assert {r["dag_run_id"] for r in video_runs(api).values()} == {
        r["dag_run_id"] for r in before.values()
    }
