"""Publisher fixtures: a ledger in a temp folder, a tiny real MP4 with sidecars, and a product."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from .publisher_fakes import SHOP_TOKEN, FakeShopify
from pytest_httpserver import HTTPServer

from productreel.ledger import Ledger
from productreel.models import Product, RenderedClip, Variant


def make_clip_files(folder: Path, name: str = "ad-9x16", seconds: float = 1.0, color: str = "red") -> dict[str, Path]:
    """A real tiny MP4 plus SRT, VTT and a JPEG poster made by ffmpeg."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"{name}.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={color}:s=64x112:d={seconds}:r=10",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", str(video)],
        check=True,
    )
    poster = folder / f"{name}.jpg"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-frames:v", "1", str(poster)], check=True)
    srt = folder / f"{name}.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n", encoding="utf-8")
    vtt = folder / f"{name}.vtt"
    vtt.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello\n", encoding="utf-8")
    return {"video": video, "poster": poster, "srt": srt, "vtt": vtt}


@pytest.fixture(scope="session")
def clip_files(tmp_path_factory) -> dict[str, Path]:
    """One tiny rendered clip shared by the session (read-only)."""
    return make_clip_files(tmp_path_factory.mktemp("render") / "mug" / "us")


@pytest.fixture(scope="session")
def clip_files_v2(tmp_path_factory) -> dict[str, Path]:
    """A second, different tiny clip (a newer render)."""
    return make_clip_files(tmp_path_factory.mktemp("render2") / "mug" / "us", color="blue")


def clip_for(files: dict[str, Path], job_key: str, *, market: str = "us", kind: str = "ad", fmt: str = "9:16") -> RenderedClip:
    """A RenderedClip over the given files."""
    return RenderedClip(
        job_key=job_key, product_handle="mug", market=market, kind=kind, format=fmt,
        video=files["video"], srt=files["srt"], vtt=files["vtt"], poster=files["poster"],
        duration=1.0, width=64, height=112,
    )


@pytest.fixture
def make_clip():
    """The clip_for helper, as a fixture (test modules don't import conftest)."""
    return clip_for


@pytest.fixture
def clip(clip_files) -> RenderedClip:
    """The tiny clip with job key k1."""
    return clip_for(clip_files, "k1")


@pytest.fixture
def product() -> Product:
    """A product with a numeric Shopify-style id."""
    return Product(id="1001", handle="mug", title="Blue Mug",
                   variants=[Variant(sku="MUG-1", price="12.00", currency="USD", gtin="")])


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    """A fresh SQLite ledger."""
    return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")


@pytest.fixture(scope="session")
def http_server():
    """One threaded local HTTP server for the session (threaded so a slow answer doesn't block the next)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    if server.is_running():
        server.stop()


@pytest.fixture
def shop(http_server) -> FakeShopify:
    """The fake store with product gid://shopify/Product/1001 (handle mug) and two merchant media."""
    http_server.clear()
    yield FakeShopify(http_server)
    http_server.clear()


@pytest.fixture
def shop_env(shop) -> dict[str, str]:
    """SHOPIFY_* settings pointing at the fake store."""
    return {"SHOPIFY_STORE_URL": shop.store_url, "SHOPIFY_ACCESS_TOKEN": SHOP_TOKEN, "SHOPIFY_API_VERSION": "2026-10"}


@pytest.fixture
def woo(http_server):
    """The fake WordPress + WooCommerce site with product 794 (slug mug) and one merchant video."""
    from .publisher_fakes import FakeWoo

    http_server.clear()
    yield FakeWoo(http_server)
    http_server.clear()


@pytest.fixture
def woo_env(woo) -> dict[str, str]:
    """WOOCOMMERCE_* settings pointing at the fake site."""
    from .publisher_fakes import WP_APP_PASSWORD, WP_USER

    return {"WOOCOMMERCE_URL": woo.site_url, "WOOCOMMERCE_USERNAME": WP_USER, "WOOCOMMERCE_APP_PASSWORD": WP_APP_PASSWORD}


@pytest.fixture
def yt(http_server):
    """The fake Google token endpoint and YouTube resumable upload API."""
    from .publisher_fakes import FakeYouTube

    http_server.clear()
    yield FakeYouTube(http_server)
    http_server.clear()


@pytest.fixture
def yt_env(yt) -> dict[str, str]:
    """YOUTUBE_* settings pointing at the fake."""
    from .publisher_fakes import YT_CLIENT_ID, YT_CLIENT_SECRET, YT_REFRESH_TOKEN

    return {"YOUTUBE_CLIENT_ID": YT_CLIENT_ID, "YOUTUBE_CLIENT_SECRET": YT_CLIENT_SECRET,
            "YOUTUBE_REFRESH_TOKEN": YT_REFRESH_TOKEN, "YOUTUBE_TOKEN_URL": yt.token_url, "YOUTUBE_API_BASE": yt.base_url}
