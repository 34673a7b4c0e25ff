"""The workers' Celery settings: Airflow's own, plus the modules a worker imports once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import deck2video_celery
import yaml

REPO = Path(__file__).resolve().parents[2]

# A Celery worker as Airflow starts one, stopped after it imports its modules (Celery's
# import_modules signal) and before it would fork: what has it imported, what runs in it?
WORKER_START = """
import json, sys, threading
from airflow.providers.celery.executors.celery_executor_utils import app
before = set(sys.modules)
app.loader.import_default_modules()
print(json.dumps({"imported": sorted(set(sys.modules) - before), "loaded": sorted(sys.modules),
                  "threads": threading.active_count()}))
"""


def test_the_settings_are_airflows_own_and_compose_names_them() -> None:
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    assert deck2video_celery.CELERY_CONFIG == DEFAULT_CELERY_CONFIG
    compose = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    environment = compose["x-airflow-common"]["environment"]
    assert environment["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == (
        "deck2video_celery.CELERY_CONFIG"
    )
    assert "deck2video_celery.py" in (REPO / "plugins" / ".airflowignore").read_text().split()


def test_a_starting_worker_imports_the_tasks_modules_once_and_starts_no_thread(
    tmp_path: Path,
) -> None:
    env = {
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "deck2video_celery.CELERY_CONFIG",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER_START],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    started = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(deck2video_celery.PRELOADED) <= set(started["loaded"])
    assert {"torch", "deck2video.job.assemble", "boto3"} <= set(started["imported"])
    # The DAG folder's own modules are parsed fresh by each task, as they are on disk now.
    assert not [name for name in started["imported"] if name.startswith("deck2video_airflow")]
    assert started["threads"] == 1  # forking after the imports is safe
