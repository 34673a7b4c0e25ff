"""The stack harness itself (scripts/stack/), without the whole stack: that it takes the compose
file's settings as they are, rewriting addresses, ports and paths only; that it fails with one
line naming what is wrong; that stopping leaves nothing running or listening.
"""

from __future__ import annotations

import functools
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest

from scripts import filer_meta
from scripts.docker_engine import Engine
from scripts.stack import compose, processes, services
from scripts.stack.errors import StackError

COMPOSE_HOSTS = re.compile(r"://(?:[^@/]*@)?(postgres|redis|minio|airflow-apiserver)\b")
# The settings whose value may differ from compose's, and why.
REWRITTEN = {
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "address",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "address",
    "AIRFLOW__CELERY__BROKER_URL": "address",
    "AIRFLOW__CELERY__RESULT_BACKEND": "address",
    "DECK2VIDEO_S3_ENDPOINT_URL": "address",
    "DECK2VIDEO_DOCKER_URL": "the private engine's socket",
    "DECK2VIDEO_DOCKER_NETWORK": "host network instead of the compose network",
    "DECK2VIDEO_FONTS_DIR": "the folder compose mounts (./fonts), where it is",
}


@pytest.fixture
def unstarted(tmp_path: Path) -> services.Stack:
    engine = Engine(url=f"unix://{tmp_path}/docker.sock", root=tmp_path)
    return services.Stack(tmp_path / "stack", engine=engine, speech_image="speech:test")


def test_interpolation_follows_compose():
    variables = {"SET": "x", "EMPTY": ""}
    assert compose.interpolate("${SET}-${UNSET:-d}-${EMPTY:-e}-${EMPTY-f}-$$HOME", variables) == (
        "x-d-e--$HOME"
    )
    with pytest.raises(StackError, match=r"^compose: set it in .env$"):
        compose.interpolate("${UNSET:?set it in .env}", variables)


@pytest.mark.parametrize("service", services.AIRFLOW_SERVICES)
def test_airflow_settings_are_compose_settings_with_addresses_rewritten(unstarted, service):
    compose = unstarted.compose_service(service).environment
    ours = unstarted.airflow_env(service)
    for name, value in compose.items():
        if name in REWRITTEN:
            assert not COMPOSE_HOSTS.search(ours[name]), (name, ours[name])
        else:
            assert ours[name] == value, name
    assert ours["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert ours["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        f"postgresql+psycopg2://airflow:{unstarted.variables['POSTGRES_PASSWORD']}@127.0.0.1:"
    )


def test_the_workers_run_composes_commands(unstarted):
    assert unstarted.compose_service("worker-gpu").command == [
        "celery", "worker", "--queues", "gpu", "--concurrency", "1",
    ]  # fmt: skip
    assert unstarted.compose_service("airflow-init").command[:2] == ["bash", "-euo"]


def test_an_unknown_host_in_a_setting_is_refused():
    with pytest.raises(StackError, match="names host 'elastic'"):
        compose.rewrite_addresses({"X": "http://elastic:9200/"}, {"redis": "127.0.0.1:1"})
    kept = {"ROOT": "s3://deck2video", "SOCK": "unix://var/run/docker.sock"}
    assert compose.rewrite_addresses(kept, {}) == kept


def test_a_taken_port_is_one_line(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        engine = Engine(url=f"unix://{tmp_path}/docker.sock", root=tmp_path)
        stack = services.Stack(tmp_path / "s", services.Ports.choose(api=port), engine=engine)
        with pytest.raises(StackError, match=rf"^api-server: 127.0.0.1:{port} is in use"):
            stack.start()


def test_a_missing_binary_is_one_line(unstarted, monkeypatch):
    monkeypatch.setattr(services, "REDIS_SERVER", Path("/nonexistent/redis-server"))
    with pytest.raises(StackError, match=r"^redis \(apt: redis-server\): /nonexistent"):
        unstarted.start()


def test_an_unhealthy_service_names_itself_and_its_log(unstarted):
    unstarted.home.mkdir(parents=True)
    unstarted._spawn("sleeper", ["/bin/sleep", "30"])
    try:
        with pytest.raises(StackError, match=r"^sleeper: not healthy after 1 s; log /"):
            unstarted._wait_healthy("sleeper", lambda: False, timeout=1)
    finally:
        unstarted.stop()
    assert not unstarted.processes


def test_stopping_leaves_nothing_running_or_listening(databases: services.Stack):
    """Postgres (as its own user) and Redis: started, healthy, then stopped whole."""
    sessions = [p.pid for p in databases.processes.values()]
    assert databases.query("SELECT 1") == [(1,)]
    databases.stop()
    assert [pid for sid in sessions for pid in processes.session_members(sid)] == []
    for port in (databases.ports.postgres, databases.ports.redis):
        assert not processes.port_in_use(port), port


@pytest.fixture
def databases() -> Iterator[services.Stack]:
    """Postgres (as its own user) and Redis of a stack, started and healthy; stopped after."""
    # Not under pytest's tmp_path: its folders are private to root, and postgres runs as its own
    # user (the stack's real home is a /tmp folder too).
    home = Path(tempfile.mkdtemp(prefix="d2v-harness-", dir="/tmp"))
    home.chmod(0o711)
    unstarted = services.Stack(home / "stack", engine=Engine(url="unix:///nowhere", root=home))
    unstarted.home.mkdir()
    unstarted.home.chmod(0o711)
    try:
        unstarted._start_postgres()
        unstarted._start_redis()
        yield unstarted
    finally:
        unstarted.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_redis_and_postgres_refuse_a_client_without_the_password(databases: services.Stack):
    """The broker carries every task's execution token, the database every secret Airflow keeps:
    the stack's (compose's) Redis and Postgres answer only a client with the password."""
    assert databases.redis_says("PING").startswith(b"-NOAUTH")
    assert databases.redis_says("AUTH wrong", "KEYS *").startswith(b"-WRONGPASS")
    assert databases.redis_says(f"AUTH {databases.redis_password}", "PING") == (b"+OK\r\n+PONG\r\n")
    broker = databases.airflow_env("worker-cpu")["AIRFLOW__CELERY__BROKER_URL"]
    assert broker.startswith(f"redis://:{databases.redis_password}@127.0.0.1:")

    connect = functools.partial(psycopg2.connect, host="127.0.0.1", port=databases.ports.postgres,
                                user="airflow", dbname="airflow", connect_timeout=5)  # fmt: skip
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        connect().close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        connect(password="wrong").close()
    assert databases.query("SELECT 1") == [(1,)]


def test_the_stack_refuses_to_start_without_a_redis_password(tmp_path: Path):
    engine = Engine(url=f"unix://{tmp_path}/docker.sock", root=tmp_path)
    stack = services.Stack(tmp_path / "stack", engine=engine, variables={"REDIS_PASSWORD": ""})
    with pytest.raises(StackError, match=r"^compose: set REDIS_PASSWORD in .env$"):
        stack.airflow_env("worker-cpu")


def test_protobuf_fields_round_trip():
    entry = filer_meta.message(
        (1, b"talk.pptx"),
        (4, filer_meta.message((1, 1234), (2, 1_700_000_000), (7, b"application/zip"))),
    )
    attributes = filer_meta.field_bytes(entry, 4)
    when = int(datetime(2026, 11, 3, 9, 30, tzinfo=UTC).timestamp())
    changed = filer_meta.replaced(entry, {4: filer_meta.replaced(attributes, {2: when})})
    fields = {n: raw for n, _, raw in filer_meta.fields(filer_meta.field_bytes(changed, 4))}
    assert filer_meta.decode_varint(fields[2], 0)[0] == when
    assert filer_meta.decode_varint(fields[1], 0)[0] == 1234
    assert filer_meta.field_bytes(changed, 1) == b"talk.pptx"
    assert filer_meta.encode_varint(-1) == b"\xff" * 9 + b"\x01"
