"""The per-slide speech task, in the form this deployment runs it.

``local`` (the embedded default): the worker process speaks the slide. ``docker``: the speech
image does, through the DockerOperator, with a GPU device request. Either way the task is
mapped over the slides prepare returns, runs in the speech pool and queue, and is labelled with
the deck's own slide number and title (``slide 7: Pricing``; hidden slides keep their numbers).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from airflow.sdk import task

from deck2video.config import Deployment


def slides_to_speak(plan: Any, takes: dict[int, int]) -> list[dict[str, Any]]:
    """One mapped speech task's argument per slide of a job's plan: where, which and what take.

    ``number`` names the job's files (position among shown slides); ``source_index`` is the
    PowerPoint number, which labels and messages show. A slide keeps the take in the job's
    current video unless ``takes`` (PowerPoint number -> take) asks for another.
    """
    found = []
    for slide in plan.slides:
        take = takes.get(slide.source_index, slide.take)
        found.append(
            {
                "job_url": plan.job_url,
                "number": slide.number,
                "source_index": slide.source_index,
                "title": slide.title,
                "take": take,
                "label": slide_label(slide.source_index, slide.title, take),
            }
        )
    return found


def slide_label(number: int, title: str, take: int = 1) -> str:
    """``slide 7: Pricing``, and ``slide 7: Pricing (take 2)`` for a re-take."""
    suffix = f" (take {take})" if take != 1 else ""
    return f"slide {number}: {title}"[: 200 - len(suffix)] + suffix


def speech_task(deployment: Deployment, *, timeout: timedelta) -> Any:
    """What to ``.expand(slide=...)`` over the slides: a TaskFlow task or a partial operator."""
    common = {
        "task_id": "speak",
        "pool": deployment.speech_pool,
        "queue": deployment.speech_queue,
        "execution_timeout": timeout,
    }
    if deployment.speech_runner == "docker":
        return _in_container(deployment, common)
    return task(
        speak_in_worker,
        multiple_outputs=False,
        map_index_template="{{ task.op_kwargs['slide']['label'] }}",
        **common,
    )


def speak_in_worker(slide: dict[str, Any]) -> dict[str, Any]:
    """Synthesize one slide's narration (in this worker process)."""
    from deck2video import job

    folder = job.JobFolder.at(slide["job_url"])
    return asdict(job.speak_slide(folder, slide["number"], slide.get("take", 1)))


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
