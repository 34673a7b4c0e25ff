"""deck_to_video through a real Airflow (tests/airflow_servers.py: api-server, scheduler,
dag-processor, triggerer), driven by the public REST API v2 only, the way a client or the UI's
trigger form uses it. Slow: the servers run the real pipeline on the loopback S3 server.
"""

from __future__ import annotations

import time

import pytest

from deck2video import storage
from deck2video.samples import build_deck
from tests.support.dag_runs import GROUP_LABEL, SLIDES

pytestmark = pytest.mark.slow


def test_rest_trigger_refuses_bad_conf_with_400_naming_the_field(airflow_servers):
    status, body = airflow_servers.admin.call(
        "POST",
        "/api/v2/dags/deck_to_video/dagRuns",
        {"logical_date": None, "conf": {"deck_url": "s3://b/../talk.pptx", "voice_url": "/v.wav"}},
    )
    assert status == 400, body
    assert body["detail"].startswith("Invalid input for param deck_url: ")


def test_rest_triggered_run_produces_the_video(airflow_servers, reference_voice, tmp_path):
    servers = airflow_servers
    bucket = storage.parse(servers.root).bucket
    deck = build_deck(tmp_path / "talk.pptx", SLIDES)
    conf = {
        "deck_url": storage.upload(deck, f"s3://{bucket}/rest/talk.pptx"),
        "voice_url": storage.upload(reference_voice, f"s3://{bucket}/rest/voice.wav"),
        "out_url": f"s3://{bucket}/rest/out/talk.mp4",
        "resolution": "1280x720",
    }
    started = time.monotonic()
    run_id = servers.trigger(conf)
    state = servers.finished(run_id)
    print(f"\nREST-triggered run: {state} after {time.monotonic() - started:.1f} s")
    by_task = servers.task_instances(run_id)
    assert state == "success", {k: [t["state"] for t in v] for k, v in by_task.items()}
    assert [ti["rendered_map_index"] for ti in by_task["speak"]] == [GROUP_LABEL]
    assert [ti["state"] for ti in by_task["approve"]] == ["skipped"]  # no approval asked for
    assert storage.exists(conf["out_url"])
