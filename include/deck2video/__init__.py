"""deck2video: PowerPoint deck + speaker notes + a voice recording -> narrated MP4.

The package imports nothing from Airflow: the CLI, the DAG tasks and the speech image all call
the job-level steps in :mod:`deck2video.job`.
"""

import logging

__version__ = "0.1.0"

# A library's logger: its warnings reach whatever the application configures (Airflow's task
# log), and nothing is printed by Python's last-resort handler when it configures nothing.
logging.getLogger(__name__).addHandler(logging.NullHandler())
