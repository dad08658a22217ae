"""A small HTTP client for API sources: bounded retries with backoff on timeouts, 5xx and throttling.

Retrying lives here, inside the client, because a catalog read is one long
conversation with the API (hundreds of pages); a Prefect task retry would
restart it from page one. It is bounded in attempts and in total waiting, and
the sleep function is injected so tests never wait.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import requests

from productreel.errors import InputError, TransientError

RETRY_STATUSES = {429, 500, 502, 503, 504}


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


class HttpClient:
    """requests.Session with bounded retries; ``retry_wait(response)`` lets an API flag a 200 as throttled."""

    def __init__(
        self,
        *,
        name: str = "API",
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_wait: float = 120.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        session: requests.Session | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.session = session or requests.Session()
        if headers:
            self.session.headers.update(headers)
        if auth is not None:
            self.session.auth = auth
        self.waited = 0.0  # total seconds slept, for tests and reports

    def __repr__(self) -> str:  # never show headers: they hold access tokens
        return f"HttpClient({self.name})"

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))

    def request(
        self,
        method: str,
        url: str,
        *,
        retry_wait: Callable[[requests.Response], float | None] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; retry transient failures; raise TransientError once the bounds are spent."""
        reason = ""
        for attempt in range(1, self.max_attempts + 1):
            wait: float | None = None
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                reason = f"timed out after {self.timeout:g} s"
            except requests.ConnectionError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            except requests.RequestException as exc:
                raise InputError(f"{self.name} request failed: {type(exc).__name__}: {exc}") from exc
            else:
                if resp.status_code in RETRY_STATUSES:
                    reason = f"HTTP {resp.status_code}"
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    resp.close()
                else:
                    extra = retry_wait(resp) if retry_wait else None
                    if extra is None:
                        return resp
                    reason = "throttled"
                    wait = extra
            if attempt == self.max_attempts:
                break
            delay = self._backoff(attempt) if wait is None else max(wait, 0.0)
            if self.waited + delay > self.max_wait:
                raise TransientError(
                    f"{self.name} still failing ({reason}) after {attempt} attempts; "
                    f"waiting {delay:.1f} s more would pass the {self.max_wait:g} s limit",
                    retry_after=delay,
                )
            self.waited += delay
            self.sleep(delay)
        raise TransientError(f"{self.name} still failing ({reason}) after {self.max_attempts} attempts")
