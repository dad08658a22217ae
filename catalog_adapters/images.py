"""Product images: local paths and http(s) URLs fetched into a content-addressed cache and verified by decoding."""

from __future__ import annotations

import hashlib
import io
import time
import warnings
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urljoin, urlparse

from productreel import atomic
from productreel.errors import InputError, TransientError

MAX_BYTES = 25 * 1024 * 1024
TIMEOUT = 15.0
MAX_REDIRECTS = 3
RETRIES = 2
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}


def fetch_image(
    src: str,
    *,
    base_dir: Path,
    cache_dir: Path,
    remote: bool = False,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT,
    max_redirects: int = MAX_REDIRECTS,
    retries: int = RETRIES,
    sleep: Callable[[float], None] = time.sleep,
    allowed_private_hosts: str | None = None,
) -> Path:
    """A local, decoded-and-verified copy of a catalog image in the cache; InputError with the reason otherwise.

    ``remote`` marks a source read from a remote catalog (API, feed URL): only
    http(s) images are accepted from it, never a local path or ``file:`` URL.
    A download is retried (productreel.http) ``retries`` times on timeouts, 429 and 5xx.
    From a remote catalog, every hop must lead to a public address or to one listed in
    ``allowed_private_hosts`` (default: Settings, PRODUCTREEL_ALLOWED_PRIVATE_HOSTS); see netguard.
    """
    src = src.strip()
    if not src:
        raise InputError("image has no src")
    parsed = urlparse(src)
    scheme = parsed.scheme.lower()
    if len(scheme) == 1:  # a Windows drive letter, not a URL scheme
        scheme = ""
    if scheme in ("http", "https"):
        # A URL seen before is not fetched again: the content hash of a product follows its image
        # URLs (storefront CDNs version them), so a changed image arrives under a new URL.
        known = _url_index(Path(cache_dir), src)
        if known.is_file():
            cached = Path(cache_dir) / "images" / known.read_text(encoding="utf-8").strip()
            if cached.is_file():
                return cached
        guard = None
        if remote:
            from productreel.settings import Settings

            from .netguard import Policy

            guard = Policy.parse(Settings().allowed_private_hosts if allowed_private_hosts is None else allowed_private_hosts)
        data = _download(src, max_bytes=max_bytes, timeout=timeout, max_redirects=max_redirects, retries=retries,
                         sleep=sleep, guard=guard)
        ext = verify_image(data, src)
        path = _store(data, ext, Path(cache_dir))
        atomic.write_bytes(known, str(path.relative_to(Path(cache_dir) / "images")).encode())
        return path
    elif remote:
        raise InputError(f"image {src!r}: only http and https image URLs are accepted from a remote catalog")
    elif scheme == "file":
        data = _read_local(Path(unquote(parsed.path)), src, max_bytes)
    elif scheme:
        raise InputError(f"image {src!r}: unsupported URL scheme {scheme!r}")
    else:
        path = Path(src)
        data = _read_local(path if path.is_absolute() else Path(base_dir) / path, src, max_bytes)
    ext = verify_image(data, src)
    return _store(data, ext, Path(cache_dir))


def verify_image(data: bytes, src: str = "image") -> str:
    """The file extension of an image that decodes fully; InputError when it does not (bombs included)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; a warning is enough to refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or ""
                im.verify()
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"image {src!r}: refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise InputError(f"image {src!r}: not an image (content could not be decoded)") from None
    except Exception as exc:  # Pillow raises many kinds for truncated or corrupt data
        raise InputError(f"image {src!r}: image is damaged ({type(exc).__name__}: {exc})") from None
    if fmt not in FORMATS:
        raise InputError(f"image {src!r}: unsupported image format {fmt or 'unknown'!r}")
    return FORMATS[fmt]


def _read_local(path: Path, src: str, max_bytes: int) -> bytes:
    """The bytes of a local image file, within the size limit."""
    try:
        size = path.stat().st_size
    except OSError:
        raise InputError(f"image {src!r}: file not found ({path})") from None
    if size > max_bytes:
        raise InputError(f"image {src!r}: {size} bytes is over the {max_bytes}-byte limit")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"image {src!r}: cannot be read ({exc})") from None


def _download(url: str, *, max_bytes: int, timeout: float, max_redirects: int, retries: int,
              sleep: Callable[[float], None], guard: Any = None) -> bytes:
    """GET an image with bounded size, time and redirects (each hop must stay http/https, and pass ``guard``)."""
    import requests

    from productreel import http

    from .netguard import AddressRefused, guard_session

    current = url
    with http.session(retries=retries, timeout=timeout, sleep=sleep) as session:
        if guard is not None:
            guard_session(session, guard)
        for _hop in range(max_redirects + 1):
            try:
                resp = session.get(current, stream=True, allow_redirects=False)
            except AddressRefused as exc:
                hop = f"redirect to {current!r} " if current != url else ""
                raise InputError(f"image {url!r}: {hop}refused: {exc.reason}") from None
            except requests.RequestException as exc:
                reason = http.failure_reason(exc)
                if reason.startswith("did not answer"):
                    raise TransientError(f"image {url!r}: timed out after {timeout:g} s ({reason})") from exc
                raise InputError(f"image {url!r}: cannot be fetched ({reason})") from exc
            with resp:
                if resp.is_redirect:
                    target = urljoin(current, resp.headers.get("Location", ""))
                    if urlparse(target).scheme.lower() not in ("http", "https"):
                        raise InputError(f"image {url!r}: redirect to a non-http(s) URL refused")
                    current = target
                    continue
                if resp.status_code >= 500 or resp.status_code == 429:
                    raise TransientError(f"image {url!r}: HTTP {resp.status_code}",
                                         retry_after=http.retry_after_seconds(resp.headers.get("Retry-After")))
                if resp.status_code != 200:
                    raise InputError(f"image {url!r}: HTTP {resp.status_code}")
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > max_bytes:
                    raise InputError(f"image {url!r}: {length} bytes is over the {max_bytes}-byte limit")
                chunks: list[bytes] = []
                total = 0
                try:
                    for chunk in resp.iter_content(64 * 1024):
                        total += len(chunk)
                        if total > max_bytes:
                            raise InputError(f"image {url!r}: more than the {max_bytes}-byte limit")
                        chunks.append(chunk)
                except requests.RequestException as exc:
                    raise TransientError(f"image {url!r}: download failed ({type(exc).__name__})") from exc
                return b"".join(chunks)
        raise InputError(f"image {url!r}: more than {max_redirects} redirects")


def _url_index(cache_dir: Path, url: str) -> Path:
    """Where the cache remembers which stored file a URL gave."""
    return cache_dir / "images" / "urls" / hashlib.sha256(url.encode("utf-8")).hexdigest()


def _store(data: bytes, ext: str, cache_dir: Path) -> Path:
    """Write bytes under their sha256 (once) and return the path."""
    digest = hashlib.sha256(data).hexdigest()
    target = cache_dir / "images" / digest[:2] / f"{digest}{ext}"
    if not (target.is_file() and target.stat().st_size == len(data)):
        atomic.write_bytes(target, data)
    return target
