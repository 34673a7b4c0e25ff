"""compose's airflow-init says it is safe to run again: run it again on the running stack."""

from __future__ import annotations

import pytest

from tests.support.stack_runs import VARIABLES

pytestmark = [pytest.mark.stack, pytest.mark.docker, pytest.mark.slow]


def test_airflow_init_runs_again_and_keeps_admin_pool_and_connection(stack):
    stack.run_airflow_init()  # raises StackError naming its log if any command fails
    api = stack.api()  # the admin's password still works
    status, pool = api.call("GET", "/api/v2/pools/gpu")
    assert (status, pool["slots"]) == (200, int(VARIABLES["GPU_SLOTS"]))
    status, connection = api.call("GET", "/api/v2/connections/deck2video_storage")
    assert status == 200, connection
    assert connection["conn_type"] == "aws"
    assert connection["login"] == stack.storage_env()["AWS_ACCESS_KEY_ID"]
