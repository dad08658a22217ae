"""Image URLs inside a remote catalog lead only to public addresses (or the seller's listed hosts), every hop checked."""

from __future__ import annotations

import io
import socket

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Response

from catalog_adapters.images import fetch_image
from catalog_adapters.netguard import AddressRefused, Policy, address_kind
from productreel.errors import InputError

SETTING = "PRODUCTREEL_ALLOWED_PRIVATE_HOSTS"


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.0.0.2", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.10", "private"), ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local (cloud metadata)"), ("169.254.10.1", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("100.100.100.200", "non-public"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("2002:a9fe:a9fe::1", "link-local (cloud metadata)"),
    ("93.184.216.34", None), ("2606:4700:4700::1111", None), ("::ffff:8.8.8.8", None),
])
def test_address_kinds(address, kind):
    assert address_kind(address) == kind


@pytest.mark.parametrize("setting, host, address, allowed", [
    ("", "cdn.example", "93.184.216.34", True),
    ("", "localhost", "127.0.0.1", False),
    ("127.0.0.1", "localhost", "127.0.0.1", True),
    ("127.0.0.1", "127.0.0.2", "127.0.0.2", False),
    ("10.0.0.0/8, images.internal", "nas", "10.9.8.7", True),
    ("10.0.0.0/8", "nas", "192.168.0.7", False),
    ("fd00::/8", "v6", "fd12::1", True),
    ("127.0.0.1", "localhost", "::ffff:127.0.0.1", True),  # a dual-stack socket's view of the listed IPv4 address
])
def test_policy_check(setting, host, address, allowed):
    policy = Policy.parse(setting)
    if allowed:
        policy.check(host, address)
    else:
        with pytest.raises(AddressRefused, match=SETTING):
            policy.check(host, address)


def test_policy_names_and_bad_entries():
    policy = Policy.parse("Images.Internal., 10.0.0.0/8")
    assert policy.trusts_name("images.internal") and not policy.trusts_name("other.internal")
    with pytest.raises(InputError, match="'images:8080' is neither"):
        Policy.parse("images:8080")


@pytest.fixture
def second_server():
    """A second server on another loopback address: what a poisoned catalog points at."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.expect_request("/a.png").respond_with_data(png_bytes(), content_type="image/png")
    server.expect_request("/b.png").respond_with_data(png_bytes(), content_type="image/png")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_remote_catalog_images_are_refused_directly_and_through_a_redirect(httpserver, second_server, tmp_path, monkeypatch):
    from jobs.plan import read_catalog

    evil_a = second_server.url_for("/a.png")
    evil_b = second_server.url_for("/b.png")
    items = {
        "DIRECT": evil_a,
        "HOP": httpserver.url_for("/hop.png"),
        "META": "http://169.254.169.254/latest/meta-data/iam.png",
        "OK": httpserver.url_for("/ok.png"),
    }
    feed = ('<?xml version="1.0" encoding="UTF-8"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>'
            "<title>S</title><link>https://s</link><description>F</description>"
            + "".join(f"<item><g:id>{k}</g:id><g:title>{k.title()}</g:title><g:link>https://s/{k}</g:link>"
                      f"<g:image_link>{src}</g:image_link><g:price>5.00 USD</g:price><g:availability>in_stock</g:availability>"
                      "</item>" for k, src in items.items())
            + "</channel></rss>")
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/hop.png").respond_with_response(Response(status=302, headers={"Location": evil_b}))
    httpserver.expect_request("/ok.png").respond_with_data(png_bytes(), content_type="image/png")
    monkeypatch.setenv(SETTING, httpserver.host)  # the feed's own address is the seller's; the second one is not

    read = read_catalog(httpserver.url_for("/feed.xml"), cache_dir=tmp_path / "cache")

    assert [p.handle for p in read.products] == ["OK"]
    errors = {p.handle: p.error for p in read.problems}
    assert errors == {
        "DIRECT": f"image {evil_a!r}: refused: 127.0.0.2 is a loopback address; list it in {SETTING} if it is yours",
        "HOP": f"image {items['HOP']!r}: redirect to {evil_b!r} refused: 127.0.0.2 is a loopback address; "
               f"list it in {SETTING} if it is yours",
        "META": f"image {items['META']!r}: refused: 169.254.169.254 is a link-local (cloud metadata) address; "
                f"list it in {SETTING} if it is yours",
    }
    assert all("\n" not in e for e in errors.values())
    assert len(second_server.log) == 0  # never contacted, not even by the redirect
    assert [req.path for req, _ in httpserver.log] == ["/feed.xml", "/hop.png", "/ok.png"]


def test_a_host_name_is_resolved_once_and_every_answer_checked(httpserver, second_server, tmp_path, monkeypatch):
    httpserver.expect_request("/a.png").respond_with_data(png_bytes(), content_type="image/png")
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host, port, *args, **kw):
        if host.endswith(".test"):
            asked.append(host)
            # rebind.test answers the allowed address first, then the forbidden one; mixed.test both at once
            if host == "mixed.test":
                return real("127.0.0.1", port, *args, **kw) + real("127.0.0.2", port, *args, **kw)
            return real("127.0.0.1" if asked.count(host) == 1 else "127.0.0.2", port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    url = f"http://rebind.test:{httpserver.port}/a.png"
    path = fetch_image(url, base_dir=tmp_path, cache_dir=tmp_path / "c", remote=True, allowed_private_hosts="127.0.0.1")
    assert path.read_bytes() == png_bytes()
    assert asked == ["rebind.test"]  # the socket went to the address that was checked, with no second lookup
    with pytest.raises(InputError, match=r"refused: mixed.test \(127.0.0.2\) is a loopback address"):
        fetch_image(f"http://mixed.test:{httpserver.port}/a.png", base_dir=tmp_path, cache_dir=tmp_path / "c2",
                    remote=True, allowed_private_hosts="127.0.0.1")
    assert len(second_server.log) == 0


def test_a_listed_host_name_is_trusted_and_local_catalogs_are_not_guarded(httpserver, tmp_path):
    httpserver.expect_request("/a.png").respond_with_data(png_bytes(), content_type="image/png")
    url = f"http://localhost:{httpserver.port}/a.png"
    with pytest.raises(InputError, match="refused: localhost"):
        fetch_image(url, base_dir=tmp_path, cache_dir=tmp_path / "c", remote=True, allowed_private_hosts="")
    assert fetch_image(url, base_dir=tmp_path, cache_dir=tmp_path / "c", remote=True, allowed_private_hosts="localhost").is_file()
    # the seller's own file is trusted as it is: only URLs inside a remote catalog are checked
    assert fetch_image(httpserver.url_for("/a.png"), base_dir=tmp_path, cache_dir=tmp_path / "c3").is_file()
