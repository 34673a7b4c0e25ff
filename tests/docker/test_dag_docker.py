"""deck_to_video with the Docker runner: every slide's speech runs in the speech image.

The deployment settings switch the mapped ``speak`` task to a DockerOperator on the session's
private engine (host network, no GPU); the rest of the DAG runs in-process under ``dag.test()``
against the loopback S3 server, exactly as tests/dags runs it with the local runner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.airflow_names import DAG_ID
from deck2video.samples import build_deck
from tests.support.airflow_dags import DAGS
from tests.support.dag_runs import LABELS, SLIDES, job_manifests, run_dag

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@dataclass(frozen=True)
class DockerRun:
    dag: object
    dag_run: object
    tis: dict
    out_url: str
    root: str
    containers: list[dict]  # the speech containers' "die" events: image, exit code
    seconds: float


@pytest.fixture(scope="module")
def docker_run(
    docker_engine, docker_runner_env, s3_server, reference_voice, tmp_path_factory
) -> DockerRun:
    from airflow.dag_processing.dagbag import BundleDagBag

    bucket = "dag-docker"
    storage.s3_client().create_bucket(Bucket=bucket)
    deck = build_deck(tmp_path_factory.mktemp("deck") / "talk.pptx", SLIDES)
    conf = {
        "deck_url": storage.upload(deck, f"s3://{bucket}/in/talk.pptx"),
        "voice_url": storage.upload(reference_voice, f"s3://{bucket}/in/voice.wav"),
        "out_url": f"s3://{bucket}/out/talk.mp4",
        "resolution": "1280x720",
    }
    root = f"s3://{bucket}/d2v"
    client = docker_engine.client()
    since = int(time.time()) - 1
    with pytest.MonkeyPatch.context() as env:
        # The settings are read when the DAG file is parsed: parse it here, under them.
        for name, value in docker_runner_env.items():
            env.setenv(name, value)
        env.setenv("DECK2VIDEO_SPEECH_SLIDES_PER_TASK", "1")  # a container per slide (explicit)
        bag = BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")
        assert bag.import_errors == {}
        dag = bag.get_dag(DAG_ID)
        started = time.monotonic()
        dag_run, tis = run_dag(dag, conf, root)
        seconds = time.monotonic() - started
    print(f"\ndeck_to_video with the Docker runner: {seconds:.1f} s")
    events = client.events(
        since=since,
        until=int(time.time()) + 1,
        filters={"type": "container", "event": "die"},
        decode=True,
    )
    containers = [
        {
            "image": e["Actor"]["Attributes"].get("image"),
            "exit": e["Actor"]["Attributes"].get("exitCode"),
        }
        for e in events
    ]
    return DockerRun(dag, dag_run, tis, conf["out_url"], root, containers, seconds)


def test_speak_is_the_container_operator(docker_run: DockerRun):
    from deck2video_airflow.speech_container import SpeakInContainer

    speak = docker_run.dag.get_task("speak")
    assert speak.operator_class is SpeakInContainer
    assert speak.partial_kwargs["network_mode"] == "host"
    assert speak.partial_kwargs["device_requests"] is None


def test_every_slide_ran_in_its_own_container(docker_run: DockerRun, speech_image: str):
    assert docker_run.dag_run.state == "success", docker_run.tis
    speak = sorted(
        (ti for (task_id, _), ti in docker_run.tis.items() if task_id == "speak"),
        key=lambda ti: ti.map_index,
    )
    assert [ti.state for ti in speak] == ["success"] * len(LABELS)
    assert [ti.rendered_map_index for ti in speak] == LABELS
    ran = [c for c in docker_run.containers if c["image"] == speech_image]
    assert [c["exit"] for c in ran] == ["0"] * len(LABELS), docker_run.containers


def test_the_video_is_published_with_every_slides_audio(docker_run: DockerRun, tmp_path: Path):
    from tests.support import media

    video = storage.download(docker_run.out_url, tmp_path / "talk.mp4")
    info = media.ffprobe(video)
    stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"]) == (1280, 720)
    assert float(info["format"]["duration"]) > 5.0
    [(job_url, manifest)] = job_manifests(docker_run.root).items()
    assert manifest.status == "completed"
    for number in range(1, len(LABELS) + 1):
        wav = storage.download(
            storage.join(job_url, f"audio/{number:04d}.wav"), tmp_path / f"{number}.wav"
        )
        rate, channels, _, seconds = media.wav_info(wav)
        assert (rate, channels) == (24_000, 1), number
        assert seconds > 0.5, number
    vtt = storage.read_bytes(docker_run.out_url[: -len(".mp4")] + ".vtt").decode()
    words = " ".join(vtt.split())  # cues wrap lines
    assert "welcome" in words.lower()
    assert "{{ ds }}" in words  # braces reach the captions as written, never rendered
