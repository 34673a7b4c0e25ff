"""Airflow's REST API v2 as a client uses it: the one client of the stack, its tests, the
in-process Airflow of the UI tests and the stack benchmark."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scripts.stack.errors import StackError


@dataclass
class Api:
    """REST API v2 with a bearer token, as a client uses it.

    A call that Airflow answers with "Database error" is tried again with backoff: with a SQLite
    metadata DB (the in-process tests' Airflow) a write that found the file locked was rolled
    back, so trying again cannot do anything twice.
    """

    base: str
    token: str = ""

    def login(self, username: str, password: str) -> None:
        status, body = self.call("POST", "/auth/token", {"username": username,
                                                         "password": password})  # fmt: skip
        if status not in (200, 201):
            raise StackError(f"api-server: login refused ({status}): {body}")
        self.token = body["access_token"]

    def call(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, Any]:
        """One API call: its status and its JSON answer (or text, where it sent no JSON)."""
        for attempt in range(5):
            status, answer = self._call_once(method, path, body, headers)
            if not (status >= 500 and _is_database_error(answer)):
                break
            time.sleep(0.5 * 2**attempt)
        return status, answer

    def raw(self, path: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        """A GET as a browser makes it: status, headers and the bytes as they came."""
        request = urllib.request.Request(f"{self.base}{path}", headers=self._headers(headers))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def _call_once(
        self, method: str, path: str, body: dict | None, headers: dict | None
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **self._headers(headers)},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _body(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _body(error.read())

    def _headers(self, extra: dict | None) -> dict[str, str]:
        return {
            **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            **(extra or {}),
        }


def _is_database_error(answer: Any) -> bool:
    detail = answer.get("detail") if isinstance(answer, dict) else None
    return isinstance(detail, dict) and detail.get("reason") == "Database error"


def _body(data: bytes) -> Any:
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return data.decode(errors="replace")


def parse_time(text: str) -> datetime:
    """A timestamp of the REST API ("2025-01-01T10:00:00.123456Z")."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
