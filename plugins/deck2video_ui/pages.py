"""What each page says, put together from Airflow's runs and the jobs' folders: a job's status
in words, its failing step and reason, its approval, and the conf of a re-take."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from deck2video.params import out_url_for
from deck2video.plaintext import markdown_literal
from deck2video_ui.jobs import JobView
from deck2video_ui.runs import Run

# A job's manifest status, as a person reads it.
_STATUS_WORDS = {
    "pending": "queued",
    "processing_slides": "rendering slides",
    "synthesizing_audio": "speaking",
    "assembling_video": "assembling",
    "completed": "completed",
    "failed": "failed",
}


@dataclass(frozen=True)
class Status:
    label: str
    tone: str  # ok | busy | wait | bad | off: the badge's colour
    step: str | None = None  # the failing step
    reason: str | None = None  # its one-line reason, or what a waiting run waits for


@dataclass(frozen=True)
class JobRow:
    """One line of the jobs page: a job (or a run that failed before it made one)."""

    run: Run  # the newest run of the job
    job: JobView | None
    runs: int

    @property
    def deck_name(self) -> str:
        return self.job.deck_name if self.job else self.run.deck_name

    @property
    def voice_name(self) -> str:
        """The recording it speaks with: what tells two jobs of one deck apart."""
        voice = str(self.run.conf.get("voice_url") or "")
        return voice.rstrip("/").rsplit("/", 1)[-1]

    @property
    def status(self) -> Status:
        return status_of(self.run, self.job)


def job_rows(runs: Sequence[Run], jobs: dict[str, JobView | None]) -> list[JobRow]:
    """The runs (newest first) folded into one row per job, in order of each job's newest run."""
    rows: dict[str, JobRow] = {}
    for run in runs:
        key = run.job_id or f"run:{run.run_id}"
        if key in rows:
            known = rows[key]
            rows[key] = JobRow(known.run, known.job, known.runs + 1)
        else:
            rows[key] = JobRow(run, jobs.get(run.job_id) if run.job_id else None, 1)
    return list(rows.values())


def status_of(run: Run, job: JobView | None) -> Status:
    """A run's state in the words of its job: what it is doing, or why it stopped."""
    approval = run.approval
    if run.state == "failed":
        failure = run.failure
        if failure is not None:
            return Status("failed", "bad", failure.step, failure.reason)
        if job is not None and job.status == "failed":
            return Status("failed", "bad", job.stage, job.reason)
        return Status("failed", "bad")
    if approval is not None and approval.state == "rejected":
        by = f" by {approval.by}" if approval.by else ""
        return Status("rejected", "off", "approve", f"Rejected{by}; nothing was published.")
    if run.state == "success":
        return Status("completed", "ok")
    if run.state == "queued":
        return Status("queued", "busy")
    if approval is not None and approval.state == "waiting":
        return Status("awaiting approval", "wait", "approve", "Waiting for someone to approve.")
    # A running re-take's job is still "completed" (the video it replaces): not its run's state.
    if (
        job is not None
        and job.status in _STATUS_WORDS
        and job.status not in ("failed", "completed")
    ):
        return Status(_STATUS_WORDS[job.status], "busy")
    return Status("running", "busy")


def working(runs: Sequence[Run]) -> Run | None:
    """A run of the job still at work (not just waiting for an approval): a re-take now would
    race it for the same files, so the page offers none until it ends."""
    for run in runs:
        waiting = run.approval is not None and run.approval.state == "waiting"
        if run.state in ("queued", "running") and not waiting:
            return run
    return None


def output_url(run: Run) -> str | None:
    """Where the run publishes its video (its own param, else next to the deck)."""
    if not run.conf.get("deck_url"):
        return None
    return out_url_for(run.conf)


def retake_out_url(job: JobView) -> str:
    """Where a re-take publishes unless the user says otherwise: next to the job's deck."""
    return out_url_for(job.conf)


def retake_request(
    job: JobView,
    runs: Sequence[Run],
    slide: int,
    started_by: str | None,
    out_url: str | None = None,
    take: int | None = None,
) -> dict | None:
    """The body of Airflow's "trigger a run" request that re-takes one slide of a job, or
    (``take``) puts an earlier take of it back into the video.

    It asks for the job's own inputs and settings (from its manifest), published to the
    clicking user's ``out_url`` (default: :func:`retake_out_url`), with every re-take already
    in the video and the next take of ``slide`` (or ``take``, one the slide has: its audio is
    in the cache, so nothing is recorded again and the next assembly uses it). No run's conf is
    repeated: another user may have written it. None when the job has no run yet, no such
    slide, or no such take.
    """
    found = next((s for s in job.outline if s.number == slide), None)
    if not runs or not job.conf or found is None or (take and take not in found.takes):
        return None
    chosen = take is not None
    if not chosen:  # any run's take of the slide counts: never ask for the same take twice
        asked = [run.takes.get(slide, 1) for run in runs]
        take = max([found.take, *asked]) + 1
    # The other slides keep the takes in the video: an earlier run's re-take that was since
    # replaced (a take chosen again) stays replaced.
    takes = {**job.takes, slide: take}
    # Airflow renders the note as Markdown: the deck's and the user's names are literal text.
    by = f" by {markdown_literal(started_by)}" if started_by else ""
    deck = markdown_literal(job.deck_name)
    what = (
        f"Take {take} of slide {slide} of {deck} chosen again"
        if chosen
        else f"Re-take of slide {slide} (take {take}) of {deck}"
    )
    return {
        "logical_date": None,
        "conf": {
            **job.conf,
            "out_url": out_url or retake_out_url(job),
            "takes": {str(n): t for n, t in sorted(takes.items())},
        },
        "note": f"{what}, asked for{by} on the deck2video page.",
    }


_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# A link the notes' writers made (run_notes.watch_note): user text has its brackets escaped.
_MARKDOWN_LINK = re.compile(r"(?<!\\)\[([^\]\\]*)\]\([^)\s]*\)")


def note_text(note: str | None) -> str:
    """A run's note (Markdown, as Airflow renders it) as the plain text a page shows: a link as
    its text, the backslash escapes of punctuation undone, the way Markdown reads them."""
    return _MARKDOWN_ESCAPE.sub(r"\1", _MARKDOWN_LINK.sub(r"\1", note or ""))


def when(moment: datetime | str | None) -> str:
    """``2026-12-01 09:40 UTC``."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        text = moment
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def seconds(value: float | None) -> str:
    """``0:07``, ``12:05``, ``1:02:03``."""
    if value is None:
        return ""
    total = round(value)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def timestamp(value: float) -> str:
    """``1:05.2``: a cue's time, to a tenth of a second."""
    minutes, secs = divmod(max(0.0, value), 60)
    return f"{int(minutes)}:{secs:04.1f}"


# The templates' filters: the app's Jinja environment and the tests' take them from here.
FILTERS = {"when": when, "seconds": seconds, "timestamp": timestamp, "note": note_text}
