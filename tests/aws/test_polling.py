"""One poll loop with tolerated errors: botocore errors in a row are ridden out up to a limit, a good read resets."""

import asyncio
import itertools
import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from airflow_provider_batchorch.aws.polling import apoll, poll

log = logging.getLogger(__name__)


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DescribeExecution")


def reads(*outcomes):
    """A read that returns or raises each outcome in turn."""
    outcomes = iter(outcomes)

    def read():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return read


def first(iterator, count):
    return list(itertools.islice(iterator, count))


def test_poll_rides_out_errors_and_yields_each_good_read(caplog):
    read = reads(1, throttled(), EndpointConnectionError(endpoint_url="http://moto"), 2, throttled(), 3)
    with caplog.at_level(logging.WARNING):
        assert first(poll(read, interval=0, what="the execution", log=log, max_errors=3), 3) == [1, 2, 3]
    assert "Polling the execution failed (2 in a row), retrying" in caplog.text


def test_poll_raises_the_last_of_max_errors_in_a_row():
    read = reads(1, throttled(), throttled(), throttled())
    with pytest.raises(ClientError, match="Throttling"):
        first(poll(read, interval=0, what="x", log=log, max_errors=3), 2)


def test_poll_does_not_tolerate_other_errors():
    with pytest.raises(KeyError):
        first(poll(reads(KeyError("status")), interval=0, what="x", log=log), 1)


def test_apoll_is_the_same_loop_for_the_triggerer():
    async def collect(read, count):
        values = []
        async for value in apoll(read, interval=0, error_interval=0, what="x", log=log, max_errors=2):
            values.append(value)
            if len(values) == count:
                return values

    assert asyncio.run(collect(reads(throttled(), "a", throttled(), "b"), 2)) == ["a", "b"]
    with pytest.raises(ClientError, match="Throttling"):
        asyncio.run(collect(reads("a", throttled(), throttled()), 2))
