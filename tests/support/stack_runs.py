"""What the stack tests do with a running stack (tests/stack): make small decks, trigger runs and
wait for them over the REST API, read their task instances, watch what a run publishes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.airflow_names import DAG_ID
from deck2video.samples import SampleSlide, build_deck
from scripts.stack import BUCKET, Api, Stack

RUN_TIMEOUT = 420.0
TERMINAL = ("success", "failed")
# The stack's compose variables: a gpu pool of 2 slots and a gpu worker that could run 3 at once
# (so the pool, not the worker, is what limits speech tasks); 2 cores here.
VARIABLES = {"GPU_SLOTS": "2", "GPU_WORKER_CONCURRENCY": "3", "CPU_WORKER_CONCURRENCY": "2"}


@contextlib.contextmanager
def stack_storage(stack: Stack) -> Iterator[str]:
    """deck2video.storage pointed at the stack's S3 (the deck2video key) for a while."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.storage_env().items():
            patch.setenv(key, value)
        yield BUCKET


def small_deck(path: Path, slides: int, title: str = "Topic") -> Path:
    """A deck of ``slides`` slides with a sentence of notes each (seconds of speech)."""
    specs = [
        SampleSlide(f"{title} {n}", f"This is slide {n} of the {title.lower()} deck.")
        for n in range(1, slides + 1)
    ]
    return build_deck(path, specs)


def trigger(api: Api, conf: dict, dag_id: str = DAG_ID) -> str:
    status, body = api.call(
        "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}
    )
    assert status == 200, body
    return body["dag_run_id"]


def dag_run(api: Api, run_id: str, dag_id: str = DAG_ID) -> dict:
    status, body = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
    assert status == 200, body
    return body


def wait_for_runs(
    api: Api, run_ids: list[str], dag_id: str = DAG_ID, timeout: float = RUN_TIMEOUT
) -> dict[str, str]:
    """Each run's final state, once all are final."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {run_id: dag_run(api, run_id, dag_id)["state"] for run_id in run_ids}
        if all(state in TERMINAL for state in states.values()):
            return states
        time.sleep(3)
    pytest.fail(f"runs of {dag_id} not finished within {timeout:.0f} s: {states}")


def task_instances(api: Api, run_id: str, dag_id: str = DAG_ID) -> list[dict]:
    status, body = api.call(
        "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000"
    )
    assert status == 200, body
    return body["task_instances"]


@dataclass
class PublishWatch:
    """Reads the output keys while a run goes on: every version anyone could read is recorded,
    so a test can check that none was a half-written file."""

    urls: list[str]
    seen: dict[str, set[tuple[int, str]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _poll(self) -> None:
        client = storage.s3_client()
        while not self._stop.is_set():
            for url in self.urls:
                location = storage.parse(url)
                try:
                    head = client.head_object(Bucket=location.bucket, Key=location.key)
                except Exception:  # absent (404) or the store is down: nothing to see
                    continue
                self.seen.setdefault(url, set()).add((head["ContentLength"], head["ETag"]))
            self._stop.wait(0.5)

    @contextlib.contextmanager
    def running(self) -> Iterator[PublishWatch]:
        thread = threading.Thread(target=self._poll, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)

    def assert_only_final_versions(self) -> None:
        """What was ever visible at each output is the final object, nothing partial."""
        client = storage.s3_client()
        for url in self.urls:
            location = storage.parse(url)
            head = client.head_object(Bucket=location.bucket, Key=location.key)
            final = (head["ContentLength"], head["ETag"])
            assert self.seen.get(url, set()) <= {final}, (url, self.seen.get(url), final)


def outputs_of(out_url: str) -> list[str]:
    """The video and its captions, as publish names them."""
    stem = out_url[: -len(".mp4")]
    return [out_url, f"{stem}.vtt", f"{stem}.srt"]
