"""Links from the plugin's pages into Airflow's own UI, built from the UI's routes.

Airflow 3.3's UI (a React app) routes ``dags/:dagId``, ``dags/:dagId/runs/:runId``,
``.../tasks/:taskId`` (``/mapped/:mapIndex`` for one mapped instance),
``.../tasks/:taskId/required_actions`` and a run's plugin tab ``.../plugin/:page``, under its base
path (``[api] base_url``'s path, ``/`` by default). Every id is one path segment, so it is quoted
whole: a run id has ``:`` and ``+`` in it, a task id may hold ``.``.

How the links open (static/top_links.js): the UI shows these pages in an iframe sandboxed with
``allow-scripts allow-same-origin allow-forms allow-downloads`` and without
``allow-top-navigation`` or ``allow-popups``, so a plain ``target="_top"`` link does nothing
there. The frame is on Airflow's own origin, so the script hands the link to Airflow's router in
the top window; opened outside the UI's frame, the links are ordinary links.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from deck2video.airflow_names import DAG_ID, NAV_ROUTE, RUN_VIEW_ROUTE, TaskId, task_running


def _segment(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True)
class AirflowLinks:
    """The pages of Airflow's UI a deck2video page links to."""

    root: str  # the UI's base path, ending in "/"
    dag_id: str = DAG_ID

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "root", "/" + self.root.strip("/") + "/" if self.root.strip("/") else "/"
        )

    def videos(self) -> str:
        """The Videos page in Airflow's navigation."""
        return f"{self.root}plugin/{NAV_ROUTE}"

    def dag(self) -> str:
        return f"{self.root}dags/{_segment(self.dag_id)}"

    def run(self, run_id: str) -> str:
        return f"{self.dag()}/runs/{_segment(run_id)}"

    def task(self, run_id: str, task_id: str, map_index: int | None = None) -> str:
        """A task of a run; a mapped task's one instance with ``map_index``."""
        found = f"{self.run(run_id)}/tasks/{_segment(task_id)}"
        return found if map_index is None or map_index < 0 else f"{found}/mapped/{map_index}"

    def step(self, run_id: str, step: str) -> str:
        """The task that ran a pipeline step (``prepare_voice`` runs in ``prepare``)."""
        return self.task(run_id, task_running(step))

    def required_actions(self, run_id: str) -> str:
        """Where a person approves or rejects the run's video (Airflow's human-in-the-loop)."""
        return f"{self.task(run_id, TaskId.APPROVE)}/required_actions"

    def video_tab(self, run_id: str) -> str:
        """The run's own deck2video tab (where the publish task's Watch link points)."""
        return f"{self.run(run_id)}/plugin/{RUN_VIEW_ROUTE}"
