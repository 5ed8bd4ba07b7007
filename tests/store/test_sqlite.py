"""What only the SQLite backend does: one process per file."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from runstream.store import open_store
from tests.conftest import sqlite_url
from tests.store.conftest import Recorder, ids_of, new_task, new_workflow


@pytest.mark.parametrize("through", ["the file", "a symlink"])
async def test_a_second_process_on_the_same_file_is_refused(tmp_path: Path, through: str) -> None:
    url = sqlite_url(tmp_path / "one.db")
    first = open_store(url)
    await first.open(Recorder())
    if through == "a symlink":
        # The lock is on the real path: another name for the same file meets it.
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "alias.db").symlink_to(tmp_path / "one.db")
        url = sqlite_url(tmp_path / "elsewhere" / "alias.db")
    code = (
        "import asyncio, sys\n"
        "from runstream.store import open_store\n"
        "from runstream.errors import StoreError\n"
        "class L:\n"
        "    def on_events(self, e): pass\n"
        "    def on_wake(self, w): pass\n"
        "try:\n"
        f"    asyncio.run(open_store({url!r}).open(L()))\n"
        "except StoreError as err:\n"
        "    print(err); sys.exit(3)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    await first.close()
    assert proc.returncode == 3
    assert f"is in use by pid {os.getpid()}" in out.decode()
    again = open_store(url)
    await again.open(Recorder())  # free again once the first store closed
    await again.close()


async def test_reopening_the_file_reclaims_every_lease_at_once(tmp_path: Path) -> None:
    """The file lock proves the previous process is gone: its leases are dead now, not when
    they expire (issue 9, item 4); its tasks spend no retry."""
    url = sqlite_url(tmp_path / "one.db")
    first = open_store(url)
    await first.open(Recorder())
    task_id = await new_task(first, retries=0)
    workflow_id = await new_workflow(first)
    assert len((await first.claim_tasks("crashed", 1, lease=300))[0]) == 1
    assert ids_of(await first.claim_workflows("crashed", 1, lease=300)) == [workflow_id]
    await first.close()  # as a kill -9 would leave it: the leases still run for 5 minutes

    again = open_store(url)
    recorder = Recorder()
    await again.open(recorder)
    try:
        failed = [e for e in recorder.events if e.type == "TASK_FAILED"]
        assert len(failed) == 1 and failed[0].data["workerLost"] is True
        claims, _ = await again.claim_tasks("next", 1, lease=5)
        assert [(c.id, c.attempt) for c in claims] == [(task_id, 2)]
        assert ids_of(await again.claim_workflows("next", 1, lease=5)) == [workflow_id]
    finally:
        await again.close()
