"""One HTTP session factory for catalogs, images and publishers: retries from urllib3's ``Retry``.

What is retried, and why:

- a connection that could not be made: the request never left, so any method may be sent again;
- HTTP 429, and 503 with Retry-After: the server refused before doing anything; the wait it asks
  for (seconds or an HTTP date) is honoured, for any method;
- timeouts, dropped connections and other 5xx: only for idempotent methods (GET, HEAD, PUT,
  DELETE, OPTIONS) - the server may have carried out the request. A POST is retried only when
  the caller says it is idempotent (``idempotent_post=True``: a GraphQL query, an upload to a
  fixed key); a POST that creates something is never sent twice by this layer.

Waits back off exponentially (``backoff``, ``2 * backoff``, ...), each capped at ``max_backoff``,
and all of a request's waits together at ``max_wait``: past it the last answer (or error) is
returned instead of waiting, so a Retry-After of ten minutes fails the call now, as a
TransientError with ``retry_after``, and the orchestrator decides. ``sleep`` is injected so tests
never wait. ``raise_for_transient`` turns what is left after the retries into productreel errors.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from productreel.errors import TransientError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

Sleep = Callable[[float], None]


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def throttled(status: int, headers: Any) -> bool:
    """True for an answer that refused the request before doing anything (429, or 503 with Retry-After)."""
    return status == 429 or (status == 503 and bool(headers.get("Retry-After")))


class WaitLimit(Urllib3Error):
    """The next wait would pass the request's ``max_wait``; raised instead of waiting."""

    def __init__(self, delay: float, max_wait: float, cause: BaseException | None = None) -> None:
        super().__init__(f"waiting {delay:.1f} s more would pass the {max_wait:g} s limit")
        self.delay, self.max_wait, self.cause = delay, max_wait, cause


class Retries(Retry):
    """urllib3's Retry with an injected sleep, a total wait limit, plain exponential backoff, and throttles retried for any method."""

    def __init__(self, *args: Any, sleep: Sleep = time.sleep, max_wait: float = 60.0, waited: float = 0.0, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sleep_fn = sleep
        self.max_wait = max_wait
        self.waited = waited  # seconds this request has slept so far

    def new(self, **kw: Any) -> Retries:
        """A copy for the next attempt, carrying the sleep, the limit and the time waited."""
        retry = super().new(**kw)
        retry.sleep_fn, retry.max_wait, retry.waited = self.sleep_fn, self.max_wait, self.waited
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Throttles for any method (nothing was done); other statuses only for retryable methods."""
        if status_code == 429 or (status_code == 503 and has_retry_after):
            return bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def parse_retry_after(self, retry_after: str) -> float | None:  # type: ignore[override]
        """Seconds to wait; None when unreadable (then the backoff applies instead of an error)."""
        return retry_after_seconds(retry_after)

    def get_backoff_time(self) -> float:
        """``backoff * 2**(n-1)`` after n consecutive failures, capped; urllib3's own skips the first wait."""
        failures = 0
        for item in reversed(self.history):
            if item.redirect_location is not None:
                break
            failures += 1
        if failures == 0 or self.backoff_factor <= 0:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * (2 ** (failures - 1)))

    def _delay(self, response: Any = None) -> float:
        wait = self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None
        return self.get_backoff_time() if wait is None else wait

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None) -> Retries:  # type: ignore[override]
        """The next attempt's Retry; MaxRetryError (and so the last answer) when its wait would pass ``max_wait``."""
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        delay = retry._delay(response)
        if retry.waited + delay > self.max_wait:
            limit = WaitLimit(delay, self.max_wait, error)
            if response is not None:
                # The answer goes back to the caller as it is; raise_for_transient reads why from it.
                # (Never on self: the first attempt's Retry is the adapter's, shared by every request.)
                response.wait_limit = limit
            raise MaxRetryError(_pool, url, limit)
        retry.waited += delay
        return retry

    def sleep(self, response: Any = None) -> None:
        """Wait before the next attempt: Retry-After when the answer gave one, else the backoff."""
        delay = self._delay(response)
        if delay > 0:
            self.sleep_fn(delay)


class Session(requests.Session):
    """A requests Session whose calls get a default timeout (requests has none: a dead server hangs forever)."""

    def __init__(self, timeout: float | None) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """``requests.Session.request`` with ``timeout`` defaulting to the session's."""
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def session(
    *,
    retries: int = 4,
    idempotent_post: bool = False,
    timeout: float | None = 30.0,
    backoff: float = 1.0,
    max_backoff: float = 30.0,
    max_wait: float = 60.0,
    sleep: Sleep = time.sleep,
    headers: dict[str, str] | None = None,
    auth: Any = None,
    pool_size: int = 10,
) -> Session:
    """A Session that retries transient failures (see the module docstring); ``retries`` counts resends.

    Args:
        retries: how many times one request may be sent again (attempts = retries + 1).
        idempotent_post: also resend POST/PATCH after a timeout or 5xx (only for calls that create nothing).
        timeout: default seconds per call (connect and read); a call's own ``timeout=`` wins.
        backoff, max_backoff: the first wait and the cap on one wait.
        max_wait: the cap on all of one request's waits together.
        sleep: how to wait (tests pass a recorder).
        headers, auth: set on the session for every call.
        pool_size: connections kept per host (parallel jobs share a session).
    """
    methods = IDEMPOTENT_METHODS | ({"POST", "PATCH"} if idempotent_post else set())
    retry = Retries(
        total=retries, connect=retries, read=retries, status=retries, other=0, redirect=False,
        allowed_methods=methods, status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff, backoff_max=max_backoff, raise_on_status=False, respect_retry_after_header=True,
        sleep=sleep, max_wait=max_wait,
    )
    s = Session(timeout)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    if headers:
        s.headers.update(headers)
    if auth is not None:
        s.auth = auth
    return s


def host(url: str) -> str:
    """The host[:port] of a URL, for messages that must not show paths or query strings (they may hold keys)."""
    return urlsplit(url).netloc or url


def _causes(exc: BaseException | None) -> list[BaseException]:
    """The exception and what it wraps: MaxRetryError reasons, requests' wrapped urllib3 errors, WaitLimit causes."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        if isinstance(exc, MaxRetryError):
            exc = exc.reason
        elif isinstance(exc, WaitLimit):
            exc = exc.cause
        elif isinstance(exc, requests.RequestException) and exc.args and isinstance(exc.args[0], BaseException):
            exc = exc.args[0]
        else:
            exc = None
    return chain


def failure_reason(exc: BaseException) -> str:
    """A short, secret-free reason for a request that raised after its retries ("did not answer in time", ...)."""
    chain = _causes(exc)
    # urllib3's NewConnectionError subclasses its ConnectTimeoutError: a refused connection is no timeout.
    refused = any(isinstance(e, NewConnectionError) for e in chain)
    if not refused and any(isinstance(e, (requests.Timeout, Urllib3Timeout, TimeoutError)) for e in chain):
        reason = "did not answer in time"
    elif refused or any(isinstance(e, (requests.ConnectionError, Urllib3Error, OSError)) for e in chain):
        inner = next((e for e in reversed(chain) if not isinstance(e, (MaxRetryError, WaitLimit))), chain[-1])
        reason = f"could not be reached ({type(inner).__name__})"
    else:
        reason = f"failed ({type(exc).__name__})"
    limit = next((e for e in chain if isinstance(e, WaitLimit)), None)
    return f"{reason}; {limit}" if limit is not None else reason


def raise_for_transient(response: requests.Response, *, name: str, where: str | None = None) -> requests.Response:
    """The response, unless the retries ended on a throttle or a 5xx: then a TransientError that says why.

    A 5xx from a non-idempotent call was not retried (it may have been carried out); the caller
    that wants to check the remote state first catches the TransientError.
    """
    status = response.status_code
    if status not in RETRY_STATUSES:
        return response
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    retry = getattr(response.raw, "retries", None)
    attempts = len(getattr(retry, "history", ()) or ()) + 1
    limit: WaitLimit | None = getattr(response.raw, "wait_limit", None)
    kind = "throttled us" if throttled(status, response.headers) else "answered"
    message = f"{name} {kind} (HTTP {status})"
    if limit is not None:
        message += f"; {limit}"
    elif attempts > 1:
        message += f"; still failing after {attempts} attempts"
    response.close()
    raise TransientError(message, retry_after=wait if wait is not None else (limit.delay if limit else None), where=where)
