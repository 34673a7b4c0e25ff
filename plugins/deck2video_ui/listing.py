"""The Videos list: every job, one row each, searched by deck name, filtered by status and paged,
with the progress of the runs still at work.

A page is made in two passes so that its cost stays bounded however many jobs there are: first
three light columns of every deck_to_video run (its id, state and deck URL, read by the database
from the conf's JSON) and the job-id XComs, folded into jobs, filtered and counted; then, for the
one page of rows only, the runs' details, their task instances and the jobs' manifests.
``bench/listing_bench.py`` measures both passes with 10,000 jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from deck2video.airflow_names import DAG_ID, TaskId, XComKey
from deck2video.job import Store
from deck2video.job.layout import JOB_ID
from deck2video.speech_items import label_span
from deck2video_ui import jobs, pages, runs
from deck2video_ui.jobs import JobView
from deck2video_ui.progress import STEP_WORDS

JOBS_PER_PAGE = 25
MAX_SEARCH = 200  # characters of a search: more is not a deck name
# The status filter's choices -> the states of a job's newest run they select.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "active": ("queued", "running"),
    "completed": ("success",),
    "failed": ("failed",),
}
_BUSY = ("running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "deferred")
_MANIFEST_READERS = 8  # a page's manifests are read at once: each read waits on storage


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    search: str = ""  # part of a deck's file name, in any case
    status: str = ""  # "" (all) or a key of STATUS_FILTERS


@dataclass(frozen=True)
class JobEntry:
    """A job as the first pass knows it: its newest run and how many runs it has."""

    key: str  # the job id, or "run:<run id>" for a run that made no job
    job_id: str | None
    run_id: str  # its newest run
    state: str
    deck_name: str
    runs: int


@dataclass(frozen=True)
class Progress:
    """Where an active run is: its step, slides spoken of slides, and the time left."""

    step: str | None  # the task at work, in words
    spoken: int | None
    slides: int | None
    seconds_left: float | None

    @property
    def slides_text(self) -> str:
        if self.spoken is None or not self.slides:
            return ""
        return f"{self.spoken} / {self.slides} slides"


@dataclass(frozen=True)
class ListPage:
    rows: list[tuple[runs.Run, JobView | None, int]]  # newest run, job, runs of the job
    progress: dict[str, Progress]  # run id -> progress, for the active runs
    total: int  # jobs that match the query
    page: int
    pages: int


def deck_name_of(deck_url: str | None, fallback: str) -> str:
    return str(deck_url or "").rstrip("/").rsplit("/", 1)[-1] or fallback


def job_entries(session: Session) -> list[JobEntry]:
    """Every job, newest first (by its newest run): the first, light pass. One query; the job
    id is read from the XCom's JSON text as it is stored, not decoded row by row (decoding was
    most of this pass's time with 10,000 runs)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel

    joined = (
        (XComModel.dag_id == DagRun.dag_id)
        & (XComModel.run_id == DagRun.run_id)
        & (XComModel.task_id == TaskId.PREPARE)
        & (XComModel.key == XComKey.JOB_ID)
    )
    rows = session.execute(
        select(
            DagRun.run_id,
            DagRun.state,
            DagRun.conf["deck_url"].as_string(),
            cast(XComModel.value, Text),
        )
        .outerjoin(XComModel, joined)
        .where(DagRun.dag_id == DAG_ID)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
    )
    found: dict[str, JobEntry] = {}
    for run_id, state, deck, stored in rows:
        job_id = job_id_in(stored)
        key = job_id or f"run:{run_id}"
        known = found.get(key)
        if known is None:
            found[key] = JobEntry(key, job_id, run_id, str(state), deck_name_of(deck, run_id), 1)
        else:
            found[key] = replace(known, runs=known.runs + 1)
    return list(found.values())


def job_id_in(stored: str | None) -> str | None:
    """The job id in an XCom's stored JSON text (a string, JSON-encoded once or twice), or None
    when it is not one: a job id has no character that JSON escapes."""
    if stored is None:
        return None
    found = stored.replace("\\", "").replace('"', "")
    return found if JOB_ID.fullmatch(found) else None


def matching(entries: Sequence[JobEntry], query: ListQuery) -> list[JobEntry]:
    wanted = query.search.strip().casefold()
    states = STATUS_FILTERS.get(query.status)
    return [
        entry
        for entry in entries
        if (not wanted or wanted in entry.deck_name.casefold())
        and (states is None or entry.state in states)
    ]


def list_page(
    session: Session, store: Store, query: ListQuery, slides_per_task: int = 1
) -> ListPage:
    """One page of the jobs that match ``query``: the second pass reads only its rows."""
    found = matching(job_entries(session), query)
    pages = max(1, -(-len(found) // JOBS_PER_PAGE))
    first = (query.page - 1) * JOBS_PER_PAGE
    shown = found[first : first + JOBS_PER_PAGE]
    details = {run.run_id: run for run in runs.runs_by_id(session, [e.run_id for e in shown])}
    views = summaries(store, [e.job_id for e in shown if e.job_id])
    rows = [
        (details[e.run_id], views.get(e.job_id) if e.job_id else None, e.runs)
        for e in shown
        if e.run_id in details
    ]
    active = [run for run, _, _ in rows if run.state in STATUS_FILTERS["active"]]
    views_by_run = {run.run_id: job for run, job, _ in rows}
    progress = progress_of(session, active, views_by_run, slides_per_task)
    return ListPage(rows, progress, len(found), query.page, pages)


def summaries(store: Store, job_ids: Sequence[str]) -> dict[str, JobView | None]:
    """The jobs' manifests as views, read side by side (each read waits on storage)."""

    def summary(job_id: str) -> JobView | None:
        folder = jobs.job_folder(store, job_id)
        return jobs.load_summary(folder) if folder else None

    job_ids = list(dict.fromkeys(job_ids))
    if not job_ids:
        return {}
    with ThreadPoolExecutor(min(_MANIFEST_READERS, len(job_ids))) as pool:
        return dict(zip(job_ids, pool.map(summary, job_ids), strict=True))


def progress_of(
    session: Session,
    active: Sequence[runs.Run],
    views: dict[str, JobView | None],
    slides_per_task: int = 1,
) -> dict[str, Progress]:
    """run id -> its progress, from the runs' task instances: one query for them all."""
    from airflow.models.taskinstance import TaskInstance

    if not active:
        return {}
    instances: dict[str, list[Any]] = {}
    # A hybrid property (the label Airflow rendered, else the index as text): typed loosely.
    label: Any = TaskInstance.rendered_map_index
    for row in session.execute(
        select(
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.map_index,
            TaskInstance.state,
            TaskInstance.start_date,
            label,
        ).where(
            TaskInstance.dag_id == DAG_ID,
            TaskInstance.run_id.in_([run.run_id for run in active]),
        )
    ):
        instances.setdefault(row.run_id, []).append(row)
    now = datetime.now(tz=UTC)
    found = {}
    for run in active:
        view = views.get(run.run_id)
        total = view.slides_total if view is not None else None
        numbers = frozenset(o.number for o in view.outline) if view is not None else frozenset()
        found[run.run_id] = _progress(
            instances.get(run.run_id, []), total, slides_per_task, now, numbers
        )
    return found


def _progress(
    instances: list[Any],
    total: int | None,
    per_task: int,
    now: datetime,
    numbers: frozenset[int] = frozenset(),
) -> Progress:
    order = list(STEP_WORDS)
    busy = sorted(
        {ti.task_id for ti in instances if str(ti.state) in _BUSY and ti.task_id in STEP_WORDS},
        key=order.index,
    )
    speak = [ti for ti in instances if ti.task_id == TaskId.SPEAK and ti.map_index >= 0]
    if not speak or not total:
        spoken = None
    else:
        done = [ti for ti in speak if str(ti.state) in ("success", "skipped")]
        spoken = min(total, sum(_slides_in(ti, numbers, per_task, total) for ti in done))
    if spoken is None and busy and order.index(busy[0]) > order.index(TaskId.SPEAK) and total:
        spoken = total  # past speech: every slide is spoken
    return Progress(
        STEP_WORDS[busy[0]] if busy else None,
        spoken,
        total,
        _seconds_left(speak, spoken, total, now),
    )


def _slides_in(ti: Any, numbers: frozenset[int], per_task: int, total: int) -> int:
    """How many of the job's narrated slides (PowerPoint ``numbers``) a speak task spoke: its
    label's span where Airflow has rendered it (sized groups differ in size), else the fixed
    ``per_task`` (0: sized, so one a task at least)."""
    label = getattr(ti, "rendered_map_index", None)
    if label and numbers:
        try:
            return len(numbers.intersection(label_span(label)))
        except ValueError:
            pass  # a label this page does not know: count as below
    size = max(per_task, 1)
    return max(0, min(size, total - ti.map_index * size))


def _seconds_left(
    speak: list[Any], spoken: int | None, total: int | None, now: datetime
) -> float | None:
    """The speech still to come, at the pace this run has spoken so far (None until a slide is
    spoken, and once speech is done)."""
    starts = [ti.start_date for ti in speak if ti.start_date is not None]
    if not spoken or not total or spoken >= total or not starts:
        return None
    elapsed = (now - min(starts)).total_seconds()
    return max(0.0, elapsed / spoken * (total - spoken))


def left_text(seconds: float | None) -> str:
    """``about 3 min left``, to the minute (``under a minute left`` below one)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return "under a minute left"
    return f"about {round(seconds / 60)} min left"


def row_state(run: runs.Run, job: JobView | None, progress: Progress | None) -> dict[str, Any]:
    """What a row of the list shows of a run, as the list's poll reads it (static/list.js)."""
    status = pages.status_of(run, job)
    return {
        "run": run.run_id,
        "job": job.job_id if job else None,
        "active": run.state in STATUS_FILTERS["active"],
        "status": status.label,
        "tone": status.tone,
        "step": status.step or "",
        "reason": status.reason or "",
        # The step in words, unless the badge says it already.
        "doing": (progress.step or "") if progress and progress.step != status.label else "",
        "spoken": progress.slides_text if progress else "",
        "left": left_text(progress.seconds_left) if progress else "",
        "started": pages.when(run.started),
        "duration": pages.seconds(run.seconds),
        "slides": str(job.slides_total) if job and job.slides_total else "",
        "video": pages.seconds(job.video_seconds) if job else "",
        "thumbnail": bool(job and job.outline),
    }
