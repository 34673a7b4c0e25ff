"""The job page's filmstrip of each slide's build steps, from a real builds job's folder: the
template rendered with the plugin's own filters and file lookup, shown in Chromium (every step's
still loads, with its start time), and a click on a step seeks the video to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from deck2video_ui import jobs, pages
from deck2video_ui.links import AirflowLinks
from jinja2 import Environment, FileSystemLoader, select_autoescape

from deck2video import storage
from deck2video.job import JobFolder, load_manifest
from tests.support.browser import chromium, screenshot
from tests.support.processes import wait_until

UI = Path(__file__).resolve().parents[2] / "plugins" / "deck2video_ui"


def page_for(folder: JobFolder, html: Path) -> Path:
    """The job page as the app renders it, its links to the job's files as file: URLs (looked
    up by ``jobs.file_url``, as the app does) so that a browser can open it without servers."""
    manifest = load_manifest(folder)
    view = jobs.load_job(folder)
    kinds = {"slide_image": "slide", "step_image": "step", "slide_audio": "audio",
             "video": "video", "captions": "captions"}  # fmt: skip

    def url(route: str, /, **params) -> str:
        if route == "static":
            return (UI / "static" / params["file"]).as_uri()
        if route not in kinds:
            return "#"
        found = jobs.file_url(
            folder, manifest, kinds[route], params.get("slide"), params.get("step")
        )
        assert found is not None, (route, params)
        return Path(storage.parse(found).key).as_uri()

    env = Environment(loader=FileSystemLoader(UI / "templates"), autoescape=select_autoescape())
    env.filters.update(pages.FILTERS)
    env.globals["airflow_links"] = AirflowLinks("/")
    html.write_text(
        env.get_template("job.html").render(
            job=view,
            runs=[],
            run=None,
            status=None,
            output_url=None,
            may_trigger=False,
            working=None,
            url=url,
            airflow="/",
            dag_id="deck_to_video",
        ),
        encoding="utf-8",
    )
    return html


def test_steps_are_files_of_a_known_slide_and_step(builds_run) -> None:
    folder = JobFolder(builds_run.summary.job_url)
    manifest = load_manifest(folder)
    assert jobs.file_url(folder, manifest, "step", 1, 1) == folder.step(1, 1)
    assert jobs.file_url(folder, manifest, "step", 1, 4) == folder.slide(1)  # the last step
    assert jobs.file_url(folder, manifest, "step", 1, 5) is None
    assert jobs.file_url(folder, manifest, "step", 1, 0) is None
    assert jobs.file_url(folder, manifest, "step", 3, 1) == folder.slide(3)  # one still
    assert jobs.file_url(folder, manifest, "step", 1, None) is None
    assert jobs.file_url(folder, manifest, "slide", 1, 2) is None


@pytest.mark.slow
def test_filmstrip_shows_each_step_with_its_time_and_seeks_the_video(builds_run, tmp_path):
    from selenium.webdriver.common.by import By

    folder = JobFolder(builds_run.summary.job_url)
    manifest = load_manifest(folder)
    html = page_for(folder, tmp_path / "job.html")
    with chromium() as driver:
        driver.get(html.as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.slide")
        strips = {
            int(row.get_attribute("data-slide")): row.find_elements(By.CSS_SELECTOR, ".build-step")
            for row in rows
        }
        assert {n: len(b) for n, b in strips.items()} == {1: 4, 2: 3, 3: 0}
        for number, record in ((1, manifest.slides[0]), (2, manifest.slides[1])):
            times = [b.find_element(By.CSS_SELECTOR, ".time").text for b in strips[number]]
            assert times == [pages.timestamp(t) for t in record.step_starts]
        images = driver.find_elements(By.CSS_SELECTOR, "ol.build-steps img")
        assert wait_until(
            lambda: all(driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", i
            ) for i in images),
            timeout=20,
        ), "a step's still did not load"  # fmt: skip
        driver.execute_script("document.querySelector('table.slides').scrollIntoView()")
        screenshot(driver, "job-page-filmstrip")

        video = driver.find_element(By.ID, "video")
        driver.execute_script("arguments[0].muted = true", video)
        target = manifest.slides[0].step_starts[2]
        strips[1][2].click()
        assert wait_until(
            lambda: (
                abs(driver.execute_script("return arguments[0].currentTime", video) - target) < 0.5
            ),
            timeout=20,
        ), "a click on step 3 did not seek the video to it"
