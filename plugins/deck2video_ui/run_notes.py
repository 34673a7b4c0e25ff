"""An Airflow listener: a failed deck_to_video run gets a note naming the failing step and its
one-line reason, shown on the run's page, so that nobody has to open a task log to learn why.

It runs where Airflow decides a run's state (the scheduler, or ``dag.test()``), inside the same
database transaction, and reads the reason each failed task left in its ``deck2video_failure``
XCom. A note already on the run (a re-take's description, a user's words) is kept above it.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl
from sqlalchemy.orm import object_session

from deck2video.plaintext import markdown_literal
from deck2video_ui.runs import DAG_ID, find_run

log = logging.getLogger(__name__)

NOTE_LIMIT = 1000  # characters: Airflow's dag_run_note column


def failure_note(step: str, reason: str) -> str:
    """The note's line: Airflow renders notes as Markdown, and the reason may quote a URL or a
    file name a user chose (``![x](https://...)``), so both are literal text."""
    return f"Failed at {markdown_literal(step)}: {markdown_literal(reason)}"


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    if getattr(dag_run, "dag_id", None) != DAG_ID:
        return
    try:
        _annotate(dag_run)
    except Exception:  # a note is a courtesy: it must never disturb the scheduler
        log.exception("deck2video: could not write the failure note of %s", dag_run.run_id)


def _annotate(dag_run: Any) -> None:
    session = object_session(dag_run)
    if session is not None:  # the scheduler's: the note commits with the run's new state
        _write_note(session, dag_run)
        return
    # A run object outside any session (``dag.test()``): the note goes in a session of its own.
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as own:
        _write_note(own, own.get(DagRun, dag_run.id))


def _write_note(session: Any, dag_run: Any) -> None:
    run = find_run(session, dag_run.run_id)
    failure = run.failure if run is not None else None
    if failure is None:
        return
    line = failure_note(failure.step, failure.reason)
    existing = (dag_run.note or "").strip()
    if line in existing:
        return
    note = f"{existing}\n{line}" if existing else line
    dag_run.note = note[:NOTE_LIMIT]
