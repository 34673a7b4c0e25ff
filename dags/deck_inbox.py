"""
# deck_inbox: a video for every deck dropped into an inbox

Every interval (hourly by default), lists the `*.pptx` files under the inbox prefix whose
last-modified time falls in the run's data interval and starts one **deck_to_video** run per
deck. `airflow backfill create --dag-id deck_inbox --from-date ... --to-date ...` therefore
processes every deck uploaded in that range.

- **Options**: a sidecar JSON next to the deck (`talk.pptx` + `talk.json`) holds that deck's
  run options, i.e. deck_to_video's params such as `{"voice_url": "anna.m4a", "speed": 1.1}`
  (relative input URLs are next to the deck, a relative `out_url` is in the outbox; absolute
  ones must be under the deployment's storage roots). Without one the defaults below apply.
- **Output**: `<outbox>/<path under the inbox>.mp4`, unless the sidecar names `out_url`.
- **Once only**: a deck whose output already exists is skipped, and the run id is derived
  from the deck's key, version and options, so running an interval again starts nothing twice.
- A deck with unusable options is not started; the `check_refused` task fails and lists why.

Defaults (params, else deployment settings): inbox `$DECK2VIDEO_INBOX_URL` or `<root>/inbox`,
outbox `$DECK2VIDEO_OUTBOX_URL` or `<root>/videos`, voice `$DECK2VIDEO_INBOX_VOICE_URL` or
`<inbox>/voice.wav`; `<root>` is `$DECK2VIDEO_ROOT`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from deck2video import params as job_params
from deck2video import storage
from deck2video.airflow_names import DAG_ID, INBOX_DAG_ID
from deck2video.config import Deployment
from deck2video.roots import Roots

DEPLOYMENT = Deployment.from_env()
INBOX_VOICE = "voice.wav"  # the inbox's default voice recording, beside its decks
log = logging.getLogger(__name__)


def _location_param(title: str, description: str) -> Param:
    return Param(
        default="",
        type="string",
        pattern=f"^$|{job_params.URL_PATTERN}",
        title=title,
        description=f"{description} Empty: the deployment default (see the DAG docs).",
    )


def _defaults(params: dict[str, Any], deployment: Deployment) -> tuple[str, str, str]:
    """Inbox, outbox and default voice: the run's params, else this deployment's settings."""
    inbox = params.get("inbox_url") or deployment.inbox
    outbox = params.get("outbox_url") or deployment.outbox
    voice = (
        params.get("voice_url") or deployment.inbox_voice_url or storage.join(inbox, INBOX_VOICE)
    )
    return inbox, outbox, voice


@dag(
    dag_id=INBOX_DAG_ID,
    schedule=CronDataIntervalTimetable(DEPLOYMENT.inbox_schedule, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["deck2video"],
    doc_md=__doc__,
    default_args={"queue": DEPLOYMENT.cpu_queue},
    params={
        "inbox_url": _location_param("Inbox", "Prefix (folder) where decks are dropped."),
        "outbox_url": _location_param("Outbox", "Prefix where the videos are published."),
        "voice_url": _location_param(
            "Default voice recording", "Voice for decks whose sidecar names none."
        ),
    },
)
def deck_inbox() -> None:
    @task(
        multiple_outputs=False,
        retries=3,
        retry_delay=timedelta(seconds=30),
        retry_exponential_backoff=2.0,
        max_retry_delay=timedelta(minutes=10),
        execution_timeout=timedelta(minutes=10),
    )
    def find_decks() -> list[dict[str, Any]]:
        """Decks that arrived in this data interval -> one deck_to_video run each."""
        from deck2video_airflow.inbox import plan_inbox

        context = get_current_context()
        deployment = Deployment.from_env()  # when the task runs, not when the DAG was parsed
        inbox, outbox, voice = _defaults(dict(context["params"]), deployment)
        roots = Roots.for_service(deployment)
        # The URLs used from here on are the ones the roots approved, as they approved them.
        inbox = roots.check_folder("param inbox_url", inbox, writing=False)
        outbox = roots.check_folder("param outbox_url", outbox, writing=True)
        voice = roots.check_read("param voice_url", voice)
        start, end = context["data_interval_start"], context["data_interval_end"]
        # A scheduled run has its data interval.
        assert start is not None
        assert end is not None
        plan = plan_inbox(inbox, outbox, voice, start, end, roots=roots)
        for line in plan.skipped:
            log.info("skipped %s", line)
        for line in plan.refused:
            log.error("refused %s", line)
        log.info("starting %d run(s) of %s", len(plan.runs), DAG_ID)
        context["ti"].xcom_push(key="refused", value=plan.refused)
        return plan.runs

    @task(multiple_outputs=False)
    def check_refused(refused: list[str]) -> None:
        """Fail (visibly) when a deck could not be started; the others still are."""
        if refused:
            raise AirflowFailException(f"{len(refused)} deck(s) not started: " + "; ".join(refused))

    runs = find_decks()
    TriggerDagRunOperator.partial(
        task_id="start_video",
        trigger_dag_id=DAG_ID,
        logical_date=None,  # the video DAG has no schedule: its runs need no logical date
        skip_when_already_exists=True,
        wait_for_completion=False,
        openlineage_inject_parent_info=False,  # the conf must hold params only
        map_index_template="{{ task.conf['deck_url'] }}",
        retries=3,
        retry_delay=timedelta(seconds=30),
        execution_timeout=timedelta(minutes=5),
    ).expand_kwargs(runs)
    # XComArg stubs lack __getitem__; at runtime it selects the pushed "refused" key.
    check_refused(runs["refused"])  # type: ignore[index]


deck_inbox()
