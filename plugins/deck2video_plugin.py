"""The deck2video plugin: a *Videos* page in the Airflow UI's navigation and a tab on each run,
served by a FastAPI app mounted by the api-server under ``/deck2video``, and a listener that
gives every failed deck_to_video run a note with the failing step and its reason.

Both views are Airflow *external views* with a ``url_route``, so the UI shows them inside its
own frame; the pages come from the mounted app, on Airflow's origin, behind Airflow's sign-in.
(A *React app* would need a JavaScript build and ride on an interface Airflow still calls
experimental; these pages need neither.)
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import conf
from deck2video_ui import run_notes

from deck2video.airflow_names import NAV_ROUTE, RUN_VIEW_ROUTE
from deck2video.airflow_names import UI_URL_PREFIX as URL_PREFIX

# Airflow's own base path, which the UI does not add to an external view's href.
_BASE = urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")


class Deck2VideoPlugin(AirflowPlugin):
    name = "deck2video"
    external_views = [  # noqa: RUF012 (AirflowPlugin's own attribute: Airflow reads it, never writes)
        {
            "name": "Videos",
            "href": f"{_BASE}{URL_PREFIX}/",
            "url_route": NAV_ROUTE,
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{_BASE}{URL_PREFIX}/static/icon.svg",
        },
        {
            "name": "Video",
            "href": f"{_BASE}{URL_PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "url_route": RUN_VIEW_ROUTE,
            "destination": "dag_run",
            "icon": f"{_BASE}{URL_PREFIX}/static/icon.svg",
        },
    ]
    listeners = [run_notes]  # noqa: RUF012 (likewise)

    # Built when first read, by the api-server: every task process loads the plugins too (for the
    # listener), and should not pay for the app's imports (Airflow's api_fastapi security).
    # AirflowPlugin declares a plain class attribute; Airflow only reads it, so a property serves.
    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from deck2video_ui.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "deck2video pages"}]
