"""The deck2video pages in the Airflow UI: jobs, a job's video and per-slide review, re-takes.

``app`` is the FastAPI app the api-server mounts; ``jobs`` reads jobs from storage, ``runs``
reads deck_to_video runs from Airflow, ``pages`` puts the two together, ``media`` streams files
with byte ranges, and ``run_notes`` is the listener that notes why a run failed. ``listing``
pages, searches and follows the jobs list; ``new_video`` and ``uploads`` take a deck and a
recording from the browser for a new run.
"""
