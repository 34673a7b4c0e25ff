"""One production-like stack for the whole session (scripts/stack/), and what its tests share.

The stack runs docker-compose.yaml's configuration on this machine: Postgres, Redis, SeaweedFS's
S3 gateway, the session's private dockerd with the speech image (tests/conftest.py), and
Airflow's api-server, scheduler, dag-processor, triggerer and two Celery workers. The tests talk
to it as a user does: REST API v2 with a token, the ``airflow`` CLI, the S3 API, and read the
task instances' records from the metadata database.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import Api, Stack, StackError
from tests.support.stack_runs import VARIABLES, stack_storage

# Settings for the fault tests: a task whose worker died is noticed within seconds, not minutes.
OVERRIDES = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # A task queued to a worker that died before taking it is sent again after this long.
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "90",
}


@pytest.fixture(scope="session")
def stack(docker_engine, speech_image) -> Iterator[Stack]:
    # Short path: unix sockets (postgres, the filer) must fit in 108 bytes.
    home = Path(tempfile.mkdtemp(prefix="d2v-stack-", dir="/tmp"))
    started = time.monotonic()
    running = Stack(
        home,
        variables=VARIABLES,
        overrides=OVERRIDES,
        engine=docker_engine,
        speech_image=speech_image,
    )
    try:
        running.start()
    except StackError as error:
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"the stack did not start: {error}", pytrace=False)
    print(f"\nstack ready in {time.monotonic() - started:.0f} s: {running.api_url}")
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def api(stack: Stack) -> Api:
    return stack.api()


@pytest.fixture
def bucket(stack: Stack) -> Iterator[str]:
    """:func:`stack_storage` for one test."""
    with stack_storage(stack) as name:
        yield name
