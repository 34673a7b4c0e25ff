"""``deck2video``: run a whole deck, or one job step (what the Airflow tasks and images call).

Step subcommands take storage URLs and a slide number only, never note text, so that they are
safe to put in a templated container command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deck2video import __version__, job
from deck2video.airflow_names import EXIT_BAD_INPUT, EXIT_FAILED
from deck2video.config import Deployment, Setting, choosable, quality_choosable
from deck2video.errors import Deck2VideoError, InputError
from deck2video.manifest import Manifest
from deck2video.params import quality_from_params, settings_from_params
from deck2video.quality import summary_line as quality_line
from deck2video.roots import Roots

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

SHOWN_WARNINGS = 5  # the summary's quality warnings; the quality file has them all


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deck2video", description="Turn a .pptx with speaker notes into a narrated MP4."
    )
    parser.add_argument("--version", action="version", version=f"deck2video {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run every step for one deck in this process")
    _add_job_inputs(run)
    _add_settings(run, quality_choosable())
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    prepare = commands.add_parser("prepare", help="fetch, validate and render; prints the plan")
    _add_job_inputs(prepare)

    for name, help_text in (
        ("prepare-voice", "clean the reference recording"),
        ("assemble", "build output/video.mp4 and captions"),
        ("publish", "copy the video and captions to the output URL"),
        ("status", "print the job manifest"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--job", required=True, help="job URL (<root>/jobs/<job_id>)")
        if name == "publish":
            sub.add_argument("--out", required=True, help="where to publish the .mp4 (URL)")
            _add_roots(sub)

    smoke = commands.add_parser(
        "smoke", help="speech self-test: load the models, speak (and re-voice) one sentence"
    )
    smoke.add_argument("--backend", default="piper")
    smoke.add_argument("--language", default="en")
    smoke.add_argument("--voice", type=Path, help="reference WAV to clone (default: base voice)")

    speak = commands.add_parser("speak", help="synthesize slides' narration (models load once)")
    speak.add_argument("--job", required=True, help="job URL (<root>/jobs/<job_id>)")
    speak.add_argument(
        "--slide", required=True, type=int, nargs="+", help="slide number(s), 1-based"
    )
    speak.add_argument(
        "--take", type=int, nargs="+", default=[1],
        help="which recording: above 1 re-records the slide (one, or one per --slide)",
    )  # fmt: skip

    check = commands.add_parser("quality", help="score every slide's narration; check thresholds")
    check.add_argument("--job", required=True, help="job URL (<root>/jobs/<job_id>)")
    _add_settings(check, quality_choosable())
    return parser


def _add_job_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deck", required=True, help="the .pptx: path, file:// or s3:// URL")
    parser.add_argument("--voice", required=True, help="reference recording URL")
    parser.add_argument("--out", required=True, help="where to publish the .mp4 (URL)")
    parser.add_argument("--root", help="storage root for jobs and cache (default $DECK2VIDEO_ROOT)")
    parser.add_argument("--lexicon", help="pronunciation lexicon URL ('written = spoken' lines)")
    _add_roots(parser)
    _add_settings(parser, choosable())


def _add_settings(
    parser: argparse.ArgumentParser, settings: Iterable[tuple[str, Setting, Any]]
) -> None:
    """One option per setting, as config.py declares it."""
    for name, declared, default in settings:
        flag = f"--{name.replace('_', '-')}"
        described = declared.help.replace("%", "%%")  # argparse formats help with %
        if isinstance(default, bool):  # --x / --no-x; unset keeps the declared default
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=described
            )
        else:
            parser.add_argument(
                flag, type=type(default), default=default, help=f"{described} (%(default)s)"
            )


def _add_roots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--roots",
        metavar="PREFIXES",
        help="comma-separated URL prefixes the inputs may be read from and the outputs written "
        "under (default $DECK2VIDEO_READ_ROOTS / $DECK2VIDEO_WRITE_ROOTS, else anywhere)",
    )


def roots_from_args(args: argparse.Namespace) -> Roots:
    """The CLI runs a person's own files: anywhere, unless ``--roots`` or the deployment says."""
    return Roots.for_person(Deployment.from_env(), args.roots)


def _job_options(args: argparse.Namespace) -> dict[str, Any]:
    """What ``prepare`` and ``run`` take besides the deck and voice URLs."""
    return {
        "out_url": args.out,
        "root_url": args.root,
        "settings": settings_from_params(vars(args)),
        "lexicon_url": args.lexicon,
        "roots": roots_from_args(args),
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except InputError as error:
        print(f"deck2video: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Deck2VideoError as error:
        print(f"deck2video: failed: {error}", file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "prepare":
        plan = job.prepare(args.deck, args.voice, **_job_options(args))
        _print_json(asdict(plan))
    elif args.command == "prepare-voice":
        _print_json(job.prepare_voice(job.JobFolder.at(args.job)))
    elif args.command == "speak":
        _print_json(_speak(job.JobFolder.at(args.job), args.slide, args.take))
    elif args.command == "quality":
        checked = job.check_quality(job.JobFolder.at(args.job), quality_from_params(vars(args)))
        _print_json(asdict(checked))
    elif args.command == "assemble":
        _print_json(job.assemble(job.JobFolder.at(args.job)))
    elif args.command == "publish":
        published = job.publish(job.JobFolder.at(args.job), args.out, roots=roots_from_args(args))
        _print_json(asdict(published))
    elif args.command == "smoke":
        from deck2video.smoke import run_smoke

        report = run_smoke(args.backend, args.language, reference=args.voice)
        print("\n".join(report.lines()))
    elif args.command == "status":
        manifest = job.load_manifest(args.job)
        print(manifest.to_json())
        if manifest.quality is not None:  # for a person; stdout stays JSON for tools
            print(f"quality: {quality_line(manifest.quality)}", file=sys.stderr)
        for line in build_lines(manifest):
            print(line, file=sys.stderr)
        if manifest.fonts:
            print(manifest.fonts.get("summary", ""), file=sys.stderr)
    return 0


def build_lines(manifest: Manifest) -> list[str]:
    """One line per slide with click-build steps: how many, and when each starts."""
    lines = []
    for slide in manifest.slides:
        if slide.steps > 1:
            starts = ", ".join(f"{t:.1f}" for t in slide.step_starts) or "not assembled yet"
            lines.append(
                f"builds: slide {slide.source_index} ({slide.title}): {slide.steps} steps, "
                f"starting at {starts} s"
            )
    return lines


def _speak(folder: job.JobFolder, slides: list[int], takes: list[int]) -> Any:
    """One slide's result, or a list for several (the models load once for all of them)."""
    if len(takes) not in (1, len(slides)):
        raise InputError(f"speak: {len(takes)} takes for {len(slides)} slides; give 1 or one each")
    takes = takes * len(slides) if len(takes) == 1 else takes
    return job.speak_slides(folder, zip(slides, takes, strict=True))


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    with _progress(console) as progress:
        summary = job.run(
            args.deck,
            args.voice,
            **_job_options(args),
            quality=quality_from_params(vars(args)),
            progress=progress,
        )
    if args.json:
        _print_json(asdict(summary))
    else:
        _print_summary(summary)
    return 0


class _progress:
    """A rich progress bar per step on a terminal; silent otherwise (logs, CI)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Callable[[str, int, int], None] | None:
        if not self.console.is_terminal:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.bar.__enter__()
        return self.update

    def update(self, step: str, done: int, total: int) -> None:
        assert self.bar is not None  # handed out by __enter__ once the bar is made
        if step not in self.tasks:
            self.tasks[step] = self.bar.add_task(step, total=total)
        self.bar.update(self.tasks[step], completed=done, total=total)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_summary(summary: job.RunSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"deck2video job {summary.job_id}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("slides", str(summary.slides))
    table.add_row("narration", f"{summary.narration_seconds:.1f} s")
    table.add_row("video", f"{summary.video_seconds:.1f} s")
    table.add_row("synthesized / cached", f"{summary.synthesized} / {summary.cached}")
    for step, seconds in summary.stage_seconds.items():
        table.add_row(f"time: {step}", f"{seconds:.2f} s")
    table.add_row("total time", f"{sum(summary.stage_seconds.values()):.2f} s")
    table.add_row("job folder", summary.job_url)
    Console().print(table)
    if summary.quality is not None:
        print(f"quality: {quality_line(summary.quality)}")
        warnings = summary.quality.warnings
        for warning in warnings[:SHOWN_WARNINGS]:
            print(f"quality warning: {warning}")
        if len(warnings) > SHOWN_WARNINGS:
            print(f"quality warning: ... and {len(warnings) - SHOWN_WARNINGS} more")
    if summary.fonts:
        print(summary.fonts)
    print(f"video: {summary.video_url}")
    if summary.quality_url:
        print(f"quality report: {summary.quality_url}")


if __name__ == "__main__":
    sys.exit(main())
