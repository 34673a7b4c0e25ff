#!/usr/bin/env bash
# `make demo`: the real deck_to_video DAG on a generated sample deck and voice, run once with
# `airflow dags test` (every task in this process, no servers), on local storage with the
# in-process speech task. Prints where the MP4 and captions are and a one-line summary.
#
#   scripts/demo.sh [DEMO_DIR]          (default demo-output; needs `make install` first)
#
# Everything it writes stays under DEMO_DIR: the inputs, the job store (DEMO_DIR/store), the
# video (DEMO_DIR/demo.mp4 + .vtt/.srt) and a private Airflow home with its SQLite DB
# (DEMO_DIR/airflow), so it neither needs nor touches the `make airflow` instance in .airflow/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac
demo_dir="${1:-demo-output}"
mkdir -p "$demo_dir"
demo_dir="$(cd "$demo_dir" && pwd)"   # the DAG's params accept absolute locations only

for tool in python airflow deck2video; do
    if [ ! -x "$venv/bin/$tool" ]; then
        echo "demo: $venv/bin/$tool is missing; run 'make install' first" >&2
        exit 1
    fi
done

started=$SECONDS
step() { printf '\n==> [%3ds] %s\n' "$((SECONDS - started))" "$*"; }

step "sample inputs in $demo_dir"
"$venv/bin/python" -m deck2video.samples demo "$demo_dir"

# The embedded default: no deployment settings from the caller's shell leak into this run.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(DECK2VIDEO_|AIRFLOW__)')
export AIRFLOW_HOME="$demo_dir/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$repo/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__LOGGING__LOGGING_LEVEL="${DEMO_LOG_LEVEL:-WARNING}"
# Library deprecation chatter (graphviz, pathspec, httpx) is not the demo's business.
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
export DECK2VIDEO_ROOT="$demo_dir/store"
export DECK2VIDEO_SPEECH_RUNNER=local
# The demo's deck, voice and video live in its own folder: the roots runs may use.
export DECK2VIDEO_READ_ROOTS="$demo_dir" DECK2VIDEO_WRITE_ROOTS="$demo_dir"
mkdir -p "$AIRFLOW_HOME"
airflow() { "$venv/bin/airflow" "$@"; }

step "Airflow metadata DB ($AIRFLOW_HOME/airflow.db)"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || {
    tail -n 20 "$AIRFLOW_HOME/db-migrate.log" >&2
    exit 1
}
# The speech task runs in the "gpu" pool; here it is the one slot of this machine.
airflow pools set gpu 1 "speech synthesis (demo)" >/dev/null

deck="$demo_dir/demo.pptx"
voice="$demo_dir/voice.wav"
out="$demo_dir/demo.mp4"
conf="$("$venv/bin/python" -c 'import json, sys; print(json.dumps(dict(
    deck_url=sys.argv[1], voice_url=sys.argv[2], out_url=sys.argv[3], resolution="1280x720")))' \
    "$deck" "$voice" "$out")"

step "airflow dags test deck_to_video --conf '$conf'"
run_log="$AIRFLOW_HOME/dags-test.log"
if ! airflow dags test deck_to_video --conf "$conf" 2>&1 | tee "$run_log"; then
    echo "demo: the DAG run failed; the log is $run_log" >&2
    exit 1
fi

# The job that published $out: its manifest names the published files.
step "result"
"$venv/bin/python" - "$DECK2VIDEO_ROOT" "$out" "$((SECONDS - started))" "$venv" <<'PY'
import json
import sys
from pathlib import Path

root, out, seconds, venv = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
manifests = [json.loads(p.read_text()) for p in (root / "jobs").glob("*/manifest.json")]
mine = [m for m in manifests if any(p["video_url"] == out for p in m.get("published", []))]
if not mine:
    sys.exit(f"demo: no job under {root}/jobs published {out}")
job = max(mine, key=lambda m: m["updated"])
if job["status"] != "completed" or not Path(out).is_file():
    sys.exit(f"demo: job {job['job_id']} is {job['status']}: {job.get('reason')}")
slides = job["slides"]
silent = sum(1 for s in slides if s["silent"])
cached = sum(1 for s in slides if not s["silent"] and s["synthesized"] is False)
video_seconds = job["stages"]["assemble"]["detail"].get("video_seconds", 0.0)
steps = ", ".join(
    f"{name} {stage['seconds']:.1f} s"
    for name, stage in job["stages"].items()
    if stage.get("seconds") is not None
)
job_url = f"{root}/jobs/{job['job_id']}"
published = next(p for p in job["published"] if p["video_url"] == out)
for key in ("video_url", "vtt_url", "srt_url", "quality_url"):
    if published.get(key):
        print(f"{key.removesuffix('_url') + ':':14}{published[key]}")
print(f"{'job:':14}{job_url}  (details: {venv}/bin/deck2video status --job {job_url})")
print(
    f"{'summary:':14}{job['status']}: {len(slides)} slides ({silent} silent), "
    f"{video_seconds:.1f} s of video, narration of {cached} slides from the cache; "
    f"steps: {steps}; the demo took {seconds} s"
)
PY
