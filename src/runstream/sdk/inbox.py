"""``Inbox``: the messages posted to a standalone task execution, read from its own log.

A task that takes messages (a Claude Code session) does not poll anything: it follows its
execution's log like any stream subscriber and picks out ``MESSAGE_RECEIVED`` events,
reading each payload from the store. The log is the truth and the hub only says "there is
more", so this works unchanged when the message was accepted by another process (an API
process in front of a separate worker), and after a restart, when the log is read again
from its start and every accepted message comes back, in the order it was accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from runstream.model import Event, EventType
from runstream.store.base import Store

Subscribe = Callable[[str, int], AsyncIterator[Event]]
"""``subscribe(execution_id, after)``: a log's events after a seq, then live, ending after
its terminal event (``Hub.subscribe``)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message posted to the execution."""

    id: str
    """The ``messageId`` of its ``MESSAGE_RECEIVED`` event."""
    payload: Any
    """The JSON value that was posted."""


class Inbox:
    """The messages of one standalone task execution, for one attempt of it."""

    def __init__(
        self, store: Store, subscribe: Subscribe, execution_id: str, task_id: str, attempt: int
    ) -> None:
        self._store = store
        self._subscribe = subscribe
        self.execution_id = execution_id
        self._task_id = task_id
        self._attempt = attempt

    async def messages(self) -> AsyncIterator[Message]:
        """Every message accepted so far, oldest first, then each new one as it is accepted.

        Ends when the execution's log ends (it was cancelled, or it finished).
        """
        events = self._subscribe(self.execution_id, 0)
        try:
            async for event in events:
                if event.type == EventType.MESSAGE_RECEIVED and isinstance(event.data, dict):
                    message_id = str(event.data["messageId"])
                    payload = await self._store.read_message(self.execution_id, message_id)
                    yield Message(message_id, payload)
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def consumed(self, message: Message) -> None:
        """Record that this attempt delivered ``message`` (``MESSAGE_CONSUMED``, once)."""
        await self._store.consume_message(
            self.execution_id, message.id, self._task_id, self._attempt
        )

    async def close(self) -> bool:
        """Take no more messages, unless one was accepted and not delivered yet (False)."""
        return await self._store.close_input(self.execution_id)
