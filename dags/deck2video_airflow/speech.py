"""The per-slide speech task, in the form this deployment runs it.

``local`` (the embedded default): the worker process speaks the slide. ``docker``: the speech
image does, through the DockerOperator, with a GPU device request. Either way the task is
mapped over the slides prepare returns, runs in the speech pool and queue, and is labelled with
the deck's own slide number and title (``slide 7: Pricing``; hidden slides keep their numbers).

With ``DECK2VIDEO_SPEECH_SLIDES_PER_TASK=N`` (opt-in) each task speaks a group of N slides
(``slides 4-7: Pricing, Plans, Team, Questions``): one task start, process start and model load
for the group instead of one per slide, which is most of a short slide's cost.
"""

from __future__ import annotations

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
                "job_id": plan.job_id,
                "number": slide.number,
                "source_index": slide.source_index,
                "title": slide.title,
                "take": take,
                "label": slide_label(slide.source_index, slide.title, take),
            }
        )
    return found


def in_groups(slides: list[dict[str, Any]], per_task: int) -> list[dict[str, Any]]:
    """The per-slide items of :func:`slides_to_speak` as groups of ``per_task`` (1: as they are).

    A group is its first slide's item, labelled by its span and titles, with every slide's file
    number and take under ``slides``.
    """
    if per_task <= 1:
        return slides
    groups = []
    for at in range(0, len(slides), per_task):
        part = slides[at : at + per_task]
        label = part[0]["label"]
        if len(part) > 1:
            span = f"slides {part[0]['source_index']}-{part[-1]['source_index']}"
            label = f"{span}: {', '.join(s['title'] for s in part)}"[:200]
        groups.append({
            **part[0], "label": label,
            "slides": [{"number": s["number"], "source_index": s["source_index"],
                        "take": s["take"]} for s in part],
        })  # fmt: skip
    return groups


def slides_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The slides one speech task speaks (file number, PowerPoint number, take)."""
    return item.get("slides") or [item]


def speech_span(item: dict[str, Any]) -> str:
    """ "slide 7", or "slides 4-7" for a group: what a failure names (PowerPoint numbers)."""
    numbers = [int(s.get("source_index", s["number"])) for s in slides_of(item)]
    return f"slide {numbers[0]}" if len(numbers) == 1 else f"slides {numbers[0]}-{numbers[-1]}"


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


def speak_in_worker(slide: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    """Synthesize the narration of the item's slide(s), in this worker process."""
    from deck2video import job
    from deck2video_airflow.tasks import job_folder

    folder = job_folder(slide["job_id"])
    return job.speak_slides(folder, [(s["number"], s.get("take", 1)) for s in slides_of(slide)])


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
