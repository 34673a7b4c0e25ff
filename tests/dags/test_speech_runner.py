"""The speech runner is a deployment setting: with DECK2VIDEO_SPEECH_RUNNER=docker the mapped
``speak`` task is a DockerOperator running the speech image. These tests need no Docker engine
(tests/docker runs the containers); they check the wiring and that no secret leaks into what
Airflow templates, serializes or shows."""

from __future__ import annotations

import json

import pytest

from deck2video.airflow_names import EXIT_BAD_INPUT
from deck2video.errors import InputError, ProcessingError
from deck2video.speech_items import SlideToSpeak, SpeechItem, in_groups
from tests.support.airflow_dags import DAGS

SECRET = "s3cr3t-key-that-must-never-show"
STORAGE_CONN = {
    "conn_type": "aws",
    "login": "AKIDEXAMPLE",
    "password": SECRET,
    "extra": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-west-1"},
}
SLIDE = {
    "job_id": "talk-0123",
    "label": "",
    "slides": [{"number": 2, "source_index": 2, "title": "{{ x }}"}],
}
JOB_URL = "s3://media/d2v/jobs/talk-0123"  # the job's folder under ROOT


@pytest.fixture(autouse=True)
def root(monkeypatch):
    """The deployment's job root, from which each task rebuilds the job's folder."""
    monkeypatch.setenv("DECK2VIDEO_ROOT", "s3://media/d2v")


def parse(monkeypatch, **settings: str):
    """The DAG folder parsed under these deployment settings (they are read at parse time)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    for name, value in settings.items():
        monkeypatch.setenv(f"DECK2VIDEO_{name}", value)
    bag = BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")
    assert bag.import_errors == {}
    return bag.get_dag("deck_to_video")


def test_docker_runner_maps_the_container_operator_over_the_slides(monkeypatch):
    from deck2video_airflow.speech_container import SpeakInContainer
    from docker.types import DeviceRequest

    dag = parse(monkeypatch, SPEECH_RUNNER="docker", SPEECH_IMAGE="speech:1", DOCKER_NETWORK="host")
    speak = dag.get_task("speak")
    assert speak.operator_class is SpeakInContainer
    assert (speak.pool, speak.queue) == ("gpu", "gpu")
    assert speak.map_index_template == "{{ task.slide['label'] }}"
    kwargs = speak.partial_kwargs
    assert kwargs["image"] == "speech:1"
    assert kwargs["device_requests"] == [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    # "force": removed after a failure too, so no stopped container keeps the credentials it was
    # given (it was "success", which kept failed ones).
    assert (kwargs["auto_remove"], kwargs["mount_tmp_dir"]) == ("force", False)
    assert (kwargs["network_mode"], kwargs["mem_limit"]) == ("host", "8g")
    assert kwargs["docker_url"] == "unix://var/run/docker.sock"
    assert kwargs["storage_conn_id"] == "deck2video_storage"
    assert set(speak.expand_input.value) == {"slide"}
    assert speak.upstream_task_ids == {"prepare"}  # which also cleaned the recording


def test_gpu_request_can_be_turned_off_for_cpu_hosts(monkeypatch):
    dag = parse(monkeypatch, SPEECH_RUNNER="docker", DOCKER_GPUS="none")
    assert dag.get_task("speak").partial_kwargs["device_requests"] is None


def test_unknown_runner_is_an_import_error(monkeypatch):
    from airflow.dag_processing.dagbag import BundleDagBag

    monkeypatch.setenv("DECK2VIDEO_SPEECH_RUNNER", "kubernetes")
    bag = BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")
    [error] = [e for path, e in bag.import_errors.items() if path.endswith("deck_to_video.py")]
    assert "DECK2VIDEO_SPEECH_RUNNER='kubernetes'" in error


def test_the_docker_dag_serializes_without_secrets(monkeypatch):
    from airflow.serialization.serialized_objects import DagSerialization

    monkeypatch.setenv("AIRFLOW_CONN_DECK2VIDEO_STORAGE", json.dumps(STORAGE_CONN))
    dag = parse(monkeypatch, SPEECH_RUNNER="docker")
    data = DagSerialization.to_dict(dag)
    text = json.dumps(data)
    assert "SpeakInContainer" in text
    # The scheduler works from the deserialized DAG.
    speak = DagSerialization.from_dict(data).get_task("speak")
    assert speak.partial_kwargs["pool"] == "gpu"
    assert speak.map_index_template
    assert SECRET not in text
    assert "AKIDEXAMPLE" not in text


def test_the_command_holds_urls_and_a_number_only():
    from deck2video_airflow.speech_container import SpeakInContainer

    op = SpeakInContainer(
        task_id="speak", slide=SLIDE, storage_conn_id="deck2video_storage", image="speech:1"
    )
    assert op.command == ["speak", "--job", JOB_URL, "--slide", "2"]
    assert op.environment == {}  # nothing public to template; the secrets go privately
    assert "slide" not in op.template_fields
    retake = SpeakInContainer(
        task_id="speak",
        slide={**SLIDE, "slides": [{**SLIDE["slides"][0], "take": 3}]},
        storage_conn_id="c",
        image="speech:1",
    )
    assert retake.command[-2:] == ["--take", "3"]


def test_execute_puts_the_connection_into_the_private_environment(monkeypatch):
    from airflow.providers.docker.operators.docker import DockerOperator
    from deck2video_airflow.speech_container import SpeakInContainer

    monkeypatch.setenv("AIRFLOW_CONN_D2V_TEST_STORAGE", json.dumps(STORAGE_CONN))
    seen = {}

    def run_container(self, context):  # stands in for the Docker Engine call
        seen.update(private=dict(self._private_environment), public=dict(self.environment))

    monkeypatch.setattr(DockerOperator, "execute", run_container)
    op = SpeakInContainer(
        task_id="speak", slide=SLIDE, storage_conn_id="d2v_test_storage", image="speech:1"
    )
    op.execute({})
    assert seen["private"] == {
        "DECK2VIDEO_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    assert SECRET not in json.dumps(seen["public"])


def test_without_a_connection_the_container_gets_the_workers_storage_settings(monkeypatch):
    from deck2video_airflow.speech_container import connection_storage_environment

    monkeypatch.setenv("DECK2VIDEO_S3_ENDPOINT_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "worker-key")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    env = connection_storage_environment("no_such_connection")
    assert env["DECK2VIDEO_S3_ENDPOINT_URL"] == "http://127.0.0.1:9999"
    assert env["AWS_ACCESS_KEY_ID"] == "worker-key"


@pytest.mark.parametrize(
    ("status", "logs", "kind", "message"),
    [
        (EXIT_BAD_INPUT, [b"loading\n", b"deck2video: error: job s3://b/j: no slide 9\n"],
         InputError, "job s3://b/j: no slide 9"),
        # argparse's usage error (an image whose CLI does not match the worker's) is retried.
        (2, ["deck2video: error: unrecognized arguments: --take"], ProcessingError,
         "slide 2: unrecognized arguments: --take"),
        (1, ["deck2video: failed: synthesis crashed"], ProcessingError,
         "slide 2: synthesis crashed"),
        (137, ["Killed"], ProcessingError, "slide 2: Killed"),
        (139, [], ProcessingError, "slide 2: speech container exited with status 139"),
    ],
)  # fmt: skip
def test_container_failures_become_pipeline_errors(status, logs, kind, message):
    """EXIT_BAD_INPUT is the CLI's bad input: the retry policy then fails the task at once."""
    from airflow.providers.docker.exceptions import DockerContainerFailedException
    from deck2video_airflow.speech_container import container_error

    failure = DockerContainerFailedException(
        f"Docker container failed: {{'Error': None, 'StatusCode': {status}}}", logs=logs
    )
    error = container_error(failure, SLIDE)
    assert type(error) is kind
    assert str(error) == message


# --- groups of slides per task (DECK2VIDEO_SPEECH_SLIDES_PER_TASK) --------------------------------


def per_slide(number: int, source_index: int, title: str, take: int = 1) -> SpeechItem:
    slide = SlideToSpeak(number, source_index, title, take)
    return SpeechItem(SLIDE["job_id"], f"slide {source_index}: {title}", (slide,))


def test_groups_of_slides_are_labelled_by_their_span_and_titles():
    # PowerPoint's slide 3 is hidden: the shown slides keep the deck's own numbers.
    slides = [per_slide(n, i, t) for n, i, t in
              [(1, 1, "Hello"), (2, 2, "Why"), (3, 4, "Pricing"), (4, 5, "Plans"),
               (5, 6, "Team")]]  # fmt: skip
    assert in_groups(slides, 1) == slides
    grouped = in_groups(slides, 2)
    assert [([s.number for s in g.slides], g.label) for g in grouped] == [
        ([1, 2], "slides 1-2: Hello, Why"),
        ([3, 4], "slides 4-5: Pricing, Plans"),
        ([5], "slide 6: Team"),
    ]
    assert [g.span for g in grouped] == ["slides 1-2", "slides 4-5", "slide 6"]
    assert [SpeechItem.from_xcom(g.to_xcom()) for g in grouped] == grouped


def test_a_malformed_speech_item_is_refused():
    with pytest.raises(ValueError, match="not a speech item"):
        SpeechItem.from_xcom({"job_id": "j", "label": "x", "slides": []})
    with pytest.raises(ValueError, match="not a speech item"):
        SpeechItem.from_xcom({"job_id": "j", "label": "x", "slides": [{"number": "a"}]})


def test_a_group_is_one_container_speaking_every_slide_of_it():
    from deck2video_airflow.speech_container import SpeakInContainer

    def command(slides: list[SpeechItem]) -> list[str]:
        [group] = in_groups(slides, len(slides))
        return SpeakInContainer(
            task_id="speak", slide=group.to_xcom(), storage_conn_id="deck2video_storage",
            image="speech:1",
        ).command  # fmt: skip

    slides = [per_slide(n, n + 1, f"Part {n}") for n in (4, 5, 6, 7)]
    assert command(slides) == ["speak", "--job", JOB_URL, "--slide", "4", "5", "6", "7"]
    slides[2] = per_slide(6, 7, "Part 6", take=3)  # a re-take of one slide of the group
    assert command(slides)[-5:] == ["--take", "1", "1", "3", "1"]


@pytest.mark.slow
def test_a_grouped_run_speaks_every_slide_in_fewer_tasks(
    monkeypatch, s3_bucket, reference_voice, tmp_path
):
    """The whole DAG under dag.test() with groups of 2: 3 slides -> 2 speak tasks, one video."""
    from deck2video import storage
    from deck2video.samples import build_deck
    from tests.support import media
    from tests.support.dag_runs import SLIDES, run_dag

    conf = {
        "deck_url": storage.upload(
            build_deck(tmp_path / "t.pptx", SLIDES), f"s3://{s3_bucket}/in/t.pptx"
        ),
        "voice_url": storage.upload(reference_voice, f"s3://{s3_bucket}/in/voice.wav"),
        "out_url": f"s3://{s3_bucket}/out/t.mp4",
        "resolution": "1280x720",
    }
    dag = parse(monkeypatch, SPEECH_SLIDES_PER_TASK="2")
    dag_run, tis = run_dag(dag, conf, f"s3://{s3_bucket}/d2v")
    assert dag_run.state == "success"
    speak = sorted(
        (ti for (task, _), ti in tis.items() if task == "speak"), key=lambda t: t.map_index
    )
    assert [ti.rendered_map_index for ti in speak] == [
        "slides 1-2: Welcome, Braces {{ ds }} stay text",
        "slide 4: Pricing",
    ]
    info = media.ffprobe(storage.download(conf["out_url"], tmp_path / "t.mp4"))
    assert [title for *_, title in media.chapters(info)] == [
        "Welcome", "Braces {{ ds }} stay text", "Pricing",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "job_id", ["../../other-bucket/jobs/x", "talk-0123\n", "{{ conn.deck2video_storage.password }}"]
)
def test_a_job_id_edited_in_an_xcom_cannot_reach_the_command(job_id):
    from deck2video_airflow.speech_container import SpeakInContainer

    with pytest.raises(InputError, match=r"^job id .*: not a job id$"):
        SpeakInContainer(
            task_id="speak", slide={**SLIDE, "job_id": job_id}, storage_conn_id="c", image="s:1"
        )
