"""Airflow in the test process, for the DAG tests (tests/dags, tests/docker): a private
AIRFLOW_HOME with a SQLite metadata DB and the repo's dags/.

Airflow reads its home and database URL when it is first imported, so the environment is set
as this module is imported: by the conftest of each folder that uses these fixtures, before any
test module imports Airflow. The session fixture ``airflow_db`` creates the schema and removes
the home at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"

if "airflow" in sys.modules:  # pragma: no cover - a guard against reordering imports
    raise RuntimeError("tests/support/airflow_dags.py must configure Airflow before it is imported")

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="deck2video-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
    AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
)
# The DAG processor and the workers put the "dags-folder" bundle on sys.path, which is how the
# DAG files import their support package (dags/deck2video_airflow); tests import it likewise.
if str(DAGS) not in sys.path:
    sys.path.append(str(DAGS))
# The DAGs are parsed with the embedded defaults unless a test asks otherwise.
for _name in [
    n for n in os.environ if n.startswith("DECK2VIDEO_") and n != "DECK2VIDEO_S3_ENDPOINT_URL"
]:
    os.environ.pop(_name)


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[Path]:
    """A fresh metadata DB (what ``airflow db migrate`` makes) and the gpu pool the DAG uses."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.initdb()
    Pool.create_or_update_pool(
        "gpu", slots=1, description="speech synthesis", include_deferred=False
    )
    yield AIRFLOW_HOME
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def dag_bag(airflow_db, tmp_path_factory):
    """The repo's DAG folder, parsed as the DAG processor parses its "dags-folder" bundle (which
    also puts the folder on sys.path, for the support package in dags/deck2video_airflow)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    # The trigger form's patterns name the roots (deck2video.params.params_for), fixed when the
    # file is parsed: the conf tests read from s3://decks/ and publish beside the deck or to
    # s3://videos/; the tests' own temporary folders (the inbox test's decks) are a root too.
    tests_temp = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DECK2VIDEO_READ_ROOTS", f"s3://decks/,{tests_temp}")
        env.setenv("DECK2VIDEO_WRITE_ROOTS", f"s3://decks/,s3://videos/,{tests_temp}")
        return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")


@pytest.fixture(scope="session")
def synced_dags(dag_bag):
    """The DAGs serialized into the metadata DB, as the DAG processor leaves them."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(dag_bag, "dags-folder", None)
    return dag_bag
