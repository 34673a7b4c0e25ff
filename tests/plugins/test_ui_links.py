"""Every link from the deck2video pages into Airflow, clicked in a real Chromium inside Airflow's
own frame: the top window lands on the right page of Airflow's UI (run, task, DAG). And what a
job page offers to download, fetched from its links and checked as a user would (ffprobe, the
captions parsed, the report loaded), and its quality in words."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from deck2video import storage
from deck2video.manifest import VOICE_CONVERTED
from tests.support.browser import by_css, screenshot, wait_until
from tests.support.media import ffprobe, read_srt, read_vtt
from tests.support.ui_jobs import NARRATED

pytestmark = pytest.mark.slow


def quoted(run_id: str) -> str:
    return urllib.parse.quote(run_id, safe="")


def in_frame(driver, servers, path: str, ready: str) -> None:
    """Open one of Airflow's pages that holds a deck2video page, and step into its frame."""
    driver.switch_to.default_content()
    driver.get(f"{servers.base}{path}")
    frame = wait_until(driver, lambda d: by_css(d, "iframe[src*='/deck2video/']"))[0]
    driver.switch_to.frame(frame)
    wait_until(driver, lambda d: by_css(d, ready))


def lands_on(driver, servers, link, path: str, shown: str) -> None:
    """Click ``link`` in the frame: the top window shows Airflow's ``path``, its page drawn
    (``shown`` text in it) and no deck2video frame left."""
    link.click()
    driver.switch_to.default_content()
    wait_until(driver, lambda d: d.current_url == f"{servers.base}{path}")
    wait_until(driver, lambda d: shown in d.find_element("tag name", "body").text)
    assert not by_css(driver, "iframe[src*='/deck2video/']")


def test_each_link_into_airflow_opens_its_page_in_the_top_window(
    signed_in, airflow_servers, made_jobs
):
    driver, servers = signed_in, airflow_servers
    finished, failed = made_jobs.finished, made_jobs.failed
    run_path = f"/dags/deck_to_video/runs/{quoted(finished.run_id)}"

    # The list's "run" link.
    in_frame(driver, servers, "/plugin/deck2video", "table.jobs tr.job")
    row = f"tr.job[data-run='{finished.run_id}']"
    lands_on(driver, servers, by_css(driver, f"{row} a.run-link")[0], run_path, "Task Instances")
    screenshot(driver, "link-run-from-list")

    # The job page: "open in Airflow", the runs table, the DAG in the header.
    job_page = f"/plugin/deck2video/deck2video/jobs/{finished.job_id}"
    in_frame(driver, servers, job_page, "table.slides")
    lands_on(driver, servers, by_css(driver, "dl.facts a.run-link")[0], run_path, "Task Instances")
    in_frame(driver, servers, job_page, "table.slides")
    driver.execute_script("document.querySelector('details.runs').open = true")
    link = by_css(driver, f"details.runs a.run-link[title='{finished.run_id}']")[0]
    lands_on(driver, servers, link, run_path, "Task Instances")
    in_frame(driver, servers, job_page, "table.slides")
    lands_on(driver, servers, by_css(driver, "a.airflow-link")[0], "/dags/deck_to_video", "Runs")

    # A failed job: its failing task (with its log) and its run.
    failed_path = f"/dags/deck_to_video/runs/{quoted(failed.run_id)}"
    failed_page = f"/plugin/deck2video/deck2video/jobs/{failed.job_id}"
    in_frame(driver, servers, failed_page, "#failure")
    task = by_css(driver, "#failure a.task-link")[0]
    assert task.text == "prepare_voice"
    # The voice is prepared in the prepare task: the step's link lands on that task.
    lands_on(driver, servers, task, f"{failed_path}/tasks/prepare", "prepare")
    screenshot(driver, "link-failed-task")
    in_frame(driver, servers, failed_page, "#failure")
    lands_on(driver, servers, by_css(driver, "#failure a.run-link")[0], failed_path, "Failed")

    # The run's Video tab (a frame without Airflow's address sync): its run link.
    in_frame(driver, servers, f"{run_path}/plugin/deck2video-run", "table.slides")
    lands_on(driver, servers, by_css(driver, "dl.facts a.run-link")[0], run_path, "Task Instances")
    # Its "Videos" crumb opens the Videos page itself, not the list inside the run's tab.
    in_frame(driver, servers, f"{run_path}/plugin/deck2video-run", "table.slides")
    by_css(driver, "a.brand")[0].click()
    driver.switch_to.default_content()
    wait_until(driver, lambda d: d.current_url == f"{servers.base}/plugin/deck2video")
    frame = wait_until(driver, lambda d: by_css(d, "iframe[src*='/deck2video/']"))[0]
    driver.switch_to.frame(frame)
    wait_until(driver, lambda d: by_css(d, "table.jobs"))

    # A run that made no job: the run tab's own page.
    refused = made_jobs.not_a_deck.run_id
    refused_path = f"/dags/deck_to_video/runs/{quoted(refused)}"
    in_frame(driver, servers, f"{refused_path}/plugin/deck2video-run", "#failure")
    lands_on(driver, servers, by_css(driver, "a.run-link")[0], refused_path, "Failed")


def test_the_run_video_tab_fits_its_frame(signed_in, airflow_servers, made_jobs):
    driver, servers = signed_in, airflow_servers
    run_path = f"/dags/deck_to_video/runs/{quoted(made_jobs.finished.run_id)}"
    in_frame(driver, servers, f"{run_path}/plugin/deck2video-run", "table.slides")
    driver.switch_to.default_content()
    # One scrollbar: the frame's own. No box around it in Airflow's page scrolls too.
    scrolling = driver.execute_script(
        "const frame = document.querySelector('iframe[src*=\"/deck2video/\"]');"
        "const found = [];"
        "for (let box = frame.parentElement; box; box = box.parentElement) {"
        "  const style = getComputedStyle(box);"
        "  if (box.scrollHeight > box.clientHeight + 1 && /(auto|scroll)/.test(style.overflowY))"
        "    found.push(box.tagName + '.' + box.className);"
        "}"
        "return found;"
    )
    screenshot(driver, "run-video-tab")
    assert scrolling == []


def test_a_successful_run_note_links_to_its_video(airflow_servers, made_jobs):
    run_id = made_jobs.finished.run_id
    note = airflow_servers.run(run_id)["note"]
    assert (
        f"[Watch the video](/dags/deck_to_video/runs/{quoted(run_id)}/plugin/deck2video-run)"
        in note
    )
    assert airflow_servers.run(made_jobs.failed.run_id)["note"].startswith("Failed at")


def test_each_download_is_the_job_file_under_the_deck_name(
    signed_in, airflow_servers, made_jobs, tmp_path
):
    driver, servers = signed_in, airflow_servers
    job = made_jobs.finished
    in_frame(driver, servers, f"/plugin/deck2video/deck2video/jobs/{job.job_id}", "table.slides")
    links = {
        a.get_attribute("data-kind"): a.get_attribute("href")
        for a in by_css(driver, ".downloads a")
    }
    assert sorted(links) == ["quality", "srt", "video", "vtt"]
    folder = job.folder(servers.root)
    hrefs = [a.get_attribute("href") for a in by_css(driver, "a[href]")]
    endpoint = storage.s3_client().meta.endpoint_url
    assert not [h for h in hrefs if "s3://" in h or folder.url in h or endpoint in h]
    got = {}
    for kind, href in links.items():
        status, headers, body = servers.admin.raw(urllib.parse.urlsplit(href).path)
        assert status == 200, (kind, status)
        assert headers["content-disposition"].startswith('attachment; filename="review.')
        got[kind] = body
    video = tmp_path / "review.mp4"
    video.write_bytes(got["video"])
    info = ffprobe(video)
    assert float(info["format"]["duration"]) > 1.0
    assert {s["codec_type"] for s in info["streams"]} >= {"video", "audio"}
    vtt, srt = read_vtt(got["vtt"].decode()), read_srt(got["srt"].decode())
    assert [c.text for c in vtt] == [c.text for c in srt]
    assert "Welcome to the 2024 review." in " ".join(" ".join(c.text for c in vtt).split())
    report = json.loads(got["quality"])
    assert [s["slide"] for s in report["slides"]] == NARRATED
    assert got["video"] == storage.read_bytes(folder.video)
    status, _, _ = servers.admin.raw(f"/deck2video/jobs/{job.job_id}/download/manifest")
    assert status == 404


def test_quality_reads_in_words_with_and_without_a_converter(signed_in, airflow_servers, made_jobs):
    driver, servers = signed_in, airflow_servers
    job = made_jobs.finished
    in_frame(driver, servers, f"/plugin/deck2video/deck2video/jobs/{job.job_id}", "table.slides")
    facts = by_css(driver, "dl.facts .quality-words")[0]
    words = [w.text for w in facts.find_elements("css selector", ".q")]
    # No converter here: said once, for the job, and no slide is flagged for its voice.
    assert words[0] == "voice: not matched (no cloning model configured)"
    for row in by_css(driver, "tr.slide"):
        shown = [w.text for w in row.find_elements("css selector", ".quality-words .q")]
        assert shown, row.get_attribute("data-slide")
        assert not [w for w in shown if w.startswith("voice")]
        assert any(w.startswith("pace: ") for w in shown)
        assert any(w.startswith("audio: ") for w in shown)
    manifest = job.manifest(servers.root)
    first = by_css(driver, "tr.slide .quality-words .q")[0]
    assert first.get_attribute("title")  # its numbers on hover
    numbers = by_css(driver, "tr.slide details.quality-numbers")[0]
    driver.execute_script("arguments[0].open = true", numbers)
    assert f"{manifest.slides[0].quality.dnsmos_p808:.2f}" in numbers.text
    row_height = by_css(driver, "tr.slide")[0].size["height"]
    screenshot(driver, "job-quality-words")

    # The same job as a cloned voice would have made it: a copy of its folder whose manifest
    # says the converter spoke. Each slide then says how close it sounds.
    copy_id = job.job_id[:-4] + "c0de"
    copy = servers.root + f"/jobs/{copy_id}"
    folder = job.folder(servers.root)
    for found in storage.list_objects(folder.url):
        storage.copy(found.url, copy + found.url.removeprefix(folder.url))
    data = json.loads(storage.read_bytes(f"{copy}/manifest.json"))
    data["job_id"] = copy_id
    data["quality"]["voice"] = VOICE_CONVERTED
    storage.write_bytes(f"{copy}/manifest.json", json.dumps(data).encode())
    in_frame(driver, servers, f"/plugin/deck2video/deck2video/jobs/{copy_id}", "table.slides")
    words = [w.text for w in by_css(driver, "dl.facts .quality-words .q")]
    assert words[0].startswith("voice: ")
    assert "no cloning model" not in words[0]
    for row in by_css(driver, "tr.slide"):
        shown = [w.text for w in row.find_elements("css selector", ".quality-words .q")]
        assert [w for w in shown if w.startswith("voice: ")], shown
    assert row_height < 260, row_height  # compact rows
    screenshot(driver, "job-quality-words-cloned")
