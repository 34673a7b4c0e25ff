"""An Airflow listener: a failed deck_to_video run gets a note naming the failing step and its
one-line reason, shown on the run's page, so that nobody has to open a task log to learn why;
a run that made its video gets a "Watch the video" link to its deck2video tab in its note, which
is where the grid leads first (a run's bar opens the run's page, note at the top), ahead of the
publish task's Watch link.

It runs where Airflow decides a run's state (the scheduler, or ``dag.test()``), inside the same
database transaction, and reads the reason each failed task left in its ``deck2video_failure``
XCom. A note already on the run (a re-take's description, a user's words) is kept above it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from airflow.listeners import hookimpl
from airflow.sdk import conf
from sqlalchemy.orm import object_session

from deck2video.plaintext import markdown_literal
from deck2video_ui.links import AirflowLinks
from deck2video_ui.runs import DAG_ID, Run, find_run

log = logging.getLogger(__name__)

LineOf = Callable[[Run | None], str | None]  # the note's line for a run, or None for no note

NOTE_LIMIT = 1000  # characters: Airflow's dag_run_note column


def failure_note(step: str, reason: str) -> str:
    """The note's line: Airflow renders notes as Markdown, and the reason may quote a URL or a
    file name a user chose (``![x](https://...)``), so both are literal text."""
    return f"Failed at {markdown_literal(step)}: {markdown_literal(reason)}"


def watch_note(run_id: str) -> str:
    """A Markdown link to the run's video tab, under Airflow's own base path."""
    root = urlsplit(conf.get("api", "base_url", fallback="") or "/").path
    return f"[Watch the video]({AirflowLinks(root).video_tab(run_id)})"


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _annotate_safely(dag_run, _failure_line)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _annotate_safely(dag_run, _watch_line)


def _annotate_safely(dag_run: Any, line_of: LineOf) -> None:
    if getattr(dag_run, "dag_id", None) != DAG_ID:
        return
    try:
        _annotate(dag_run, line_of)
    except Exception:  # a note is a courtesy: it must never disturb the scheduler
        log.exception("deck2video: could not write the note of %s", dag_run.run_id)


def _annotate(dag_run: Any, line_of: LineOf) -> None:
    session = object_session(dag_run)
    if session is not None:  # the scheduler's: the note commits with the run's new state
        _write_note(session, dag_run, line_of)
        return
    # A run object outside any session (``dag.test()``): the note goes in a session of its own.
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as own:
        _write_note(own, own.get(DagRun, dag_run.id), line_of)


def _failure_line(run: Run | None) -> str | None:
    failure = run.failure if run is not None else None
    return failure_note(failure.step, failure.reason) if failure is not None else None


def _watch_line(run: Run | None) -> str | None:
    """Only a run that made a job has a video to watch."""
    return watch_note(run.run_id) if run is not None and run.job_id else None


def _write_note(session: Any, dag_run: Any, line_of: LineOf) -> None:
    line = line_of(find_run(session, dag_run.run_id))
    if line is None:
        return
    existing = (dag_run.note or "").strip()
    if line in existing:
        return
    note = f"{existing}\n{line}" if existing else line
    dag_run.note = note[:NOTE_LIMIT]
