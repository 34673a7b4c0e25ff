"""docker-compose.yaml as the harness reads it: variables filled in as compose fills them, one
service's environment and command, and its host names rewritten to where this machine runs them.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.stack.errors import StackError

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's variable syntax: ``${X}``, ``${X:-default}``, ``${X:?message}``, ``$$``."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = variables.get(name)
        empty = value is None or (value == "" and op and op.startswith(":"))
        if op and op.endswith("?") and empty:
            raise StackError(f"compose: {arg or name + ' is required'}")
        if op and op.endswith("-") and empty:
            return interpolate(arg, variables)
        return value or ""

    return _VARIABLE.sub(one, text)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    import yaml  # PyYAML resolves the anchors and ``<<`` merge keys as compose does

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise StackError(f"{path}: {' '.join(str(error).split())}") from None


@dataclass(frozen=True)
class ComposeService:
    """One compose service as it would run: environment and command, variables filled in."""

    name: str
    environment: dict[str, str]
    command: list[str]


def compose_service(
    compose: Mapping[str, Any], name: str, variables: Mapping[str, str]
) -> ComposeService:
    spec = compose["services"].get(name)
    if spec is None:
        raise StackError(f"compose: no service {name!r} in {COMPOSE_FILE.name}")
    env = {k: interpolate(str(v), variables) for k, v in (spec.get("environment") or {}).items()}
    command = spec.get("command") or []
    if isinstance(command, str):
        command = command.split()
    return ComposeService(name, env, [interpolate(str(part), variables) for part in command])


def rewrite_addresses(env: Mapping[str, str], addresses: Mapping[str, str]) -> dict[str, str]:
    """The same settings, with compose's service host names (``postgres``, ``redis:6379``,
    ``minio:9000``, ...) replaced by the loopback addresses where this stack runs them.

    A URL naming a host that is neither a compose service we run nor loopback is an error: the
    compose file has grown a service this harness does not know.
    """
    host = re.compile(
        r"(?P<scheme>[a-z][a-z0-9+.-]*)(?P<pre>://(?:[^@/]*@)?)(?P<host>[A-Za-z0-9_.-]+)"
        r"(?::(?P<port>\d+))?"
    )

    def one(match: re.Match) -> str:
        name = match.group("host")
        if match.group("scheme") in ("s3", "file", "unix"):  # buckets and paths, not hosts
            return match.group(0)
        if name in addresses:
            return f"{match.group('scheme')}{match.group('pre')}{addresses[name]}"
        if name in ("localhost", "127.0.0.1"):
            return match.group(0)
        raise StackError(f"compose: an Airflow setting names host {name!r}, not run here")

    return {key: host.sub(one, value) for key, value in env.items()}


def generated_variables() -> dict[str, str]:
    """The secrets compose reads from .env (docs/airflow.md makes them the same way)."""
    return {
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_hex(12),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW_API_SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "REDIS_PASSWORD": secrets.token_hex(16),
        "MINIO_ROOT_PASSWORD": secrets.token_hex(16),
        "DECK2VIDEO_S3_SECRET_KEY": secrets.token_hex(16),
    }
