"""The deck2video plugin's tests: its modules on sys.path (as Airflow puts the plugins folder
there), jobs made by real deck_to_video runs on the shared Airflow servers, and a headless
Chromium signed in to that Airflow, which saves a screenshot of any test that fails."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.samples import build_deck
from tests.support import bad_files
from tests.support.browser import chromium, screenshot, sign_in
from tests.support.ui_jobs import SLIDES, MadeJob, MadeJobs

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
if str(PLUGINS) not in sys.path:
    sys.path.append(str(PLUGINS))


@pytest.fixture(scope="session")
def made_jobs(airflow_servers, reference_voice, tmp_path_factory) -> MadeJobs:
    """Three real runs, started together: a finished job, a failed job and a refused deck."""
    servers = airflow_servers
    bucket = storage.parse(servers.root).bucket
    here = tmp_path_factory.mktemp("ui-inputs")
    deck = storage.upload(build_deck(here / "review.pptx", SLIDES), f"s3://{bucket}/ui/review.pptx")
    voice = storage.upload(reference_voice, f"s3://{bucket}/ui/voice.wav")
    silent = storage.upload(bad_files.silent_wav(here / "quiet.wav"), f"s3://{bucket}/ui/quiet.wav")
    junk = storage.upload(bad_files.not_a_zip(here / "junk.pptx"), f"s3://{bucket}/ui/junk.pptx")
    common = {"resolution": "1280x720"}
    confs = {
        "finished": {"deck_url": deck, "voice_url": voice, "out_url": f"s3://{bucket}/ui/out/review.mp4"},
        "failed": {"deck_url": deck, "voice_url": silent, "out_url": f"s3://{bucket}/ui/out/quiet.mp4"},
        "not_a_deck": {"deck_url": junk, "voice_url": voice, "out_url": f"s3://{bucket}/ui/out/junk.mp4"},
    }  # fmt: skip
    started = time.monotonic()
    run_ids = {name: servers.trigger({**conf, **common}) for name, conf in confs.items()}
    states = {name: servers.finished(run_id) for name, run_id in run_ids.items()}
    assert states == {"finished": "success", "failed": "failed", "not_a_deck": "failed"}, states
    made = {}
    for name, run_id in run_ids.items():
        job_id = servers.xcom(run_id, "prepare", "job_id") if name != "not_a_deck" else None
        made[name] = MadeJob(run_id, job_id, {**confs[name], **common})
    return MadeJobs(**made, seconds=time.monotonic() - started)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def signed_in(browser, airflow_servers):
    """The browser, signed in to Airflow as admin (once per session)."""
    if not getattr(browser, "deck2video_signed_in", False):
        sign_in(browser, airflow_servers, "admin")
        browser.deck2video_signed_in = True
    return browser


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test leaves what the browser showed in test-artifacts/."""
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser") or item.funcargs.get("signed_in")
    if report.when == "call" and report.failed and driver is not None:
        with contextlib.suppress(Exception):  # a dead browser must not hide the failure
            driver.switch_to.default_content()
            path = screenshot(driver, f"FAILED-{item.name}")
            report.sections.append(("screenshot", str(path)))
