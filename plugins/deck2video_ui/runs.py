"""The deck_to_video runs as the pages show them, read from Airflow's metadata database.

A run names its job in the ``job_id`` XCom of its prepare task; a failed task leaves its step and
one-line reason in the ``deck2video_failure`` XCom (dags/deck2video_airflow/task_defaults.py); the
optional approval is Airflow's own human-in-the-loop record of the ``approve`` task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deck2video.airflow_names import DAG_ID, TaskId, XComKey

RECENT_RUNS = 500  # the pages look this far back


@dataclass(frozen=True)
class Failure:
    step: str
    reason: str


@dataclass(frozen=True)
class Approval:
    state: str  # waiting | approved | rejected
    by: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Run:
    run_id: str
    state: str  # queued | running | success | failed
    run_after: datetime
    started: datetime | None
    ended: datetime | None
    conf: dict[str, Any]
    note: str | None
    triggered_by: str | None  # the user who triggered it, where Airflow knows
    job_id: str | None  # None until prepare made the job (or when it failed before)
    failures: tuple[Failure, ...] = ()
    failed_tasks: tuple[str, ...] = ()
    approval: Approval | None = None

    @property
    def failure(self) -> Failure | None:
        """The first step that failed, with its reason (Airflow's record when none was left)."""
        if self.failures:
            return self.failures[0]
        if self.failed_tasks:
            return Failure(self.failed_tasks[0], "task failed; see its log")
        return None

    @property
    def deck_name(self) -> str:
        deck = str(self.conf.get("deck_url") or "")
        return deck.rstrip("/").rsplit("/", 1)[-1] or self.run_id

    @property
    def takes(self) -> dict[int, int]:
        takes = self.conf.get("takes") or {}
        found = {}
        for slide, take in takes.items() if isinstance(takes, dict) else ():
            try:
                found[int(slide)] = int(take)
            except (TypeError, ValueError):
                continue
        return found

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        end = self.ended or datetime.now(tz=UTC)
        return max(0.0, (end - self.started).total_seconds())


def recent_runs(session: Session, limit: int = RECENT_RUNS, offset: int = 0) -> list[Run]:
    """The newest deck_to_video runs first (after skipping the ``offset`` newest)."""
    from airflow.models.dagrun import DagRun

    rows = session.scalars(
        select(DagRun)
        .where(DagRun.dag_id == DAG_ID)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return _with_details(session, rows)


def find_run(session: Session, run_id: str) -> Run | None:
    from airflow.models.dagrun import DagRun

    row = session.scalar(select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id))
    return _with_details(session, [row])[0] if row is not None else None


def runs_by_id(session: Session, run_ids: Sequence[str]) -> list[Run]:
    """These runs (one page of the jobs list), in full, in the order asked."""
    from airflow.models.dagrun import DagRun

    if not run_ids:
        return []
    rows = session.scalars(
        select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id.in_(list(run_ids)))
    ).all()
    order = {run_id: n for n, run_id in enumerate(run_ids)}
    return _with_details(session, sorted(rows, key=lambda row: order[row.run_id]))


def job_runs(session: Session, job_id: str, limit: int = RECENT_RUNS) -> list[Run]:
    """The newest runs of one job, found by their job-id XComs (one small column each), then
    read in full: a job page does not load every recent run of every job."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel

    rows = session.execute(
        select(XComModel.run_id, XComModel.value).where(
            XComModel.dag_id == DAG_ID,
            XComModel.task_id == TaskId.PREPARE,
            XComModel.key == XComKey.JOB_ID,
        )
    )
    run_ids = [row.run_id for row in rows if XComModel.deserialize_value(row) == job_id]
    if not run_ids:
        return []
    found = session.scalars(
        select(DagRun)
        .where(DagRun.dag_id == DAG_ID, DagRun.run_id.in_(run_ids))
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
        .limit(limit)
    ).all()
    return _with_details(session, found)


def running_tasks(session: Session, run_id: str) -> list[str]:
    """The tasks of a run with an instance at work now (running, or parked for an answer)."""
    from airflow.models.taskinstance import TaskInstance

    rows = session.execute(
        select(TaskInstance.task_id)
        .where(
            TaskInstance.dag_id == DAG_ID,
            TaskInstance.run_id == run_id,
            TaskInstance.state.in_(["running", "deferred", "awaiting_input"]),
        )
        .distinct()
    )
    return [row.task_id for row in rows]


def _with_details(session: Session, rows: Sequence[Any]) -> list[Run]:
    run_ids = [row.run_id for row in rows]
    if not run_ids:
        return []
    xcoms = _xcoms(session, run_ids)
    failed = _failed_tasks(session, run_ids)
    approvals = _approvals(session, run_ids)
    runs = []
    for row in rows:
        mine = xcoms.get(row.run_id, {})
        failures = tuple(
            Failure(str(value.get("step", task_id)), str(value.get("reason", "")))
            for task_id, value in mine.get(XComKey.FAILURE, [])
            if isinstance(value, dict)
        )
        job_ids = [value for _, value in mine.get(XComKey.JOB_ID, []) if isinstance(value, str)]
        runs.append(
            Run(
                run_id=row.run_id,
                state=str(row.state),
                run_after=row.run_after,
                started=row.start_date,
                ended=row.end_date,
                conf=dict(row.conf or {}),
                note=row.note,
                triggered_by=row.triggering_user_name,
                job_id=job_ids[0] if job_ids else None,
                failures=failures,
                failed_tasks=failed.get(row.run_id, ()),
                approval=approvals.get(row.run_id),
            )
        )
    return runs


def _xcoms(session: Session, run_ids: list[str]) -> dict[str, dict[str, list[tuple[str, Any]]]]:
    """run id -> key -> [(task id, value)], in the order the tasks ran."""
    from airflow.models.xcom import XComModel

    found: dict[str, dict[str, list[tuple[str, Any]]]] = {}
    rows = session.execute(
        select(XComModel.run_id, XComModel.task_id, XComModel.key, XComModel.value)
        .where(
            XComModel.dag_id == DAG_ID,
            XComModel.run_id.in_(run_ids),
            XComModel.key.in_([XComKey.JOB_ID, XComKey.FAILURE]),
        )
        .order_by(XComModel.timestamp)
    )
    for row in rows:
        if row.key == XComKey.JOB_ID and row.task_id != TaskId.PREPARE:
            continue
        value = XComModel.deserialize_value(row)
        found.setdefault(row.run_id, {}).setdefault(row.key, []).append((row.task_id, value))
    return found


def _failed_tasks(session: Session, run_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """run id -> the tasks with a failed (mapped) instance, in the order the tasks first started."""
    from airflow.models.taskinstance import TaskInstance

    found: dict[str, dict[str, bool]] = {}
    rows = session.execute(
        select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state)
        .where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id.in_(run_ids))
        .order_by(TaskInstance.start_date)
    )
    for row in rows:
        tasks = found.setdefault(row.run_id, {})
        tasks[row.task_id] = tasks.get(row.task_id, False) or str(row.state) == "failed"
    return {run: tuple(t for t, failed in tasks.items() if failed) for run, tasks in found.items()}


def _approvals(session: Session, run_ids: list[str]) -> dict[str, Approval]:
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance

    found = {}
    rows = session.execute(
        select(TaskInstance.run_id, HITLDetail)
        .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
        .where(
            TaskInstance.dag_id == DAG_ID,
            TaskInstance.run_id.in_(run_ids),
            TaskInstance.task_id == TaskId.APPROVE,
        )
    )
    for run_id, detail in rows:
        chosen = detail.chosen_options or []
        if not detail.responded_at:
            found[run_id] = Approval("waiting")
            continue
        by = (detail.responded_by or {}).get("name") if detail.responded_by else None
        state = "approved" if "Approve" in chosen else "rejected"
        found[run_id] = Approval(state, by, detail.responded_at)
    return found
