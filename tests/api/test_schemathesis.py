"""A stateful schemathesis run against a real ``runstream serve``: no 5xx, no schema violation.

The OpenAPI links (start → get, events, stream, cancel, messages, promises) let the state
machine use the ids of executions it really started. Streams end after 0.5 s, so a
request to a live stream returns. The run is deterministic (``derandomize``) and bounded
to about a minute on a loaded two-core machine.

Every built-in check runs except ``positive_data_acceptance``: it reads any 400 to a
schema-valid request as a schema bug, and some parameters are checked beyond what a JSON
Schema can say (the ``types`` names, case-insensitive; a cursor naming a child workflow
that does not exist); those 400s are asserted in ``test_hostile_input.py`` instead.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case, Response
from schemathesis.checks import positive_data_acceptance

from tests.cli.conftest import environment, stop, wait_listening
from tests.conftest import sqlite_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fuzz_server(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runstream.cli.main",
            "serve",
            "tests.api.fuzz_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=environment(
            RUNSTREAM_STORE=sqlite_url(tmp_path / "fuzz.db"),
            RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS="0.5",
            RUNSTREAM_STREAM_HEARTBEAT_SECONDS="0.2",
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        assert process.stderr is not None
        with process.stderr:
            log = process.stderr.read()
        # Nothing the fuzzer sent may have crashed a handler, even where the client saw a 4xx.
        assert "Traceback" not in log, log[-5000:]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_stateful_fuzzing_finds_no_5xx_and_no_schema_violation(fuzz_server: str) -> None:
    # The native API, whose links this run follows; the v0 and runs families would take
    # the examples without ever reaching a native start.
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json").include(
        path_regex="^/api/orgs/"
    )
    calls: list[tuple[str, int]] = []

    class Workflows(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"timeout": 15}

        def after_call(self, response: Response, case: Case[Any]) -> None:
            calls.append((case.operation.label, response.status_code))

        def validate_response(
            self, response: Response, case: Case[Any], additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs
            )

    Workflows.run(
        settings=settings(
            max_examples=100,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed with real ids: executions were started and then read.
    started = [
        s for label, s in calls if label.startswith("POST") and label.endswith("-executions")
    ]
    assert 201 in started, calls
    got = [s for label, s in calls if label.startswith("GET") and label.endswith("{execution_id}")]
    assert 200 in got, calls
    assert all(status < 500 for _, status in calls)
