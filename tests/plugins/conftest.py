"""The deck2video plugin's tests: its modules on sys.path (as Airflow puts the plugins folder
there), jobs made by real deck_to_video runs on the shared Airflow servers, and a headless
Chromium signed in to that Airflow, which saves a screenshot of any test that fails."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deck2video import storage
from deck2video.job import JobFolder
from deck2video.manifest import Manifest
from deck2video.samples import SampleSlide, build_deck
from tests import bad_files
from tests.browser import WAIT, chromium, screenshot

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
if str(PLUGINS) not in sys.path:
    sys.path.append(str(PLUGINS))

# PowerPoint numbers 1, 2, 4: the hidden slide 3 keeps its number and is not narrated. The
# notes hold what the pronunciation rules spell out ("$5" -> "five dollars").
SLIDES = [
    SampleSlide("Welcome", "Welcome to the 2024 review. Tickets cost $5."),
    SampleSlide("Café Zürich", "We met at Café Zürich. [PAUSE 0.5] It was 3 pm."),
    SampleSlide("Backstage", "This hidden slide is never read.", hidden=True),
    SampleSlide("Pricing", "Prices start at 10%."),
]
NARRATED = [1, 2, 4]


@dataclass(frozen=True)
class MadeJob:
    run_id: str
    job_id: str | None
    conf: dict

    def folder(self, root: str) -> JobFolder:
        assert self.job_id, "this run made no job"
        return JobFolder(storage.join(root, "jobs", self.job_id))

    def manifest(self, root: str) -> Manifest:
        from deck2video.job import load_manifest

        return load_manifest(self.folder(root))


@dataclass(frozen=True)
class MadeJobs:
    finished: MadeJob  # a video, published
    failed: MadeJob  # failed in prepare_voice: the recording is silent
    not_a_deck: MadeJob  # failed in prepare, before it made a job
    seconds: float  # how long the three runs took


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


def sign_in(driver, servers, user: str) -> None:
    """Through Airflow's own sign-in page, as a person does."""
    from selenium.webdriver.common.by import By

    driver.get(f"{servers.base}/")
    wait_until(driver, lambda d: d.find_elements(By.NAME, "username"))
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(servers.passwords[user])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(driver, lambda d: "/auth/login" not in d.current_url and d.get_cookie("_token"))


def wait_until(driver, condition, timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


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
