"""What a person reviewing a deck_to_video run works with: the optional approval between assembly
and publishing, and the publish task's "Watch" link to the run's page in the deck2video plugin.

The approval is Airflow's own human-in-the-loop step (the standard provider's ApprovalOperator):
it shows under the run's *Required actions*, records who decided and when, and on "Reject" skips
publish, so nothing is published. A run whose param ``approve_before_publish`` is false never
starts the step (the assemble task branches past it, and publish runs straight after it); the
step still skips itself in such a run, should it be started.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import BaseOperatorLink, conf
from airflow.sdk.exceptions import AirflowSkipException

from deck2video.airflow_names import RUN_VIEW_ROUTE

APPROVAL_PARAM = "approve_before_publish"


class ApproveBeforePublish(ApprovalOperator):
    """Waits for a person to approve the assembled video, when the run asked for it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            # A rendered value is inserted as text, never rendered again: braces in a URL are safe.
            subject="Publish the video of {{ params.deck_url }}?",
            body=(
                "Watch the assembled video on the run's **deck2video** tab (or the Videos page),"
                " then approve to publish it to its output location, or reject to publish"
                " nothing."
            ),
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        if not context["params"].get(APPROVAL_PARAM):
            raise AirflowSkipException(f"no approval asked for (param {APPROVAL_PARAM} is off)")
        return super().execute(context)


class WatchVideo(BaseOperatorLink):
    """The run's video, captions and per-slide review, on its deck2video tab."""

    @property
    def name(self) -> str:
        return "Watch"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return run_view_url(ti_key.dag_id, ti_key.run_id)


def run_view_url(dag_id: str, run_id: str) -> str:
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    run = f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return f"{run}/plugin/{RUN_VIEW_ROUTE}"


def with_watch_link(output: Any) -> Any:
    """Give a TaskFlow task's operator the Watch link (``@task`` takes no extra-link argument,
    so the operator class's empty default is replaced on this one task)."""
    output.operator.operator_extra_links = (WatchVideo(),)
    return output
