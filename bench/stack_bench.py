"""`make bench-stack`: what a speak task costs in the real executor, and decks per hour.

Starts the compose stack (scripts/stack/: CeleryExecutor, Postgres, Redis, SeaweedFS, dockerd,
a cpu and a gpu worker) once and runs batches of generated decks through it, switching the
deployment settings between batches as an operator would (edit .env, restart the services):

1. the in-worker runner (``DECK2VIDEO_SPEECH_RUNNER=local``), one slide a task (the old way);
2. the Docker runner (the speech image per task), one slide a task (the old compose default);
3. (``--group N``) the Docker runner with N slides a task;
4. the Docker runner with speech tasks sized automatically: the compose default;
5. the same decks through ``deck2video run`` (the CLI, no Airflow), as many at once as the stack
   runs speech tasks at once, against the same object store: the pipeline's own throughput.

For every speak task it reports, from Airflow's task-instance records and the step's own
timings (audio/NNNN.json): the queued-to-running latency; the fixed cost inside the task
(everything but synthesis: process or container start, imports, the DAG file parse, the model
load, storage); the model load alone; and the synthesis time per slide. Batches 2 to 5 are
10 decks of 10 slides each, triggered at once: decks per hour on this machine. It ends with
``stack/CLI throughput ratio`` (batch 4's decks per hour over batch 5's) and ``fixed cost
share`` (the median over batch 4's speak tasks of fixed cost / task time). Every figure comes
from this one run (the machine is shared and noisy).

    .venv/bin/python -m bench.stack_bench [--decks 10] [--slides 10] [--probe-decks 2] [--group 0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deck2video import samples, storage
from deck2video.airflow_names import TaskId, XComKey
from deck2video.speech_items import label_span
from scripts.stack import BUCKET, Api, Stack, parse_time

# The stack's size for the benchmark: two speech tasks at once on this 2-core machine.
VARIABLES = {"GPU_SLOTS": "2", "GPU_WORKER_CONCURRENCY": "2", "CPU_WORKER_CONCURRENCY": "2"}
RUN_TIMEOUT = 3600.0
TOPICS = ["pricing", "the roadmap", "hiring", "security", "the budget", "our customers",
          "support", "the launch", "quality", "next steps"]  # fmt: skip


CLI = Path(sys.executable).parent / "deck2video"
CLI_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Batch:
    name: str
    runner: str  # local, docker, or cli: deck2video run without Airflow
    per_task: int  # 0: sized automatically
    decks: int


@dataclass(frozen=True)
class SpeakTask:
    slides: int
    queued: float  # queued -> running, s
    wall: float  # running -> done, s
    step: float  # inside the speak step(s): load + synthesis + storage
    load: float  # model load inside the step(s)
    synthesis: float  # sum over the task's slides

    @property
    def fixed(self) -> float:
        """What the task costs besides synthesizing: paid per task, whatever its slides."""
        return self.wall - self.synthesis

    @property
    def outside(self) -> float:
        """Process / container start, imports, the DAG parse: before the step runs."""
        return self.wall - self.step


@dataclass
class Result:
    batch: Batch
    tasks: list[SpeakTask]
    slide_synthesis: list[float]
    seconds: float  # first trigger -> last run finished
    states: dict[str, str]

    @property
    def decks_per_hour(self) -> float:
        return self.batch.decks / (self.seconds / 3600)


def make_deck(folder: Path, batch: str, deck: int, slides: int) -> Path:
    """Notes and titles unique to the batch and deck: no render or speech cache hits."""
    specs = [
        samples.SampleSlide(
            f"{batch} deck {deck} part {n}",
            f"Part {n} of deck {deck} is about {TOPICS[(n + deck) % len(TOPICS)]}. "
            f"We look at what changed in the {batch} batch, and why it matters to the team.",
        )
        for n in range(1, slides + 1)
    ]
    return samples.build_deck(folder / f"{batch}-{deck}.pptx", specs)


def trigger(api: Api, conf: dict) -> str:
    status, body = api.call(
        "POST", "/api/v2/dags/deck_to_video/dagRuns", {"logical_date": None, "conf": conf}
    )
    if status != 200:
        raise SystemExit(f"trigger refused ({status}): {body}")
    return body["dag_run_id"]


def wait(api: Api, run_ids: list[str]) -> dict[str, str]:
    """Each run's final state. One listing a second: the batch's end is known to the second
    (the CLI's is exact), and polling costs the api-server one request, not one per run."""
    deadline = time.monotonic() + RUN_TIMEOUT
    wanted = set(run_ids)
    while time.monotonic() < deadline:
        _, body = api.call(
            "GET", "/api/v2/dags/deck_to_video/dagRuns?limit=100&order_by=-run_after"
        )
        states = {
            run["dag_run_id"]: run["state"]
            for run in body["dag_runs"]
            if run["dag_run_id"] in wanted
        }
        if len(states) == len(wanted) and all(s in ("success", "failed") for s in states.values()):
            return states
        time.sleep(1)
    raise SystemExit(f"runs not finished within {RUN_TIMEOUT:.0f} s")


def job_url_of(api: Api, run_id: str) -> str:
    """The run's job folder: the id prepare pushed, under the stack's root (compose's
    DECK2VIDEO_ROOT, the bucket itself)."""
    _, entry = api.call(
        "GET",
        f"/api/v2/dags/deck_to_video/dagRuns/{run_id}/taskInstances/{TaskId.PREPARE}"
        f"/xcomEntries/{XComKey.JOB_ID}",
    )
    if "value" not in entry:
        raise SystemExit(f"run {run_id}: no job id from prepare ({entry})")
    return storage.join(f"s3://{BUCKET}", "jobs", str(entry["value"]).strip('"'))


def speak_tasks(api: Api, run_id: str) -> tuple[list[SpeakTask], list[float]]:
    _, body = api.call(
        "GET", f"/api/v2/dags/deck_to_video/dagRuns/{run_id}/taskInstances?limit=1000"
    )
    job_url = job_url_of(api, run_id)
    tasks, per_slide = [], []
    for ti in body["task_instances"]:
        if ti["task_id"] != "speak" or ti["state"] != "success":
            continue
        results = [
            json.loads(storage.read_bytes(storage.join(job_url, f"audio/{n:04d}.json")))
            for n in label_span(ti["rendered_map_index"])  # no hidden slides in these decks
        ]
        per_slide += [r.get("synthesis_seconds", 0.0) for r in results]
        start, end = parse_time(ti["start_date"]), parse_time(ti["end_date"])
        tasks.append(
            SpeakTask(
                slides=len(results),
                queued=(start - parse_time(ti["queued_when"])).total_seconds(),
                wall=(end - start).total_seconds(),
                step=sum(r["seconds"] for r in results),
                load=sum(r.get("load_seconds", 0.0) for r in results),
                synthesis=sum(r.get("synthesis_seconds", 0.0) for r in results),
            )
        )
    return tasks, per_slide


def run_cli_batch(batch: Batch, confs: list[dict], root: str) -> Result:
    """The decks through ``deck2video run``, as many at once as the stack's speech slots."""

    def run_one(conf: dict) -> str:
        done = subprocess.run(
            [str(CLI), "run", "--deck", conf["deck_url"], "--voice", conf["voice_url"],
             "--out", conf["out_url"], "--root", root, "--resolution", conf["resolution"]],
            capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
        )  # fmt: skip
        return "success" if done.returncode == 0 else f"failed: {done.stderr.strip()[-300:]}"

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=int(VARIABLES["GPU_SLOTS"])) as pool:
        states = list(pool.map(run_one, confs))
    seconds = time.monotonic() - began
    return Result(
        batch, [], [], seconds, {c["deck_url"]: s for c, s in zip(confs, states, strict=True)}
    )


def run_batch(stack: Stack, batch: Batch, slides: int, voice_url: str, folder: Path) -> Result:
    tag = re.sub(r"[^a-z0-9]+", "-", batch.name.lower()).strip("-")
    decks = [make_deck(folder, tag, d, slides) for d in range(1, batch.decks + 1)]
    confs = [
        {
            "deck_url": storage.upload(deck, f"s3://{BUCKET}/bench/{tag}/{deck.name}"),
            "voice_url": voice_url,
            "out_url": f"s3://{BUCKET}/bench/{tag}/out/{deck.stem}.mp4",
            "resolution": "1280x720",
        }
        for deck in decks
    ]
    if batch.runner == "cli":
        return run_cli_batch(batch, confs, f"s3://{BUCKET}/bench-cli")
    stack.restart_airflow(  # compose's variables, as an edit of .env changes them
        variables={
            "DECK2VIDEO_SPEECH_RUNNER": batch.runner,
            "DECK2VIDEO_SPEECH_SLIDES_PER_TASK": str(batch.per_task),
        }
    )
    api = stack.api()
    began = time.monotonic()
    run_ids = [trigger(api, conf) for conf in confs]
    states = wait(api, run_ids)
    seconds = time.monotonic() - began
    tasks, per_slide = [], []
    for run_id in run_ids:
        found, synthesis = speak_tasks(api, run_id)
        tasks += found
        per_slide += synthesis
    return Result(batch, tasks, per_slide, seconds, states)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: list[Result], console: Console) -> None:
    table = Table(title="speak tasks in the CeleryExecutor (medians, seconds)")
    for column in ("batch", "tasks", "slides/task", "queued->running", "fixed/task",
                   "  start+imports+parse", "  model load", "synthesis/slide", "fixed/slide",
                   "decks/hour"):  # fmt: skip
        table.add_column(column, justify="left" if column == "batch" else "right")
    for r in results:
        if not r.tasks:  # the CLI: no speak tasks
            throughput = f"{r.decks_per_hour:.0f} ({r.batch.decks} in {r.seconds:.0f} s)"
            table.add_row(r.batch.name, *["-"] * 8, throughput)
            continue
        per_slide_fixed = [t.fixed / t.slides for t in r.tasks]
        table.add_row(
            r.batch.name,
            str(len(r.tasks)),
            f"{median([t.slides for t in r.tasks]):.0f}",
            f"{median([t.queued for t in r.tasks]):.2f}",
            f"{median([t.fixed for t in r.tasks]):.2f}",
            f"{median([t.outside for t in r.tasks]):.2f}",
            f"{median([t.load for t in r.tasks]):.2f}",
            f"{median(r.slide_synthesis):.2f}",
            f"{median(per_slide_fixed):.2f}",
            f"{r.decks_per_hour:.0f} ({r.batch.decks} in {r.seconds:.0f} s)",
        )
    console.print(table)
    for r in results:
        failed = [k for k, v in r.states.items() if v != "success"]
        if failed:
            console.print(f"[red]{r.batch.name}: {len(failed)} run(s) failed: {failed}[/red]")
        if not r.tasks:
            continue
        fixed = median([t.fixed / t.slides for t in r.tasks])
        synth = median(r.slide_synthesis)
        verdict = "larger" if fixed > synth else "smaller"
        console.print(
            f"{r.batch.name}: the fixed cost per slide, {fixed:.2f} s, is {verdict} than a "
            f"median slide's synthesis ({synth:.2f} s)"
        )
    by_runner = {r.batch.runner: r for r in results if r.batch.per_task == 0}
    sized, cli = by_runner.get("docker"), by_runner.get("cli")
    if sized is not None and cli is not None:
        console.print(
            f"stack/CLI throughput ratio: {sized.decks_per_hour / cli.decks_per_hour:.2f}"
        )
    if sized is not None:
        console.print(f"fixed cost share: {median([t.fixed / t.wall for t in sized.tasks]):.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decks", type=int, default=10, help="decks per throughput batch")
    parser.add_argument("--slides", type=int, default=10, help="slides per deck")
    parser.add_argument("--probe-decks", type=int, default=2, help="decks of the local batch")
    parser.add_argument("--group", type=int, default=0, help="slides per task, batch 3 (0: none)")
    args = parser.parse_args(argv)
    console = Console(width=170)
    batches = [
        Batch("local runner, 1 slide/task", "local", 1, args.probe_decks),
        Batch("docker runner, 1 slide/task", "docker", 1, args.decks),
        *([Batch(f"docker runner, {args.group} slides/task", "docker", args.group, args.decks)]
          if args.group else []),
        Batch("docker runner, sized (default)", "docker", 0, args.decks),
        Batch(f"deck2video run, {VARIABLES['GPU_SLOTS']} at once", "cli", 0, args.decks),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="d2v-bench-", dir="/tmp") as tmp:
        Path(tmp).chmod(0o711)  # postgres runs as its own user: it must reach the stack's home
        home, folder = Path(tmp) / "stack", Path(tmp) / "decks"
        folder.mkdir()
        say = lambda line: console.print(f"[dim]stack | {line}[/dim]")  # noqa: E731
        began = time.monotonic()
        with Stack(home, variables=dict(VARIABLES), say=say) as stack:
            console.print(f"stack ready in {time.monotonic() - began:.0f} s")
            os.environ.update(stack.storage_env())
            voice = samples.make_reference_voice(folder / "voice.wav")
            voice_url = storage.upload(voice, f"s3://{BUCKET}/bench/voice.wav")
            results = []
            for batch in batches:
                console.print(f"batch: {batch.name}, {batch.decks} decks of {args.slides} slides")
                results.append(run_batch(stack, batch, args.slides, voice_url, folder))
                console.print(f"  done in {results[-1].seconds:.0f} s")
        report(results, console)


if __name__ == "__main__":
    main()
