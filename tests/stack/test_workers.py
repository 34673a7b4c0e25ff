"""The stack's Celery workers as compose configures them (plugins/deck2video_celery.py)."""

from __future__ import annotations

import re

import pytest

from scripts.stack.services import WORKERS

pytestmark = [pytest.mark.stack, pytest.mark.docker, pytest.mark.slow]


@pytest.mark.parametrize("worker", WORKERS)
def test_each_worker_imports_the_tasks_modules_once_as_it_starts(stack, worker):
    log = stack.log_of(worker).read_text(errors="replace")
    preloaded = re.findall(r"deck2video: preloaded \d+ modules for the tasks in [\d.]+ s(.*)", log)
    assert preloaded, log[-2000:]
    assert "not installed" not in preloaded[-1]  # the worker has every module its tasks use
