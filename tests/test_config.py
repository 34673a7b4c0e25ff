"""Every setting declared once: job settings' bounds and coercion, deployment variables."""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import fields
from pathlib import Path

import pytest

import deck2video
from deck2video import config
from deck2video.config import (
    SPEECH_TASK_COSTS,
    Deployment,
    JobSettings,
    Limits,
    QualitySettings,
    variables,
)
from deck2video.errors import InputError

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", [JobSettings, QualitySettings])
def test_every_setting_is_declared_with_title_help_and_bounds_or_choices(kind):
    for name, declared in config.declarations(kind):
        assert declared.title, name
        assert declared.help, name
        kind_of_value = type(getattr(kind(), name))
        if kind_of_value in (int, float):
            assert declared.minimum is not None, name
            assert declared.maximum is not None, name
        if kind_of_value is str:
            assert declared.choices, name


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"padding": 6.0}, "setting padding: 6.0 is outside 0..5"),
        ({"silence_seconds": -1}, "setting silence_seconds: -1 is outside 0..10"),
        ({"speed": 2.5}, "setting speed: 2.5 is outside 0.5..2"),
        ({"width": 100}, "setting width: 100 is outside 160..7680"),
        ({"width": 641}, "setting width/height: 641x1080 must be even"),
        ({"backend": "espeak"}, "setting backend: 'espeak' is not one of ('piper', 'melo')"),
        ({"language": "xx"}, "setting language: 'xx' is not one of"),
        ({"language": "fr"}, "backend piper speaks English only"),
    ],
)
def test_out_of_bounds_settings_are_input_errors_naming_the_setting(values, says):
    with pytest.raises(InputError) as refused:
        JobSettings(**values)
    assert says in str(refused.value)


def test_from_dict_coerces_json_and_cli_values_and_refuses_unknown_keys():
    settings = JobSettings.from_dict({"speed": "1.5", "include_hidden": "yes", "width": 1280.0})
    assert (settings.speed, settings.include_hidden, settings.width) == (1.5, True, 1280)
    with pytest.raises(InputError, match="setting include_hidden: 'maybe' is not a boolean"):
        JobSettings.from_dict({"include_hidden": "maybe"})
    with pytest.raises(InputError, match=r"unknown key\(s\) sped"):
        JobSettings.from_dict({"sped": 1})


def test_quality_thresholds_are_checked_against_their_declarations():
    with pytest.raises(InputError, match="setting min_wpm: 300 is above max_wpm 200"):
        QualitySettings(min_wpm=300, max_wpm=200)
    with pytest.raises(InputError, match="setting quality_mode: 'maybe' is not one of"):
        QualitySettings(quality_mode="maybe")
    with pytest.raises(InputError, match=r"setting min_similarity: 1.5 is outside 0..1"):
        QualitySettings(min_similarity=1.5)
    assert QualitySettings.from_choices({"min_dnsmos": "3", "max_wpm": None}).min_dnsmos == 3.0
    with pytest.raises(InputError, match=r"unknown key\(s\) min_dnsmoss"):
        QualitySettings.from_dict({"min_dnsmoss": 3})


def test_resolution_is_chosen_as_one_value_and_parsed_once():
    settings = JobSettings.from_choices({"resolution": "1280x720", "speed": None})
    assert (settings.width, settings.height, settings.speed) == (1280, 720, 1.0)
    assert settings.resolution == "1280x720"
    with pytest.raises(InputError, match="setting resolution: 'big' is not WIDTHxHEIGHT"):
        JobSettings.from_choices({"resolution": "big"})
    chosen = [name for name, _, _ in config.choosable()]
    assert "resolution" in chosen
    assert "width" not in chosen
    assert "height" not in chosen


def test_deployment_reads_its_variables_once_with_defaults_for_empty_ones():
    deployment = Deployment.from_env(
        {
            "DECK2VIDEO_ROOT": "s3://media/d2v/",
            "DECK2VIDEO_SPEECH_RUNNER": "Docker",
            "DECK2VIDEO_DOCKER_GPUS": "",
            "DECK2VIDEO_MAX_SLIDES": "20",
            "DECK2VIDEO_SOFFICE_TIMEOUT": "30.5",
        }
    )
    assert deployment.root_url == "s3://media/d2v"
    assert (deployment.speech_runner, deployment.docker_gpus) == ("docker", "all")
    assert (deployment.inbox, deployment.outbox) == (
        "s3://media/d2v/inbox",
        "s3://media/d2v/videos",
    )
    assert deployment.limits == Limits(max_slides=20, soffice_timeout=30.5)
    assert Deployment.from_env({}).root_url == str(Path.home() / ".deck2video")


@pytest.mark.parametrize(("name", "value"), [("SPEECH_RUNNER", "k8s"), ("DOCKER_GPUS", "two")])
def test_unknown_deployment_choices_are_refused_naming_the_variable(name, value):
    with pytest.raises(ValueError, match=f"DECK2VIDEO_{name}='{value}'"):
        Deployment.from_env({f"DECK2VIDEO_{name}": value})


def test_storage_environment_passes_on_only_storage_variables():
    passed = config.storage_environment(
        {"AWS_ACCESS_KEY_ID": "id", "DECK2VIDEO_S3_ENDPOINT_URL": "http://s3", "HOME": "/root"}
    )
    assert passed == {"AWS_ACCESS_KEY_ID": "id", "DECK2VIDEO_S3_ENDPOINT_URL": "http://s3"}


def test_no_other_module_reads_the_environment():
    """config.py is the one reader of DECK2VIDEO_* variables (os.environ): grep the package."""
    package = REPO / "include" / "deck2video"
    readers = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if re.search(r"os\.environ\.get|os\.getenv|environ\[", path.read_text())
    ]
    assert readers == ["config.py"]


def test_every_variable_the_docs_name_is_a_deployment_field():
    """docs/airflow.md's settings table and the README name only variables config.py declares."""
    declared = {name for name, _, _ in config.variables()}
    named = set()
    for doc in (REPO / "README.md", REPO / "docs" / "airflow.md"):
        named |= set(re.findall(r"\bDECK2VIDEO_[A-Z0-9_]+\b", doc.read_text()))
    # Secrets the compose file interpolates from its .env are not settings of the package.
    compose = (REPO / "docker-compose.yaml").read_text()
    named -= {"DECK2VIDEO_"} | set(re.findall(r"\$\{(DECK2VIDEO_[A-Z0-9_]+):", compose))
    assert named <= declared, sorted(named - declared)
    assert {f"DECK2VIDEO_{f.name.upper()}" for f in fields(Limits)} <= declared


# Tags that name one release: a version with a minor number (7.4.2, 16.9, 3.3.2-python3.11,
# 0.5.11), a MinIO RELEASE stamp, or a digest. Not "latest", not "16" or "7.4-bookworm".
_EXACT_TAG = re.compile(r"(:(\d+\.\d+[\w.-]*|RELEASE\.[\w.-]+)|@sha256:[0-9a-f]{64})$")


def _default_images(text: str) -> list[str]:
    """Every image a compose file or Dockerfile names, with ``${VAR:-default}`` as its default."""
    text = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)
    found = re.findall(r"^\s*image:\s*(\S+)", text, re.MULTILINE)
    found += re.findall(r"^ARG \w*IMAGE=(\S+)", text, re.MULTILINE)
    found += re.findall(r"^\s*\w*IMAGE: (\S+)", text, re.MULTILINE)
    return found


def test_every_image_is_pinned_to_one_release():
    files = [REPO / "docker-compose.yaml", *sorted((REPO / "images").rglob("*Dockerfile"))]
    images = {image for path in files for image in _default_images(path.read_text())}
    assert {"postgres:16.9-bookworm", "redis:7.4.2-bookworm", config.SPEECH_IMAGE} <= images
    # The local stand-ins (images/local/) build on the tests' debootstrap base, never pulled.
    floating = {
        i for i in images if not _EXACT_TAG.search(i) and not i.startswith("deck2video-base")
    }
    assert floating == set()
    airflow = (REPO / "images" / "airflow" / "Dockerfile").read_text()
    assert re.search(r"^ARG AIRFLOW_VERSION=\d+\.\d+\.\d+$", airflow, re.MULTILINE)


def test_airflow_is_pinned_once_by_the_worker_image():
    # The Dockerfile's release is the pin; the lock (from `make lock`) and pyproject follow it.
    dockerfile = (REPO / "images" / "airflow" / "Dockerfile").read_text()
    (release,) = re.findall(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    lock = (REPO / "requirements.lock").read_text()
    assert re.findall(r"^apache-airflow==(\S+)$", lock, re.MULTILINE) == [release]
    pyproject = (REPO / "pyproject.toml").read_text()
    assert not re.search(r'"apache-airflow==', pyproject)
    assert importlib.metadata.version("apache-airflow") == release


def test_the_speech_image_is_tagged_with_the_package_version():
    # The package's version is written once (deck2video.__version__); the images built from it,
    # compose's defaults and the config all name it.
    version = deck2video.__version__
    assert importlib.metadata.version("deck2video") == version
    assert f"deck2video-speech:{version}" == config.SPEECH_IMAGE
    compose = (REPO / "docker-compose.yaml").read_text()
    assert f"deck2video-speech:{version}" in compose
    assert f"image: deck2video-airflow:{version}" in compose
    assert Deployment().speech_image == config.SPEECH_IMAGE


# --- issue 9: limits and security settings ---------------------------------------------------

SECURITY_DOC = REPO / "docs" / "security.md"
SECURITY_SETTINGS = ("read_roots", "write_roots", "external_links", "tool_sandbox")


def test_limits_are_read_from_the_environment():
    limits = Limits.from_env({"DECK2VIDEO_MAX_PICTURE_PIXELS": "1000", "DECK2VIDEO_MAX_SLIDES": ""})
    assert (limits.max_picture_pixels, limits.max_slides) == (1000, Limits().max_slides)
    with pytest.raises(ValueError, match=r"^DECK2VIDEO_SOFFICE_MEMORY_MB='lots': not a int$"):
        Limits.from_env({"DECK2VIDEO_SOFFICE_MEMORY_MB": "lots"})


def test_security_settings_take_only_their_choices():
    assert Deployment.from_env({"DECK2VIDEO_EXTERNAL_LINKS": "STRIP"}).external_links == "strip"
    with pytest.raises(ValueError, match="DECK2VIDEO_TOOL_SANDBOX='docker'"):
        Deployment.from_env({"DECK2VIDEO_TOOL_SANDBOX": "docker"})


def test_every_limit_and_security_setting_is_documented_with_its_variable():
    documented = SECURITY_DOC.read_text()
    names = [Limits.variable(f.name) for f in fields(Limits)]
    names += [f"DECK2VIDEO_{name.upper()}" for name in SECURITY_SETTINGS]
    assert [n for n in names if f"`{n}`" not in documented] == []
    assert {v for v, _, _ in variables()} >= set(names)


def test_slides_per_task_is_a_checked_deployment_setting():
    assert Deployment.from_env({}).speech_slides_per_task == 0  # sized automatically
    assert (
        Deployment.from_env({"DECK2VIDEO_SPEECH_SLIDES_PER_TASK": "4"}).speech_slides_per_task == 4
    )
    for bad in ("-1", "many", "101"):
        with pytest.raises(ValueError, match="DECK2VIDEO_SPEECH_SLIDES_PER_TASK="):
            Deployment.from_env({"DECK2VIDEO_SPEECH_SLIDES_PER_TASK": bad})


def test_a_speak_tasks_costs_default_by_where_it_runs_and_can_be_set():
    local, docker, gpu = (SPEECH_TASK_COSTS[k] for k in ("local", "docker", "docker-gpu"))
    assert Deployment.from_env({}).speech_task_costs == local
    docker_env = {"DECK2VIDEO_SPEECH_RUNNER": "docker"}
    assert Deployment.from_env(docker_env).speech_task_costs == gpu  # every GPU by default
    cpu_host = {**docker_env, "DECK2VIDEO_DOCKER_GPUS": "none"}
    assert Deployment.from_env(cpu_host).speech_task_costs == docker
    measured = {"DECK2VIDEO_SPEECH_TASK_FIXED_SECONDS": "1.5"}
    assert Deployment.from_env(measured).speech_task_costs == (1.5, local[1])
    for name, bad in (("SPEECH_SYNTHESIS_FACTOR", "-0.1"), ("SPEECH_MAX_TASK_SECONDS", "0")):
        with pytest.raises(ValueError, match=f"DECK2VIDEO_{name}="):
            Deployment.from_env({f"DECK2VIDEO_{name}": bad})
