"""Retries for agent calls: throttling and transient faults, exponential backoff with jitter (tenacity).

``call_with_retries(attempt, policy=..., limiter=...)`` runs ``await attempt()`` until it succeeds, fails with an
error that is not worth retrying, or runs out of attempts; the last error is re-raised as it is. A server's
``Retry-After`` (or ``retry-after-ms``) is honoured, capped by the policy. When a limiter is given each attempt
holds one of its slots (released while sleeping) and tells it about throttling and success, so the in-flight
limit adapts.

Errors are classified by duck typing, so no client library is imported here: an HTTP ``status_code``
(pydantic-ai, openai, httpx), a botocore ``ClientError`` code, or the error's class names.
``row_error_for(error, attempts=...)`` turns what is left after the retries into the row's ``AgentRowError``.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal, Protocol, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from airflow_provider_batchorch.core.errors import AgentRowError

T = TypeVar("T")
FaultKind = Literal["throttle", "transient"]

THROTTLE_STATUS = {429}
TRANSIENT_STATUS = {408, 500, 502, 503, 504, 529}
THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequests",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
}
TRANSIENT_CODES = {
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "ModelNotReadyException",
    "RequestTimeout",
    "RequestTimeoutException",
}
THROTTLE_CLASS_NAMES = {"RateLimitError", "ModelRateLimitError"}
TRANSIENT_CLASS_NAMES = {
    # builtins (ConnectionError covers ConnectionResetError, ...; TimeoutError a socket timeout)
    "ConnectionError",
    "TimeoutError",
    # httpx / openai
    "TransportError",
    "APIConnectionError",
    "APITimeoutError",
    "InternalServerError",
    # botocore transport errors (EndpointConnectionError, ReadTimeoutError, ConnectionClosedError, ...)
    "HTTPClientError",
    # pydantic-ai
    "ModelConnectionError",
    "ModelServerError",
    "ModelUnavailableError",
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 60.0


class ConcurrencyFeedback(Protocol):
    """What ``call_with_retries`` needs from a limiter (``AdaptiveConcurrencyLimiter`` is one)."""

    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *exc_info: Any) -> Any: ...
    def on_throttle(self) -> None: ...
    def on_success(self) -> None: ...


def _class_names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def status_code_of(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def error_code_of(error: BaseException) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def classify(error: BaseException) -> FaultKind | None:
    """``"throttle"``, ``"transient"`` or ``None`` (not worth retrying)."""
    code = error_code_of(error)
    names = _class_names(error)
    if code in THROTTLE_CODES or names & THROTTLE_CLASS_NAMES:
        return "throttle"
    status = status_code_of(error)
    if status in THROTTLE_STATUS:
        return "throttle"
    if code in TRANSIENT_CODES or status in TRANSIENT_STATUS:
        return "transient"
    if status is None and names & TRANSIENT_CLASS_NAMES:
        return "transient"
    return None


def _headers_of(error: BaseException) -> Any:
    headers = getattr(error, "headers", None)
    if headers:
        return headers
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPHeaders") or {}
    return getattr(response, "headers", None) or {}


def _header(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
        if value is None:
            value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    except AttributeError:
        return None
    return str(value) if value is not None else None


def retry_after_seconds(error: BaseException) -> float | None:
    """Seconds the server asked to wait: ``retry_after`` (pydantic-ai), ``retry-after-ms`` or ``Retry-After``."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    headers = _headers_of(error)
    millis = _header(headers, "retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    raw = _header(headers, "retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _BackoffHonouringRetryAfter:
    """tenacity wait: the server's Retry-After (capped, plus a little jitter) or exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_exponential_jitter(initial=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(error) if error else None
        if asked is not None:
            return min(asked, self.policy.max_retry_after) + random.uniform(0, self.policy.jitter * 0.2)
        return self.backoff(state)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    limiter: ConcurrencyFeedback | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> T:
    async def one_attempt() -> T:
        if limiter is None:
            return await attempt()
        async with limiter:
            try:
                result = await attempt()
            except Exception as error:
                if classify(error) == "throttle":
                    limiter.on_throttle()
                raise
            limiter.on_success()
            return result

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_BackoffHonouringRetryAfter(policy),
        retry=retry_if_exception(lambda error: classify(error) is not None),
        sleep=sleep,
        reraise=True,
    )
    return await retrying(one_attempt)


def _short(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def row_error_for(error: BaseException, *, attempts: int) -> AgentRowError:
    """The groupable row failure for an error that the retries did not cure."""
    if isinstance(error, AgentRowError):
        return error
    kind = classify(error)
    status = status_code_of(error)
    if kind == "throttle":
        detail = f"still throttled after {attempts} attempts ({_short(error)})"
        return AgentRowError("Agent rate limited", detail=detail)
    if kind == "transient":
        return AgentRowError("Agent unavailable", detail=f"still failing after {attempts} attempts ({_short(error)})")
    if status in (401, 403):
        return AgentRowError("Agent authentication failed", detail=f"HTTP {status}: {_short(error)}")
    if status is not None:
        return AgentRowError(f"Agent request rejected (HTTP {status})", detail=_short(error))
    return AgentRowError(f"Agent call failed ({type(error).__name__})", detail=_short(error))
