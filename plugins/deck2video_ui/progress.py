"""How far a run of a job has come, for the job page's light poll while the run is at work: the
slides spoken of all, the step Airflow runs now, and an estimate of the time left from the job's
own timings.

Slides spoken: each speak task writes its slide's speech result (``audio/NNNN.json``) as it
finishes, cached or synthesized, so the results written since the run started count, however the
slides are grouped into tasks; one listing of the job's audio folder answers. The time left: this
run's own pace once two slides are spoken (the spread of their results' times, so parallel
speakers count), else the job's recorded speech time per slide, plus what its quality check and
assembly took last time (the manifest's stage timings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from deck2video import storage
from deck2video.airflow_names import TASK_STEPS, TaskId
from deck2video.errors import Deck2VideoError
from deck2video.job import JobFolder
from deck2video.manifest import Manifest
from deck2video_ui.pages import Status

# The task Airflow runs now, as the list and the job page say it (in the order tasks run).
STEP_WORDS = {
    TaskId.PREPARE: "rendering slides",  # then the voice, in the same task
    TaskId.SPEAK: "speaking",
    TaskId.ASSEMBLE: "assembling the video",  # the narration's quality checked first
    TaskId.APPROVE: "waiting for approval",
    TaskId.PUBLISH: "publishing",
}


@dataclass(frozen=True)
class Spoken:
    count: int
    first: datetime | None = None  # when the first of them was written
    last: datetime | None = None


@dataclass(frozen=True)
class Progress:
    run_id: str
    state: str  # Airflow's: queued | running | success | failed
    active: bool  # still at work: the page keeps asking
    status: Status
    step: str | None  # the running task, in words
    slides: int
    spoken: int
    seconds_left: float | None
    version: str  # the job's files' version: a new one means a new video to show
    has_video: bool

    def to_json(self) -> dict:
        return {**asdict(self), "status": asdict(self.status)}


def spoken_since(job: JobFolder, manifest: Manifest, started: datetime | None) -> Spoken:
    """The slides whose speech result was written at or after ``started`` (a second's slack:
    S3 keeps whole seconds)."""
    if started is None or not manifest.slides:
        return Spoken(0)
    results = {job.speech_result(s.number) for s in manifest.slides}
    folder = job.speech_result(manifest.slides[0].number).rsplit("/", 1)[0]
    try:
        listed = storage.list_objects(folder)
    except Deck2VideoError:
        return Spoken(0)
    since = started.astimezone(UTC).replace(microsecond=0)
    times = sorted(o.modified for o in listed if o.url in results and o.modified >= since)
    return Spoken(len(times), times[0], times[-1]) if times else Spoken(0)


def seconds_left(manifest: Manifest, spoken: Spoken, running: Sequence[str]) -> float | None:
    """The time the run still needs, by this run's pace and the job's past timings; None when
    neither says anything yet."""
    slides = len(manifest.slides)
    ahead = () if _past(TaskId.ASSEMBLE, running) else TASK_STEPS[TaskId.ASSEMBLE]
    after = _recorded(manifest, ahead)
    if spoken.count >= slides:
        return after
    per_slide = None
    if spoken.count >= 2 and spoken.first and spoken.last and spoken.last > spoken.first:
        per_slide = (spoken.last - spoken.first).total_seconds() / (spoken.count - 1)
    elif (speak := manifest.stages.get("speak")) and speak.seconds and slides:
        per_slide = speak.seconds / slides
    if per_slide is None:
        return None
    return (slides - spoken.count) * per_slide + (after or 0.0)


def _past(task: str, running: Sequence[str]) -> bool:
    """Whether ``task`` has run already, judged by the task running now (tasks run in order)."""
    order = list(STEP_WORDS)
    now = max((order.index(t) for t in running if t in order), default=-1)
    return order.index(task) < now


def _recorded(manifest: Manifest, stages: Sequence[str]) -> float | None:
    found = [manifest.stages[s].seconds for s in stages if s in manifest.stages]
    known = [s for s in found if s is not None]
    return sum(known) if known else None


def step_words(running: Sequence[str]) -> str | None:
    for task in reversed(list(STEP_WORDS)):
        if task in running:
            return STEP_WORDS[task]
    return None
