"""The job-level steps: prepare, prepare_voice, speak_slide, check_quality, assemble, publish,
and ``run`` for all of them in one process.

Each step takes a :class:`JobFolder` (made from the job's URL at the edge: CLI, DAG task, speech
image), reads and writes only that folder and the shared caches, and calls the stage modules. A
step must be runnable in a fresh process that shares nothing but storage with the others.
"""

from deck2video.job.assemble import assemble
from deck2video.job.layout import JobFolder, Store
from deck2video.job.local import RunSummary, run
from deck2video.job.prepare import JobPlan, SlidePlan, job_id_for, prepare
from deck2video.job.publish import PublishResult, publish
from deck2video.job.quality import check_quality
from deck2video.job.speak import SpeakResult, speak_slide, speak_slides
from deck2video.job.state import error_reason, load_manifest, record_failure
from deck2video.job.voice import prepare_voice

__all__ = [
    "JobFolder",
    "JobPlan",
    "PublishResult",
    "RunSummary",
    "SlidePlan",
    "SpeakResult",
    "Store",
    "assemble",
    "check_quality",
    "error_reason",
    "job_id_for",
    "load_manifest",
    "prepare",
    "prepare_voice",
    "publish",
    "record_failure",
    "run",
    "speak_slide",
    "speak_slides",
]
