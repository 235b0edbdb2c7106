"""How a worker process runs: one event loop, the worker's ``stop()`` on SIGTERM/SIGINT, the agent process pools
closed at the end. Shared by the chunk worker (``aws/worker.py``) and the stream worker (``aws/stream_worker.py``)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Protocol

from airflow_provider_batchorch.agents.python_agent import close_agent_process_pools


class StoppableWorker(Protocol):
    def stop(self) -> None: ...

    async def run(self, *, idle_exit_seconds: float | None = None) -> Any: ...


def run_until_stopped(worker: StoppableWorker, *, idle_exit_seconds: float | None = None) -> Any:
    """``await worker.run(idle_exit_seconds=...)``; returns what it returned."""

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, worker.stop)
            except (NotImplementedError, RuntimeError):
                pass
        try:
            return await worker.run(idle_exit_seconds=idle_exit_seconds)
        finally:
            close_agent_process_pools()

    # Not asyncio.run(): it would wait for agent threads still running past their row timeout.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
