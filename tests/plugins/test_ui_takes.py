"""A re-take followed live on the job page, and an earlier take heard and chosen again, in a real
Chromium against the real Airflow: the page shows the run's progress as it goes (slides spoken of
all, the step, the time left) without reloading, puts the new video in place when the run ends,
and a chosen take is what the next video speaks."""

from __future__ import annotations

import hashlib
import urllib.parse

import pytest
from selenium.webdriver.support.expected_conditions import alert_is_present

from deck2video import storage
from tests.support.browser import by_css, open_job, screenshot, wait_until
from tests.support.ui_jobs import NARRATED

pytestmark = pytest.mark.slow

SLIDE = 1  # test_ui_review re-takes slide 2: this file leaves it alone


def digest(url: str) -> str:
    return hashlib.sha256(storage.read_bytes(url)).hexdigest()


def start_from_the_page(driver, button_css: str, question: str) -> str:
    """Click, confirm, and return the run the page started."""
    by_css(driver, button_css)[0].click()
    asked = wait_until(driver, alert_is_present())
    assert asked.text.startswith(question), asked.text
    asked.accept()
    wait_until(driver, lambda d: " as run " in d.find_element("id", "retake-status").text)
    link = by_css(driver, "#retake-status a")[0].get_attribute("href")
    return urllib.parse.unquote(link.rsplit("/", 1)[-1])  # the run's page in Airflow


def follow_without_reload(driver, servers, run_id: str) -> list[str]:
    """Every progress line the page showed until its run ended and the page was renewed; the
    page is never reloaded (a mark left on its window survives)."""
    driver.execute_script("window.deck2videoMark = 'still here'")
    seen: list[str] = []

    def renewed(_driver) -> bool:
        line = by_css(driver, "#progress")
        text = line[0].text if line else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        return not by_css(driver, "#retake-status:not([hidden])")

    wait_until(driver, renewed, timeout=420)
    assert driver.execute_script("return window.deck2videoMark") == "still here"
    assert servers.run(run_id)["state"] == "success"
    return seen


def test_a_retake_is_followed_live_and_an_earlier_take_is_chosen_again(
    signed_in, airflow_servers, made_jobs
):
    servers, job = airflow_servers, made_jobs.finished
    folder = job.folder(servers.root)
    driver = signed_in
    open_job(driver, servers, job.job_id)
    before = job.manifest(servers.root)
    take = before.slides[0].take
    first_video = by_css(driver, "#video")[0].get_attribute("src")

    run_id = start_from_the_page(driver, f"button.retake[data-slide='{SLIDE}']", "Record slide 1")
    screenshot(driver, "retake-progress")
    seen = follow_without_reload(driver, servers, run_id)
    spoken = [line for line in seen if "slides spoken" in line]
    assert spoken, seen
    counts = [int(line.split(" of ")[0]) for line in spoken]
    assert counts == sorted(counts)
    assert all(f"of {len(NARRATED)} slides spoken" in line for line in spoken)
    assert any("left" in line for line in seen) or len(set(counts)) > 1, seen
    # The new video is in place, its new take named, and the re-take's message gone.
    row = f"tr.slide[data-slide='{SLIDE}']"
    assert by_css(driver, f"{row} .tag.take")[0].text == f"take {take + 1}"
    assert by_css(driver, "#video")[0].get_attribute("src") != first_video
    assert by_css(driver, "#status .badge")[0].text == "completed"
    video = by_css(driver, "#video")[0]  # the new take plays, from its slide
    wait_until(driver, lambda d: d.execute_script("return arguments[0].currentTime", video) > 0.3)
    driver.execute_script("arguments[0].pause()", video)
    screenshot(driver, "retake-done")

    # Both takes can be heard; the earlier one is chosen again.
    driver.execute_script(f'document.querySelector("{row} details.takes").open = true')
    takes = by_css(driver, f"{row} li.take")
    assert [t.get_attribute("data-take") for t in takes] == [str(take), str(take + 1)]
    earlier = takes[0].find_element("css selector", "audio")
    played = driver.execute_script(
        "const m = arguments[0]; m.muted = true;"
        "return m.play().then(() => 'playing', (e) => 'refused: ' + e.message);",
        earlier,
    )
    assert played == "playing", played
    wait_until(driver, lambda d: d.execute_script("return arguments[0].currentTime", earlier) > 0.3)
    driver.execute_script("arguments[0].pause()", earlier)
    screenshot(driver, "takes-listed")
    renewed = job.manifest(servers.root).slides[0]
    old_key = renewed.take_keys[str(take)]
    assert renewed.audio_key != old_key

    chosen = start_from_the_page(
        driver, f"{row} button.use-take[data-take='{take}']", f"Put take {take} of slide 1 back"
    )
    assert servers.run(chosen)["conf"]["takes"][str(SLIDE)] == take
    follow_without_reload(driver, servers, chosen)
    after = job.manifest(servers.root).slides[0]
    assert (after.take, after.audio_key, after.synthesized) == (take, old_key, False)
    # The next video speaks that take: the job's audio of the slide is the cached take.
    assert digest(folder.audio(after.number)) == digest(
        folder.store.cache.audio(old_key).files["wav"]
    )
    assert by_css(driver, f"{row} li.take[data-take='{take}'] .tag.take")
    screenshot(driver, "take-chosen")
