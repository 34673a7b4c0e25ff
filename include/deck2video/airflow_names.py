"""The names the DAGs, the UI plugin, the speech image's CLI and the tests must agree on.

A task id, an XCom key or a route written in two places drifts apart the day one of them is
renamed; here each is written once. Plain strings and numbers: importing this module imports
nothing from Airflow, so the CLI and the speech image can use it too.
"""

from __future__ import annotations

from typing import Final

# The DAGs.
DAG_ID: Final = "deck_to_video"
INBOX_DAG_ID: Final = "deck_inbox"


class TaskId:
    """The task ids of ``deck_to_video``, in the order they run."""

    PREPARE: Final = "prepare"  # also runs the pipeline's prepare_voice step
    SPEAK: Final = "speak"
    ASSEMBLE: Final = "assemble"  # after the pipeline's quality step
    APPROVE: Final = "approve"
    PUBLISH: Final = "publish"


# The pipeline steps a task runs where it runs more than one: a failure is named by the step.
TASK_STEPS: Final = {
    TaskId.PREPARE: ("prepare", "prepare_voice"),
    TaskId.ASSEMBLE: ("quality", "assemble"),
}


def task_running(step: str) -> str:
    """The task that runs a pipeline step: a failure named by its step links to this task."""
    return next((task for task, steps in TASK_STEPS.items() if step in steps), step)


class XComKey:
    """The XComs that later tasks and the plugin read."""

    # prepare: the job's id. Later steps rebuild the job's folder from it and the deployment's
    # job root (never from a URL in an XCom, which a user with XCom rights could edit); the
    # plugin finds a run's job by it.
    JOB_ID: Final = "job_id"
    FAILURE: Final = "deck2video_failure"  # any task: {"step", "reason"} of its last failure


# The plugin: where the api-server mounts its app, and the ``url_route`` of its two external
# views (the navigation's Videos page and the tab on a run's page, where the Watch link points).
UI_URL_PREFIX: Final = "/deck2video"
NAV_ROUTE: Final = "deck2video"
RUN_VIEW_ROUTE: Final = "deck2video-run"

# The ``deck2video`` CLI's exit statuses. Bad input has a status no argument parser uses
# (argparse exits 2 on a usage error, e.g. a speech image whose CLI does not match the worker's):
# the worker fails bad input at once and retries everything else, so the two must not meet.
# 65 is sysexits.h's EX_DATAERR, "the input data was incorrect".
EXIT_FAILED: Final = 1
EXIT_BAD_INPUT: Final = 65
