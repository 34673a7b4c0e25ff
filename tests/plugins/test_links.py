"""links.py: every link into Airflow's UI is one of the UI's own routes, under its base path,
with each id quoted as one path segment."""

from __future__ import annotations

from deck2video_ui.links import AirflowLinks

RUN = "manual__2026-12-03T13:52:01.310697+00:00"
QUOTED = "manual__2026-12-03T13%3A52%3A01.310697%2B00%3A00"


def test_links_follow_the_ui_routes_under_its_base_path():
    links = AirflowLinks("/")
    assert links.dag() == "/dags/deck_to_video"
    assert links.videos() == "/plugin/deck2video"
    assert links.run(RUN) == f"/dags/deck_to_video/runs/{QUOTED}"
    assert links.task(RUN, "speak") == f"/dags/deck_to_video/runs/{QUOTED}/tasks/speak"
    assert links.task(RUN, "speak", 3) == f"/dags/deck_to_video/runs/{QUOTED}/tasks/speak/mapped/3"
    assert links.task(RUN, "prepare", -1) == f"/dags/deck_to_video/runs/{QUOTED}/tasks/prepare"
    assert links.required_actions(RUN).endswith(f"{QUOTED}/tasks/approve/required_actions")
    assert links.video_tab(RUN).endswith(f"{QUOTED}/plugin/deck2video-run")


def test_a_base_path_prefixes_every_link_and_an_id_stays_one_segment():
    for root in ("/airflow", "/airflow/", "airflow/"):
        assert AirflowLinks(root).dag() == "/airflow/dags/deck_to_video"
    assert AirflowLinks("").dag() == "/dags/deck_to_video"
    sneaky = AirflowLinks("/").run("../../admin?x=1#y")
    assert sneaky == "/dags/deck_to_video/runs/..%2F..%2Fadmin%3Fx%3D1%23y"
