"""The deck2video pages in a real headless Chromium, against the real api-server, with jobs made
by real deck_to_video runs (tests/plugins/conftest.py): signed in through Airflow's own page,
opened from Airflow's navigation, the video, captions, chapters and per-slide audio played."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from deck2video import storage
from deck2video.plaintext import markdown_literal
from deck2video.pronounce import expand_for_speech
from tests.support.browser import by_css, open_job, screenshot, wait_until
from tests.support.ui_jobs import NARRATED, SLIDES

pytestmark = pytest.mark.slow


def open_videos_from_navigation(driver, servers) -> None:
    """Airflow's home page -> the Videos item of its navigation -> inside the plugin's frame."""
    driver.switch_to.default_content()
    driver.get(f"{servers.base}/")
    link = wait_until(driver, lambda d: by_css(d, "a[href$='/plugin/deck2video']"))[0]
    assert link.text.strip() == "Videos"
    link.click()
    frame = wait_until(driver, lambda d: by_css(d, "iframe[src*='/deck2video/']"))[0]
    driver.switch_to.frame(frame)
    wait_until(driver, lambda d: by_css(d, "table.jobs tr.job"))


def media_time(driver, element) -> float:
    return driver.execute_script("return arguments[0].currentTime", element)


def play_muted(driver, element) -> None:
    started = driver.execute_script(
        "const m = arguments[0]; m.muted = true;"
        "return m.play().then(() => 'playing', (e) => 'refused: ' + e.message);",
        element,
    )
    assert started == "playing", started


def test_signed_in_user_opens_videos_from_the_navigation_and_sees_every_job(
    signed_in, airflow_servers, made_jobs
):
    driver = signed_in
    open_videos_from_navigation(driver, airflow_servers)
    rows = {row.get_attribute("data-run"): row for row in by_css(driver, "tr.job")}
    screenshot(driver, "videos-page")

    finished = rows[made_jobs.finished.run_id]
    assert finished.get_attribute("data-job") == made_jobs.finished.job_id
    assert finished.find_element("css selector", ".badge").text == "completed"
    assert "review.pptx" in finished.text
    assert "voice.wav" in finished.text
    manifest = made_jobs.finished.manifest(airflow_servers.root)
    assert finished.find_element("css selector", "td.slides").text == str(len(NARRATED))
    video_seconds = manifest.stages["assemble"].detail["video_seconds"]
    video_length = finished.find_element("css selector", "td.video").text
    assert video_length == f"0:{round(video_seconds):02d}"

    failed = rows[made_jobs.failed.run_id]
    assert failed.find_element("css selector", ".badge").text == "failed"
    assert failed.find_element("css selector", ".step").text == "prepare_voice"
    assert "quiet.wav" in failed.find_element("css selector", ".why").text
    assert "silent" in failed.find_element("css selector", ".why").text

    refused = rows[made_jobs.not_a_deck.run_id]
    assert refused.find_element("css selector", ".step").text == "prepare"
    assert "junk.pptx" in refused.find_element("css selector", ".why").text


def test_finished_job_plays_its_video_captions_chapters_and_slide_audio(
    signed_in, airflow_servers, made_jobs
):
    driver = signed_in
    open_videos_from_navigation(driver, airflow_servers)
    row = by_css(driver, f"tr.job[data-run='{made_jobs.finished.run_id}'] td.deck a")[0]
    row.click()  # the job page, still inside Airflow's frame
    wait_until(driver, lambda d: by_css(d, "#video"))
    manifest = made_jobs.finished.manifest(airflow_servers.root)
    video = by_css(driver, "#video")[0]

    play_muted(driver, video)
    wait_until(driver, lambda d: media_time(d, video) > 0.5)

    cues = wait_until(
        driver,
        lambda d: d.execute_script(
            "const t = arguments[0].textTracks[0];"
            "return t && t.cues && t.cues.length ? Array.from(t.cues, c => c.text) : null;",
            video,
        ),
    )
    assert "Welcome to the 2024 review." in " ".join(" ".join(cues).split())

    last = manifest.slides[-1]
    assert last.source_index == 4
    driver.execute_script("arguments[0].pause()", video)
    by_css(driver, "button.chapter[data-slide='4']")[0].click()
    wait_until(driver, lambda d: media_time(d, video) >= last.start - 0.05)
    assert media_time(driver, video) < last.start + 1.5, "the chapter did not seek to slide 4"
    driver.execute_script("arguments[0].pause()", video)

    audio = by_css(driver, "tr.slide[data-slide='2'] .narration audio")[0]
    play_muted(driver, audio)
    wait_until(driver, lambda d: media_time(d, audio) > 0.3)
    driver.execute_script("arguments[0].pause()", audio)
    screenshot(driver, "job-page")


def test_job_page_reviews_each_slide_by_its_powerpoint_number(
    signed_in, airflow_servers, made_jobs
):
    driver = signed_in
    open_job(driver, airflow_servers, made_jobs.finished.job_id)
    manifest = made_jobs.finished.manifest(airflow_servers.root)
    rows = by_css(driver, "tr.slide")
    assert [int(r.get_attribute("data-slide")) for r in rows] == NARRATED
    for row, number, record in zip(rows, NARRATED, manifest.slides, strict=True):
        notes = SLIDES[number - 1].notes
        assert row.find_element("css selector", ".n").text == str(number)
        # One column: the notes, then what was spoken where it reads otherwise (every slide
        # here has a number spelled out); the captions say the notes, so they are not repeated.
        assert " ".join(row.find_element("css selector", ".review .notes").text.split()) == notes
        said = row.find_elements("css selector", ".review .spoken .said")
        spoken = " ".join(" ".join(s.text for s in said).split())
        assert spoken == " ".join(expand_for_speech(notes.replace("[PAUSE 0.5]", "")).split())
        assert not row.find_elements("css selector", ".review .cues")
        seek = row.find_element("css selector", "button.seek")
        assert float(seek.get_attribute("data-start")) == record.start
        source = row.find_element("css selector", ".source").text
        assert source == ("synthesized" if record.synthesized else "cached")
        # The quality stage's numbers for this slide, as the manifest has them, one click away.
        numbers = row.find_element("css selector", "details.quality-numbers")
        driver.execute_script("arguments[0].open = true", numbers)
        shown = " ".join(numbers.text.split())
        assert f"voice similarity {record.quality.similarity:.2f}" in shown
        assert f"DNSMOS P.808 {record.quality.dnsmos_p808:.2f}" in shown
        thumb = row.find_element("css selector", "img.thumb")
        driver.execute_script("arguments[0].scrollIntoView()", thumb)
        wait_until(
            driver, lambda d, t=thumb: d.execute_script("return arguments[0].naturalWidth", t)
        )
    first = " ".join(rows[0].find_element("css selector", ".review .spoken").text.split())
    assert "twenty twenty-four" in first
    assert "five dollars" in first
    chapters = [c.get_attribute("data-slide") for c in by_css(driver, "button.chapter")]
    assert chapters == [str(n) for n in NARRATED]
    hidden = by_css(driver, "tr.skipped-slide")
    assert [r.get_attribute("data-slide") for r in hidden] == ["3"]
    assert "hidden, skipped" in hidden[0].text


def test_failed_job_shows_its_step_and_reason_at_the_top(signed_in, airflow_servers, made_jobs):
    driver = signed_in
    open_job(driver, airflow_servers, made_jobs.failed.job_id)
    banner = by_css(driver, "#failure")[0]
    assert banner.find_element("css selector", ".step").text == "prepare_voice"
    reason = banner.find_element("css selector", ".why").text
    manifest = made_jobs.failed.manifest(airflow_servers.root)
    assert reason == manifest.reason
    assert "quiet.wav" in reason
    assert not by_css(driver, "#video")
    assert not by_css(driver, "button.retake")
    screenshot(driver, "failed-job-page")


def test_failed_run_gets_a_note_with_the_step_and_reason(airflow_servers, made_jobs):
    run = airflow_servers.run(made_jobs.failed.run_id)
    manifest = made_jobs.failed.manifest(airflow_servers.root)
    # Markdown that Airflow renders as exactly the step and the reason (issue 21).
    assert run["note"] == (
        f"Failed at {markdown_literal('prepare_voice')}: {markdown_literal(manifest.reason)}"
    )
    refused = airflow_servers.run(made_jobs.not_a_deck.run_id)["note"]
    assert refused.startswith("Failed at prepare: ")
    assert "junk\\.pptx" in refused
    assert "\n" not in refused


def test_publish_links_to_the_runs_video_tab(signed_in, airflow_servers, made_jobs):
    run_id = urllib.parse.quote(made_jobs.finished.run_id, safe="")
    status, links = airflow_servers.admin.call(
        "GET", f"/api/v2/dags/deck_to_video/dagRuns/{run_id}/taskInstances/publish/links"
    )
    assert status == 200, links
    watch = links["extra_links"]["Watch"]
    assert watch == f"{airflow_servers.base}/dags/deck_to_video/runs/{run_id}/plugin/deck2video-run"
    driver = signed_in
    driver.switch_to.default_content()
    driver.get(watch)
    frame = wait_until(driver, lambda d: by_css(d, "iframe[src*='/deck2video/runs/']"))[0]
    driver.switch_to.frame(frame)
    page = wait_until(driver, lambda d: by_css(d, ".job-page"))[0]
    assert page.get_attribute("data-job") == made_jobs.finished.job_id
    assert by_css(driver, "#video")
    driver.switch_to.default_content()
    screenshot(driver, "watch-link")


def test_job_page_shows_no_storage_secret_or_job_folder(signed_in, airflow_servers, made_jobs):
    driver = signed_in
    open_job(driver, airflow_servers, made_jobs.finished.job_id)
    html = driver.page_source
    folder = made_jobs.finished.folder(airflow_servers.root).url
    endpoint = storage.s3_client().meta.endpoint_url
    for secret in ("deck2video-test-secret", endpoint, folder, "AWS_"):
        assert secret not in html, secret
    served = json.dumps(
        driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    )
    assert endpoint not in served  # every file came through the api-server
