"""The speech step in the speech image: ``deck2video speak --job <job_url> --slide <n>``.

The command holds the job's URL, rebuilt from this deployment's job root and a checked job id,
and numbers only: DockerOperator renders its command and environment with Jinja, and nothing a
user can edit (speaker notes, titles, an XCom's free text) may reach it. The storage credentials
travel in ``private_environment``, which is neither templated, rendered in the UI nor logged.
"""

from __future__ import annotations

import re
from typing import Any

from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from deck2video import config
from deck2video.airflow_names import EXIT_BAD_INPUT
from deck2video.errors import InputError, ProcessingError
from deck2video.speech_items import SpeechItem


def connection_storage_environment(conn_id: str) -> dict[str, str]:
    """S3 endpoint and credentials for the container, from an Airflow connection (aws type)."""
    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        # Without a storage connection the container gets the worker's own storage settings.
        return config.storage_environment()
    extra = conn.extra_dejson or {}
    endpoint = extra.get("endpoint_url") or (
        (extra.get("service_config") or {}).get("s3", {}).get("endpoint_url")
    )
    found = {
        "DECK2VIDEO_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": conn.login,
        "AWS_SECRET_ACCESS_KEY": conn.password,
        "AWS_SESSION_TOKEN": extra.get("aws_session_token"),
        "AWS_DEFAULT_REGION": extra.get("region_name"),
    }
    return {name: str(value) for name, value in found.items() if value}


class SpeakInContainer(DockerOperator):
    """One slide's narration, synthesized by the speech image (mapped over the job's slides).

    :param slide: a :class:`SpeechItem`'s XCom form, from the prepare step
    :param storage_conn_id: connection whose endpoint and credentials the container gets
    """

    def __init__(self, *, slide: dict[str, Any], storage_conn_id: str, **kwargs: Any) -> None:
        from deck2video_airflow.task_defaults import job_folder

        item = SpeechItem.from_xcom(slide)
        # The job's URL rebuilt from its id and this deployment's job root, never an XCom's.
        command = item.cli_args(job_folder(item.job_id).url)
        super().__init__(command=command, do_xcom_push=False, **kwargs)
        self.slide = slide
        self.storage_conn_id = storage_conn_id

    def execute(self, context: Any) -> None:
        # Filled here, on the worker, so that the secrets never reach the DAG's serialization.
        self._private_environment = {
            **self._private_environment,
            **connection_storage_environment(self.storage_conn_id),
        }
        try:
            super().execute(context)
        except DockerContainerFailedException as failure:
            raise container_error(failure, self.slide) from failure


def container_error(failure: DockerContainerFailedException, slide: dict[str, Any]) -> Exception:
    """The CLI's own one-line message, as the pipeline's error type (so bad input isn't retried)."""
    status = re.search(r"'StatusCode': (-?\d+)", str(failure))
    code = int(status.group(1)) if status else None
    message = _last_cli_line(failure.logs or []) or f"speech container exited with status {code}"
    if code == EXIT_BAD_INPUT:
        return InputError(message)
    return ProcessingError(f"{SpeechItem.from_xcom(slide).span}: {message}")


def _last_cli_line(logs: list[str | bytes]) -> str:
    """The CLI's ``deck2video: error: ...`` line, else the container's last line of output."""
    lines = [
        (line.decode(errors="replace") if isinstance(line, bytes) else str(line)).strip()
        for line in logs
    ]
    lines = [line for line in lines if line]
    for line in reversed(lines):
        if match := re.match(r"deck2video: (?:error|failed): (.*)", line):
            return match.group(1)
    return lines[-1][:300] if lines else ""
