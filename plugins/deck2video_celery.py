"""Celery settings for deck2video's workers: Airflow's own, plus what a worker imports once.

Airflow's Celery worker forks every task's process from itself, and that process parses the DAG
file and imports its step before it runs: the docker and HITL operators, boto3, python-pptx,
torch for the narration scores. Imported once in the worker, when it starts (Celery's
``import_modules`` signal, the hook Airflow's own provider uses for its operators), they are
inherited by every fork instead. Each task's start is then seconds shorter on a busy machine,
for one import per worker (its memory shared by the forks).

Only installed packages are imported here, never the DAG folder's own modules: those may change
while a worker runs, and a task must parse the DAG files as they are now. Importing starts no
thread, opens no connection and loads no model, so forking after it is safe.

Set by ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=deck2video_celery.CELERY_CONFIG`` (compose's
Airflow settings); the plugins folder is on every Airflow process's path.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

log = logging.getLogger(__name__)

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)

# What a task's process would import besides what Airflow's worker already has: the DAG file's
# parse, each step's modules, and the libraries those steps load lazily.
PRELOADED = (
    "airflow.dag_processing.dagbag",
    "airflow.dag_processing.bundles.manager",
    "airflow.providers.standard.operators.hitl",
    "airflow.providers.docker.operators.docker",
    "deck2video.params",
    "deck2video.speech_items",
    "deck2video.job.prepare",
    "deck2video.job.voice",
    "deck2video.job.speak",
    "deck2video.job.quality",
    "deck2video.job.assemble",
    "deck2video.job.publish",
    "boto3",
    "torch",
    "resemblyzer",
    "onnxruntime",
)


@import_modules.connect
def preload(**_: Any) -> None:
    """Runs in the worker's main process as it starts, before it forks anything."""
    started = time.monotonic()
    missing = []
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:  # a worker without an optional extra: its tasks import it if used
            missing.append(name)
    log.info(
        "deck2video: preloaded %d modules for the tasks in %.1f s%s",
        len(PRELOADED) - len(missing),
        time.monotonic() - started,
        f" (not installed: {', '.join(missing)})" if missing else "",
    )
