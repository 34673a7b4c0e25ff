"""Faults on the compose stack: the gpu worker killed mid-run, the object store gone for a while.

Either way the run completes (the scheduler notices the dead worker's tasks by their missing
heartbeats, 30 s here, and retries them on the worker that comes back, as compose's restart
policy brings it back; storage calls and steps retry with backoff), and nothing half-written is
ever visible at the output location.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from deck2video import storage
from tests.support import media
from tests.support.stack_runs import (
    PublishWatch,
    outputs_of,
    small_deck,
    task_instances,
    trigger,
    wait_for_runs,
)

pytestmark = [pytest.mark.stack, pytest.mark.docker, pytest.mark.slow]

SLIDES = 5


def start_run(api, name: str, reference_voice: Path, tmp_path: Path) -> tuple[str, str]:
    deck = small_deck(tmp_path / f"{name}.pptx", SLIDES, name.capitalize())
    out_url = f"s3://deck2video/faults/out/{name}.mp4"
    conf = {
        "deck_url": storage.upload(deck, f"s3://deck2video/faults/{name}.pptx"),
        "voice_url": storage.upload(reference_voice, f"s3://deck2video/faults/{name}.wav"),
        "out_url": out_url,
        "resolution": "1280x720",
    }
    return trigger(api, conf), out_url


def wait_until_running(api, run_id: str, task_id: str, timeout: float = 240) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [ti for ti in task_instances(api, run_id)
                   if ti["task_id"] == task_id and ti["state"] == "running"]  # fmt: skip
        if running:
            return running
        time.sleep(1)
    pytest.fail(f"no {task_id} task of {run_id} ran within {timeout:.0f} s")


def assert_whole_video(url: str, tmp_path: Path) -> None:
    info = media.ffprobe(storage.download(url, tmp_path / "video.mp4"))
    assert len(media.chapters(info)) == SLIDES
    assert float(info["format"]["duration"]) > SLIDES


def test_killing_the_gpu_worker_mid_run(stack, api, bucket, reference_voice, tmp_path):
    run_id, out_url = start_run(api, "killed", reference_voice, tmp_path)
    watch = PublishWatch(outputs_of(out_url))
    with watch.running():
        hit = wait_until_running(api, run_id, "speak")
        stack.processes["worker-gpu"].kill()  # SIGKILL to the worker and all it started
        time.sleep(5)
        stack.start_service("worker-gpu")  # compose: restart: unless-stopped
        state = wait_for_runs(api, [run_id])[run_id]
    assert state == "success"
    speak = {ti["map_index"]: ti for ti in task_instances(api, run_id) if ti["task_id"] == "speak"}
    assert {ti["state"] for ti in speak.values()} == {"success"}
    # The tasks that were running when the worker died ran again.
    assert all(speak[ti["map_index"]]["try_number"] >= 2 for ti in hit), hit
    watch.assert_only_final_versions()
    assert_whole_video(out_url, tmp_path)


def test_the_object_store_stopping_for_a_while(stack, api, bucket, reference_voice, tmp_path):
    run_id, out_url = start_run(api, "outage", reference_voice, tmp_path)
    watch = PublishWatch(outputs_of(out_url))
    with watch.running():
        wait_until_running(api, run_id, "speak")
        stack.stop_object_store()
        time.sleep(8)
        stack.start_object_store()
        state = wait_for_runs(api, [run_id])[run_id]
    assert state == "success"
    tis = task_instances(api, run_id)
    print("tries:", {(ti["task_id"], ti["map_index"]): ti["try_number"] for ti in tis})
    watch.assert_only_final_versions()
    assert_whole_video(out_url, tmp_path)
