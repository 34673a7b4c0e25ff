"""The job-level steps: prepare, prepare_voice, speak_slide, check_quality, assemble, publish,
and ``run`` for all of them in one process.

Each step takes a :class:`JobFolder` (made from the job's URL at the edge: CLI, DAG task, speech
image), reads and writes only that folder and the shared caches, and calls the stage modules. A
step must be runnable in a fresh process that shares nothing but storage with the others.

Each name is imported from its module when first used: a speech task, which runs one step in a
fresh process, imports the speech modules only, not the deck reader or the video assembly
(about a second of imports a task would pay for nothing).
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deck2video.job.assemble import assemble
    from deck2video.job.layout import JobFolder, Store
    from deck2video.job.local import RunSummary, run
    from deck2video.job.prepare import JobPlan, SlidePlan, job_id_for, prepare
    from deck2video.job.publish import PublishResult, publish
    from deck2video.job.quality import check_quality
    from deck2video.job.speak import SpeakResult, speak_slide, speak_slides
    from deck2video.job.state import error_reason, load_manifest, record_failure
    from deck2video.job.voice import prepare_voice

# Each public name -> the module under deck2video.job that defines it.
_MODULES = {
    "assemble": "assemble",
    "JobFolder": "layout",
    "Store": "layout",
    "RunSummary": "local",
    "run": "local",
    "JobPlan": "prepare",
    "SlidePlan": "prepare",
    "job_id_for": "prepare",
    "prepare": "prepare",
    "PublishResult": "publish",
    "publish": "publish",
    "check_quality": "quality",
    "SpeakResult": "speak",
    "speak_slide": "speak",
    "speak_slides": "speak",
    "error_reason": "state",
    "load_manifest": "state",
    "record_failure": "state",
    "prepare_voice": "voice",
}

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


class _Steps(ModuleType):
    """The package, whose step names always mean the steps: ``job.assemble`` is the function
    even once the module ``deck2video.job.assemble`` was imported (which sets an attribute of
    the same name on the package)."""

    def __getattribute__(self, name: str) -> Any:
        module = _MODULES.get(name)
        if module is None:
            return super().__getattribute__(name)
        return getattr(import_module(f"{__name__}.{module}"), name)


sys.modules[__name__].__class__ = _Steps
