"""The default_args every deck2video task shares: retries with backoff, the retry policy that
fails bad input at once, and the failure callback that records a failed step's reason."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

from deck2video.airflow_names import TASK_STEPS, TaskId, XComKey

if TYPE_CHECKING:
    from deck2video.roots import Roots

log = logging.getLogger(__name__)

# The user's input is wrong, or the output misses what the run asked of it: another try gives
# the same answer, so fail at once. Anything else (storage hiccup, a tool crash, a lost
# container) may be transient and is retried with backoff.
BAD_INPUT_FAILS_AT_ONCE = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="deck2video.errors.InputError",
            action=RetryAction.FAIL,
            reason="bad input: a retry cannot help",
        ),
        RetryRule(
            exception="deck2video.errors.BadOutputError",
            action=RetryAction.FAIL,
            reason="bad output: a retry makes the same",
        ),
    ]
)


def service_roots() -> Roots:
    """Where a run's URLs may point in this deployment (read when the task runs)."""
    from deck2video.config import Deployment
    from deck2video.roots import Roots

    return Roots.for_service(Deployment.from_env())


def job_folder(job_id: str) -> Any:
    """The job's folder, rebuilt from this deployment's job root and the id (refused unless it
    is one): never a URL taken from an XCom, which a user who may edit XComs could point at
    another bucket."""
    from deck2video.config import Deployment
    from deck2video.job import Store

    return Store(Deployment.from_env().root_url).job(job_id)


def speech_slides(task: Any) -> str | None:
    """The slide(s) a mapped speech task works on, by the deck's own numbers, the ones the user
    sees in PowerPoint: "slide 7", or "slides 4-7" for a group (local: op_kwargs; docker: an
    attribute)."""
    from deck2video.speech_items import SpeechItem

    slide = getattr(task, "slide", None) or (getattr(task, "op_kwargs", None) or {}).get("slide")
    if not isinstance(slide, dict):
        return None
    try:
        return SpeechItem.from_xcom(slide).span
    except ValueError:
        return None


def record_failed_stage(context: Any) -> None:
    """Record the failing step and a one-line reason: in an XCom of the task (for the run's
    note) and, once ``prepare`` made the job folder, in the job's manifest.

    The pipeline steps record their own errors in the manifest; this covers what they cannot
    see: a timeout, a killed worker, a container that died.
    """
    from deck2video import job

    ti = context["ti"]
    error = context.get("exception")
    reason = job.error_reason(error) if error is not None else "task failed"
    slides = speech_slides(context.get("task"))
    if slides is not None:
        reason = f"{slides}: {reason}"
    job_id = ti.xcom_pull(task_ids=TaskId.PREPARE, key=XComKey.JOB_ID)
    step = _failed_step(job_id, ti.task_id) if job_id else ti.task_id
    try:
        ti.xcom_push(key=XComKey.FAILURE, value={"step": step, "reason": reason[:500]})
    except Exception:  # the task's own state still says it failed
        log.exception("could not record the failure of %s as an XCom", ti.task_id)
    if not job_id:
        return
    try:
        job.record_failure(job_folder(job_id), step, reason)
    except Exception:  # the storage may be what failed; the task state still says it
        log.exception("could not record the failure in the manifest of job %r", job_id)


def _failed_step(job_id: str, task_id: str) -> str:
    """The pipeline step that failed in a task running several (the one its manifest records),
    else the task's own id."""
    steps = TASK_STEPS.get(task_id, ())
    if len(steps) < 2:
        return task_id
    from deck2video import job

    try:
        manifest = job.load_manifest(job_folder(job_id))
    except Exception:  # the storage may be what failed: name the task
        return task_id
    failed = manifest.status == "failed" and manifest.stage in steps
    return manifest.stage if failed and manifest.stage else task_id


# Every step of deck_to_video: a failed try is retried with exponential backoff, unless the
# input is bad; the last failure is recorded in the job's manifest. Each task adds its timeout.
DEFAULT_ARGS: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "retry_policy": BAD_INPUT_FAILS_AT_ONCE,
    "on_failure_callback": record_failed_stage,
}
