"""The DAG tests run Airflow in-process: tests/support/airflow_dags.py configures it (as this
conftest loads, before any test module imports Airflow) and provides the fixtures."""

from tests.support.airflow_dags import airflow_db, dag_bag, synced_dags

__all__ = ["airflow_db", "dag_bag", "synced_dags"]
