"""The speech task, in the form this deployment runs it.

``local`` (the embedded default): the worker process speaks the slide. ``docker``: the speech
image does, through the DockerOperator, with a GPU device request. Either way the task is
mapped over the speech items prepare returns (``deck2video.speech_items``), runs in the
speech pool and queue, and is labelled with the deck's own slide number and title
(``slide 7: Pricing``; hidden slides keep their numbers).

Each task speaks a group of consecutive slides (``slides 4-7: Pricing, Plans, Team, Questions``):
one task start, process start and model load for the group instead of one per slide, which is
most of a short slide's cost. By default the groups are sized from the deployment's fixed cost
and each slide's estimated narration (``deck2video.speech_items.Sizing``);
``DECK2VIDEO_SPEECH_SLIDES_PER_TASK=N`` fixes N slides a task (1: one per slide).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import task

from deck2video.airflow_names import TaskId
from deck2video.config import Deployment
from deck2video.speech_items import SpeechItem


def speech_task(deployment: Deployment, *, timeout: timedelta) -> Any:
    """What to ``.expand(slide=...)`` over the slides: a TaskFlow task or a partial operator."""
    common: dict[str, Any] = {
        "task_id": TaskId.SPEAK,
        "pool": deployment.speech_pool,
        "queue": deployment.speech_queue,
        "execution_timeout": timeout,
    }
    if deployment.speech_runner == "docker":
        return _in_container(deployment, common)
    return task(
        multiple_outputs=False,
        map_index_template="{{ task.op_kwargs['slide']['label'] }}",
        **common,
    )(speak_in_worker)


def speak_in_worker(slide: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    """Synthesize the narration of the item's slide(s), in this worker process."""
    from deck2video import job
    from deck2video_airflow.task_defaults import job_folder

    item = SpeechItem.from_xcom(slide)
    return job.speak_slides(job_folder(item.job_id), item.numbers_and_takes())


def _in_container(deployment: Deployment, common: dict[str, Any]) -> Any:
    from docker.types import DeviceRequest

    from deck2video_airflow.speech_container import SpeakInContainer

    return SpeakInContainer.partial(
        **common,
        map_index_template="{{ task.slide['label'] }}",
        image=deployment.speech_image,
        docker_url=deployment.docker_url,
        network_mode=deployment.docker_network,
        mem_limit=deployment.docker_mem_limit,
        device_requests=(
            [DeviceRequest(count=-1, capabilities=[["gpu"]])]
            if deployment.docker_gpus == "all"
            else None
        ),
        # Removed whatever the outcome: a failed container kept its environment (credentials).
        auto_remove="force",
        mount_tmp_dir=False,
        storage_conn_id=deployment.storage_conn_id,
    )
