"""deck_to_video through a real Airflow: api-server + scheduler (LocalExecutor) + dag-processor,
driven by the public REST API v2 only, the way a client or the UI's trigger form uses it.

Slow: it starts the three servers in a private AIRFLOW_HOME (their own SQLite DB) and runs the
real pipeline on the loopback S3 server. The servers are stopped (process groups) afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.samples import build_deck
from tests.conftest import free_port

from .conftest import DAGS, REPO
from .test_deck_to_video import LABELS, SLIDES

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
START_TIMEOUT = 240.0
RUN_TIMEOUT = 420.0


@dataclass
class Api:
    base: str
    token: str = ""

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def wait_for(what: str, check, timeout: float, logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if result := check():
                return result
        time.sleep(2)
    tails = {p.name: p.read_text(errors="replace")[-2000:] for p in logs.glob("*.log")}
    pytest.fail(f"{what}: not within {timeout:.0f} s; logs: {json.dumps(tails, indent=1)}")


@pytest.fixture(scope="module")
def airflow_servers(tmp_path_factory, s3_server) -> Iterator[tuple[Api, dict]]:
    home = tmp_path_factory.mktemp("airflow-servers")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO / "include"), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("AIRFLOW__CORE__PLUGINS_FOLDER", None)
    bucket = "rest-api"
    storage.s3_client().create_bucket(Bucket=bucket)
    env["DECK2VIDEO_ROOT"] = f"s3://{bucket}/d2v"
    env["DECK2VIDEO_READ_ROOTS"] = f"s3://{bucket}/in/"
    env["DECK2VIDEO_WRITE_ROOTS"] = f"s3://{bucket}/out/"
    subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )
    processes = []
    try:
        for command in (["api-server", "--port", str(port), "--workers", "1"],
                        ["scheduler"], ["dag-processor"]):  # fmt: skip
            log = (home / f"{command[0]}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [AIRFLOW, *command],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        api = Api(base)
        wait_for(
            "api-server health",
            lambda: api.call("GET", "/api/v2/monitor/health")[0] == 200,
            START_TIMEOUT,
            home,
        )
        status, body = api.call("POST", "/auth/token", {"username": "any", "password": "any"})
        assert status in (200, 201), body
        api.token = body["access_token"]
        wait_for(
            "deck_to_video parsed",
            lambda: api.call("GET", "/api/v2/dags/deck_to_video")[0] == 200,
            START_TIMEOUT,
            home,
        )
        status, body = api.call("POST", "/api/v2/pools", {"name": "gpu", "slots": 1})
        assert status in (200, 201), body
        yield api, {"bucket": bucket, "home": home}
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_rest_trigger_refuses_bad_conf_with_400_naming_the_field(airflow_servers):
    api, _ = airflow_servers
    status, body = api.call(
        "POST",
        "/api/v2/dags/deck_to_video/dagRuns",
        {"logical_date": None, "conf": {"deck_url": "s3://b/../talk.pptx", "voice_url": "/v.wav"}},
    )
    assert status == 400, body
    assert body["detail"].startswith("Invalid input for param deck_url: ")


def test_rest_triggered_run_produces_the_video(airflow_servers, reference_voice, tmp_path):
    api, where = airflow_servers
    bucket = where["bucket"]
    deck = build_deck(tmp_path / "talk.pptx", SLIDES)
    conf = {
        "deck_url": storage.upload(deck, f"s3://{bucket}/in/talk.pptx"),
        "voice_url": storage.upload(reference_voice, f"s3://{bucket}/in/voice.wav"),
        "out_url": f"s3://{bucket}/out/talk.mp4",
        "resolution": "1280x720",
    }
    started = time.monotonic()
    status, run = api.call(
        "POST", "/api/v2/dags/deck_to_video/dagRuns", {"logical_date": None, "conf": conf}
    )
    assert status == 200, run
    path = f"/api/v2/dags/deck_to_video/dagRuns/{run['dag_run_id']}"

    def finished():
        state = api.call("GET", path)[1]["state"]
        return state if state in ("success", "failed") else None

    state = wait_for("the run to finish", finished, RUN_TIMEOUT, where["home"])
    print(f"\nREST-triggered run: {state} after {time.monotonic() - started:.1f} s")
    _, listing = api.call("GET", f"{path}/taskInstances?limit=100")
    by_task = {}
    for ti in listing["task_instances"]:
        by_task.setdefault(ti["task_id"], []).append(ti)
    assert state == "success", {k: [t["state"] for t in v] for k, v in by_task.items()}
    speak = sorted(by_task["speak"], key=lambda ti: ti["map_index"])
    assert [ti["rendered_map_index"] for ti in speak] == LABELS
    assert storage.exists(conf["out_url"])
