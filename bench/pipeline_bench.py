"""`make bench`: the whole pipeline on a 30-slide deck with about 10 minutes of narration.

Prints time per stage, the real-time factor (run time / video duration), the narration-quality
step's share of a cold run (CPU time, and wall time against the same run without it), a cold run
against a re-run with one slide's notes edited, and assembly against a plain MoviePy baseline on
the same inputs. Every ratio is measured within this one run, since the machine is shared and noisy.

    .venv/bin/python -m bench.pipeline_bench [--slides 30] [--minutes 10] [--no-baseline]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import inputs
from bench.assembly import moviepy_baseline
from deck2video import job, samples, storage
from deck2video.assemble import SlideClip, assemble_video
from deck2video.captions import Cue
from deck2video.job import load_manifest
from deck2video.roots import Roots

GOALS = {"rtf": 0.15, "assembly_speedup": 10.0, "edit_ratio": 0.10, "quality_share": 0.10}


def timed_run(deck: Path, voice: Path, root: Path, out: Path) -> tuple[job.RunSummary, float]:
    began = time.perf_counter()
    summary = job.run(str(deck), str(voice), out_url=str(out), root_url=str(root))
    return summary, time.perf_counter() - began


def unscored_run(deck: Path, voice: Path, root: Path, out: Path) -> float:
    """The same cold run without the quality step, for its wall-clock cost: the steps ``job.run``
    calls, less that one. Runs second, with the models already loaded and the caches of the
    operating system warm, so the difference overstates the cost rather than hides it."""
    began = time.perf_counter()
    anywhere = Roots.anywhere()  # a person's own run, as job.run's
    plan = job.prepare(str(deck), str(voice), out_url=str(out), root_url=str(root), roots=anywhere)
    folder = job.JobFolder(plan.job_url)
    job.prepare_voice(folder)
    for slide in plan.slides:
        job.speak_slide(folder, slide.number)
    job.assemble(folder)
    job.publish(folder, str(out), roots=anywhere)
    return time.perf_counter() - began


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished children (LibreOffice,
    ffmpeg): on a shared machine, less at the mercy of the others than wall time."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def job_clips(job_url: str) -> tuple[list[SlideClip], list[float]]:
    """The cold job's own slides and narration, as assemble_video takes them."""
    manifest = load_manifest(job_url)
    folder = Path(storage.parse(job_url).key)
    clips, lengths = [], []
    for slide in manifest.slides:
        clips.append(
            SlideClip(
                image=folder / f"slides/{slide.number:04d}.png",
                audio=folder / f"audio/{slide.number:04d}.wav",
                title=slide.title,
                cues=(Cue(0.0, slide.duration or 0.0, slide.title),),
            )
        )
        assert slide.start is not None, "the cold job is assembled"
        assert slide.end is not None, "the cold job is assembled"
        lengths.append(slide.end - slide.start)
    return clips, lengths


def compare_assembly(job_url: str, work: Path, baseline: bool) -> tuple[float, float | None]:
    clips, lengths = job_clips(job_url)
    began = time.perf_counter()
    assemble_video(clips, work / "ours", padding=0.5, min_slide_seconds=2.0, timeout=1800)
    ours = time.perf_counter() - began
    if not baseline:
        return ours, None
    began = time.perf_counter()
    moviepy_baseline(
        [c.image for c in clips], [c.audio for c in clips], lengths, work / "moviepy.mp4"
    )
    return ours, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow MoviePy run")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="deck2video-bench-") as tmp:
        work = Path(tmp)
        slides = inputs.bench_slides(args.slides, args.minutes)
        deck = samples.build_deck(work / "bench.pptx", slides)
        voice = samples.make_reference_voice(work / "voice.wav")
        root = work / "root"

        console.print(f"cold run: {args.slides} slides, ~{args.minutes:g} min of narration ...")
        cpu_before = cpu_seconds()
        cold, cold_s = timed_run(deck, voice, root, work / "cold.mp4")
        cold_cpu = cpu_seconds() - cpu_before
        console.print("the same cold run without the quality step ...")
        unscored_s = unscored_run(deck, voice, work / "unscored", work / "unscored.mp4")

        edited = list(slides)
        middle = len(edited) // 2
        edited[middle] = replace(edited[middle], notes=edited[middle].notes + " One more line.")
        edited_deck = samples.build_deck(work / "edited" / "bench.pptx", edited)
        console.print("re-run with one slide's notes edited ...")
        cpu_before = cpu_seconds()
        edit, edit_s = timed_run(edited_deck, voice, root, work / "edited.mp4")
        edit_cpu = cpu_seconds() - cpu_before
        encoded = load_manifest(edit.job_url).stages["assemble"].detail["encoded"]

        console.print("assembly: deck2video vs MoviePy baseline (24 fps) on the same inputs ...")
        ours_s, moviepy_s = compare_assembly(cold.job_url, work, not args.no_baseline)

    table = Table(title="deck2video benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    for step, seconds in cold.stage_seconds.items():
        table.add_row(f"cold: {step}", f"{seconds:.2f} s", "")
    table.add_row("cold: total", f"{cold_s:.2f} s", "")
    table.add_row("video duration", f"{cold.video_seconds:.1f} s", "")
    # Most of the scoring runs in a background thread while the next slides are spoken, so the
    # quality step's own time is not its cost; its CPU time, against the whole run's, is.
    quality_s = cold.stage_seconds.get("quality", 0.0)
    ahead = f"{cold.quality_ahead_seconds:.2f} s"
    table.add_row("cold: quality scored ahead (background, wall)", ahead, "")
    table.add_row("cold: CPU time, whole run", f"{cold_cpu:.2f} s", "")
    table.add_row("cold: CPU time, narration quality", f"{cold.quality_cpu_seconds:.2f} s", "")
    table.add_row(
        "quality share of the cold run (CPU)",
        f"{cold.quality_cpu_seconds / cold_cpu:.3f}",
        f"< {GOALS['quality_share']}",
    )
    table.add_row(
        "quality step's own share of the cold run (wall)", f"{quality_s / cold_s:.3f}", ""
    )
    table.add_row("cold run without the quality step", f"{unscored_s:.2f} s", "")
    table.add_row("quality share of the cold run (wall, A/B)", f"{1 - unscored_s / cold_s:.3f}", "")
    rtf = cold_s / cold.video_seconds
    table.add_row("real-time factor (total / video)", f"{rtf:.3f}", f"< {GOALS['rtf']}")
    table.add_row("edited re-run (slides synthesized)", f"{edit_s:.2f} s ({edit.synthesized})", "")
    for step, seconds in edit.stage_seconds.items():
        table.add_row(f"edited: {step}", f"{seconds:.2f} s", "")
    table.add_row("edited re-run / cold", f"{edit_s / cold_s:.3f}", f"< {GOALS['edit_ratio']}")
    # CPU time is less at the mercy of a shared machine than wall time.
    table.add_row("edited re-run / cold (CPU)", f"{edit_cpu / cold_cpu:.3f}", "")
    table.add_row(
        "edited: encoded (slides' sound, stills)",
        f"{encoded['sound']}, {encoded['stills']}",
        "",
    )
    table.add_row("assembly: deck2video", f"{ours_s:.2f} s", "")
    if moviepy_s is not None:
        table.add_row("assembly: MoviePy baseline", f"{moviepy_s:.2f} s", "")
        table.add_row(
            "assembly speed-up", f"{moviepy_s / ours_s:.1f}x", f">= {GOALS['assembly_speedup']}x"
        )
    console.print(table)


if __name__ == "__main__":
    main()
