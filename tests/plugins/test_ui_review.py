"""Reviewing a video in a real browser: a Re-take button starts a deck_to_video run that records
exactly that slide anew and replaces the video when it is whole; an approval asked for at
trigger time holds publishing until someone approves it in Airflow, and a rejection publishes
nothing. Every run is an ordinary Airflow run, by the signed-in user, in Airflow's audit log."""

from __future__ import annotations

import hashlib
import time
import urllib.parse

import pytest
from selenium.webdriver.support.expected_conditions import alert_is_present

from deck2video import storage
from deck2video.config import JobSettings
from deck2video.params import params_from_settings
from deck2video.samples import SampleSlide, build_deck
from tests.support.browser import by_css, chromium, open_job, screenshot, sign_in, wait_until
from tests.support.ui_jobs import NARRATED

pytestmark = pytest.mark.slow


def digest(url: str) -> str:
    return hashlib.sha256(storage.read_bytes(url)).hexdigest()


def test_retake_records_exactly_that_slide_again_and_replaces_the_video(
    signed_in, airflow_servers, made_jobs
):
    servers, job = airflow_servers, made_jobs.finished
    folder = job.folder(servers.root)
    before = job.manifest(servers.root)
    old_video, old_published = digest(folder.video), digest(job.conf["out_url"])
    old_audio = {s.source_index: digest(folder.audio(s.number)) for s in before.slides}

    driver = signed_in
    open_job(driver, servers, job.job_id)
    # Where the re-take publishes is shown before it starts (next to the deck by default), and
    # the user chooses: here, where this job's video was published.
    target = by_css(driver, "#retake-out-url")[0]
    assert target.get_attribute("value") == job.conf["deck_url"].removesuffix(".pptx") + ".mp4"
    target.clear()
    target.send_keys(job.conf["out_url"])
    by_css(driver, "button.retake[data-slide='2']")[0].click()
    asked = wait_until(driver, alert_is_present())  # a confirmation first
    assert asked.text.startswith("Record slide 2 again?")
    asked.accept()
    wait_until(driver, lambda d: " as run " in d.find_element("id", "retake-status").text)
    run_id = by_css(driver, "button.retake[data-slide='2']")[0].get_attribute("data-run")
    screenshot(driver, "retake-started")

    run = servers.run(run_id)  # an ordinary run: its conf, note and user are Airflow's record
    assert run["conf"]["takes"] == {"2": 2}
    # The job's own inputs and settings (its manifest's), and the out_url this user chose.
    settings = params_from_settings(JobSettings.from_dict(before.settings))
    assert {k: v for k, v in run["conf"].items() if k != "takes"} == {
        "deck_url": job.conf["deck_url"], "voice_url": job.conf["voice_url"],
        "out_url": job.conf["out_url"], **settings,
    }  # fmt: skip
    assert run["note"].startswith("Re-take of slide 2 (take 2) of review\\.pptx")
    assert run["triggering_user_name"] == "admin"
    assert servers.finished(run_id) == "success"
    speak = servers.task_instances(run_id)["speak"]
    assert [ti["rendered_map_index"] for ti in speak] == [
        "slide 1: Welcome", "slide 2: Café Zürich (take 2)", "slide 4: Pricing",
    ]  # fmt: skip

    after = job.manifest(servers.root)
    assert {s.source_index: s.synthesized for s in after.slides} == {1: False, 2: True, 4: False}
    assert {s.source_index: s.take for s in after.slides} == {1: 1, 2: 2, 4: 1}
    assert after.stages["speak"].detail == {"synthesized": 1, "cached": 2}
    new_audio = {s.source_index: digest(folder.audio(s.number)) for s in after.slides}
    assert new_audio[1] == old_audio[1]
    assert new_audio[4] == old_audio[4]
    assert new_audio[2] != old_audio[2]  # a new take, not the cached one
    assert digest(folder.video) != old_video
    assert digest(job.conf["out_url"]) == digest(folder.video) != old_published

    status, log = servers.admin.call(
        "GET", "/api/v2/eventLogs?event_pattern=trigger_dag_run&owner_pattern=admin&limit=100"
    )
    assert status == 200, log
    assert any('"takes": {"2": 2}' in (e.get("extra") or "") for e in log["event_logs"])

    open_job(driver, servers, job.job_id)  # the page now shows the new take
    assert by_css(driver, "tr.slide[data-slide='2'] .tag.take")[0].text == "take 2"
    assert [t.text for t in by_css(driver, ".narration .source")] == [
        "cached", "synthesized", "cached",
    ]  # fmt: skip


def test_viewer_watches_but_airflow_refuses_their_retake(airflow_servers, made_jobs):
    servers, job = airflow_servers, made_jobs.finished
    viewer = servers.api("viewer")
    status, _ = viewer.raw(f"/deck2video/jobs/{job.job_id}")[:2]
    assert status == 200
    status, plan = viewer.call("GET", f"/deck2video/api/jobs/{job.job_id}/slides/1/retake")
    assert status == 200, plan
    body = {k: plan[k] for k in ("logical_date", "conf", "note")}
    status, refused = viewer.call("POST", plan["path"], body)
    assert status == 403, refused
    with chromium() as driver:
        sign_in(driver, servers, "viewer")
        open_job(driver, servers, job.job_id)
        buttons = by_css(driver, "button.retake")
        assert len(buttons) == len(NARRATED)
        assert all(not b.is_enabled() for b in buttons)


@pytest.fixture(scope="module")
def approval_job(airflow_servers, reference_voice, tmp_path_factory) -> dict:
    """A one-slide deck whose runs ask for an approval before publishing."""
    bucket = storage.parse(airflow_servers.root).bucket
    deck = build_deck(
        tmp_path_factory.mktemp("approval") / "launch.pptx",
        [SampleSlide("Launch", "We launch on Monday.")],
    )
    return {
        "deck_url": storage.upload(deck, f"s3://{bucket}/approval/launch.pptx"),
        "voice_url": storage.upload(reference_voice, f"s3://{bucket}/approval/voice.wav"),
        "resolution": "1280x720",
        "approve_before_publish": True,
    }


# Airflow 3.3.2's LocalExecutor reports the exit of the worker that parked the approval step
# as a success; if an answer re-queues the step before the scheduler has read that report, the
# scheduler takes the stale report for the resumed step and fails it ("task state changed
# externally"). A person takes longer than this to answer; a test waits it out.
PARKED_SETTLE_SECONDS = 10.0


def wait_for_approval(servers, run_id: str) -> None:
    def waiting() -> bool:
        state = servers.task_state(run_id, "approve")
        assert state not in ("failed", "skipped", "upstream_failed"), state
        return state == "awaiting_input"

    servers.wait_for("the approval to be asked for", waiting, 300)
    time.sleep(PARKED_SETTLE_SECONDS)


def test_approval_holds_publishing_until_approved_in_airflow(
    signed_in, airflow_servers, approval_job
):
    servers = airflow_servers
    out = f"s3://{storage.parse(servers.root).bucket}/approval/out/approved.mp4"
    run_id = servers.trigger({**approval_job, "out_url": out})
    wait_for_approval(servers, run_id)
    assert servers.task_state(run_id, "publish") in (None, "none", "")
    assert servers.run(run_id)["state"] == "running"
    assert not storage.exists(out)

    driver = signed_in
    job_id = servers.xcom(run_id, "prepare", "job_id")
    driver.switch_to.default_content()
    driver.get(f"{servers.base}/deck2video/jobs/{job_id}?run={urllib.parse.quote(run_id)}")
    banner = wait_until(driver, lambda d: by_css(d, "#approval"))[0]
    assert "Waiting for approval" in banner.text
    assert by_css(driver, "#video")  # the video to judge is on the page
    screenshot(driver, "awaiting-approval")
    link = banner.find_element("css selector", "a.approve-link").get_attribute("href")
    run_path = f"/dags/deck_to_video/runs/{urllib.parse.quote(run_id, safe='')}"
    assert link.endswith(f"{run_path}/tasks/approve/required_actions")
    assert not storage.exists(out)

    driver.get(link)  # Airflow's own page for the answer
    approve = wait_until(
        driver, lambda d: [b for b in by_css(d, "button") if b.text.strip() == "Approve"]
    )[0]
    approve.click()
    assert servers.finished(run_id) == "success"
    assert servers.task_state(run_id, "publish") == "success"
    assert storage.exists(out)


def test_rejecting_publishes_nothing(signed_in, airflow_servers, approval_job):
    servers = airflow_servers
    out = f"s3://{storage.parse(servers.root).bucket}/approval/out/rejected.mp4"
    run_id = servers.trigger({**approval_job, "out_url": out})
    wait_for_approval(servers, run_id)
    path = (
        f"/api/v2/dags/deck_to_video/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        "/taskInstances/approve/-1/hitlDetails"
    )
    status, answer = servers.admin.call("PATCH", path, {"chosen_options": ["Reject"]})
    assert status == 200, answer
    assert servers.finished(run_id) == "success"  # an answer, not a failure
    assert servers.task_state(run_id, "publish") == "skipped"
    assert not storage.exists(out)

    driver = signed_in
    job_id = servers.xcom(run_id, "prepare", "job_id")
    driver.get(f"{servers.base}/deck2video/jobs/{job_id}?run={urllib.parse.quote(run_id)}")
    banner = wait_until(driver, lambda d: by_css(d, "#approval"))[0]
    assert banner.text.startswith("Rejected by admin")
    assert "Nothing was published" in banner.text
