"""One HTTP call with the retry rules every storefront shares: throttles wait, ambiguous failures are the caller's call."""

from __future__ import annotations

import io
import logging
import time
import uuid
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

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


class MultipartFile:
    """A multipart/form-data body streamed from disk: text fields in order, then one file, with a known length.

    requests would build a ``files=`` body in memory; a 1 GB video must not be.
    """

    def __init__(self, fields: list[tuple[str, str]], file_field: str, path: Path, filename: str, mime_type: str) -> None:
        self.boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
            + value.encode("utf-8") + b"\r\n"
            for name, value in fields
        )
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(file_field)}"; '
                 f'filename="{_quote(filename)}"\r\nContent-Type: {mime_type}\r\n\r\n').encode()
        self._parts = [head, path, f"\r\n--{self.boundary}--\r\n".encode()]
        self._length = len(head) + path.stat().st_size + len(self._parts[2])
        self._index = 0
        self._offset = 0
        self._fh: BinaryIO | None = None

    @property
    def content_type(self) -> str:
        """The Content-Type header value, with the boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind to the start (the only seek a retry needs)."""
        if offset != 0 or whence != 0:
            raise io.UnsupportedOperation("MultipartFile can only rewind")
        self.close()
        self._index = self._offset = 0
        return 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body."""
        out = bytearray()
        while self._index < len(self._parts) and (size < 0 or len(out) < size):
            part = self._parts[self._index]
            want = -1 if size < 0 else size - len(out)
            if isinstance(part, bytes):
                chunk = part[self._offset:] if want < 0 else part[self._offset:self._offset + want]
                self._offset += len(chunk)
                done = self._offset >= len(part)
            else:
                if self._fh is None:
                    self._fh = open(part, "rb")
                chunk = self._fh.read(want if want >= 0 else -1)
                done = not chunk or want < 0
            out += chunk
            if done:
                self.close()
                self._index += 1
                self._offset = 0
        return bytes(out)

    def close(self) -> None:
        """Close the file being read, if any."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


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
