"""The agent examples in docs/ run (against the scripted model server) and print what
docs/agents.md says they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, tmp_path: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MODEL"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs/examples" / name), str(tmp_path / "example.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    return done.stdout.splitlines()


def test_the_agent_example_streams_tools_then_tokens(tmp_path: Path) -> None:
    out = run_example("agent.py", tmp_path)
    types = [line.split()[1] for line in out[:-1]]
    assert types[:5] == [
        "WORKFLOW_CREATED",
        "WORKFLOW_STARTED",
        "TASK_CREATED",
        "WORKFLOW_SUSPENDED",
        "TASK_STARTED",
    ]
    assert types[5] == "agent_start" and types[-1] == "WORKFLOW_COMPLETED"
    assert sorted(types[6:10]) == ["tool_call", "tool_call", "tool_result", "tool_result"]
    assert types.count("token") == 8 and types[-4:-2] == ["usage", "TASK_COMPLETED"]
    assert "'toolName': 'get_weather', 'args': {'city': 'Lisbon'}" in out[6]
    assert (
        out[-1] == 'At 14:05 it is clear and 18°C ({"city":"Lisbon","sky":"clear","celsius":18}).'
    )


def test_the_structured_example_fills_its_object_in(tmp_path: Path) -> None:
    out = run_example("agent_structured.py", tmp_path)
    assert out[0] == "partial {}"
    assert out[1] == "partial {'label': 'positiv'}"
    assert out[-2] == "partial {'label': 'positive', 'score': 0.92, 'reasons': ['lovely', 'quiet']}"
    assert out[-1] == "result  {'label': 'positive', 'score': 0.92, 'reasons': ['lovely', 'quiet']}"
