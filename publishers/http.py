"""HTTP helpers every storefront shares: one call with errors mapped, a streamed multipart body, server messages.

Sessions and their retries come from productreel.http (urllib3's Retry underneath).
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Iterable

import requests

from productreel import http
from productreel.errors import PublishRejected, TransientError
from productreel.http import Sleep

from publishers.base import redact

__all__ = ["MultipartFile", "Sleep", "rejected", "send"]


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    where: str,
    secrets: Iterable[str | None] = (),
    **kwargs: Any,
) -> requests.Response:
    """One call through a productreel.http session, which did the retrying; what it could not fix is a TransientError.

    The session decides what may be resent (throttles always; timeouts and 5xx only for idempotent
    calls), so a caller whose call creates something uses a session made with ``idempotent_post=False``
    and checks the store before trying again. Returns the response for any other status.
    """
    try:
        response = session.request(method, url, **kwargs)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise TransientError(redact(f"{http.host(url)} {http.failure_reason(exc)}", list(secrets)), where=where) from exc
    return http.raise_for_transient(response, name=http.host(url), where=where)


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

    def tell(self) -> int:
        """Bytes read so far (urllib3 records it before sending, to rewind for a resend)."""
        done = sum(len(p) if isinstance(p, bytes) else p.stat().st_size for p in self._parts[:self._index])
        if self._index < len(self._parts):
            part = self._parts[self._index]
            done += self._offset if isinstance(part, bytes) else (self._fh.tell() if self._fh is not None else 0)
        return done

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
