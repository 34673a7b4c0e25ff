"""deck2video: PowerPoint deck + speaker notes + a voice recording -> narrated MP4.

The package imports nothing from Airflow: the CLI, the DAG tasks and the speech image all call
the job-level steps in :mod:`deck2video.job`.
"""

__version__ = "0.1.0"
