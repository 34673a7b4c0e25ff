"""Deployment settings of the deck2video DAGs, read from the environment when a DAG file is parsed.

They say how this installation runs, not what a user asks for (that is the run's params), so the
same DAG files serve a laptop, CI and a GPU cluster. Give every Airflow component (dag-processor,
scheduler, workers) the same values: the scheduler plans from the DAG the dag-processor parsed,
and a worker parses the file again to run a task, so the two must agree.

DECK2VIDEO_SPEECH_RUNNER     local (default): the speech task runs in the worker process;
                             docker: it runs the speech image with the DockerOperator.
DECK2VIDEO_SPEECH_IMAGE      speech image (default deck2video-speech:latest)
DECK2VIDEO_SPEECH_QUEUE      worker queue of the speech task (default gpu)
DECK2VIDEO_SPEECH_POOL       pool of the speech task (default gpu): its size caps GPU jobs at once
DECK2VIDEO_DOCKER_URL        Docker Engine API (default unix://var/run/docker.sock)
DECK2VIDEO_DOCKER_NETWORK    container network mode (default bridge; tests use host)
DECK2VIDEO_DOCKER_GPUS       all (default): request every GPU; none: CPU-only hosts
DECK2VIDEO_DOCKER_MEM_LIMIT  container memory limit (default 8g)
DECK2VIDEO_STORAGE_CONN_ID   Airflow connection (aws type; endpoint_url in extra) whose
                             credentials the speech container gets (default deck2video_storage)
DECK2VIDEO_INBOX_SCHEDULE    cron schedule of the inbox DAG (default @hourly)
DECK2VIDEO_INBOX_URL, DECK2VIDEO_OUTBOX_URL, DECK2VIDEO_INBOX_VOICE_URL
                             inbox DAG defaults (else <root>/inbox, <root>/videos,
                             <inbox>/voice.wav; <root> is DECK2VIDEO_ROOT)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

RUNNERS = ("local", "docker")


@dataclass(frozen=True)
class Deployment:
    speech_runner: str = "local"
    speech_image: str = "deck2video-speech:latest"
    speech_queue: str = "gpu"
    speech_pool: str = "gpu"
    docker_url: str = "unix://var/run/docker.sock"
    docker_network: str = "bridge"
    docker_gpus: bool = True
    docker_mem_limit: str = "8g"
    storage_conn_id: str = "deck2video_storage"
    inbox_schedule: str = "@hourly"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Deployment:
        env = os.environ if environ is None else environ
        default = cls()

        def get(name: str, fallback: str) -> str:
            return env.get(f"DECK2VIDEO_{name}", "").strip() or fallback

        runner = get("SPEECH_RUNNER", default.speech_runner).lower()
        if runner not in RUNNERS:
            raise ValueError(f"DECK2VIDEO_SPEECH_RUNNER={runner!r}: use one of {RUNNERS}")
        gpus = get("DOCKER_GPUS", "all").lower()
        if gpus not in ("all", "none"):
            raise ValueError(f"DECK2VIDEO_DOCKER_GPUS={gpus!r}: use all or none")
        return cls(
            speech_runner=runner,
            speech_image=get("SPEECH_IMAGE", default.speech_image),
            speech_queue=get("SPEECH_QUEUE", default.speech_queue),
            speech_pool=get("SPEECH_POOL", default.speech_pool),
            docker_url=get("DOCKER_URL", default.docker_url),
            docker_network=get("DOCKER_NETWORK", default.docker_network),
            docker_gpus=gpus == "all",
            docker_mem_limit=get("DOCKER_MEM_LIMIT", default.docker_mem_limit),
            storage_conn_id=get("STORAGE_CONN_ID", default.storage_conn_id),
            inbox_schedule=get("INBOX_SCHEDULE", default.inbox_schedule),
        )
