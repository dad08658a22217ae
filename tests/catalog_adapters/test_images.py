"""Image fetching: local and remote, verified by decoding, bounded in size, time and redirects."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from werkzeug import Response

from catalog_adapters.images import fetch_image
from productreel.errors import InputError, TransientError


def png_bytes(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def test_local_image_is_verified_and_cached_by_content(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes())
    (tmp_path / "b.png").write_bytes(png_bytes())
    cache = tmp_path / "cache"
    first = fetch_image("a.png", base_dir=tmp_path, cache_dir=cache)
    assert first == fetch_image("b.png", base_dir=tmp_path, cache_dir=cache)
    assert first.suffix == ".png" and Image.open(first).size == (40, 30)
    assert fetch_image(f"file://{tmp_path / 'a.png'}", base_dir=tmp_path, cache_dir=cache) == first


def test_content_is_checked_by_decoding_not_by_name(tmp_path):
    (tmp_path / "fake.jpg").write_text("not an image")
    with pytest.raises(InputError, match="not an image"):
        fetch_image("fake.jpg", base_dir=tmp_path, cache_dir=tmp_path / "c")
    (tmp_path / "cut.png").write_bytes(png_bytes()[:60])
    with pytest.raises(InputError, match="damaged|not an image"):
        fetch_image("cut.png", base_dir=tmp_path, cache_dir=tmp_path / "c")
    with pytest.raises(InputError, match="file not found"):
        fetch_image("missing.png", base_dir=tmp_path, cache_dir=tmp_path / "c")


def test_decompression_bomb_guard_is_on(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    (tmp_path / "big.png").write_bytes(png_bytes((100, 100)))
    with pytest.raises(InputError, match="decompression bomb"):
        fetch_image("big.png", base_dir=tmp_path, cache_dir=tmp_path / "c")


def test_remote_catalogs_accept_only_http(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes())
    for src in ("a.png", f"file://{tmp_path / 'a.png'}", "ftp://example.com/a.png"):
        with pytest.raises(InputError, match="only http and https"):
            fetch_image(src, base_dir=tmp_path, cache_dir=tmp_path / "c", remote=True)


def test_http_image_and_size_limit(httpserver, tmp_path):
    data = png_bytes()
    httpserver.expect_request("/a.png").respond_with_data(data, content_type="image/png")
    path = fetch_image(httpserver.url_for("/a.png"), base_dir=tmp_path, cache_dir=tmp_path / "c", remote=True,
                       allowed_private_hosts=httpserver.host)  # the test server is on loopback
    assert path.read_bytes() == data
    with pytest.raises(InputError, match="limit"):
        fetch_image(httpserver.url_for("/a.png"), base_dir=tmp_path, cache_dir=tmp_path / "fresh", max_bytes=100)


def test_redirects_are_bounded_and_stay_on_http(httpserver, tmp_path):
    data = png_bytes()
    for n in range(4):
        httpserver.expect_request(f"/r{n}").respond_with_response(
            Response(status=302, headers={"Location": httpserver.url_for(f"/r{n + 1}")}))
    httpserver.expect_request("/r4").respond_with_data(data)
    httpserver.expect_request("/evil").respond_with_response(Response(status=302, headers={"Location": "file:///etc/passwd"}))
    assert fetch_image(httpserver.url_for("/r1"), base_dir=tmp_path, cache_dir=tmp_path / "c").read_bytes() == data
    with pytest.raises(InputError, match="more than 3 redirects"):
        fetch_image(httpserver.url_for("/r0"), base_dir=tmp_path, cache_dir=tmp_path / "c")
    with pytest.raises(InputError, match="non-http"):
        fetch_image(httpserver.url_for("/evil"), base_dir=tmp_path, cache_dir=tmp_path / "c")


def test_http_errors_and_timeouts(httpserver, tmp_path):
    httpserver.expect_request("/gone").respond_with_data("", status=404)
    httpserver.expect_request("/busy").respond_with_data("", status=503, headers={"Retry-After": "3"})
    httpserver.expect_request("/slow").respond_with_handler(lambda request: (time.sleep(1.0), Response(png_bytes()))[1])
    sleeps: list[float] = []
    with pytest.raises(InputError, match="HTTP 404"):
        fetch_image(httpserver.url_for("/gone"), base_dir=tmp_path, cache_dir=tmp_path / "c", sleep=sleeps.append)
    assert sleeps == []  # a 404 is not retried
    with pytest.raises(TransientError, match="HTTP 503") as info:
        fetch_image(httpserver.url_for("/busy"), base_dir=tmp_path, cache_dir=tmp_path / "c", sleep=sleeps.append)
    assert sleeps == [3.0, 3.0] and info.value.retry_after == 3.0  # retried twice, as Retry-After asked
    with pytest.raises(TransientError, match="timed out"):
        fetch_image(httpserver.url_for("/slow"), base_dir=tmp_path, cache_dir=tmp_path / "c", timeout=0.3,
                    retries=0, sleep=sleeps.append)


def test_a_busy_image_host_is_retried_until_it_answers(httpserver, tmp_path):
    answers = iter([Response("", status=502), Response("", status=429, headers={"Retry-After": "1.5"})])
    httpserver.expect_request("/flaky.png").respond_with_handler(lambda request: next(answers, None) or Response(png_bytes()))
    sleeps: list[float] = []
    path = fetch_image(httpserver.url_for("/flaky.png"), base_dir=tmp_path, cache_dir=tmp_path / "c", sleep=sleeps.append)
    assert path.read_bytes() == png_bytes() and sleeps == [1.0, 1.5]  # backoff, then the server's own wait


def test_a_url_is_fetched_once(httpserver, tmp_path):
    calls = []
    httpserver.expect_request("/once.png").respond_with_handler(lambda request: (calls.append(1), Response(png_bytes()))[1])
    first = fetch_image(httpserver.url_for("/once.png"), base_dir=tmp_path, cache_dir=tmp_path / "c")
    again = fetch_image(httpserver.url_for("/once.png"), base_dir=tmp_path, cache_dir=tmp_path / "c")
    assert first == again and len(calls) == 1
