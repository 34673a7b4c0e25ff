"""The Docker tests: the session's private engine and speech image come from tests/conftest.py
(scripts/docker_engine.py starts Debian's dockerd, no bridge, no iptables: containers use the
host's network, so they reach the loopback S3 server)."""

from __future__ import annotations

import pytest

# The DAG tests' Airflow (configured as this conftest loads, before Airflow is first imported);
# airflow_db is autouse, so the Docker DAG test gets the metadata DB too.
from tests.support.airflow_dags import airflow_db, dag_bag

__all__ = ["airflow_db", "dag_bag", "docker_runner_env"]


@pytest.fixture(scope="session")
def docker_runner_env(docker_engine, speech_image: str) -> dict[str, str]:
    """The deployment settings (deck2video.config.Deployment) that make the DAG's speak task a
    DockerOperator on this engine; set them (monkeypatch) before the DAG file is parsed."""
    return {
        "DECK2VIDEO_SPEECH_RUNNER": "docker",
        "DECK2VIDEO_SPEECH_IMAGE": speech_image,
        "DECK2VIDEO_DOCKER_URL": docker_engine.url,
        "DECK2VIDEO_DOCKER_NETWORK": "host",
        "DECK2VIDEO_DOCKER_GPUS": "none",
    }
