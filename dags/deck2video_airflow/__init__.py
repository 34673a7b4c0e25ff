"""Airflow wiring shared by the deck2video DAG files (no DAGs here; see ../.airflowignore)."""
