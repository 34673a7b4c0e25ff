"""deck_to_video triggered over REST API v2 on the compose stack: the video lands in the object
store, and Airflow's records show the speech ran on the gpu worker, everything else on the cpu one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deck2video import storage
from scripts.stack import parse_time
from tests.support import media
from tests.support.stack_runs import (
    outputs_of,
    small_deck,
    stack_storage,
    task_instances,
    trigger,
    wait_for_runs,
)

pytestmark = [pytest.mark.stack, pytest.mark.docker, pytest.mark.slow]

SLIDES = 3


@pytest.fixture(scope="module")
def rest_run(stack, reference_voice, tmp_path_factory):
    with stack_storage(stack):
        deck = small_deck(tmp_path_factory.mktemp("rest") / "talk.pptx", SLIDES, "Rest")
        conf = {
            "deck_url": storage.upload(deck, "s3://deck2video/rest/in/talk.pptx"),
            "voice_url": storage.upload(reference_voice, "s3://deck2video/rest/in/voice.wav"),
            "out_url": "s3://deck2video/rest/out/talk.mp4",
            "resolution": "1280x720",
        }
    api = stack.api()  # a token, as any REST client gets one
    run_id = trigger(api, conf)
    state = wait_for_runs(api, [run_id])[run_id]
    return api, run_id, state, conf


def test_the_run_succeeds(rest_run):
    _, run_id, state, _ = rest_run
    assert state == "success", run_id


def test_the_video_and_captions_are_in_the_object_store(rest_run, bucket, tmp_path: Path):
    *_, conf = rest_run
    video_url, vtt_url, srt_url = outputs_of(conf["out_url"])
    video = storage.download(video_url, tmp_path / "talk.mp4")
    info = media.ffprobe(video)
    assert media.codecs(info) == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
    stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"]) == (1280, 720)
    assert [title for *_, title in media.chapters(info)] == [f"Rest {n}" for n in (1, 2, 3)]
    cues = media.read_vtt(storage.read_bytes(vtt_url).decode())
    assert "slide 2 of the rest deck" in " ".join(c.text for c in cues).lower()
    assert media.read_srt(storage.read_bytes(srt_url).decode())


def test_speech_ran_on_the_gpu_worker_and_the_rest_on_the_cpu_worker(rest_run):
    api, run_id, *_ = rest_run
    tis = task_instances(api, run_id)
    speak = [ti for ti in tis if ti["task_id"] == "speak"]
    # Every other step that ran (the approval step is skipped: no approval was asked for).
    others = [ti for ti in tis if ti["task_id"] != "speak" and ti["state"] == "success"]
    # Sized by default: the deck's few seconds of narration are one speak task.
    assert len(speak) == 1
    assert {(ti["hostname"], ti["queue"], ti["pool"]) for ti in speak} == {
        ("worker-gpu", "gpu", "gpu")
    }
    assert {ti["task_id"] for ti in others} >= {"prepare", "assemble", "publish"}
    # compose's dedicated queue: worker-cpu (whose container may create sandboxes) runs only these.
    assert {(ti["hostname"], ti["queue"]) for ti in others} == {("worker-cpu", "deck2video")}
    assert [ti["rendered_map_index"] for ti in speak] == [
        "slides 1-3: " + ", ".join(f"Rest {n}" for n in (1, 2, 3))
    ]


def test_the_slides_were_spoken_in_a_speech_container(rest_run, docker_engine, speech_image):
    """The gpu worker's speak task ran the speech image (the DockerOperator), one container for
    the task's group of slides."""
    api, run_id, *_ = rest_run
    tis = [ti for ti in task_instances(api, run_id) if ti["task_id"] == "speak"]
    since = int(min(parse_time(ti["start_date"]) for ti in tis).timestamp()) - 1
    until = int(max(parse_time(ti["end_date"]) for ti in tis).timestamp()) + 1
    events = docker_engine.client().events(
        since=since, until=until, filters={"type": "container", "event": "die"}, decode=True
    )
    exits = [e["Actor"]["Attributes"].get("exitCode") for e in events
             if e["Actor"]["Attributes"].get("image") == speech_image]  # fmt: skip
    assert exits == ["0"] * len(tis)
