"""New video in a real browser against the real api-server: a deck and a recording uploaded from
the page become an ordinary deck_to_video run by the signed-in user, whose progress the list
follows without a reload until its video plays. The uploads are hostile: refused by size and
type before anything is stored, stored under names the page makes, and only for users whom
Airflow lets trigger runs."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from deck2video import storage
from deck2video.samples import SampleSlide, build_deck
from tests.support import bad_files
from tests.support.browser import by_css, screenshot, wait_until

pytestmark = pytest.mark.slow

SLIDES = [
    SampleSlide(f"Part {n}", f"This is part {n} of the upload test. It has a sentence or two.")
    for n in range(1, 6)
]


def post(servers, path: str, body: bytes, headers: dict, user: str = "admin") -> tuple[int, dict]:
    """A POST as a script sends it, with the user's token."""
    token = servers.admin.token if user == "admin" else servers.api(user).token
    request = urllib.request.Request(
        f"{servers.base}{path}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


OCTETS = {"Content-Type": "application/octet-stream"}


def uploads_under(servers) -> list[str]:
    return [o.url for o in storage.list_objects(f"{servers.root}/uploads")]


def test_a_producer_uploads_a_deck_and_a_recording_and_watches_it_to_the_end(
    signed_in, airflow_servers, reference_voice, tmp_path
):
    servers, driver = airflow_servers, signed_in
    deck = build_deck(tmp_path / "Quarterly Review (final).pptx", SLIDES)
    driver.switch_to.default_content()
    driver.get(f"{servers.base}/deck2video/")
    by_css(driver, "#new-video")[0].click()
    wait_until(driver, lambda d: by_css(d, "form#new-video"))
    by_css(driver, "#deck")[0].send_keys(str(deck))
    by_css(driver, "#voice-file")[0].send_keys(str(reference_voice))
    assert by_css(driver, "#voice-upload-choice")[0].is_selected()
    by_css(driver, "details.settings summary")[0].click()
    resolution = by_css(driver, "#set-resolution")[0]
    resolution.find_element("css selector", "option[value='1280x720']").click()
    screenshot(driver, "new-video-form")
    by_css(driver, "#start")[0].click()

    # The list opens and follows the run: the page is never loaded again.
    row = wait_until(
        driver,
        lambda d: [r for r in by_css(d, "tr.job") if "quarterly-review-final.pptx" in r.text],
        timeout=60,
    )[0]
    run_id = row.get_attribute("data-run")
    driver.execute_script("window.deck2videoSameDocument = true")
    seen = set()

    def finished(d) -> bool:
        row = by_css(d, f"tr.job[data-run='{run_id}']")[0]
        if spoken := row.find_element("css selector", ".progress .spoken").text:
            if not seen:
                screenshot(d, "videos-list-progress")
            seen.add(spoken)
        return row.find_element("css selector", ".badge").text == "completed"

    wait_until(driver, finished, timeout=420)
    assert driver.execute_script("return window.deck2videoSameDocument === true")
    counts = sorted(int(s.split(" / ")[0]) for s in seen)
    assert len(counts) >= 2, seen  # it advanced while the page watched
    assert all(s.endswith(f" / {len(SLIDES)} slides") for s in seen), seen
    row = by_css(driver, f"tr.job[data-run='{run_id}']")[0]
    assert row.find_element("css selector", "td.slides").text == str(len(SLIDES))
    assert row.find_element("css selector", "td.when").text.endswith(" UTC")
    wait_until(driver, lambda d: d.execute_script(
        "const i = document.querySelector(arguments[0]); return i && i.naturalWidth > 0",
        f"tr.job[data-run='{run_id}'] img.list-thumb"))  # fmt: skip
    screenshot(driver, "videos-list-after-new-video")

    # An ordinary run by this user, its inputs in the uploads area under names the page made.
    run = servers.run(run_id)
    assert run["triggering_user_name"] == "admin"
    uploads = re.escape(f"{servers.root}/uploads/")
    assert re.fullmatch(
        f"{uploads}[0-9a-f]{{16}}/quarterly-review-final\\.pptx", run["conf"]["deck_url"]
    )
    assert re.fullmatch(f"{uploads}[0-9a-f]{{16}}/voice\\.wav", run["conf"]["voice_url"])
    assert run["conf"]["resolution"] == "1280x720"

    row.find_element("css selector", "td.deck a").click()
    video = wait_until(driver, lambda d: by_css(d, "#video"))[0]
    started = driver.execute_script(
        "const m = arguments[0]; m.muted = true;"
        "return m.play().then(() => 'playing', (e) => 'refused: ' + e.message);",
        video,
    )
    assert started == "playing"
    wait_until(driver, lambda d: d.execute_script("return arguments[0].currentTime", video) > 0.5)
    screenshot(driver, "new-video-job-page")

    # Next time, the form offers this user's voice first.
    driver.get(f"{servers.base}/deck2video/new")
    chosen = wait_until(driver, lambda d: by_css(d, "input[name=voice]:checked"))[0]
    assert chosen.get_attribute("value") == run["conf"]["voice_url"]


def test_uploads_are_refused_by_size_type_and_origin_and_stored_under_names_made_here(
    airflow_servers, tmp_path
):
    servers = airflow_servers
    before = uploads_under(servers)
    path = "/deck2video/api/uploads/deck?name=x.pptx"
    limit = 200 * 1024 * 1024
    too_big = {**OCTETS, "Content-Length": str(limit + 1)}
    assert post(servers, path, b"PK\x03\x04", too_big)[0] == 413  # refused before reading it
    status, body = post(
        servers, path, bad_files.not_a_zip(tmp_path / "j.pptx").read_bytes(), OCTETS
    )
    assert (status, "not a zip file" in body["detail"]) == (415, True)
    assert post(servers, path, b"PK\x03\x04", {"Content-Type": "text/plain"})[0] == 415
    evil = {**OCTETS, "Origin": "http://evil.example"}
    assert post(servers, path, b"PK\x03\x04", evil)[0] == 403
    voice = "/deck2video/api/uploads/voice?name=v.wav"
    status, body = post(servers, voice, b"<html>not audio</html>", OCTETS)
    assert (status, "not an audio file" in body["detail"]) == (415, True)
    assert uploads_under(servers) == before  # nothing refused was stored

    deck = build_deck(tmp_path / "d.pptx", SLIDES[:1]).read_bytes()
    status, body = post(servers, "/deck2video/api/uploads/deck?name=../../etc/ev%2Fil%00.pptx",
                        deck, OCTETS)  # fmt: skip
    assert status == 200, body
    # The browser's name gives letters only: no folder, no NUL, no other character.
    assert re.fullmatch(
        re.escape(f"{servers.root}/uploads/") + "[0-9a-f]{16}/il\\.pptx", body["url"]
    )
    assert storage.read_bytes(body["url"]) == deck


def test_a_user_who_may_not_trigger_sees_no_new_video_and_is_refused(airflow_servers):
    servers = airflow_servers
    viewer = servers.api("viewer")
    status, _, page = viewer.raw("/deck2video/", {"Accept": "text/html"})
    assert status == 200
    assert b'id="new-video"' not in page
    assert viewer.raw("/deck2video/new")[0] == 403
    upload = "/deck2video/api/uploads/deck?name=x.pptx"
    assert post(servers, upload, b"PK\x03\x04", OCTETS, user="viewer")[0] == 403
    assert b'id="new-video"' in servers.admin.raw("/deck2video/", {"Accept": "text/html"})[2]


def test_the_trigger_form_refuses_a_deck_outside_the_roots_before_a_run_exists(
    signed_in, airflow_servers
):
    servers, driver = airflow_servers, signed_in
    allowed = servers.root.rsplit("/", 1)[0] + "/"

    def runs() -> int:
        status, found = servers.admin.call("GET", "/api/v2/dags/deck_to_video/dagRuns?limit=1")
        assert status == 200, found
        return found["total_entries"]

    before = runs()
    driver.switch_to.default_content()
    driver.get(f"{servers.base}/dags/deck_to_video")
    wait_until(driver, open_trigger_form)[0].click()
    deck = wait_until(driver, lambda d: by_css(d, "[role=dialog] input[name=element_deck_url]"))[0]
    # The form's help names the allowed prefixes.
    field = deck.find_element("xpath", "./ancestor::*[contains(., 'Allowed locations')][1]")
    assert f"Allowed locations: {allowed}." in field.text
    by_css(driver, "[role=dialog] input[name=element_voice_url]")[0].send_keys(f"{allowed}v.wav")
    deck.send_keys("/etc/talk.pptx")
    dialog_button(driver, "Trigger")[0].click()
    says = "Invalid input for param deck_url: '/etc/talk.pptx' does not match"
    wait_until(
        driver,
        lambda d: d.execute_script("return document.body.innerText.includes(arguments[0])", says),
    )
    screenshot(driver, "trigger-form-refuses-outside-the-roots")
    assert runs() == before  # refused before a run existed


def open_trigger_form(driver) -> list:
    """The Trigger dialog's Inputs section, clicking Trigger again (every few seconds) until it is
    there: on a busy machine the first click can land before Airflow's page handles it."""
    import time

    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        found = dialog_button(driver, "Inputs")
        if found:
            return found
        now = time.monotonic()
        if now - getattr(open_trigger_form, "clicked", 0.0) > 3.0:
            buttons = [b for b in by_css(driver, "button") if b.text.strip() == "Trigger"]
            if buttons:
                buttons[0].click()
                open_trigger_form.clicked = now  # type: ignore[attr-defined]
    except (StaleElementReferenceException, WebDriverException):
        pass  # the page redrew, or covered the button: look again
    return []


def dialog_button(driver, text: str) -> list:
    return [b for b in by_css(driver, "[role=dialog] button") if b.text.strip().startswith(text)]


@pytest.fixture
def many_runs(airflow_servers):
    """More runs than one page holds, kept from running: made while the DAG is paused, some
    marked failed, all deleted at the end."""
    servers = airflow_servers
    allowed = servers.root.rsplit("/", 1)[0] + "/"
    dag = "/api/v2/dags/deck_to_video"
    assert servers.admin.call("PATCH", dag, {"is_paused": True})[0] == 200
    made = []
    try:
        for n in range(PAGE + 5):
            conf = {"deck_url": f"{allowed}bulk/bulk-{n:02d}.pptx", "voice_url": f"{allowed}v.wav"}
            made.append(servers.trigger(conf))
            if n % 4 == 0:
                status, body = servers.admin.call(
                    "PATCH", f"{dag}/dagRuns/{made[-1]}", {"state": "failed"}
                )
                assert status == 200, body
        yield made
    finally:
        for run_id in made:
            servers.admin.call("DELETE", f"{dag}/dagRuns/{run_id}")
        servers.admin.call("PATCH", dag, {"is_paused": False})


PAGE = 25  # deck2video_ui.listing.JOBS_PER_PAGE


def test_the_list_pages_through_every_job_and_searches_and_filters_them(
    signed_in, airflow_servers, many_runs
):
    servers, driver = airflow_servers, signed_in
    driver.switch_to.default_content()
    driver.get(f"{servers.base}/deck2video/")
    total = int(wait_until(driver, lambda d: by_css(d, "#job-count"))[0].text.split()[0])
    assert total >= len(many_runs)
    pages = -(-total // PAGE)
    seen: list[str] = []
    for page in range(1, pages + 1):
        assert by_css(driver, "#page-of")[0].text == f"page {page} of {pages}"
        rows = by_css(driver, "tr.job")
        assert len(rows) == (PAGE if page < pages else total - PAGE * (pages - 1))
        seen += [r.get_attribute("data-run") for r in rows]
        if page == 1:
            screenshot(driver, "videos-list-page-1")
        if page < pages:
            by_css(driver, "a[rel=next]")[0].click()
            wait_until(driver, lambda d, p=page: by_css(d, "#page-of")[0].text.startswith(
                f"page {p + 1} "))  # fmt: skip
    assert set(many_runs) <= set(seen)
    assert len(seen) == len(set(seen)) == total  # every job once

    search = by_css(driver, "input[name=q]")[0]
    search.clear()
    search.send_keys("BULK-1")
    by_css(driver, "select[name=status] option[value=failed]")[0].click()
    by_css(driver, ".list-filter button[type=submit]")[0].click()
    wait_until(driver, lambda d: "q=BULK-1" in d.current_url and by_css(d, "#job-count"))
    assert by_css(driver, "#job-count")[0].text == "2 jobs match"
    names = [r.find_element("css selector", "td.deck a").text for r in by_css(driver, "tr.job")]
    expected = [f"bulk-{n:02d}.pptx" for n in range(PAGE + 4, 9, -1) if n % 4 == 0 and n < 20]
    assert names == expected
    assert all(b.text == "failed" for b in by_css(driver, "tr.job .badge"))
    screenshot(driver, "videos-list-search-and-filter")
