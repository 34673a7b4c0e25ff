#!/usr/bin/env bash
# `make airflow`: a local Airflow 3 with the deck2video DAGs, in the foreground until Ctrl-C.
#
#   scripts/airflow_local.sh            (needs `make install` first)
#
# Runs the api-server (UI + REST API v2) on 127.0.0.1:8080, the scheduler (LocalExecutor), the
# dag-processor and the triggerer, with the deck2video plugin (plugins/: the Videos page), with
# AIRFLOW_HOME=.airflow (SQLite DB, logs, the admin's password). Before
# starting it creates the `gpu` pool and the `deck2video_storage` connection and, once the DAGs
# are parsed, unpauses deck_to_video. Ctrl-C stops every process it started.
#
# Environment (all optional):
#   AIRFLOW_PORT                 port of the UI / API (default 8080)
#   GPU_SLOTS                    size of the gpu pool: speech tasks at once (default 1)
#   AIRFLOW_PARALLELISM          task processes at once (default 4)
#   DECK2VIDEO_ROOT              job store (default .airflow/store; inbox DAG: <root>/inbox)
#   DECK2VIDEO_READ_ROOTS, DECK2VIDEO_WRITE_ROOTS
#                                where runs may read decks and publish videos (default: <root>
#                                and its inbox / outbox; docs/security.md)
#   DECK2VIDEO_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION
#                                S3 storage (MinIO, ...): used by the tasks and copied into the
#                                deck2video_storage connection
#   DECK2VIDEO_*                 other deployment settings: include/deck2video/config.py (Deployment)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac
airflow_bin="$venv/bin/airflow"
python_bin="$venv/bin/python"
if [ ! -x "$airflow_bin" ]; then
    echo "airflow: $airflow_bin is missing; run 'make install' first" >&2
    exit 1
fi

port="${AIRFLOW_PORT:-8080}"
base_url="http://127.0.0.1:$port"
gpu_slots="${GPU_SLOTS:-1}"
case "$gpu_slots" in '' | *[!0-9]*) echo "airflow: GPU_SLOTS=$gpu_slots: not a number" >&2; exit 1 ;; esac

export AIRFLOW_HOME="$repo/.airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$repo/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW_PARALLELISM:-4}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$port"
export AIRFLOW__API__BASE_URL="$base_url"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$base_url/execution/"
# A new or edited DAG file shows up within seconds rather than minutes.
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
export DECK2VIDEO_ROOT="${DECK2VIDEO_ROOT:-$AIRFLOW_HOME/store}"
# Library deprecation chatter (graphviz, pathspec, httpx) only buries the useful lines.
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
mkdir -p "$AIRFLOW_HOME"
airflow() { "$airflow_bin" "$@"; }
say() { printf 'airflow-local | %s\n' "$*"; }

if "$python_bin" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
    "$port" 2>/dev/null; then
    echo "airflow: 127.0.0.1:$port is in use (another Airflow?); set AIRFLOW_PORT" >&2
    exit 1
fi

say "metadata DB: $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || {
    tail -n 20 "$AIRFLOW_HOME/db-migrate.log" >&2
    exit 1
}

# The admin's password: the simple auth manager's own file, made here (once) so that it can be
# printed below; the api-server keeps what it finds there.
password_file="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
if [ ! -s "$password_file" ]; then
    (umask 077 && "$python_bin" -c 'import json, secrets, sys
print(json.dumps({"admin": secrets.token_urlsafe(12)}))' >"$password_file")
fi
password="$("$python_bin" -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' \
    "$password_file")"

say "pool gpu: $gpu_slots slot(s)"
airflow pools set gpu "$gpu_slots" "speech synthesis (deck2video speak tasks)" >/dev/null

# The storage connection (the speech container's S3 endpoint and credentials), from a private
# temporary file so that no secret shows up in a process list.
connection_file="$(umask 077 && mktemp "$AIRFLOW_HOME/connection.XXXXXX.json")"
"$python_bin" - "$connection_file" <<'PY'
import json
import os
import sys

extra = {}
if os.environ.get("DECK2VIDEO_S3_ENDPOINT_URL"):
    extra["endpoint_url"] = os.environ["DECK2VIDEO_S3_ENDPOINT_URL"]
region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
if region:
    extra["region_name"] = region
connection = {"conn_type": "aws", "extra": json.dumps(extra)}
if os.environ.get("AWS_ACCESS_KEY_ID"):
    connection["login"] = os.environ["AWS_ACCESS_KEY_ID"]
    connection["password"] = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
with open(sys.argv[1], "w") as file:
    json.dump({"deck2video_storage": connection}, file)
PY
say "connection deck2video_storage: aws, endpoint ${DECK2VIDEO_S3_ENDPOINT_URL:-(AWS default)}"
imported=0
airflow connections import --overwrite "$connection_file" >/dev/null || imported=$?
rm -f "$connection_file"
[ "$imported" = 0 ] || exit "$imported"

# Each component in its own session (setsid), so that stopping one stops its whole process
# tree (uvicorn workers, executor workers, task supervisors, DAG parsers) and nothing else.
pids=()
stopping=0
# TERM to each component's process group; then wait until no process of their sessions is left
# (task runners get process groups of their own, in the same session); KILL what is left.
# shellcheck disable=SC2329  # called from the traps below
stop_all() {
    [ "$stopping" = 1 ] && return
    stopping=1
    [ "${#pids[@]}" = 0 ] && return
    trap '' INT TERM HUP
    say "stopping ${#pids[@]} component(s)"
    local pid waited left sessions
    sessions="$(IFS=,; echo "${pids[*]}")"
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for waited in $(seq 1 30); do
        left="$(ps -o pid= -s "$sessions" | tr -s ' \n' ' ' || true)"
        left="${left# }"
        [ -z "$left" ] && break
        [ "$waited" = 30 ] || sleep 1
    done
    if [ -n "$left" ]; then
        say "killing what is left after 30 s: $left"
        # shellcheck disable=SC2086  # one pid per word
        kill -KILL $left 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    say "stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM HUP
trap 'stop_all' EXIT

declare -A component_of
for component in api-server scheduler dag-processor triggerer; do
    args=("$component")
    [ "$component" = api-server ] && args+=(--host 127.0.0.1 --port "$port" --workers 1)
    setsid "$airflow_bin" "${args[@]}" >"$AIRFLOW_HOME/$component.log" 2>&1 </dev/null &
    pids+=("$!")
    component_of[$!]="$component"
done
say "started api-server, scheduler, dag-processor, triggerer; logs: $AIRFLOW_HOME/<name>.log"

# Ready when the API answers and deck_to_video is parsed; then unpause it (new DAGs start
# paused) so that triggered runs start right away.
api() {
    "$python_bin" - "$base_url" "$password" "$@" <<'PY'
import json
import sys
import urllib.request

base, password, method, path = sys.argv[1:5]


def call(method, path, body=None, token=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


token = call("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]
body = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
call(method, path, body, token)
PY
}
deadline=$((SECONDS + ${AIRFLOW_START_TIMEOUT:-300}))
until api GET /api/v2/dags/deck_to_video 2>/dev/null; do
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            name="${component_of[$pid]}"
            say "$name exited early; the end of $AIRFLOW_HOME/$name.log:"
            tail -n 20 "$AIRFLOW_HOME/$name.log" >&2
            exit 1
        fi
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "not ready after ${AIRFLOW_START_TIMEOUT:-300} s; see $AIRFLOW_HOME/*.log"
        exit 1
    fi
    sleep 3
done
api PATCH /api/v2/dags/deck_to_video '{"is_paused": false}'

cat <<EOF

  Airflow is ready: $base_url   (login: admin / $password)
  Videos (every job, its video and a per-slide review): $base_url/plugin/deck2video
  DAGs: deck_to_video (unpaused), deck_inbox (paused: unpause it to watch $DECK2VIDEO_ROOT/inbox)
  Trigger: the UI's Trigger button, or
    AIRFLOW_HOME=$AIRFLOW_HOME $airflow_bin dags trigger deck_to_video \\
      --conf '{"deck_url": "$DECK2VIDEO_ROOT/inbox/talk.pptx", "voice_url": "$DECK2VIDEO_ROOT/inbox/voice.wav"}'
    (locations under the storage roots: DECK2VIDEO_READ_ROOTS / DECK2VIDEO_WRITE_ROOTS, docs/security.md)
  REST API v2 and more: docs/airflow.md.  Logs: $AIRFLOW_HOME/*.log
  Ctrl-C stops everything.

EOF

# Until Ctrl-C, or until a component dies (then the rest are stopped too).
set +e
wait -n "${pids[@]}"
status=$?
for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        name="${component_of[$pid]}"
        say "$name exited ($status); the end of $AIRFLOW_HOME/$name.log:"
        tail -n 20 "$AIRFLOW_HOME/$name.log" >&2
    fi
done
exit 1
