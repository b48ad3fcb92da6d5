"""``StubApp``: an in-memory stand-in for the Celery application, for tests.

``CeleryExecutor(StubApp(), ...)`` keeps its messages in a list instead of a broker;
``deliver(run)`` hands them, in order, to a worker's ``run`` (``JobWorker.run``), which is
what a Celery worker does with ``reelflow.run_job``. Set ``fail`` to make sending raise as
an unreachable broker does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    name: str
    payload: dict[str, Any]
    queue: str


class StubApp:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.fail: Exception | None = None
        self.closed = False

    def send_task(self, name: str, args: list[Any], queue: str, **_options: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.messages.append(Message(name, args[0], queue))

    def close(self) -> None:
        self.closed = True

    def deliver(self, run: Callable[[dict[str, Any]], object], limit: int | None = None) -> int:
        """Run up to ``limit`` waiting messages through ``run``; returns how many ran."""
        count = 0
        while self.messages and (limit is None or count < limit):
            run(self.messages.pop(0).payload)
            count += 1
        return count
