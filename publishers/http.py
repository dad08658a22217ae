"""One HTTP call with the retry rules every storefront shares: throttles wait, ambiguous failures are the caller's call."""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable

import requests

from productreel.errors import PublishRejected, TransientError

from publishers.base import redact

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    where: str,
    secrets: Iterable[str | None] = (),
    sleep: Sleep = time.sleep,
    timeout: float = 30.0,
    max_retries: int = 4,
    max_wait: float = 60.0,
    retry_ambiguous: bool = True,
    rewind: Callable[[], None] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send a request; wait out 429/503 throttles, retry timeouts and 5xx only when ``retry_ambiguous``.

    A timeout or a 5xx may hide a request the server did carry out, so a caller whose call
    creates something passes ``retry_ambiguous=False`` and checks the store before trying again.
    Returns the response for any other status; raises TransientError when the retries run out.
    """
    secrets = list(secrets)
    backoff = 1.0
    for attempt in range(max_retries + 1):
        last = attempt == max_retries
        if rewind is not None:
            rewind()
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            kind = "did not answer in time" if isinstance(exc, requests.Timeout) else "could not be reached"
            message = redact(f"{_host(url)} {kind} ({type(exc).__name__})", secrets)
            if last or not retry_ambiguous:
                raise TransientError(message, where=where) from exc
            log.warning("%s; retrying in %.1f s", message, backoff)
            sleep(backoff)
            backoff = min(backoff * 2, max_wait)
            continue
        status = response.status_code
        if status == 429 or (status == 503 and "Retry-After" in response.headers):
            # Throttled: the server refused before doing anything, so waiting and resending is always safe.
            wait = min(retry_after_seconds(response.headers.get("Retry-After")), max_wait)
            if last:
                raise TransientError(f"{_host(url)} throttled us (HTTP {status})", retry_after=wait, where=where)
            log.info("throttled by %s (HTTP %s); waiting %.1f s", _host(url), status, wait)
            sleep(wait)
            continue
        if status >= 500:
            message = f"{_host(url)} answered HTTP {status}"
            if last or not retry_ambiguous:
                raise TransientError(message, where=where)
            log.warning("%s; retrying in %.1f s", message, backoff)
            sleep(backoff)
            backoff = min(backoff * 2, max_wait)
            continue
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def rejected(response: requests.Response, what: str, *, where: str, secrets: Iterable[str | None] = ()) -> PublishRejected:
    """A PublishRejected naming the HTTP status and the server's own short message."""
    detail = _server_message(response)
    return PublishRejected(redact(f"{what}: HTTP {response.status_code}{': ' + detail if detail else ''}", secrets), where=where)


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return text[:200]
    if isinstance(body, dict):
        for key in ("message", "error", "errors", "code"):
            if body.get(key):
                value = body[key]
                return (value if isinstance(value, str) else str(value))[:200]
    return str(body)[:200]


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc or url
