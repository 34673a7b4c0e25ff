"""The deck_to_video DAG: it parses cleanly, refuses bad conf before any work, and runs the real
pipeline end to end under ``dag.test()`` against the loopback S3 server."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.airflow_names import DAG_ID, TaskId
from deck2video.job import JobFolder, load_manifest
from deck2video.params import (
    PARAMS,
)
from deck2video.plaintext import markdown_literal
from deck2video.roots import Roots
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files
from tests.support.dag_runs import (
    GROUP_LABEL,
    LABELS,
    SLIDES,
    completed_jobs,
    job_manifests,
    run_dag,
)

STEPS = ["prepare", "speak", "assemble", "approve", "publish"]


# --- parsing ---------------------------------------------------------------------------------


def test_dag_folder_imports_without_errors_or_warnings(dag_bag):
    assert dag_bag.import_errors == {}
    assert dag_bag.captured_warnings == {}
    assert sorted(dag_bag.dag_ids) == ["deck_inbox", "deck_to_video"]


def test_steps_run_in_order_and_speak_is_mapped_on_the_gpu_pool(dag_bag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dag_bag.get_dag(DAG_ID)
    assert dag.schedule is None
    assert [t.task_id for t in dag.topological_sort()] == STEPS
    # The names every reader of the DAG uses are the DAG's own.
    assert [v for k, v in vars(TaskId).items() if k.isupper()] == STEPS
    for upstream, downstream in pairwise(STEPS):
        assert upstream in dag.get_task(downstream).upstream_task_ids
    speak = dag.get_task("speak")
    assert isinstance(speak, MappedOperator)
    assert (speak.pool, speak.queue) == ("gpu", "gpu")
    assert "label" in speak.map_index_template
    # Every other step on the deployment's deck2video queue (Celery's default unless set).
    assert {t.queue for t in dag.tasks if t.task_id != "speak"} == {"default"}


def test_every_step_has_a_timeout_retries_and_fails_fast_on_bad_input(dag_bag):
    from deck2video_airflow.task_defaults import BAD_INPUT_FAILS_AT_ONCE, record_failed_stage

    for task in dag_bag.get_dag(DAG_ID).tasks:
        assert task.execution_timeout is not None, task.task_id
        if task.task_id == "approve":  # a person's answer: never asked twice
            assert task.retries == 0
            assert task.response_timeout is not None
            continue
        assert task.retries >= 1, task.task_id
        assert task.retry_exponential_backoff > 0, task.task_id
        assert task.max_retry_delay is not None, task.task_id
        assert task.retry_policy is BAD_INPUT_FAILS_AT_ONCE, task.task_id
        callbacks = task.on_failure_callback
        assert record_failed_stage in (callbacks if isinstance(callbacks, list) else [callbacks])


def test_publish_declares_the_video_asset(dag_bag):
    outlets = dag_bag.get_dag(DAG_ID).get_task("publish").outlets
    assert {o.name for o in outlets} == {"deck2video-videos", "deck2video-video-files"}


def test_publish_links_to_the_plugins_run_tab_after_an_optional_approval(dag_bag):
    import deck2video_plugin
    from deck2video_airflow.review import ApproveBeforePublish, WatchVideo

    from deck2video.airflow_names import RUN_VIEW_ROUTE

    dag = dag_bag.get_dag(DAG_ID)
    publish, approve = dag.get_task("publish"), dag.get_task("approve")
    assert [type(link) for link in publish.operator_extra_links] == [WatchVideo]
    assert publish.operator_extra_links[0].name == "Watch"
    assert isinstance(approve, ApproveBeforePublish)
    assert approve.task_id in publish.upstream_task_ids
    assert publish.trigger_rule == "none_failed"  # runs when no approval was asked for
    routes = {
        v["destination"]: v["url_route"] for v in deck2video_plugin.Deck2VideoPlugin.external_views
    }
    assert routes["dag_run"] == RUN_VIEW_ROUTE


def test_every_param_is_documented_for_the_trigger_form(dag_bag):
    params = dag_bag.get_dag(DAG_ID).params
    assert set(params.keys()) == set(PARAMS)
    for name in params:
        param = params.get_param(name)
        assert param.schema.get("title"), name
        assert param.description, name


# --- refusing bad conf -----------------------------------------------------------------------

GOOD_CONF = {"deck_url": "s3://decks/talk.pptx", "voice_url": "s3://decks/voice.m4a"}


@pytest.mark.parametrize(
    ("conf", "field", "says"),
    [
        pytest.param({"voice_url": "/data/voice.wav"}, "deck_url", "No value passed", id="no-deck"),
        pytest.param(
            {**GOOD_CONF, "resolution": "800x600"},
            "resolution",
            "is not one of",
            id="unknown-resolution",
        ),
        pytest.param(
            {**GOOD_CONF, "language": "xx"}, "language", "is not one of", id="unknown-language"
        ),
        pytest.param({**GOOD_CONF, "speed": 3}, "speed", "greater than the maximum", id="too-fast"),
        pytest.param(
            {**GOOD_CONF, "padding": -1}, "padding", "less than the minimum", id="negative-padding"
        ),
        pytest.param(
            {**GOOD_CONF, "silence_seconds": "long"},
            "silence_seconds",
            "is not of type 'number'",
            id="not-a-number",
        ),
        pytest.param(
            {**GOOD_CONF, "deck_url": "s3://decks/a/../../etc/talk.pptx"},
            "deck_url",
            "does not match",
            id="dotdot-key",
        ),
        pytest.param(
            {**GOOD_CONF, "voice_url": "file:///srv/%2e%2e/etc/passwd"},
            "voice_url",
            "does not match",
            id="encoded-dotdot",
        ),
        pytest.param(
            {**GOOD_CONF, "out_url": "/videos/../talk.mp4"},
            "out_url",
            "does not match",
            id="dotdot-out",
        ),
        pytest.param(
            {**GOOD_CONF, "deck_url": "http://example.com/talk.pptx"},
            "deck_url",
            "does not match",
            id="http-deck",
        ),
        pytest.param(
            {**GOOD_CONF, "deck_url": "relative/talk.pptx"},
            "deck_url",
            "does not match",
            id="relative-deck",
        ),
        pytest.param(
            {**GOOD_CONF, "out_url": "s3://videos/talk.mov"},
            "out_url",
            "does not match",
            id="not-mp4",
        ),
        pytest.param(
            {**GOOD_CONF, "takes": {"seven": 2}}, "takes", "does not match", id="take-of-a-name"
        ),
        pytest.param(
            {**GOOD_CONF, "takes": {"7": 0}}, "takes", "less than the minimum", id="take-zero"
        ),
    ],
)
def test_trigger_refuses_bad_conf_naming_the_field(synced_dags, conf, field, says):
    """What `airflow dags trigger --conf` and the REST API call: no run is created."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagrun import DagRun
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.utils.types import DagRunTriggeredByType

    before = len(DagRun.find(dag_id=DAG_ID))
    with pytest.raises(ParamValidationError) as refused:
        trigger_dag(DAG_ID, conf=conf, triggered_by=DagRunTriggeredByType.CLI)
    assert str(refused.value).startswith(f"Invalid input for param {field}: "), refused.value
    assert says in str(refused.value)
    assert len(DagRun.find(dag_id=DAG_ID)) == before


def test_trigger_accepts_good_conf(synced_dags):
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    run = trigger_dag(
        DAG_ID,
        conf={**GOOD_CONF, "speed": 1, "resolution": "1280x720", "include_hidden": True},
        triggered_by=DagRunTriggeredByType.CLI,
    )
    assert run.state == "queued"


def test_dag_test_refuses_bad_conf_before_any_task(dag_bag):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=r"^Invalid input for param deck_url: "):
        dag_bag.get_dag(DAG_ID).test(run_conf={"voice_url": "/data/voice.wav"})


# --- end to end under dag.test() -------------------------------------------------------------


@dataclass
class Run:
    dag_run: object
    tis: dict[tuple[str, int], object]  # (task_id, map_index) -> task instance
    root: str
    out_url: str
    bucket: str


@pytest.fixture(scope="module")
def bucket(s3_server: str) -> str:
    name = "dag-e2e"
    storage.s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def e2e_deck(bucket: str, tmp_path_factory) -> str:
    path = build_deck(tmp_path_factory.mktemp("deck") / "talk.pptx", SLIDES)
    return storage.upload(path, f"s3://{bucket}/in/talk.pptx")


@pytest.fixture(scope="module")
def good_run(dag_bag, bucket, e2e_deck, reference_voice) -> Run:
    voice = storage.upload(reference_voice, f"s3://{bucket}/in/voice.wav")
    out = f"s3://{bucket}/out/talk.mp4"
    root = f"s3://{bucket}/d2v"
    conf = {
        "deck_url": e2e_deck,
        "voice_url": voice,
        "out_url": out,
        "resolution": "1280x720",
        "min_similarity": 0.99,  # Piper is not the presenter: the job warns
    }
    dag_run, tis = run_dag(dag_bag.get_dag(DAG_ID), conf, root)
    return Run(dag_run, tis, root, out, bucket)


def run_note(dag_run) -> str | None:
    """The note on the run's page (the plugin's listener writes it when a run fails)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.get(DagRun, dag_run.id).note


def test_run_succeeds_with_the_decks_slides_spoken_in_one_sized_task(good_run):
    assert good_run.dag_run.state == "success"
    speak = [ti for (task_id, _), ti in good_run.tis.items() if task_id == "speak"]
    # A few seconds of narration: one task, labelled by its PowerPoint span and titles; the
    # title's braces come through as text (XCom values are never rendered as templates).
    assert [(ti.map_index, ti.state) for ti in speak] == [(0, "success")]
    assert [ti.rendered_map_index for ti in speak] == [GROUP_LABEL]
    for step in ("prepare", "assemble", "publish"):
        ti = good_run.tis[(step, -1)]
        assert (ti.state, ti.try_number) == ("success", 1), step
    # Every slide's result is still recorded per slide.
    job_url, manifest = next(
        (url, m) for url, m in job_manifests(good_run.root).items() if m.status == "completed"
    )
    assert [f"slide {s.source_index}: {s.title}" for s in manifest.slides] == LABELS
    for slide in manifest.slides:
        result = storage.read_bytes(storage.join(job_url, f"audio/{slide.number:04d}.json"))
        assert (json.loads(result)["number"], slide.synthesized) == (slide.number, True)
        assert slide.estimate is not None


def test_video_and_captions_are_published(good_run, tmp_path):
    from tests.support import media

    assert storage.exists(good_run.out_url)
    video = storage.download(good_run.out_url, tmp_path / "talk.mp4")
    info = media.ffprobe(video)
    stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"]) == (1280, 720)
    vtt = storage.read_bytes(good_run.out_url[: -len(".mp4")] + ".vtt").decode()
    srt = storage.read_bytes(good_run.out_url[: -len(".mp4")] + ".srt").decode()
    assert vtt.startswith("WEBVTT")
    assert "welcome" in vtt.lower()
    assert "like {{ ds }} are" in " ".join(srt.split())  # captioned as written, not rendered
    assert "hidden" not in vtt.lower()


def test_manifest_says_completed(good_run):
    [(job_url, manifest)] = job_manifests(good_run.root).items()
    assert (manifest.status, manifest.stage, manifest.reason) == ("completed", "publish", None)
    assert [s.title for s in manifest.slides] == [SLIDES[0].title, SLIDES[1].title, "Pricing"]
    assert [p["video_url"] for p in manifest.published] == [good_run.out_url]
    assert job_url.startswith(f"{good_run.root}/jobs/talk-")


def test_warn_mode_records_the_quality_warnings_and_publishes_them(good_run):
    [manifest] = job_manifests(good_run.root).values()
    quality = manifest.quality
    assert quality.mode == "warn"
    assert quality.thresholds["min_similarity"] == 0.99
    assert quality.slides_scored == 2
    assert quality.dnsmos_ovrl > 2.5
    # No converter: the base voice's distance is said once for the job.
    assert quality.voice == "base voice"
    assert len(quality.warnings) == 1
    assert quality.warnings[0].startswith("voice: no converter is configured, and the base")
    assert "< 0.99" in quality.warnings[0]
    report = json.loads(storage.read_bytes(good_run.out_url[: -len(".mp4")] + ".quality.json"))
    assert report["job"]["warnings"] == quality.warnings
    assert [s["slide"] for s in report["slides"]] == [1, 2]  # "Pricing" has no notes


def test_fail_mode_fails_the_run_at_quality_naming_the_slide_and_publishes_nothing(
    good_run, dag_bag, reference_voice, tmp_path
):
    """A slide whose take came out as noise (put in the audio cache, where its speak task
    finds it): the quality task fails once, without retries, and nothing is published."""
    from deck2video import job
    from deck2video.config import JobSettings
    from tests.support.narrations import seed_narration, white_noise

    slides = [
        SLIDES[0],
        SampleSlide("Static", "This slide should be speech but came out as noise."),
    ]
    deck = storage.upload(
        build_deck(tmp_path / "noisy.pptx", slides), f"s3://{good_run.bucket}/in/noisy.pptx"
    )
    voice = storage.upload(reference_voice, f"s3://{good_run.bucket}/in/voice.wav")
    out = f"s3://{good_run.bucket}/out/noisy.mp4"
    plan = job.prepare(
        deck,
        voice,
        out_url=out,
        root_url=good_run.root,
        settings=JobSettings(width=1280, height=720),
        roots=Roots.only(f"s3://{good_run.bucket}/"),
    )
    seed_narration(JobFolder(plan.job_url), 2, white_noise(4.0))
    conf = {
        "deck_url": deck,
        "voice_url": voice,
        "out_url": out,
        "resolution": "1280x720",
        "quality_mode": "fail",
        "min_similarity": 0.0,
    }
    dag_run, tis = run_dag(dag_bag.get_dag(DAG_ID), conf, good_run.root)

    assert dag_run.state == "failed"
    failed = tis[("assemble", -1)]  # its quality step, before anything is assembled
    assert (failed.state, failed.try_number) == ("failed", 1)  # bad output: no retry
    later = ("approve", "publish")
    assert {tis[(step, -1)].state for step in later} == {"upstream_failed"}
    manifest = load_manifest(plan.job_url)
    assert (manifest.status, manifest.stage) == ("failed", "quality")
    assert "slide 2: DNSMOS overall" in manifest.reason
    assert "< 2.5" in manifest.reason
    assert "slide 1" not in manifest.reason
    assert not storage.exists(out)
    assert not storage.exists(out[: -len(".mp4")] + ".quality.json")


def test_publish_records_an_asset_event_naming_the_video(good_run):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent, AssetModel)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetEvent.source_run_id == good_run.dag_run.run_id)
            .all()
        )
        by_name = {asset.name: event.extra for event, asset in events}
    # One event on the catalogue asset, one on the video's own asset (through the alias).
    assert set(by_name) == {"deck2video-videos", good_run.out_url}
    for extra in by_name.values():
        assert extra["video_url"] == good_run.out_url
        assert extra["vtt_url"] == good_run.out_url[: -len(".mp4")] + ".vtt"


def test_bad_voice_fails_the_run_at_once_and_the_manifest_says_why(
    good_run, dag_bag, e2e_deck, tmp_path
):
    voice = storage.upload(
        bad_files.silent_wav(tmp_path / "silent.wav"), f"s3://{good_run.bucket}/in/silent.wav"
    )
    out = f"s3://{good_run.bucket}/out/silent.mp4"
    conf = {"deck_url": e2e_deck, "voice_url": voice, "out_url": out, "resolution": "1280x720"}
    before = set(job_manifests(good_run.root))

    dag_run, tis = run_dag(dag_bag.get_dag(DAG_ID), conf, good_run.root)

    assert dag_run.state == "failed"
    failed = tis[("prepare", -1)]  # which cleans the recording too
    assert (failed.state, failed.try_number) == ("failed", 1)  # no retry for bad input
    assert failed.max_tries >= 1  # ... although the step has retries for other errors
    assert {ti.state for (task_id, _), ti in tis.items() if task_id != "prepare"} <= {
        "failed",
        "upstream_failed",
    }
    [job_url] = set(job_manifests(good_run.root)) - before
    manifest = load_manifest(job_url)
    assert (manifest.status, manifest.stage) == ("failed", "prepare_voice")
    assert "silent.wav" in manifest.reason
    assert "\n" not in manifest.reason
    assert not storage.exists(out)
    # The note is Markdown that reads as the step and the reason, literally (issue 21).
    assert run_note(dag_run) == (
        f"Failed at {markdown_literal('prepare_voice')}: {markdown_literal(manifest.reason)}"
    )


def test_unknown_conf_key_fails_the_first_step_before_any_work(good_run, dag_bag, e2e_deck):
    root = f"s3://{good_run.bucket}/typo-root"
    conf = {"deck_url": e2e_deck, "voice_url": e2e_deck, "resoluton": "1280x720"}
    dag_run, tis = run_dag(dag_bag.get_dag(DAG_ID), conf, root)
    assert dag_run.state == "failed"
    assert (tis[("prepare", -1)].state, tis[("prepare", -1)].try_number) == ("failed", 1)
    assert storage.list_objects(root) == []


class PreparedTI:
    """What the failure callback asks of its task instance: the id of the job the run prepared
    (its folder is rebuilt from the deployment's root)."""

    task_id = "assemble"

    def __init__(self, job_url: str) -> None:
        self.job_id = job_url.rsplit("/", 1)[-1]
        self.pushed: dict = {}

    def xcom_pull(self, task_ids: str, key: str) -> str:
        assert (task_ids, key) == ("prepare", "job_id")
        return self.job_id

    def xcom_push(self, key: str, value: dict) -> None:
        self.pushed[key] = value


def copy_of_the_finished_job(
    run: Run, name: str, monkeypatch: pytest.MonkeyPatch, *, unfinished: bool = False
) -> str:
    """A copy of the run's job under another root, which the deployment then uses."""
    from deck2video.job.state import save_manifest

    [(job_url, _)] = completed_jobs(run.root)
    copy = storage.join(f"{run.root}-copies", "jobs", name)  # beside the run's own jobs
    monkeypatch.setenv("DECK2VIDEO_ROOT", f"{run.root}-copies")
    storage.copy(JobFolder.at(job_url).manifest, JobFolder.at(copy).manifest)
    if unfinished:  # as it was while assembling: not yet published
        manifest = load_manifest(copy)
        manifest.published, manifest.status, manifest.stage = [], "assembling_video", "assemble"
        save_manifest(JobFolder.at(copy), manifest)
    return copy


def test_failure_callback_records_what_the_step_could_not(good_run, monkeypatch):
    """A step killed from outside (timeout, lost worker): the callback marks the job failed."""
    from deck2video_airflow.task_defaults import record_failed_stage

    copy = copy_of_the_finished_job(good_run, "callback-copy", monkeypatch, unfinished=True)
    timeout = TimeoutError("Timeout, PID: 4242\nafter 3600 s")
    ti = PreparedTI(copy)
    record_failed_stage({"ti": ti, "exception": timeout, "task": None})
    manifest = load_manifest(copy)
    assert (manifest.status, manifest.stage) == ("failed", "assemble")
    assert manifest.reason == "TimeoutError: Timeout, PID: 4242 after 3600 s"
    # ... and the run's note will say it too (the plugin's listener reads this XCom).
    assert ti.pushed == {
        "deck2video_failure": {"step": "assemble", "reason": manifest.reason},
    }


def test_a_late_failure_callback_cannot_fail_a_finished_job(good_run, monkeypatch):
    """E.g. a zombie speak task of a run whose video was published meanwhile."""
    from deck2video_airflow.task_defaults import record_failed_stage

    copy = copy_of_the_finished_job(good_run, "late-callback-copy", monkeypatch)
    record_failed_stage(
        {"ti": PreparedTI(copy), "exception": TimeoutError("too late"), "task": None}
    )
    manifest = load_manifest(copy)
    assert (manifest.status, manifest.stage, manifest.reason) == ("completed", "publish", None)
    assert manifest.stages["assemble"].status == "done"
    assert manifest.stages["assemble"].detail["reason"] == "TimeoutError: too late"


def test_manifest_json_is_readable_without_airflow(good_run):
    [(job_url, _)] = completed_jobs(good_run.root)
    data = json.loads(storage.read_bytes(JobFolder.at(job_url).manifest))
    assert data["status"] == "completed"
    assert Path(data["outputs"]["video"]).suffix == ".mp4"


# --- issue 9: roots, one output per run, no secrets ------------------------------------------


def test_a_run_reaching_outside_the_roots_fails_at_once_storing_nothing(
    good_run, dag_bag, e2e_deck
):
    root = f"s3://{good_run.bucket}/outside-root"
    conf = {"deck_url": e2e_deck, "voice_url": "/proc/self/environ", "out_url": good_run.out_url}
    from airflow.sdk.exceptions import ParamValidationError

    # The params' patterns name the roots (issue 22): refused before a run exists.
    with pytest.raises(ParamValidationError, match=r"^Invalid input for param voice_url: "):
        run_dag(dag_bag.get_dag(DAG_ID), conf, root)
    assert storage.list_objects(root) == []
    # Without the patterns (a DAG parsed under other roots), prepare refuses it at once.
    dag_run, tis = run_dag(dag_bag.get_dag(DAG_ID), conf, root, roots_in_params=False)
    assert dag_run.state == "failed"
    assert (tis[("prepare", -1)].state, tis[("prepare", -1)].try_number) == ("failed", 1)
    assert storage.list_objects(root) == []


def test_a_second_run_of_the_job_publishes_to_its_own_output(good_run, dag_bag, e2e_deck):
    """The output travels with the run (its params), not in the job's shared manifest."""
    [(job_url, before)] = completed_jobs(good_run.root)
    first = storage.read_bytes(good_run.out_url)
    other = f"s3://{good_run.bucket}/out/second/talk.mp4"
    conf = {**dict(good_run.dag_run.conf), "out_url": other}
    dag_run, tis = run_dag(dag_bag.get_dag(DAG_ID), conf, good_run.root)
    assert dag_run.state == "success"
    assert tis[("publish", -1)].xcom_pull(task_ids="publish")["video_url"] == other
    assert storage.read_bytes(other) == first  # the same job, so the same video
    assert storage.read_bytes(good_run.out_url) == first
    [(again, manifest)] = completed_jobs(good_run.root)
    assert again == job_url
    assert [p["video_url"] for p in manifest.published] == [
        *[p["video_url"] for p in before.published],
        other,
    ]


def test_no_credential_reaches_xcom_or_the_job_folder(good_run):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    secrets = [os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_ACCESS_KEY_ID"]]
    with create_session() as session:
        rows = session.query(XComModel).filter_by(run_id=good_run.dag_run.run_id).all()
        values = [json.dumps(row.value, default=str) for row in rows]
    assert values
    assert not any(s in v for s in secrets for v in values)
    [(job_url, _)] = completed_jobs(good_run.root)
    for obj in storage.list_objects(job_url):
        if obj.url.endswith((".json", ".txt")):
            text = storage.read_bytes(obj.url).decode(errors="replace")
            assert not any(s in text for s in secrets), obj.url
