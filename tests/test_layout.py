"""The package's shape: layers import downward only, the public names are locked."""

from __future__ import annotations

import ast
from pathlib import Path

import runstream

SRC = Path(runstream.__file__).parent
# SPEC §1: model → store → bus → streaming → sdk → engine → api → cli (client beside api).
LAYERS = {
    "errors": 0,
    "config": 0,
    "model": 0,
    "observability": 0,
    "store": 1,
    "bus": 2,
    "streaming": 3,
    "sdk": 4,
    "engine": 5,
    "api": 6,
    "client": 6,
    "cli": 7,
    "demo": 7,
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "runstream" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_layers_import_downward_only() -> None:
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "__init__.py" or rel.parts[0] == "__main__.py":
            continue
        own = rel.parts[0].removesuffix(".py")
        assert own in LAYERS, f"{rel}: place {own!r} in a layer"
        for module in _imports(path):
            other = _layer(module)
            if other is None or other == own:
                continue
            if (other == "client" and own == "api") or (other == "api" and own == "client"):
                upward.append(f"{rel} imports {module} (client and api stay apart)")
            elif LAYERS[other] > LAYERS[own]:
                upward.append(f"{rel} imports {module}")
    assert upward == []


def test_modules_stay_small() -> None:
    sizes = {p.relative_to(SRC): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 450} == {}


def test_public_names_are_locked() -> None:
    assert sorted(runstream.__all__) == [
        "AgentContext",
        "App",
        "CancelledError",
        "ChildWorkflowFailed",
        "Engine",
        "Event",
        "EventType",
        "ExecutionFailed",
        "ExecutionHandle",
        "ExecutionNotFound",
        "ExecutionType",
        "InvalidState",
        "LeaseLost",
        "NonDeterminismError",
        "OperationFailed",
        "PromiseRejected",
        "RetryPolicy",
        "RunstreamError",
        "Snapshot",
        "Status",
        "StoreError",
        "TaskContext",
        "TaskError",
        "TaskFailed",
        "UnknownKind",
        "WorkflowContext",
        "current_task",
    ]
    for name in runstream.__all__:
        assert hasattr(runstream, name), name
