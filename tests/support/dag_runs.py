"""Running deck_to_video in the test process under ``dag.test()`` (tests/dags, tests/docker), and
reading back the jobs a run made. Needs tests/support/airflow_dags.py's Airflow."""

from __future__ import annotations

import pytest

from deck2video import storage
from deck2video.job import load_manifest
from deck2video.manifest import Manifest
from deck2video.params import PARAMS, params_for
from deck2video.samples import SampleSlide

SLIDES = [
    SampleSlide("Welcome", "Hello and welcome. This video was made by Airflow."),
    SampleSlide("Braces {{ ds }} stay text", "Curly braces like {{ ds }} are read as they are."),
    SampleSlide("Backstage", "This hidden slide is never read.", hidden=True),
    SampleSlide("Pricing", ""),
]
LABELS = ["slide 1: Welcome", "slide 2: Braces {{ ds }} stay text", "slide 4: Pricing"]
# By default (DECK2VIDEO_SPEECH_SLIDES_PER_TASK=0) the deck's few seconds of narration are one
# speak task: its fixed cost would be most of a task per slide.
GROUP_LABEL = "slides 1-4: Welcome, Braces {{ ds }} stay text, Pricing"


def run_dag(dag, conf: dict, root: str, *, roots_in_params: bool = True) -> tuple[object, dict]:
    """``dag.test()`` with the pipeline's storage root, reading from the bucket's ``in/`` and
    writing under its ``out/`` (the deployment's roots, which the params' patterns name unless
    ``roots_in_params`` is False); returns the run and its task instances."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    bucket = storage.parse(root).bucket
    # Every param given: in one process, dag.test() lets a param an earlier run set (e.g.
    # quality_mode=fail) stand for a later run that leaves it out.
    defaults = {name: spec["default"] for name, spec in PARAMS.items() if "default" in spec}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DECK2VIDEO_ROOT", root)
        env.setenv("DECK2VIDEO_READ_ROOTS", f"s3://{bucket}/in/")
        env.setenv("DECK2VIDEO_WRITE_ROOTS", f"s3://{bucket}/out/")
        with_roots_of_this_deployment(dag, roots_in_params)
        dag_run = dag.test(run_conf={**defaults, **conf})
    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=dag_run.run_id)
        found = {(ti.task_id, ti.map_index): ti for ti in tis}
        session.expunge_all()
    return dag_run, found


def with_roots_of_this_deployment(dag, roots_in_params: bool = True) -> None:
    """The DAG's params as the DAG processor makes them for this process's deployment: the
    locations' patterns name its roots (the DAG was parsed once, under another)."""
    from airflow.sdk import Param

    from deck2video.config import Deployment
    from deck2video.roots import Roots

    roots = Roots.for_service(Deployment.from_env())
    for name, spec in (params_for(roots) if roots_in_params else PARAMS).items():
        for params in (dag.params, *(task.params for task in dag.tasks)):
            params[name] = Param(**spec)  # each task validates its own copy again


def job_manifests(root: str) -> dict[str, Manifest]:
    found = {}
    for obj in storage.list_objects(storage.join(root, "jobs")):
        if obj.url.endswith("/manifest.json"):
            job_url = obj.url.rsplit("/", 1)[0]
            found[job_url] = load_manifest(job_url)
    return found


def completed_jobs(root: str) -> list[tuple[str, Manifest]]:
    return [(url, m) for url, m in job_manifests(root).items() if m.status == "completed"]
