"""A real Airflow for the tests: api-server (with the repo's plugins), scheduler (LocalExecutor),
dag-processor and triggerer, in a private AIRFLOW_HOME with its own SQLite DB, the way
``make airflow`` runs them. Clients talk to it over the public REST API v2 (and a browser).

Two users sign in through the simple auth manager: ``admin`` and ``viewer`` (may read, may not
trigger). Every process runs in its own session, stopped whole (``stop_sessions`` of
scripts/stack/processes.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from scripts.stack import Api, Process, free_port, stop_sessions

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
START_TIMEOUT = 240.0
RUN_TIMEOUT = 420.0
USERS = {"admin": "admin", "viewer": "viewer"}  # name -> role
COMPONENTS = (
    ["scheduler"],
    ["dag-processor"],
    ["triggerer"],
)
T = TypeVar("T")


@dataclass
class AirflowServers:
    base: str
    home: Path
    root: str  # DECK2VIDEO_ROOT of its workers (and of the plugin's pages)
    passwords: dict[str, str]
    admin: Api = field(init=False)

    def __post_init__(self) -> None:
        self.admin = Api(self.base)

    def api(self, user: str = "admin") -> Api:
        api = Api(self.base)
        api.login(user, self.passwords[user])
        return api

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float) -> T:
        return wait_for(what, check, timeout, self.home)

    def trigger(self, conf: dict, note: str | None = None) -> str:
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if note:
            body["note"] = note
        status, run = self.admin.call("POST", "/api/v2/dags/deck_to_video/dagRuns", body)
        assert status == 200, run
        return run["dag_run_id"]

    def run(self, run_id: str) -> dict:
        status, run = self.admin.call("GET", f"/api/v2/dags/deck_to_video/dagRuns/{_q(run_id)}")
        assert status == 200, run
        return run

    def finished(self, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        """Wait for the run to end; its final state."""

        def state() -> str | None:
            found = self.run(run_id)["state"]
            return found if found in ("success", "failed") else None

        return self.wait_for(f"run {run_id} to finish", state, timeout)

    def task_instances(self, run_id: str) -> dict[str, list[dict]]:
        """task id -> its instances (mapped ones in map-index order)."""
        path = f"/api/v2/dags/deck_to_video/dagRuns/{_q(run_id)}/taskInstances?limit=200"
        status, listing = self.admin.call("GET", path)
        assert status == 200, listing
        found: dict[str, list[dict]] = {}
        for ti in sorted(listing["task_instances"], key=lambda t: t["map_index"]):
            found.setdefault(ti["task_id"], []).append(ti)
        return found

    def task_state(self, run_id: str, task_id: str) -> str | None:
        instances = self.task_instances(run_id).get(task_id, [])
        return instances[0]["state"] if instances else None

    def xcom(self, run_id: str, task_id: str, key: str) -> Any:
        path = (
            f"/api/v2/dags/deck_to_video/dagRuns/{_q(run_id)}/taskInstances/{task_id}"
            f"/xcomEntries/{key}?deserialize=true"
        )
        status, entry = self.admin.call("GET", path)
        assert status == 200, entry
        return entry["value"]


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def wait_for(what: str, check: Callable[[], T | None], timeout: float, logs: Path) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if result := check():
                return result
        time.sleep(1)
    tails = {p.name: p.read_text(errors="replace")[-3000:] for p in logs.glob("*.log")}
    pytest.fail(f"{what}: not within {timeout:.0f} s; logs: {json.dumps(tails, indent=1)}")


@contextlib.contextmanager
def running_airflow(home: Path, root: str) -> Iterator[AirflowServers]:
    """Airflow's servers on a free loopback port, with the deck2video DAGs and plugin."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    passwords = {name: secrets.token_urlsafe(12) for name in USERS}
    passwords_file = home / "passwords.json"
    passwords_file.write_text(json.dumps(passwords))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "DECK2VIDEO_ROOT": root,
        # Runs may read decks and publish videos anywhere beside the job store (its jobs/ and
        # cache/ stay refused): the tests' inputs and outputs live in the same bucket.
        "DECK2VIDEO_READ_ROOTS": root.rsplit("/", 1)[0] + "/",
        "DECK2VIDEO_WRITE_ROOTS": root.rsplit("/", 1)[0] + "/",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO / "include"), os.environ.get("PYTHONPATH")])
        ),
    }
    subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )
    processes: list[Process] = []
    try:
        api_server = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        for command in (api_server, *COMPONENTS):
            process = Process(command[0], [AIRFLOW, *command], env, home / f"{command[0]}.log")
            process.start(Path.cwd())
            processes.append(process)
        servers = AirflowServers(base, home, root, passwords)
        servers.wait_for(
            "api-server health",
            lambda: servers.admin.call("GET", "/api/v2/monitor/health")[0] == 200,
            START_TIMEOUT,
        )
        servers.admin = servers.api("admin")
        servers.wait_for(
            "deck_to_video parsed",
            lambda: servers.admin.call("GET", "/api/v2/dags/deck_to_video")[0] == 200,
            START_TIMEOUT,
        )
        status, body = servers.admin.call("POST", "/api/v2/pools", {"name": "gpu", "slots": 1})
        assert status in (200, 201), body
        yield servers
    finally:
        stop_sessions(processes)
