"""job/__init__.py: the steps by name, imported when first used."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import import_module

from deck2video import job

HEAVY = ["deck2video.deck", "deck2video.job.assemble", "deck2video.job.prepare", "pptx"]


def test_a_speech_task_imports_no_deck_reader_or_video_assembly():
    # What the speech image's `deck2video speak` and the worker's speak task import.
    script = (
        "import json, sys; import deck2video.cli, deck2video.job.speak; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == []


def test_every_step_is_its_function_even_once_its_module_was_imported():
    for module in ("assemble", "prepare", "publish"):  # each sets its name on the package
        import_module(f"deck2video.job.{module}")

    assert all(callable(getattr(job, name)) for name in job.__all__)
    assert (job.assemble.__name__, job.prepare.__name__) == ("assemble", "prepare")
    assert job.publish.__module__ == "deck2video.job.publish"
