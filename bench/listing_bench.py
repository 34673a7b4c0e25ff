"""How long the Videos list takes with many jobs: 10,000 deck_to_video runs (one job each, a few
with a second run) in a real Airflow metadata DB (SQLite, in a private AIRFLOW_HOME), each with
its prepare task's job-id XCom and a manifest in a local job store. Measured: the list's first
pass alone (every job, folded and counted), then whole pages (both passes: the page's runs,
their task instances and its 25 manifests): the first, a middle and the last page, a search by
deck name, a status filter, and the list's poll of a page of active runs. Medians of wall time.

    .venv/bin/python -m bench.listing_bench [--jobs 10000] [--calls 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
STATES = ("success", "success", "success", "failed", "running")


T = TypeVar("T")


def median_ms(call: Callable[[], T], calls: int) -> tuple[float, T]:
    times: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result  # the last call's


def configure_airflow(home: Path) -> None:
    """A private Airflow home and DB: set before Airflow is first imported."""
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )
    sys.path.append(str(REPO / "plugins"))


def fill(jobs: int, root: str) -> None:
    """``jobs`` jobs: a run each (every 10th job a second, older run), its job-id XCom, and a
    manifest with three slides."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils import db
    from airflow.utils.session import create_session
    from sqlalchemy import insert, text

    from deck2video import storage
    from deck2video.job import JobFolder
    from deck2video.manifest import Manifest, SlideRecord

    db.initdb()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    runs: list[Any] = []
    xcoms: list[Any] = []
    instances: list[Any] = []
    for n in range(jobs):
        job_id = f"deck-{n:05d}-{n:016x}"
        for again in range(2 if n % 10 == 0 else 1):
            run_id = f"manual__{n:05d}-{again}"
            when = start + timedelta(minutes=n) - timedelta(seconds=again)
            state = STATES[n % len(STATES)] if not again else "success"
            runs.append({"id": len(runs) + 1, **_run(run_id, n, when, state)})
            xcoms.append({**_xcom(run_id, job_id, when), "dag_run_id": len(runs)})
            instances.extend(_task_instances(run_id, when, runs[-1]["state"]))
        slides = [
            SlideRecord(number=i, source_index=i, title=f"Slide {i}", hidden=False,
                        silent=False, notes_sha256="")
            for i in (1, 2, 3)
        ]  # fmt: skip
        manifest = Manifest(job_id=job_id, settings={}, slides=slides, status="completed")
        manifest.deck = {"name": f"talk-{n:05d}.pptx", "url": f"{root}/in/talk-{n:05d}.pptx"}
        folder = JobFolder(storage.join(root, "jobs", job_id))
        storage.write_bytes(folder.manifest, json.dumps(manifest.to_dict()).encode())
    with create_session() as session:
        # The rows stand alone (no DAG version, no serialized DAG): their keys point nowhere.
        session.execute(text("PRAGMA foreign_keys=OFF"))
        session.execute(insert(DagRun.__table__), runs)
        session.execute(insert(XComModel.__table__), xcoms)
        session.execute(insert(TaskInstance.__table__), instances)


def _run(run_id: str, n: int, when: datetime, state: str) -> dict:
    conf = {"deck_url": f"/decks/in/talk-{n:05d}.pptx", "voice_url": "/decks/in/voice.wav"}
    return {
        "dag_id": "deck_to_video", "run_id": run_id, "run_after": when, "logical_date": None,
        "queued_at": when, "start_date": when, "end_date": when + timedelta(seconds=60),
        "state": state, "run_type": "manual", "conf": conf, "clear_number": 0,
        "log_template_id": None,
    }  # fmt: skip


def _xcom(run_id: str, job_id: str, when: datetime) -> dict:
    return {
        "dag_run_id": 0, "dag_id": "deck_to_video", "run_id": run_id, "task_id": "prepare",
        "map_index": -1, "key": "job_id", "value": json.dumps(job_id), "timestamp": when,
    }  # fmt: skip


def _task_instances(run_id: str, when: datetime, state: str) -> list[dict]:
    """Every task of the run, speak mapped over three slides; a running run is speaking its
    second slide."""
    found = []
    tasks = [("prepare", -1), ("speak", 0), ("speak", 1), ("speak", 2),
             ("assemble", -1), ("approve", -1), ("publish", -1)]  # fmt: skip
    for n, (task_id, map_index) in enumerate(tasks):
        if state == "running":
            task_state = "success" if n < 3 else "running" if n == 3 else None
        else:
            task_state = "success" if state == "success" or n < 2 else "failed" if n == 2 else None
        found.append({
            "id": uuid.uuid4(), "dag_id": "deck_to_video", "run_id": run_id, "task_id": task_id,
            "map_index": map_index, "state": task_state, "pool": "default_pool",
            "try_number": 1, "start_date": when + timedelta(seconds=n * 5),
        })  # fmt: skip
    return found


def measure(jobs: int, calls: int, root: str) -> None:
    from airflow.utils.session import create_session
    from deck2video_ui import listing, runs

    from deck2video.job import Store

    store = Store(root)
    pages = -(-jobs // listing.JOBS_PER_PAGE)
    cases = {
        "first pass alone (every job)": None,
        "page 1": listing.ListQuery(1),
        f"page {pages // 2}": listing.ListQuery(pages // 2),
        f"page {pages} (the last)": listing.ListQuery(pages),
        "search 'talk-0999' (10 jobs)": listing.ListQuery(1, "talk-0999"),
        "status failed, page 3": listing.ListQuery(3, "", "failed"),
    }
    print(f"{jobs} jobs, {pages} pages of {listing.JOBS_PER_PAGE}; medians of {calls} calls")
    with create_session() as session:
        for name, query in cases.items():
            if query is None:
                ms, found = median_ms(lambda: listing.job_entries(session), calls)
                print(f"  {name:32s} {ms:8.1f} ms  ({len(found)} jobs)")
                continue
            ms, page = median_ms(partial(listing.list_page, session, store, query), calls)
            print(f"  {name:32s} {ms:8.1f} ms  ({len(page.rows)} rows of {page.total})")
        active = [e.run_id for e in listing.job_entries(session) if e.state == "running"][:25]

        def poll() -> Any:
            found = runs.runs_by_id(session, active)
            views = listing.summaries(store, [r.job_id for r in found if r.job_id])
            by_run = {r.run_id: views.get(r.job_id) if r.job_id else None for r in found}
            return listing.progress_of(session, found, by_run)

        ms, _ = median_ms(poll, calls)
        print(f"  {'poll of 25 active rows':32s} {ms:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deck2video-listing-bench-") as scratch:
        configure_airflow(Path(scratch) / "airflow")
        (Path(scratch) / "airflow").mkdir()
        root = str(Path(scratch) / "store")
        started = time.perf_counter()
        fill(args.jobs, root)
        print(f"filled in {time.perf_counter() - started:.0f} s")
        measure(args.jobs, args.calls, root)


if __name__ == "__main__":
    main()
