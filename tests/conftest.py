"""Shared fixtures: sample decks, a reference voice, a real S3 server on loopback, and a private
Docker Engine with the speech image (one per session, for tests/docker and tests/stack)."""

from __future__ import annotations

import http.server
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deck2video import samples
from scripts import docker_engine as engines
from scripts.stack import free_port
from tests.support.processes import leftovers, private_tempdir

SPEECH_TAG = "deck2video-speech:test"


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Iterator[Path]:
    """A private temp dir for the test: ``leftovers(scratch_dir)`` must end up empty."""
    with private_tempdir(tmp_path / "scratch") as path:
        path.mkdir()
        yield path


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide folder for inputs that are slow to make and never modified."""
    return tmp_path_factory.mktemp("assets")


@pytest.fixture(scope="session")
def demo_deck(assets: Path) -> Path:
    return samples.build_demo_deck(assets / "demo.pptx")


@pytest.fixture(scope="session")
def reference_voice(assets: Path) -> Path:
    return samples.make_reference_voice(assets / "voice.wav")


@dataclass(frozen=True)
class BuildsRun:
    """The click-builds sample deck, run through the whole pipeline once (640x360)."""

    deck: Path
    root: Path
    video: Path
    summary: object  # job.RunSummary


@pytest.fixture(scope="session")
def builds_run(tmp_path_factory: pytest.TempPathFactory, reference_voice: Path) -> BuildsRun:
    from deck2video import job
    from deck2video.config import JobSettings
    from tests.support.build_decks import build_builds_deck

    deck = build_builds_deck(tmp_path_factory.mktemp("builds") / "builds.pptx")
    root = tmp_path_factory.mktemp("builds-root")
    video = root / "published" / "builds.mp4"
    scratch = tmp_path_factory.mktemp("builds-scratch")
    with private_tempdir(scratch):
        summary = job.run(
            str(deck), str(reference_voice), out_url=str(video), root_url=str(root),
            settings=JobSettings(width=640, height=360),
        )  # fmt: skip
    assert leftovers(scratch) == [], "temporary files were left behind"
    return BuildsRun(deck, root, video, summary)


@pytest.fixture
def make_deck(tmp_path: Path):
    """Build a deck from SampleSlide specs: ``make_deck([SampleSlide(...), ...])``."""

    def build(slides: list[samples.SampleSlide], name: str = "deck.pptx", **kwargs) -> Path:
        return samples.build_deck(tmp_path / name, slides, **kwargs)

    return build


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server over HTTP on 127.0.0.1; the package reads the endpoint from the env."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in _S3_ENV}
    os.environ.update(
        DECK2VIDEO_S3_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="deck2video-test",
        AWS_SECRET_ACCESS_KEY="deck2video-test-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_S3_ENV = (
    "DECK2VIDEO_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture
def s3_bucket(s3_server: str) -> str:
    """A fresh, empty bucket on the loopback S3 server; returns its name."""
    from deck2video.storage import s3_client

    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def storage_root(request, tmp_path: Path) -> str:
    """Where a test stores things, once on the local disk and once on the loopback S3 server:
    the test's ``tmp_path`` or a fresh bucket (``s3://<bucket>``), so use a folder of it. The
    S3 server starts only for the s3 case."""
    if request.param == "local":
        return str(tmp_path)
    return f"s3://{request.getfixturevalue('s3_bucket')}"


@pytest.fixture(scope="session")
def airflow_servers(tmp_path_factory, s3_server):
    """One real Airflow (tests/airflow_servers.py) for the session, its jobs on the S3 server:
    the REST API tests and the browser tests share it, so its start is paid once."""
    from deck2video.storage import s3_client
    from tests.support.airflow_servers import running_airflow

    bucket = "airflow-servers"
    s3_client().create_bucket(Bucket=bucket)
    home = tmp_path_factory.mktemp("airflow-servers")
    with running_airflow(home, root=f"s3://{bucket}/d2v") as servers:
        yield servers


@dataclass
class Listener:
    """An HTTP server on loopback that records every connection made to it."""

    url: str
    connections: list[str] = field(default_factory=list)  # client address, per connection
    requests: list[str] = field(default_factory=list)  # "GET /path"


@pytest.fixture
def loopback_listener() -> Iterator[Listener]:
    """A loopback HTTP listener that must see no request: what a sandboxed renderer would
    fetch from a hostile deck's links. Every connection counts, HTTP or not."""
    seen = Listener(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.requests.append(f"{self.command} {self.path}")
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_POST = do_PROPFIND = do_OPTIONS = do_GET

        def log_message(self, *args) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def verify_request(self, request, client_address) -> bool:
            seen.connections.append(str(client_address))
            return True

    server = Server(("127.0.0.1", 0), Handler)
    seen.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unavailable(reason: str) -> None:
    """Skip, or fail where the caller said Docker must be there (CI on a machine that has it)."""
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker is required here but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[engines.Engine]:
    """A private dockerd for this session (scripts/docker_engine.py); skipped where there is
    none, unless ``REQUIRE_DOCKER=1`` says a skip would be a failure."""
    try:
        with engines.running_engine() as engine:
            yield engine
    except engines.EngineError as error:
        unavailable(str(error))


@pytest.fixture(scope="session")
def speech_image(docker_engine: engines.Engine) -> str:
    """The speech image (CPU, Piper) built on the debootstrap base; returns its tag."""
    started = time.monotonic()
    try:
        tag = engines.build_speech_image(docker_engine, SPEECH_TAG)
    except engines.EngineError as error:
        pytest.fail(str(error), pytrace=False)
    print(f"\nbuilt {tag} in {time.monotonic() - started:.1f} s")
    return tag
