"""The deck_inbox batch DAG: one deck_to_video run per deck that arrived in the data interval,
never the same one twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.airflow_names import DAG_ID as TARGET
from deck2video.airflow_names import INBOX_DAG_ID as DAG_ID
from deck2video.samples import SampleSlide, build_deck

INTERVAL_END = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)  # the run's interval: [10:00, 11:00)


def test_runs_hourly_on_data_intervals_and_starts_video_runs(dag_bag):
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dag_bag.get_dag(DAG_ID)
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 * * * *"
    assert dag.catchup is False
    start = dag.get_task("start_video")
    assert isinstance(start, MappedOperator)
    assert start.partial_kwargs["trigger_dag_id"] == TARGET
    assert start.partial_kwargs["skip_when_already_exists"] is True
    assert start.partial_kwargs["logical_date"] is None


def test_a_backfill_covers_every_hour_of_the_range(synced_dags):
    """`airflow backfill create` (dry run): one run per hourly interval in the range."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    shown = subprocess.run(
        [airflow, "backfill", "create", "--dag-id", DAG_ID, "--dry-run",
         "--from-date", "2026-03-01T08:00:00+00:00", "--to-date", "2026-03-01T10:30:00+00:00"],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout  # fmt: skip
    runs = shown.split("Runs to be attempted:")[1]
    # Logical date = the start of each hour's data interval.
    assert re.findall(r"2026-03-01 (\d\d:\d\d)", runs) == ["08:00", "09:00", "10:00"], shown


def put(path: Path, data: bytes | str, modified: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 1, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> tuple[Path, Path]:
    """Local storage with last-modified times set by hand: three decks around the interval, one
    whose video exists already, one that arrives exactly at the interval's (open) end."""
    base = tmp_path_factory.mktemp("storage")
    inbox, outbox = base / "inbox", base / "videos"
    deck = build_deck(base / "template.pptx", [SampleSlide("One", "Hello.")]).read_bytes()
    put(inbox / "voice.wav", b"RIFF", at(8, 0))
    put(inbox / "early.pptx", deck, at(9, 10))
    put(inbox / "talk.pptx", deck, at(10, 20))
    put(inbox / "talk.json", json.dumps({"voice_url": "anna.wav", "speed": 1.25}), at(10, 20))
    put(inbox / "done.pptx", deck, at(10, 30))
    put(outbox / "done.mp4", b"mp4", at(10, 35))
    put(inbox / "team" / "intro.pptx", deck, at(10, 40))
    put(inbox / "late.pptx", deck, at(11, 0))
    return inbox, outbox


def video_runs() -> dict[str, dict]:
    from airflow.models.dagrun import DagRun

    return {run.run_id: run.conf for run in DagRun.find(dag_id=TARGET)}


def start_video_tis(run_id: str) -> list:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = (
            session.query(TaskInstance)
            .filter_by(dag_id=DAG_ID, run_id=run_id, task_id="start_video")
            .order_by(TaskInstance.map_index)
            .all()
        )
        session.expunge_all()
    return tis


def test_an_interval_starts_exactly_the_decks_that_arrived_in_it_once(dag_bag, inbox, monkeypatch):
    inbox_dir, outbox_dir = inbox
    monkeypatch.setenv("DECK2VIDEO_READ_ROOTS", str(inbox_dir))  # this deployment's roots
    monkeypatch.setenv("DECK2VIDEO_WRITE_ROOTS", str(outbox_dir))
    dag = dag_bag.get_dag(DAG_ID)
    conf = {"inbox_url": str(inbox_dir), "outbox_url": str(outbox_dir)}
    before = video_runs()

    first = dag.test(logical_date=INTERVAL_END, run_conf=conf)

    assert first.state == "success"
    assert (first.data_interval_start, first.data_interval_end) == (
        INTERVAL_END - timedelta(hours=1),
        INTERVAL_END,
    )
    started = {k: v for k, v in video_runs().items() if k not in before}
    by_deck = {conf["deck_url"]: (run_id, conf) for run_id, conf in started.items()}
    talk, intro = str(inbox_dir / "talk.pptx"), str(inbox_dir / "team" / "intro.pptx")
    assert sorted(by_deck) == sorted([talk, intro])  # not early, late, nor done (video exists)
    assert by_deck[talk][1] == {
        "deck_url": talk,
        "voice_url": str(inbox_dir / "anna.wav"),  # the sidecar's, next to the deck
        "out_url": str(outbox_dir / "talk.mp4"),
        "speed": 1.25,
    }
    assert by_deck[intro][1] == {
        "deck_url": intro,
        "voice_url": str(inbox_dir / "voice.wav"),  # the default
        "out_url": str(outbox_dir / "team" / "intro.mp4"),
    }
    for run_id, _ in by_deck.values():
        assert run_id.startswith("inbox__")
    tis = start_video_tis(first.run_id)
    assert [(ti.state, ti.rendered_map_index) for ti in tis] == [
        ("success", talk),
        ("success", intro),
    ]

    again = dag.test(logical_date=INTERVAL_END, run_conf=conf)

    assert again.state == "success"
    assert {k: v for k, v in video_runs().items() if k not in before} == started
    assert [ti.state for ti in start_video_tis(again.run_id)] == ["skipped", "skipped"]


# --- planning against S3, with the objects' real upload times --------------------------------


def modified_times(prefix: str) -> dict[str, datetime]:
    return {obj.url: obj.modified for obj in storage.list_objects(prefix)}


@pytest.fixture
def s3_inbox(s3_bucket) -> str:
    """Three decks uploaded a second apart (S3 keeps last-modified to the second)."""
    prefix = f"s3://{s3_bucket}/inbox"
    storage.write_bytes(f"{prefix}/a.pptx", b"deck a")
    time.sleep(1.1)
    storage.write_bytes(f"{prefix}/b.pptx", b"deck b")
    storage.write_bytes(f"{prefix}/b.json", json.dumps({"resolution": "1280x720"}).encode())
    time.sleep(1.1)
    storage.write_bytes(f"{prefix}/c.pptx", b"deck c")
    return prefix


def test_planning_on_s3_uses_last_modified_and_sidecars(s3_inbox):
    from deck2video_airflow.inbox import plan_inbox

    times = modified_times(s3_inbox)
    a, b, c = (f"{s3_inbox}/{name}.pptx" for name in "abc")
    assert times[a] < times[b] < times[c]
    outbox, voice = s3_inbox.replace("/inbox", "/videos"), f"{s3_inbox}/voice.wav"

    middle = plan_inbox(s3_inbox, outbox, voice, times[b], times[c])
    assert [run["conf"] for run in middle.runs] == [
        {"deck_url": b, "voice_url": voice, "out_url": f"{outbox}/b.mp4", "resolution": "1280x720"}
    ]
    everything = plan_inbox(s3_inbox, outbox, voice, times[a], times[c] + timedelta(seconds=1))
    assert [run["conf"]["deck_url"] for run in everything.runs] == [a, b, c]
    # Deterministic: the same deck version gets the same run id in every plan.
    assert middle.runs[0]["trigger_run_id"] == everything.runs[1]["trigger_run_id"]

    storage.write_bytes(f"{outbox}/c.mp4", b"video")
    after_c = plan_inbox(s3_inbox, outbox, voice, times[a], times[c] + timedelta(seconds=1))
    assert [run["conf"]["deck_url"] for run in after_c.runs] == [a, b]
    assert after_c.skipped == [f"{c}: {outbox}/c.mp4 already exists"]


@pytest.mark.parametrize(
    ("sidecar", "says"),
    [
        ({"speed": 9}, "param speed: 9 is greater than the maximum of 2.0"),
        ({"voice_url": "../other/voice.wav"}, "'..' and NUL are not allowed"),
        ({"deck_url": "s3://elsewhere/x.pptx"}, "may not name another deck"),
        ({"colour": "blue"}, "unknown key(s) colour"),
        ([1, 2], "must be a JSON object"),
        ("{not json", "not JSON"),
    ],
)
def test_a_deck_with_unusable_options_is_refused_by_name(s3_bucket, sidecar, says):
    from deck2video_airflow.inbox import plan_inbox

    prefix = f"s3://{s3_bucket}/inbox"
    storage.write_bytes(f"{prefix}/good.pptx", b"deck")
    storage.write_bytes(f"{prefix}/bad.pptx", b"deck")
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    storage.write_bytes(f"{prefix}/bad.json", text.encode())
    now = datetime.now(tz=UTC)

    plan = plan_inbox(
        prefix, f"s3://{s3_bucket}/videos", f"{prefix}/v.wav", now - timedelta(1), now
    )

    assert [run["conf"]["deck_url"] for run in plan.runs] == [f"{prefix}/good.pptx"]
    [refused] = plan.refused
    assert refused.startswith(f"{prefix}/bad.pptx: "), refused
    assert says in refused, refused


def test_a_refused_deck_fails_the_check_task_naming_it(dag_bag):
    from airflow.sdk.exceptions import AirflowFailException

    check = dag_bag.get_dag(DAG_ID).get_task("check_refused")
    check.python_callable([])  # nothing refused: nothing to say
    with pytest.raises(AirflowFailException, match=r"1 deck.*bad.pptx: param speed"):
        check.python_callable(["s3://b/inbox/bad.pptx: param speed: 9 is too big"])


# --- issue 9: whoever may upload to the inbox may write a sidecar ------------------------------


def plan_with_sidecar(bucket: str, sidecar: dict | str):
    from deck2video_airflow.inbox import plan_inbox

    from deck2video.roots import Roots

    prefix, outbox = f"s3://{bucket}/inbox", f"s3://{bucket}/videos"
    storage.write_bytes(f"{prefix}/team/talk.pptx", b"deck")
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    storage.write_bytes(f"{prefix}/team/talk.json", text.encode())
    now = datetime.now(tz=UTC)
    roots = Roots(read=(f"{prefix}/",), write=(f"{outbox}/",))
    return plan_inbox(prefix, outbox, f"{prefix}/v.wav", now - timedelta(1), now, roots=roots)


@pytest.mark.parametrize(
    ("sidecar", "says"),
    [
        ({"voice_url": "/proc/self/environ"}, "param voice_url /proc/self/environ: not under a "
         "root allowed for reading"),
        ({"lexicon_url": "file:///etc/shadow"}, "param lexicon_url file:///etc/shadow: not under"),
        ({"voice_url": "s3://someone-else/voice.wav"}, "param voice_url s3://someone-else/"),
        ({"out_url": "s3://someone-else/their-talk.mp4"}, "root allowed for writing"),
        ({"out_url": "/srv/www/index.mp4"}, "root allowed for writing"),
        ({"lexicon_url": "../../d2v/jobs/x/input/lexicon.txt"}, "'..' and NUL are not allowed"),
        ('{"speed": 1.1, "pad": "' + "x" * 70_000 + '"}', "larger than the limit of 65536 bytes"),
    ],
)  # fmt: skip
def test_a_hostile_sidecar_is_refused_by_name(s3_bucket, sidecar, says):
    plan = plan_with_sidecar(s3_bucket, sidecar)
    assert plan.runs == []
    [refused] = plan.refused
    assert refused.startswith(f"s3://{s3_bucket}/inbox/team/talk.pptx: ")
    assert says in refused
    assert "\n" not in refused


def test_relative_sidecar_urls_stay_in_the_inbox_and_the_outbox(s3_bucket):
    plan = plan_with_sidecar(
        s3_bucket, {"voice_url": "anna.wav", "lexicon_url": "words.txt", "out_url": "final.mp4"}
    )
    [run] = plan.runs
    assert run["conf"] == {
        "deck_url": f"s3://{s3_bucket}/inbox/team/talk.pptx",
        "voice_url": f"s3://{s3_bucket}/inbox/team/anna.wav",
        "lexicon_url": f"s3://{s3_bucket}/inbox/team/words.txt",
        "out_url": f"s3://{s3_bucket}/videos/team/final.mp4",
    }


def test_a_deck_name_that_forges_log_lines_is_refused_and_escaped(tmp_path):
    """Issue 21: a name with a newline and ANSI escapes would forge a log line and recolour the
    log; the deck is refused, and what the logs and the XCom say holds the name escaped."""
    from deck2video_airflow.inbox import plan_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = "talk\n[2026-12-03 10:00:00] INFO - all decks approved\x1b[2K\x1b[1A.pptx"
    (inbox / name).write_bytes(b"deck")
    now = datetime.now(tz=UTC)
    plan = plan_inbox(str(inbox), str(tmp_path / "videos"), f"{inbox}/v.wav", now - timedelta(1),
                      now + timedelta(1))  # fmt: skip
    assert plan.runs == []
    [refused] = plan.refused
    assert "\n" not in refused
    assert "\x1b" not in refused
    assert refused.startswith(f"{inbox}/talk\\x0a[2026-12-03 10:00:00] INFO - all decks approved")
    assert "\\x1b[2K\\x1b[1A.pptx: " in refused
