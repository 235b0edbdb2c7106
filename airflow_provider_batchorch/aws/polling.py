"""Polling AWS until something happens, riding out a few failed polls (throttling, a network blip).

One loop for every poller: the batch and new-CSV triggers (``apoll``, in the triggerer), ``aws.pipeline`` and the
Slack progress operator (``poll``). Each good read is yielded; the caller stops by breaking out of the loop.
``max_errors`` botocore errors in a row raise the last one; a good read resets the count.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

# A batch can run for hours: ride out a few failed polls before giving up.
MAX_CONSECUTIVE_POLL_ERRORS = 5
TOLERATED_POLL_ERRORS = (BotoCoreError, ClientError)

T = TypeVar("T")
_MISSED = object()


class _TolerantRead(Generic[T]):
    """``read()``, or ``_MISSED`` after logging a tolerated error; the ``max_errors``-th error in a row is raised."""

    def __init__(self, read: Callable[[], T], *, what: str, log: logging.Logger | logging.LoggerAdapter,
                 max_errors: int, tolerate: tuple[type[BaseException], ...] = TOLERATED_POLL_ERRORS) -> None:
        self.read, self.what, self.log, self.max_errors = read, what, log, max_errors
        self.tolerate = tolerate
        self.errors_in_a_row = 0

    def __call__(self) -> T | object:
        try:
            value = self.read()
        except self.tolerate as exc:
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= self.max_errors:
                raise
            self.log.warning("Polling %s failed (%d in a row), retrying: %s", self.what, self.errors_in_a_row, exc)
            return _MISSED
        self.errors_in_a_row = 0
        return value


def _pause(value: object, interval: float, error_interval: float | None) -> float:
    return interval if value is not _MISSED or error_interval is None else error_interval


def poll(read: Callable[[], T], *, interval: float, what: str, log: logging.Logger | logging.LoggerAdapter,
         error_interval: float | None = None, max_errors: int = MAX_CONSECUTIVE_POLL_ERRORS) -> Iterator[T]:
    """``read()`` every ``interval`` seconds (``error_interval`` after a failed read, default ``interval``)."""
    attempt = _TolerantRead(read, what=what, log=log, max_errors=max_errors)
    while True:
        value = attempt()
        if value is not _MISSED:
            yield value
        time.sleep(_pause(value, interval, error_interval))


async def apoll(read: Callable[[], T], *, interval: float, what: str, log: logging.Logger | logging.LoggerAdapter,
                error_interval: float | None = None, max_errors: int = MAX_CONSECUTIVE_POLL_ERRORS,
                tolerate: tuple[type[BaseException], ...] = TOLERATED_POLL_ERRORS) -> AsyncIterator[T]:
    """``poll`` for the triggerer: ``read`` (boto3, blocking) runs in a thread, the waits on the event loop;
    ``tolerate``: the errors a poll may fail with (``max_errors`` in a row), default botocore's."""
    attempt = _TolerantRead(read, what=what, log=log, max_errors=max_errors, tolerate=tolerate)
    while True:
        value = await asyncio.to_thread(attempt)
        if value is not _MISSED:
            yield value
        await asyncio.sleep(_pause(value, interval, error_interval))
