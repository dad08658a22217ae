"""The WooCommerce publisher: the video into the WordPress media library, its URL onto the product.

Steps (recorded in the ledger): ``uploaded`` (``POST /wp-json/wp/v2/media`` with an Application
Password, ``post`` = the product id, so the file is attached to the product) -> ``attached`` (the
video URL written to the product's ``meta_data`` under the configured key: ``images[]`` rejects
videos) -> older productreel videos of the same slot deleted -> receipt.

Every upload carries ``[productreel <market>/<kind>/<format> <job key>]`` in its title, so a rerun
finds what an interrupted run uploaded, and media productreel did not create is never touched.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote

import requests

from productreel import http
from productreel.errors import InputError, PublishRejected, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

from publishers.base import (
    already_published, clip_stem, format_slug, live_clips, naming_clip, now, record_taken_down, redact, require_clip_file,
    setting, take_down_summary,
)
from publishers.http import Sleep, rejected, send

log = logging.getLogger(__name__)

DEFAULT_META_KEY = "productreel_video_{market}_{kind}_{format}"
MARKER_RE = re.compile(r"\[productreel (?P<market>[^/\s\]]+)/(?P<kind>[^/\s\]]+)/(?P<format>[^\s\]]+) (?P<job_key>[^\s\]]+)\]")


@dataclass
class WooSettings:
    """Where the shop is and how to sign in; passwords come from the environment or a secret block."""

    site_url: str
    username: str
    app_password: str
    consumer_key: str = ""
    consumer_secret: str = ""
    meta_key: str = DEFAULT_META_KEY

    @classmethod
    def resolve(
        cls, options: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> "WooSettings":
        """Settings from destination options, then given secrets, then WOOCOMMERCE_* environment variables."""
        options, secrets = options or {}, secrets or {}
        site = options.get("site_url") or secrets.get("site_url") or setting("WOOCOMMERCE_URL", env)
        user = options.get("username") or secrets.get("username") or setting("WOOCOMMERCE_USERNAME", env)
        password = secrets.get("app_password") or setting("WOOCOMMERCE_APP_PASSWORD", env)
        if not site:
            raise InputError("WOOCOMMERCE_URL is not set (https://shop.example.com)", where="woocommerce")
        if not user or not password:
            raise InputError("WOOCOMMERCE_USERNAME and WOOCOMMERCE_APP_PASSWORD (a WordPress Application Password) "
                             "are needed to upload media", where="woocommerce")
        if "://" not in site:
            site = f"https://{site}"
        return cls(
            site_url=site.rstrip("/"), username=user, app_password=password,
            consumer_key=secrets.get("consumer_key") or setting("WOOCOMMERCE_CONSUMER_KEY", env),
            consumer_secret=secrets.get("consumer_secret") or setting("WOOCOMMERCE_CONSUMER_SECRET", env),
            meta_key=options.get("meta_key") or setting("WOOCOMMERCE_VIDEO_META_KEY", env) or DEFAULT_META_KEY,
        )

    def __repr__(self) -> str:  # passwords must never reach a log line
        return f"WooSettings(site_url={self.site_url!r}, username={self.username!r}, app_password='***')"


class WooClient:
    """WordPress media and WooCommerce product calls with Basic auth, throttle waits and redacted errors."""

    def __init__(self, settings: WooSettings, *, session: requests.Session | None = None, sleep: Sleep = time.sleep,
                 timeout: float = 30.0, upload_timeout: float = 600.0, max_retries: int = 4) -> None:
        self.settings = settings
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        # Reads, PUTs and DELETEs may be resent; a POST that creates media never is (a timeout can hide a
        # finished upload, which the publisher looks for by its marker before trying again).
        self.session = session or http.session(retries=max_retries, timeout=timeout, sleep=sleep)

    @property
    def secrets(self) -> list[str]:
        """Every secret this client holds, for redaction."""
        s = self.settings
        return [s.app_password, s.app_password.replace(" ", ""), s.consumer_secret, s.consumer_key,
                _basic(s.username, s.app_password), _basic(s.consumer_key, s.consumer_secret)]

    def _auth_header(self, route: str) -> dict[str, str]:
        s = self.settings
        # WooCommerce keys only work on /wc/ routes and only over HTTPS; the Application Password works everywhere.
        if route.startswith("/wc/") and s.consumer_key and s.consumer_secret and s.site_url.startswith("https://"):
            return {"Authorization": f"Basic {_basic(s.consumer_key, s.consumer_secret)}"}
        return {"Authorization": f"Basic {_basic(s.username, s.app_password)}"}

    def call(self, method: str, route: str, *, what: str, ok: tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        """One REST call under /wp-json; the JSON answer, or PublishRejected / TransientError with the server's reason.

        The session resends idempotent methods (GET, PUT, DELETE) after a timeout or 5xx and a POST only after a
        throttle or a connection never made; a failed POST surfaces as TransientError for the caller to check.
        """
        url = f"{self.settings.site_url}/wp-json{route}"
        headers = {**kwargs.pop("headers", {}), **self._auth_header(route)}
        where = f"woocommerce {what}"
        response = send(self.session, method, url, headers=headers, where=where, secrets=self.secrets, **kwargs)
        if response.status_code in (401, 403):
            code = _code(response)
            raise PublishRejected(redact(
                f"{what}: WordPress refused the credentials (HTTP {response.status_code} {code}); check "
                "WOOCOMMERCE_USERNAME / WOOCOMMERCE_APP_PASSWORD and the upload_files / edit_products rights",
                self.secrets), where=where)
        if response.status_code not in ok:
            raise rejected(response, what, where=where, secrets=self.secrets)
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(f"{what}: HTTP {response.status_code} without JSON", where=where) from exc


class WooCommercePublisher:
    """Publishes a clip to a WooCommerce product: media library upload plus a meta_data URL."""

    name = "woocommerce"

    def __init__(self, *, client_factory: Callable[[WooSettings], WooClient] | None = None,
                 sleep: Sleep = time.sleep, env: Mapping[str, str] | None = None) -> None:
        self.sleep = sleep
        self.env = env
        self.client_factory = client_factory or (lambda s: WooClient(s, sleep=self.sleep))

    def publish(
        self, clip: RenderedClip, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path,
        secrets: Mapping[str, str] | None = None,
    ) -> PublishReceipt:
        """Upload the clip to the product's media and record its URL; "unchanged" with no call when already live."""
        dest = destination.name or self.name
        done = already_published(ledger, clip.job_key, dest)
        if done is not None:
            return done
        settings = WooSettings.resolve(destination.options, secrets, self.env)
        meta_key = meta_key_for(settings.meta_key, clip)
        if destination.dry_run:
            return PublishReceipt(destination=dest, job_key=clip.job_key, status="dry-run",
                                  detail=f"would upload {clip_stem(clip)}.mp4 to {settings.site_url} and set {meta_key}")
        require_clip_file(clip, "woocommerce")
        with naming_clip(clip):
            return _WooRun(self.client_factory(settings), clip, product, dest, ledger, meta_key).go()

    def take_down(
        self, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path,
        secrets: Mapping[str, str] | None = None,
    ) -> PublishReceipt:
        """Delete the product's productreel uploads and empty their meta keys; "unchanged" with no call when none is live.

        The uploads are known from the ledger (a deleted product's attachments lose their parent, so a
        search by parent would miss them), plus any other marked upload still attached to the product.
        A product already gone from the shop has no meta to empty.
        """
        dest = destination.name or self.name
        live = live_clips(ledger, product.handle, dest)
        if not live:
            return take_down_summary(dest, product, [], "no clip of it is live here")
        settings = WooSettings.resolve(destination.options, secrets, self.env)
        client = self.client_factory(settings)
        media: set[int] = set()
        meta_keys: set[str] = set()
        product_id = 0  # the shop's id a publish recorded first: a CSV catalog's product id is its handle
        for row, receipt in live:
            steps = ledger.publish_steps(receipt.job_key, dest)
            uploaded = steps.get("uploaded") or {}
            product_id = product_id or int(uploaded.get("product_id") or 0)
            media.update(int(m) for m in (uploaded.get("media_id"), receipt.remote_id) if str(m or "").isdigit())
            meta_keys.add((steps.get("attached") or {}).get("meta_key") or settings.meta_key.format(
                market=row["market"], kind=row["kind"], format=format_slug(row["format"])))
        product_id = product_id or (int(product.id) if str(product.id or "").isdigit() else 0)
        if product_id:
            media.update(mid for mid, _marker, _url in marked_uploads(client, product_id))
        for mid in sorted(media):
            # Attachments have no trash: force=true; a 404 means it is gone already.
            client.call("DELETE", f"/wp/v2/media/{mid}", what="delete video", ok=(200, 404), params={"force": "true"})
        emptied = "no product left to clear"
        if product_id:
            answer = client.call("PUT", f"/wc/v3/products/{product_id}", what="clear product video", ok=(200, 404),
                                 json={"meta_data": [{"key": k, "value": ""} for k in sorted(meta_keys)]})
            if not (isinstance(answer, dict) and answer.get("code")):
                emptied = f"emptied {', '.join(sorted(meta_keys))} on product {product_id}"
        detail = f"deleted media {', '.join(map(str, sorted(media))) or 'none'}; {emptied}"
        taken = [record_taken_down(ledger, receipt, detail) for _, receipt in live]
        return take_down_summary(dest, product, taken, detail)


def marked_uploads(client: WooClient, product_id: int) -> list[tuple[int, dict[str, str], str]]:
    """(media id, marker, source URL) of every productreel upload attached to the product."""
    out = []
    page = 1
    while True:
        items = client.call("GET", "/wp/v2/media", what="list media", params={
            "parent": product_id, "search": "productreel", "per_page": 100, "page": page, "context": "edit"})
        for item in items:
            title = item.get("title") or {}
            text = (title.get("raw") or title.get("rendered") or "") if isinstance(title, dict) else str(title)
            found = MARKER_RE.search(text)
            if found and int(item.get("post") or 0) == product_id:
                out.append((int(item["id"]), found.groupdict(), item.get("source_url", "")))
        if len(items) < 100:
            return out
        page += 1


def meta_key_for(template: str, clip: RenderedClip) -> str:
    """The product meta key for a clip: the template with {market}, {kind} and {format} ("9x16") filled in."""
    return template.format(market=clip.market, kind=clip.kind, format=format_slug(clip.format))


class _WooRun:
    """One publish of one clip to WooCommerce, step by step."""

    def __init__(self, client: WooClient, clip: RenderedClip, product: Product, dest: str, ledger: Ledger,
                 meta_key: str) -> None:
        self.client, self.clip, self.product, self.dest, self.ledger = client, clip, product, dest, ledger
        self.meta_key = meta_key
        self.key = clip.job_key
        self.slot = (clip.market, clip.kind, clip.format)
        self.marker = f"[productreel {clip.market}/{clip.kind}/{clip.format} {clip.job_key}]"

    def go(self) -> PublishReceipt:
        steps = self.ledger.publish_steps(self.key, self.dest)
        uploaded = steps.get("uploaded")
        product_id = (uploaded or {}).get("product_id") or self.product_id()
        if not uploaded:
            uploaded = self.upload(product_id)
            self.ledger.record_step(self.key, self.dest, "uploaded", uploaded)
        if not steps.get("attached"):
            self.attach(product_id, uploaded["source_url"])
            self.ledger.record_step(self.key, self.dest, "attached", {"meta_key": self.meta_key})
        replaced = self.replace_older(product_id, uploaded["media_id"], steps)
        receipt = PublishReceipt(
            destination=self.dest, job_key=self.key, status="replaced" if replaced else "published",
            remote_id=str(uploaded["media_id"]), url=uploaded["source_url"],
            detail=f"product {product_id}, meta {self.meta_key}" + (f"; replaced media {', '.join(map(str, replaced))}" if replaced else ""),
            published_at=now(),
        )
        self.ledger.record_receipt(receipt)
        return receipt

    def product_id(self) -> int:
        """The WooCommerce product id: the numeric id, else found by slug (= handle)."""
        pid = str(self.product.id or "")
        if pid.isdigit():
            return int(pid)
        found = self.client.call("GET", "/wc/v3/products", what="find product", params={"slug": self.product.handle})
        if not found:
            raise PublishRejected(f"no product with slug {self.product.handle!r} in the shop", where="woocommerce")
        return int(found[0]["id"])

    def ours(self, product_id: int) -> list[tuple[int, dict[str, str], str]]:
        """(media id, marker, source URL) of every productreel upload attached to the product."""
        return marked_uploads(self.client, product_id)

    def upload(self, product_id: int) -> dict[str, Any]:
        """The media library upload (raw body mode), or the one an earlier attempt left behind."""
        for media_id, marker, url in self.ours(product_id):
            if marker["job_key"] == self.key:
                log.info("found media %s already uploaded for %s; reusing it", media_id, self.key)
                return {"media_id": media_id, "source_url": url, "product_id": product_id}
        path = Path(self.clip.video)
        filename = f"productreel-{self.clip.product_handle}-{self.clip.market}-{clip_stem(self.clip)}-{self.key}.mp4"
        title = f"{self.product.title} {'how-to video' if self.clip.kind == 'tutorial' else 'video'} {self.marker}"
        try:
            with open(path, "rb") as fh:
                body = self.client.call(
                    "POST", "/wp/v2/media", what="upload video", ok=(201,),
                    timeout=self.client.upload_timeout, data=fh,
                    params={"post": product_id, "title": title, "alt_text": title},
                    headers={"Content-Type": "video/mp4",
                             "Content-Disposition": f'attachment; filename="{quote(filename)}"',
                             "Content-Length": str(path.stat().st_size)},
                )
        except TransientError:
            # A timeout may hide a finished upload: look for it before anyone tries again.
            for media_id, marker, url in self.ours(product_id):
                if marker["job_key"] == self.key:
                    return {"media_id": media_id, "source_url": url, "product_id": product_id}
            raise
        return {"media_id": int(body["id"]), "source_url": body.get("source_url", ""), "product_id": product_id}

    def attach(self, product_id: int, url: str) -> None:
        """Write the video URL to the product's meta_data (setting the same value twice is harmless)."""
        self.client.call("PUT", f"/wc/v3/products/{product_id}", what="set product video",
                         json={"meta_data": [{"key": self.meta_key, "value": url}]})

    def replace_older(self, product_id: int, media_id: int, steps: dict[str, dict[str, Any]]) -> list[int]:
        """Delete older productreel uploads of this slot; never anything productreel did not upload."""
        older = [mid for mid, marker, _ in self.ours(product_id)
                 if mid != media_id and marker["job_key"] != self.key
                 and (marker["market"], marker["kind"], marker["format"]) == self.slot]
        previously = (steps.get("replaced") or {}).get("media_ids") or []
        if older:
            self.ledger.record_step(self.key, self.dest, "replaced", {"media_ids": sorted({*previously, *older})})
        for mid in older:
            # Attachments have no trash: force=true is required, and a 404 means it is already gone.
            self.client.call("DELETE", f"/wp/v2/media/{mid}", what="delete older video", ok=(200, 404),
                             params={"force": "true"})
        return sorted({*previously, *older})


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode() if user and password else ""


def _code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""
