"""
# deck_to_video: a PowerPoint deck + a voice recording -> a narrated MP4

Each slide's **speaker notes** are read aloud and the slide stays on screen while they are
spoken; the result is an MP4 with captions (`.vtt` and `.srt` next to it).

**Trigger** this DAG with the form (*Trigger* button) or with conf, e.g.
`airflow dags trigger deck_to_video --conf '{"deck_url": "s3://decks/talk.pptx",
"voice_url": "s3://decks/voice.m4a", "out_url": "s3://videos/talk.mp4"}'`.
Locations are `s3://bucket/key` URLs, `file://` URLs or absolute paths, under the storage
roots this deployment allows (`DECK2VIDEO_READ_ROOTS` / `DECK2VIDEO_WRITE_ROOTS`; by default
the job root, the inbox and the outbox; each field's help in the form lists them). A run with a
missing or malformed field, or a location outside the roots, is refused before it exists, with
a message naming the field.

Notes conventions: an empty slide or `[SILENCE]` shows the slide for the silent-slide length;
`[PAUSE 1.5]` inserts a pause. Hidden slides are skipped unless asked for.

**Steps**: `prepare` (fetch, check, render the slides, then clean the recording: the pipeline's
`prepare_voice`, whose failure the run names as such) -> `speak` (mapped over groups of slides
sized so a task's fixed cost stays under a fifth of its time, labelled `slides 4-7: Pricing,
...` or `slide N: Title` with the deck's own slide numbers, on the `gpu` pool/queue) ->
`assemble` (first the pipeline's `quality`: score each slide's narration, voice similarity,
DNSMOS, pace, and warn or fail the run before anything is published; then stills + narration ->
MP4 + captions) -> `approve` (only with `approve_before_publish`: waits under *Required
actions*; "Reject" publishes nothing) -> `publish` (copy video, captions and
`<name>.quality.json` to the output location; updates the `deck2video-videos` asset; its
**Watch** link opens the run's video page).

**Review**: the *Videos* page (deck2video plugin) shows every job's status, video and a
per-slide review, with a *Re-take* button per slide: it starts a run with `takes` set
(`{"7": 2}`), which records slide 7 anew and reassembles; the other slides come from the cache.

Bad input (not a deck, no slides, a silent recording, ...) fails the step at once without
retries; other errors are retried with exponential backoff. Every job keeps its files and a
`manifest.json` (status, failing step and reason) under `<root>/jobs/<job_id>/`; re-running the
same deck, voice and settings reuses what is already done.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, AssetAlias, Param, TriggerRule, dag, get_current_context, task
from deck2video_airflow.review import APPROVAL_PARAM, ApproveBeforePublish, with_watch_link
from deck2video_airflow.speech import speech_task
from deck2video_airflow.task_defaults import DEFAULT_ARGS, job_folder, service_roots

from deck2video import params as job_params
from deck2video.airflow_names import DAG_ID, TaskId, XComKey
from deck2video.config import Deployment

DEPLOYMENT = Deployment.from_env()

# Every published video: downstream DAGs can be scheduled on it. The alias also records the
# concrete video (its own URL) as an asset of its own. An "x-" scheme is one Airflow leaves to
# its owner: any other makes the DAG file's parse, in every task, load every provider's asset
# handlers (the Amazon one imports boto3: about half a second).
VIDEOS = Asset(name="deck2video-videos", uri="x-deck2video://videos")
VIDEO_FILES = AssetAlias(name="deck2video-video-files")


def _asset_uri(url: str) -> str:
    return url if url.startswith(("s3://", "file://")) else f"file://{url}"


@dag(
    dag_id=DAG_ID,
    schedule=None,
    catchup=False,
    max_active_tasks=16,
    tags=["deck2video"],
    doc_md=__doc__,
    default_args={**DEFAULT_ARGS, "queue": DEPLOYMENT.cpu_queue},
    # The locations' patterns name this deployment's roots: Airflow refuses a conf outside
    # them when the run is triggered, before it exists.
    params={name: Param(**spec) for name, spec in job_params.params_for(service_roots()).items()},
)
def deck_to_video() -> None:
    @task(multiple_outputs=False, execution_timeout=timedelta(minutes=30))
    def prepare() -> list[dict[str, Any]]:
        """Fetch and check the inputs, render the slides, clean the reference recording;
        returns the speech tasks' items.

        The job's id goes to the XCom "job_id": each later step rebuilds the job's folder from
        it and this deployment's job root (``job_folder``), never from a URL in an XCom. The
        recording is cleaned here, not in a task of its own: it has no queue, retries or person
        of its own, and a task start costs seconds.
        """
        from deck2video import job
        from deck2video.speech_items import Sizing, speech_items

        context = get_current_context()
        roots = service_roots()
        job_params.check_conf(context["dag_run"].conf or {}, roots)
        params = dict(context["params"])
        plan = job.prepare(
            params["deck_url"],
            params["voice_url"],
            out_url=job_params.out_url_for(params),
            settings=job_params.settings_from_params(params),
            lexicon_url=params.get("lexicon_url"),
            roots=roots,
        )
        context["ti"].xcom_push(key=XComKey.JOB_ID, value=plan.job_id)
        job.prepare_voice(job_folder(plan.job_id))
        takes = job_params.takes_for(params, (slide.source_index for slide in plan.slides))
        items = speech_items(plan, takes, Sizing.of(DEPLOYMENT))
        return [item.to_xcom() for item in items]

    @task.branch(execution_timeout=timedelta(minutes=90))
    def assemble(job_id: str) -> list[str]:
        """Score every slide's narration and hold it to the run's thresholds (the pipeline's
        quality step: in fail mode a slide below them fails the run here, before anything is
        assembled or published), then put the slides and their narration together: MP4 +
        captions. One task, not two: the scoring has no queue, retries or person of its own,
        and a task start costs seconds.

        Then the way on: through ``approve`` when the run asks for an approval, else straight
        to ``publish``, and the scheduler skips ``approve`` without starting it.
        """
        from deck2video import job

        context = get_current_context()
        folder = job_folder(job_id)
        job.check_quality(folder, job_params.quality_from_params(context["params"]))
        job.assemble(folder)
        asked = bool(context["params"].get(APPROVAL_PARAM))
        return [TaskId.APPROVE, TaskId.PUBLISH] if asked else [TaskId.PUBLISH]

    # A person's answer is not retried; without one within a week the step fails, unpublished.
    approve = ApproveBeforePublish(
        task_id=TaskId.APPROVE,
        retries=0,
        execution_timeout=timedelta(minutes=5),
        response_timeout=timedelta(days=7),
    )

    @task(
        multiple_outputs=False,
        outlets=[VIDEOS, VIDEO_FILES],
        execution_timeout=timedelta(minutes=15),
        # After an approval, or when none was asked for (assemble skipped approve); a rejection
        # skips publish directly.
        trigger_rule=TriggerRule.NONE_FAILED,
    )
    def publish(job_id: str) -> dict[str, Any]:
        """Copy the video and captions to this run's output location; the video goes last."""
        from deck2video import job

        context = get_current_context()
        out_url = job_params.out_url_for(dict(context["params"]))  # the run's, not the job's
        folder = job_folder(job_id)
        published = asdict(job.publish(folder, out_url, roots=service_roots()))
        extra = {**published, "job_id": job_id, "job_url": folder.url}
        events = context["outlet_events"]
        events[VIDEOS].extra = extra
        events[VIDEO_FILES].add(Asset(_asset_uri(published["video_url"])), extra=extra)
        return published

    speak = speech_task(DEPLOYMENT, timeout=timedelta(minutes=30))
    plan = prepare()
    # XComArg stubs lack __getitem__; at runtime it selects prepare's pushed "job_id" key.
    the_job = plan[XComKey.JOB_ID]  # type: ignore[index]
    spoken = speak.expand(slide=plan)
    video = assemble(the_job)
    published = with_watch_link(publish(the_job))
    spoken >> video >> approve >> published
    video >> published  # the way on when no approval is asked for


deck_to_video()
