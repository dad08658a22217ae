"""The HTTP client API sources share: a productreel.http session (retries from urllib3) with catalog errors.

Retrying lives here, inside the client, because a catalog read is one long
conversation with the API (hundreds of pages); a Prefect task retry would
restart it from page one. Every catalog call reads (a GraphQL query is a POST
that creates nothing), so every call may be resent; the waits are bounded in
attempts and in total, and the sleep function is injected so tests never wait.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import requests

from productreel import http
from productreel.errors import InputError, TransientError


class HttpClient:
    """A retrying session for one API; ``request`` raises TransientError once the retries are spent."""

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
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = http.session(
            retries=max_attempts - 1, idempotent_post=True, timeout=timeout, backoff=backoff,
            max_backoff=max_backoff, max_wait=max_wait, sleep=sleep, headers=headers, auth=auth,
        )

    def __repr__(self) -> str:  # never show headers: they hold access tokens
        return f"HttpClient({self.name})"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request (retried as productreel.http says); TransientError when it still fails."""
        try:
            resp = self.session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{self.name} still failing: {http.failure_reason(exc)}") from exc
        except requests.RequestException as exc:
            raise InputError(f"{self.name} request failed: {type(exc).__name__}: {exc}") from exc
        return http.raise_for_transient(resp, name=self.name)
