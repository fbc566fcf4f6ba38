"""Ports the use cases talk through, so they never import RQ, Redis or HTTP clients."""

from __future__ import annotations

from typing import Any, Protocol


class Jobs(Protocol):
    """Background work, addressed by the job names in `services.worker.registry`.

    Implementations hold enqueues until the caller's transaction has committed (a job must
    never look for a row that is not there yet) — the edge calls `flush()` after commit.
    """

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """`job_id` dedupes: a job of that id already waiting is not queued again."""

    def flush(self) -> None: ...


class RecordingJobs:
    """A Jobs port that only remembers what was asked (unit tests, `fluxus plans apply`)."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, tuple[Any, ...], str | None]] = []
        self.flushed: list[tuple[str, tuple[Any, ...], str | None]] = []

    def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        self.pending.append((job, args, job_id))

    def flush(self) -> None:
        self.flushed.extend(self.pending)
        self.pending.clear()
