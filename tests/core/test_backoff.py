import asyncio
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from airflow_provider_batchorch.core.adaptive_concurrency import AdaptiveConcurrencyLimiter
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.backoff import (
    RetryPolicy,
    call_with_retries,
    classify,
    retry_after_seconds,
    row_error_for,
)


class HttpError(Exception):
    def __init__(self, status_code, headers=None, retry_after=None):
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.headers = headers or {}
        if retry_after is not None:
            self.retry_after = retry_after


def client_error(code, status):
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Invoke")


@pytest.mark.parametrize(
    "error, kind",
    [
        (HttpError(429), "throttle"),
        (client_error("ThrottlingException", 400), "throttle"),
        (client_error("TooManyRequestsException", 429), "throttle"),
        (client_error("ProvisionedThroughputExceededException", 400), "throttle"),
        (HttpError(503), "transient"),
        (HttpError(500), "transient"),
        (client_error("ServiceUnavailableException", 503), "transient"),
        (client_error("ModelNotReadyException", 429), "throttle"),  # the status says throttled
        (ConnectionResetError("reset"), "transient"),
        (TimeoutError(), "transient"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "transient"),
        (HttpError(400), None),
        (HttpError(401), None),
        (client_error("ValidationException", 400), None),
        (ValueError("bad"), None),
        (AgentRowError("Website no longer active"), None),
    ],
)
def test_classify(error, kind):
    assert classify(error) == kind


def test_classify_pydantic_ai_and_openai_errors():
    import httpx
    import openai
    from pydantic_ai import ModelHTTPError

    assert classify(ModelHTTPError(429, "m")) == "throttle"
    assert classify(ModelHTTPError(502, "m")) == "transient"
    assert classify(ModelHTTPError(422, "m")) is None
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    assert classify(openai.APIConnectionError(request=request)) == "transient"
    response = httpx.Response(429, request=request, headers={"retry-after": "3"})
    rate_limited = openai.RateLimitError("slow down", response=response, body=None)
    assert classify(rate_limited) == "throttle"
    assert retry_after_seconds(rate_limited) == 3


def test_retry_after_sources():
    assert retry_after_seconds(HttpError(429, retry_after=2.5)) == 2.5
    assert retry_after_seconds(HttpError(429, {"Retry-After": "4"})) == 4
    assert retry_after_seconds(HttpError(429, {"retry-after-ms": "250"})) == 0.25
    future = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(HttpError(429, {"Retry-After": future})) <= 31
    boto = ClientError(
        {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 429, "HTTPHeaders": {"retry-after": "7"}}},
        "Converse",
    )
    assert retry_after_seconds(boto) == 7
    assert retry_after_seconds(HttpError(429)) is None
    assert retry_after_seconds(HttpError(429, {"Retry-After": "soon"})) is None


class Script:
    """An attempt function that raises the scripted errors, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    def __init__(self):
        self.waits = []

    async def __call__(self, seconds):
        self.waits.append(seconds)


def run(coro):
    return asyncio.run(coro)


def test_throttled_then_success_honours_retry_after():
    attempt, sleeps = Script(HttpError(429, {"Retry-After": "3"}), HttpError(429, {"Retry-After": "1"})), Sleeps()
    policy = RetryPolicy(max_attempts=5, jitter=0.5)
    assert run(call_with_retries(attempt, policy=policy, sleep=sleeps)) == "ok"
    assert attempt.calls == 3
    assert 3 <= sleeps.waits[0] <= 3.1 and 1 <= sleeps.waits[1] <= 1.1


def test_retry_after_is_capped():
    attempt, sleeps = Script(HttpError(429, {"Retry-After": "3600"})), Sleeps()
    run(call_with_retries(attempt, policy=RetryPolicy(max_retry_after=5, jitter=0), sleep=sleeps))
    assert sleeps.waits == [5]


def test_exponential_backoff_with_jitter_without_retry_after():
    attempt, sleeps = Script(*[HttpError(503) for _ in range(5)]), Sleeps()
    policy = RetryPolicy(max_attempts=6, initial_wait=1, max_wait=10, jitter=0.5)
    run(call_with_retries(attempt, policy=policy, sleep=sleeps))
    bases = [1, 2, 4, 8, 10]
    for wait, base in zip(sleeps.waits, bases):
        assert base <= wait <= min(base + 0.5, 10)


def test_attempts_are_bounded_and_the_last_error_is_raised():
    errors = [HttpError(429) for _ in range(10)]
    attempt, sleeps = Script(*errors), Sleeps()
    with pytest.raises(HttpError) as raised:
        run(call_with_retries(attempt, policy=RetryPolicy(max_attempts=4), sleep=sleeps))
    assert raised.value is errors[3]
    assert attempt.calls == 4 and len(sleeps.waits) == 3


def test_errors_not_worth_retrying_are_raised_at_once():
    attempt, sleeps = Script(HttpError(400)), Sleeps()
    with pytest.raises(HttpError):
        run(call_with_retries(attempt, policy=RetryPolicy(max_attempts=4), sleep=sleeps))
    assert attempt.calls == 1 and sleeps.waits == []


def test_limiter_is_told_about_throttles_and_successes():
    limiter = AdaptiveConcurrencyLimiter(8, cooldown_seconds=0)
    attempt = Script(HttpError(429), HttpError(503))
    assert run(call_with_retries(attempt, policy=RetryPolicy(), limiter=limiter, sleep=Sleeps())) == "ok"
    # throttled with one request in flight: the limit drops to 1; the success adds one back
    assert limiter.throttles == 1 and limiter.decreases == 1 and limiter.limit == 2
    assert limiter.in_flight == 0


def test_row_error_for():
    assert row_error_for(HttpError(429), attempts=6).reason == "Agent rate limited"
    assert "6 attempts" in row_error_for(HttpError(429), attempts=6).detail
    assert row_error_for(HttpError(503), attempts=3).reason == "Agent unavailable"
    assert row_error_for(HttpError(401), attempts=1).reason == "Agent authentication failed"
    assert row_error_for(HttpError(422), attempts=1).reason == "Agent request rejected (HTTP 422)"
    assert row_error_for(KeyError("x"), attempts=1).reason == "Agent call failed (KeyError)"
    original = AgentRowError("Website no longer active")
    assert row_error_for(original, attempts=1) is original
