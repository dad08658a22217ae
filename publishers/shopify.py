"""The Shopify publisher: product videos through the Admin GraphQL API (default 2026-10), exactly once.

On the files model (API 2024-07 and later, the default), each step is recorded in the ledger so a
killed run resumes where it stopped:
``staged`` (stagedUploadsCreate, resource VIDEO, exact fileSize) -> ``uploaded`` (multipart POST to the
staged target, its parameters in order, the file last) -> ``created`` (fileCreate, originalSource the
staged resourceUrl, contentType VIDEO) -> ``ready`` (the file polled until READY or FAILED, bounded) ->
``attached`` (fileUpdate referencesToAdd the product) -> ``replaced`` (older productreel videos of the
same slot deleted with fileDelete) -> receipt. The product never shows a video that is still processing.

Older versions (or option ``attach=productUpdate|productCreateMedia``) attach first with
productUpdate(media:) (2024-10+) or productCreateMedia, then poll the media until READY.

Every video productreel creates carries a marker in its alt text,
``[productreel <market>/<kind>/<format> <job key>]``; media without the marker is never touched, and a
run that died after fileCreate finds its file by the marker (``files`` query) instead of creating another.
Shopify answers a version it no longer serves with the oldest one it does (no error): the
``X-Shopify-API-Version`` response header says which, and the receipt and the log say so when it differs.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import requests

from productreel import http
from productreel.errors import InputError, PublishRejected, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip
from productreel.shopify_throttle import Throttle

from publishers.base import (
    already_published, clip_stem, live_clips, naming_clip, now, record_taken_down, redact, require_clip_file, setting,
    take_down_summary,
)
from publishers.http import MultipartFile, Sleep, rejected, send

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-10"
# productUpdate(product:, media:) arrived with ProductUpdateInput; older versions attach with productCreateMedia.
PRODUCT_UPDATE_MEDIA_SINCE = "2024-10"
# fileUpdate(referencesToAdd: [productId]) connects a file to a product from 2024-07 (shopify.dev changelog).
FILES_MODEL_SINCE = "2024-07"
# fileCreate / fileUpdate / productUpdate codes for the store's plan cap on hosted videos and 3D models.
PLAN_LIMIT_CODES = {"NON_IMAGE_MEDIA_PER_SHOP_LIMIT_EXCEEDED", "SHOP_MEDIA_LIMIT_EXCEEDED"}
PLAN_LIMIT_HINT = ("the store's plan limit on hosted videos and 3D models is reached (Basic 250, Shopify 1,000, "
                   "Advanced 5,000): delete unused videos in Content > Files or upgrade the plan, then publish again")
MARKER_RE = re.compile(r"\[productreel (?P<market>[^/\s\]]+)/(?P<kind>[^/\s\]]+)/(?P<format>[^\s\]]+) (?P<job_key>[^\s\]]+)\]")
ALT_MAX = 512

STAGED_UPLOADS = """
mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}"""

PRODUCT_UPDATE = """
mutation ProductUpdate($product: ProductUpdateInput!, $media: [CreateMediaInput!]) {
  productUpdate(product: $product, media: $media) {
    product { id media(first: 250) { nodes { id alt mediaContentType status } } }
    userErrors { field message }
  }
}"""

PRODUCT_CREATE_MEDIA = """
mutation ProductCreateMedia($productId: ID!, $media: [CreateMediaInput!]!) {
  productCreateMedia(productId: $productId, media: $media) {
    media { id alt mediaContentType status }
    mediaUserErrors { code field message }
  }
}"""

PRODUCT_MEDIA = """
query ProductMedia($id: ID!) {
  product(id: $id) {
    id
    media(first: 250) { nodes { id alt mediaContentType status } }
  }
}"""

PRODUCT_BY_HANDLE = """
query ProductByHandle($query: String!) {
  products(first: 1, query: $query) { nodes { id handle } }
}"""

MEDIA_NODE = """
query MediaNode($id: ID!) {
  node(id: $id) {
    id
    ... on Video {
      alt status fileStatus
      mediaErrors { code details message }
      fileErrors { code details message }
      sources { url mimeType format height width }
    }
  }
}"""

FILE_CREATE = """
mutation FileCreate($files: [FileCreateInput!]!) {
  fileCreate(files: $files) {
    files { id alt fileStatus }
    userErrors { code field message }
  }
}"""

FILES_BY_NAME = """
query Files($query: String!) {
  files(first: 50, query: $query) {
    nodes { id alt fileStatus ... on Video { filename } }
  }
}"""

FILE_UPDATE = """
mutation FileUpdate($files: [FileUpdateInput!]!) {
  fileUpdate(files: $files) {
    files { id fileStatus }
    userErrors { code field message }
  }
}"""

FILE_DELETE = """
mutation FileDelete($fileIds: [ID!]!) {
  fileDelete(fileIds: $fileIds) {
    deletedFileIds
    userErrors { code field message }
  }
}"""

PRODUCT_DELETE_MEDIA = """
mutation ProductDeleteMedia($productId: ID!, $mediaIds: [ID!]!) {
  productDeleteMedia(productId: $productId, mediaIds: $mediaIds) {
    deletedMediaIds
    mediaUserErrors { code field message }
  }
}"""


@dataclass
class ShopifySettings:
    """Where the store is and how to reach it; the token comes from the environment or a secret block."""

    store_url: str
    access_token: str
    api_version: str = DEFAULT_API_VERSION

    @classmethod
    def resolve(
        cls, options: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> "ShopifySettings":
        """Settings from destination options, then given secrets, then SHOPIFY_* environment variables."""
        options, secrets = options or {}, secrets or {}
        store = options.get("store_url") or secrets.get("store_url") or setting("SHOPIFY_STORE_URL", env)
        token = secrets.get("access_token") or setting("SHOPIFY_ACCESS_TOKEN", env)
        version = options.get("api_version") or setting("SHOPIFY_API_VERSION", env) or DEFAULT_API_VERSION
        if not store:
            raise InputError("SHOPIFY_STORE_URL is not set (https://<shop>.myshopify.com)", where="shopify")
        if not token:
            raise InputError("SHOPIFY_ACCESS_TOKEN is not set", where="shopify")
        if not re.fullmatch(r"\d{4}-\d{2}|unstable", version):
            raise InputError(f"SHOPIFY_API_VERSION {version!r} is not YYYY-MM", where="shopify")
        if "://" not in store:
            store = f"https://{store}"
        return cls(store_url=store.rstrip("/"), access_token=token, api_version=version)

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"ShopifySettings(store_url={self.store_url!r}, api_version={self.api_version!r}, access_token='***')"


class ShopifyClient:
    """A small Admin GraphQL client: both throttle styles, clear errors, redacted secrets."""

    def __init__(
        self,
        settings: ShopifySettings,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        timeout: float = 30.0,
        upload_timeout: float = 600.0,
        max_retries: int = 4,
        max_wait: float = 60.0,
        min_available: float = 100.0,
    ) -> None:
        self.settings = settings
        self.endpoint = f"{settings.store_url}/admin/api/{settings.api_version}/graphql.json"
        retrying = {"retries": max_retries, "max_wait": max_wait, "sleep": sleep}
        # Queries and most mutations may be resent after a timeout or a 5xx; attaching media may not:
        # a timeout can hide a video that was attached, so that call goes through a session that never
        # resends it, and the publisher looks for its marker before trying again.
        self.session = session or http.session(idempotent_post=True, timeout=timeout, **retrying)
        self.create_session = session or http.session(idempotent_post=False, timeout=timeout, **retrying)
        # A staged upload writes one fixed key on the storage bucket, so sending it again overwrites it.
        self.upload_session = http.session(idempotent_post=True, timeout=upload_timeout, **retrying)
        self.throttle = Throttle(sleep=sleep, max_retries=max_retries, max_wait=max_wait, min_available=min_available)
        self.served_version = ""  # the X-Shopify-API-Version Shopify answered with

    @property
    def _secrets(self) -> list[str]:
        return [self.settings.access_token]

    @property
    def version(self) -> str:
        """The API version whose schema answers: the one Shopify served once known, else the one asked for."""
        return self.served_version or self.settings.api_version

    def version_note(self) -> str:
        """A sentence when Shopify served another API version than asked, else ""."""
        if self.served_version and self.served_version != self.settings.api_version:
            return (f"Shopify served Admin API {self.served_version}, not the {self.settings.api_version} asked for "
                    "(set SHOPIFY_API_VERSION to a version it serves)")
        return ""

    def _note_version(self, response: requests.Response) -> None:
        served = response.headers.get("X-Shopify-API-Version", "").strip()
        if not served or served == self.served_version:
            return
        self.served_version = served
        if served != self.settings.api_version:
            log.warning("%s", self.version_note())

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, retry_ambiguous: bool = True) -> dict[str, Any]:
        """Run one operation and return its ``data``; waits out throttles, raises clear errors otherwise."""
        operation = _operation_name(query)
        where = f"shopify {operation}"
        body = {"query": query, "variables": variables or {}, "operationName": operation}
        headers = {"X-Shopify-Access-Token": self.settings.access_token, "Content-Type": "application/json"}
        session = self.session if retry_ambiguous else self.create_session

        def post() -> dict[str, Any]:
            response = send(session, "POST", self.endpoint, json=body, headers=headers, where=where, secrets=self._secrets)
            self._note_version(response)
            if response.status_code in (401, 403):
                raise PublishRejected(
                    f"Shopify refused the access token (HTTP {response.status_code}); check SHOPIFY_ACCESS_TOKEN "
                    "and its write_products scope", where=where)
            if response.status_code == 404:
                raise PublishRejected(
                    f"no Admin API at {self.endpoint} (HTTP 404); check SHOPIFY_STORE_URL and SHOPIFY_API_VERSION",
                    where=where)
            if response.status_code == 423:
                raise PublishRejected("the shop is locked (HTTP 423)", where=where)
            if response.status_code >= 400:
                raise rejected(response, "Shopify rejected the request", where=where, secrets=self._secrets)
            try:
                payload = response.json()
            except ValueError as exc:
                raise TransientError(f"Shopify answered HTTP {response.status_code} without JSON", where=where) from exc
            return payload if isinstance(payload, dict) else {}

        payload = self.throttle.call(post, where=where)
        errors = payload.get("errors") or []
        if errors:
            messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
            codes = {((e.get("extensions") or {}).get("code") if isinstance(e, dict) else None) for e in errors}
            err_cls = TransientError if codes & {"INTERNAL_SERVER_ERROR", "TIMEOUT"} else PublishRejected
            raise err_cls(redact(f"Shopify error: {messages}", self._secrets), where=where)
        return payload.get("data") or {}

    def upload_staged(self, target: dict[str, Any], path: Path, mime_type: str = "video/mp4") -> None:
        """POST the file to a staged target: its parameters in the given order, the file last as ``file``."""
        where = "shopify staged upload"
        fields = [(p["name"], p["value"]) for p in target.get("parameters") or []]
        body = MultipartFile(fields, "file", path, path.name, mime_type)
        try:
            # No access token here: the staged target is a storage bucket, not Shopify.
            response = send(self.upload_session, "POST", target["url"], data=body,
                            headers={"Content-Type": body.content_type}, where=where, secrets=self._secrets)
        finally:
            body.close()
        if response.status_code >= 400:
            raise rejected(response, "the staged upload target refused the file", where=where, secrets=self._secrets)


@dataclass
class _Media:
    id: str
    alt: str
    status: str
    marker: dict[str, str] | None


class ShopifyPublisher:
    """Publishes a clip as a product video on a Shopify store; idempotent and resumable."""

    name = "shopify"

    def __init__(
        self,
        *,
        client_factory: Callable[[ShopifySettings], ShopifyClient] | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self.env = env
        self.client_factory = client_factory or (lambda s: ShopifyClient(s, sleep=self.sleep))

    def publish(
        self, clip: RenderedClip, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path,
        secrets: Mapping[str, str] | None = None,
    ) -> PublishReceipt:
        """Attach the clip to the product as a video; "unchanged" with no call at all when already live."""
        dest = destination.name or self.name
        done = already_published(ledger, clip.job_key, dest)
        if done is not None:
            return done
        options = destination.options
        formats = options.get("formats")
        if formats and clip.format not in formats:
            return PublishReceipt(destination=dest, job_key=clip.job_key, status="skipped",
                                  detail=f"format {clip.format} is not in this destination's formats {formats}")
        settings = ShopifySettings.resolve(options, secrets, self.env)
        if destination.dry_run:
            return PublishReceipt(destination=dest, job_key=clip.job_key, status="dry-run",
                                  detail=f"would attach {clip_stem(clip)}.mp4 to {product.handle} on {settings.store_url}")
        require_clip_file(clip, "shopify")
        with naming_clip(clip):
            return _Run(self, self.client_factory(settings), clip, product, dest, ledger, options).go()

    def take_down(
        self, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path,
        secrets: Mapping[str, str] | None = None,
    ) -> PublishReceipt:
        """Delete every productreel video on the product (found by its marker; the merchant's media stay).

        "unchanged" with no call at all when the ledger has none of its clips live here; a product
        already deleted from the store took its media with it, which counts as taken down.
        """
        dest = destination.name or self.name
        live = live_clips(ledger, product.handle, dest)
        if not live:
            return take_down_summary(dest, product, [], "no clip of it is live here")
        client = self.client_factory(ShopifySettings.resolve(destination.options, secrets, self.env))
        product_id = _recorded_product_id(ledger, [r.job_key for _, r in live], dest) or _gid(product.id)
        if not product_id:
            nodes = (client.graphql(PRODUCT_BY_HANDLE, {"query": f"handle:'{_quote(product.handle)}'"}).get("products") or {}).get("nodes") or []
            product_id = next((n["id"] for n in nodes if n.get("handle") == product.handle), "")
        found = client.graphql(PRODUCT_MEDIA, {"id": product_id}).get("product") if product_id else None
        if found is None:
            detail = "the product is gone from the store, and its videos with it"
        else:
            ours = [n["id"] for n in (found.get("media") or {}).get("nodes") or []
                    if n.get("mediaContentType") == "VIDEO" and MARKER_RE.search(n.get("alt") or "")]
            if ours:
                files_model = destination.options.get("attach") in (None, "files") and client.version >= FILES_MODEL_SINCE
                _delete(client, product_id, ours, files_model=files_model)
            detail = f"deleted {len(ours)} productreel video(s) from {product_id}"
        taken = [record_taken_down(ledger, receipt, detail) for _, receipt in live]
        return take_down_summary(dest, product, taken, detail)


def _recorded_product_id(ledger: Ledger, job_keys: list[str], dest: str) -> str:
    """The store's product id a publish of one of these clips recorded (a CSV catalog knows only the handle)."""
    for key in job_keys:
        steps = ledger.publish_steps(key, dest)
        for step in ("attached", "staged"):
            if (steps.get(step) or {}).get("product_id"):
                return steps[step]["product_id"]
    return ""


def _gid(pid: str | None) -> str:
    pid = str(pid or "")
    if pid.startswith("gid://shopify/Product/"):
        return pid
    return f"gid://shopify/Product/{pid}" if pid.isdigit() else ""


def _quote(handle: str) -> str:
    return handle.replace("'", "\\'")


class _Run:
    """One publish of one clip, step by step."""

    def __init__(self, pub: ShopifyPublisher, client: ShopifyClient, clip: RenderedClip, product: Product,
                 dest: str, ledger: Ledger, options: Mapping[str, Any]) -> None:
        self.pub, self.client, self.clip, self.product = pub, client, clip, product
        self.dest, self.ledger, self.options = dest, ledger, options
        self.key = clip.job_key
        self.slot = (clip.market, clip.kind, clip.format)
        self.marker = f"[productreel {clip.market}/{clip.kind}/{clip.format} {clip.job_key}]"
        self.filename = _safe_filename(f"productreel_{clip.product_handle}_{clip.market}_{clip_stem(clip)}_{clip.job_key}")
        attach = options.get("attach")
        # Decided once per publish, on the version that answers (known when an earlier call read the header).
        self.files_model = attach == "files" or (attach is None and client.version >= FILES_MODEL_SINCE)

    # --- the steps --------------------------------------------------------
    def go(self) -> PublishReceipt:
        steps = self.ledger.publish_steps(self.key, self.dest)
        product_id = (steps.get("staged") or {}).get("product_id") or self.product_gid()
        if self.files_model:
            media_id, url = self.files_flow(product_id, steps)
        else:
            media_id, url = self.media_flow(product_id, steps)
        replaced = self.replace_older(product_id, media_id, steps)
        notes = [f"product {product_id}"]
        if replaced:
            notes.append(f"replaced {', '.join(replaced)}")
        if self.client.version_note():
            notes.append(self.client.version_note())
        receipt = PublishReceipt(
            destination=self.dest, job_key=self.key, status="replaced" if replaced else "published",
            remote_id=media_id, url=url, detail="; ".join(notes), published_at=now(),
        )
        self.ledger.record_receipt(receipt)
        return receipt

    def files_flow(self, product_id: str, steps: dict[str, dict[str, Any]]) -> tuple[str, str]:
        """Staged upload -> fileCreate -> READY -> fileUpdate referencesToAdd; returns the file id and its URL."""
        file_id = (steps.get("created") or {}).get("file_id", "")
        if file_id:
            node = self.media_node(file_id)
            status = (node or {}).get("fileStatus") or (node or {}).get("status")
            if node is None or status == "FAILED":
                # Deleted by hand, or failed in a run that died before its clean-up: start over.
                if node is not None:
                    self.delete_media(product_id, [file_id])
                steps, file_id = {}, ""
        if not file_id:
            mine = self.our_files()
            failed = [f["id"] for f in mine if f.get("fileStatus") == "FAILED"]
            if failed:
                self.delete_media(product_id, failed)
            usable = [f["id"] for f in mine if f.get("fileStatus") != "FAILED"]
            if usable:
                # A previous attempt created it and died before the ledger heard: adopt it, don't create another.
                file_id = usable[0]
                log.info("found %s already created for %s; reusing it", file_id, self.key)
            else:
                file_id = self.upload_and_create(product_id, steps)
            self.ledger.record_step(self.key, self.dest, "created", {"file_id": file_id, "product_id": product_id})
        ready = steps.get("ready")
        if not ready or ready.get("media_id") != file_id:
            node = self.wait_ready(file_id, product_id)
            ready = {"media_id": file_id, "url": _best_source(node)}
            self.ledger.record_step(self.key, self.dest, "ready", ready)
        # Looked up even when the ledger says attached: a reference removed by hand is added back, not assumed.
        if file_id not in {m.id for m in self.product_media(product_id)}:
            try:
                self.reference(file_id, product_id)
            except PublishRejected:
                # The product cannot take it (media limit, suspended): an unattached file would only use up the plan.
                self.delete_media(product_id, [file_id])
                raise
        if (steps.get("attached") or {}).get("media_id") != file_id:
            self.ledger.record_step(self.key, self.dest, "attached", {"media_id": file_id, "product_id": product_id})
        return file_id, ready.get("url", "")

    def media_flow(self, product_id: str, steps: dict[str, dict[str, Any]]) -> tuple[str, str]:
        """Staged upload -> productUpdate(media:) / productCreateMedia -> READY; for versions before the files model."""
        media = None
        attached = steps.get("attached")
        if attached:
            media = self.media_node(attached["media_id"])
            if media is None or media.get("status") == "FAILED":
                # Gone (deleted by hand) or failed earlier: start over with a fresh staged upload.
                steps, media = {}, None
        if media is None:
            mine = [m for m in self.product_media(product_id) if m.marker and m.marker["job_key"] == self.key]
            usable = [m for m in mine if m.status != "FAILED"]
            failed = [m.id for m in mine if m.status == "FAILED"]
            if failed:
                # Left by a run that died between FAILED and its clean-up: a broken video must not stay on the store.
                self.delete_media(product_id, failed)
            if usable:
                # A previous attempt attached it and died before the ledger heard: adopt it, don't upload again.
                media_id = usable[0].id
                log.info("found %s already attached to %s; reusing it", media_id, product_id)
            else:
                media_id = self.upload_and_attach(product_id, steps)
            self.ledger.record_step(self.key, self.dest, "attached", {"media_id": media_id, "product_id": product_id})
        else:
            media_id = attached["media_id"]
        ready = steps.get("ready")
        if not ready or ready.get("media_id") != media_id:
            node = self.wait_ready(media_id, product_id)
            ready = {"media_id": media_id, "url": _best_source(node)}
            self.ledger.record_step(self.key, self.dest, "ready", ready)
        return media_id, ready.get("url", "")

    def upload(self, product_id: str, steps: dict[str, dict[str, Any]]) -> str:
        """Stage and upload the clip, skipping what the ledger says is done; returns the staged resourceUrl."""
        path = Path(self.clip.video)
        size = path.stat().st_size
        staged = steps.get("staged")
        if not staged or staged.get("size") != size:
            staged = self.stage(path, size, product_id)
        uploaded = steps.get("uploaded")
        if not uploaded or uploaded.get("resource_url") != staged["resource_url"]:
            try:
                self.client.upload_staged(staged["target"], path)
            except PublishRejected:
                if not steps.get("staged"):
                    raise
                # A staged target from an earlier run may have expired: stage once more and retry.
                staged = self.stage(path, size, product_id)
                self.client.upload_staged(staged["target"], path)
            self.ledger.record_step(self.key, self.dest, "uploaded", {"resource_url": staged["resource_url"]})
        return staged["resource_url"]

    def upload_and_create(self, product_id: str, steps: dict[str, dict[str, Any]]) -> str:
        """Stage, upload and fileCreate; returns the new file's id (on an ambiguous failure, look before trying again)."""
        resource_url = self.upload(product_id, steps)
        files = [{"originalSource": resource_url, "contentType": "VIDEO", "filename": f"{self.filename}.mp4",
                  "alt": self.alt_text()}]
        try:
            data = self.client.graphql(FILE_CREATE, {"files": files}, retry_ambiguous=False)
        except TransientError:
            # A timeout or 5xx may hide a file that was created: only the marker on the store can tell.
            found = [f["id"] for f in self.our_files() if f.get("fileStatus") != "FAILED"]
            if found:
                return found[0]
            raise
        result = data.get("fileCreate") or {}
        _raise_user_errors(result.get("userErrors"), "fileCreate")
        created = [f for f in result.get("files") or [] if f.get("id")]
        if not created:
            raise PublishRejected("fileCreate succeeded but returned no file", where="shopify fileCreate")
        return created[0]["id"]

    def reference(self, file_id: str, product_id: str) -> None:
        """fileUpdate referencesToAdd: show the READY file in the product's media (adding it twice changes nothing)."""
        data = self.client.graphql(FILE_UPDATE, {"files": [{"id": file_id, "referencesToAdd": [product_id]}]})
        _raise_user_errors((data.get("fileUpdate") or {}).get("userErrors"), "fileUpdate")

    def our_files(self) -> list[dict[str, Any]]:
        """This job key's productreel video files anywhere in the store (attached or not), found by name and marker."""
        data = self.client.graphql(FILES_BY_NAME, {"query": f"media_type:VIDEO filename:{self.filename}*"})
        nodes = ((data.get("files") or {}).get("nodes")) or []
        out = []
        for node in nodes:
            found = MARKER_RE.search(node.get("alt") or "")
            if found and found.group("job_key") == self.key:
                out.append(node)
        return out

    def upload_and_attach(self, product_id: str, steps: dict[str, dict[str, Any]]) -> str:
        """Stage, upload and attach (the media model), skipping what the ledger says is done; returns the media id."""
        return self.attach(product_id, self.upload(product_id, steps))

    def stage(self, path: Path, size: int, product_id: str) -> dict[str, Any]:
        """stagedUploadsCreate for one VIDEO with its exact byte count."""
        data = self.client.graphql(STAGED_UPLOADS, {"input": [{
            "filename": f"{self.filename}.mp4",
            "mimeType": "video/mp4", "fileSize": str(size), "resource": "VIDEO", "httpMethod": "POST",
        }]})
        result = data.get("stagedUploadsCreate") or {}
        _raise_user_errors(result.get("userErrors"), "stagedUploadsCreate")
        targets = result.get("stagedTargets") or []
        if not targets:
            raise PublishRejected("stagedUploadsCreate returned no target", where="shopify stagedUploadsCreate")
        target = targets[0]
        staged = {"target": {"url": target["url"], "parameters": target.get("parameters") or []},
                  "resource_url": target["resourceUrl"], "size": size, "product_id": product_id}
        self.ledger.record_step(self.key, self.dest, "staged", staged)
        return staged

    def attach(self, product_id: str, resource_url: str) -> str:
        """Attach the uploaded video to the product; on an ambiguous failure, look before trying again."""
        media_input = [{"originalSource": resource_url, "mediaContentType": "VIDEO", "alt": self.alt_text()}]
        use_update = self.options.get("attach") == "productUpdate" or (
            self.options.get("attach") != "productCreateMedia" and self.client.version >= PRODUCT_UPDATE_MEDIA_SINCE)
        try:
            if use_update:
                data = self.client.graphql(PRODUCT_UPDATE, {"product": {"id": product_id}, "media": media_input},
                                           retry_ambiguous=False)
                result = data.get("productUpdate") or {}
                _raise_user_errors(result.get("userErrors"), "productUpdate")
                nodes = ((result.get("product") or {}).get("media") or {}).get("nodes") or []
            else:
                data = self.client.graphql(PRODUCT_CREATE_MEDIA, {"productId": product_id, "media": media_input},
                                           retry_ambiguous=False)
                result = data.get("productCreateMedia") or {}
                _raise_user_errors(result.get("mediaUserErrors"), "productCreateMedia")
                nodes = result.get("media") or []
        except TransientError:
            # A timeout or 5xx may hide an attach that happened: only the marker on the store can tell.
            found = [m for m in self.product_media(product_id) if m.marker and m.marker["job_key"] == self.key
                     and m.status != "FAILED"]
            if found:
                return found[0].id
            raise
        for node in nodes:
            if self.marker in (node.get("alt") or ""):
                return node["id"]
        raise PublishRejected("the attach call succeeded but the new video is not on the product",
                              where="shopify attach")

    def wait_ready(self, media_id: str, product_id: str) -> dict[str, Any]:
        """Poll the media node until READY (returned) or FAILED (deleted, then PublishRejected); bounded."""
        interval = float(self.options.get("poll_interval", 2.0))
        max_wait = float(self.options.get("max_wait", 600.0))
        deadline = self.pub.clock() + max_wait
        status = "UPLOADED"
        while True:
            node = self.media_node(media_id)
            if node is None:
                raise TransientError(f"video {media_id} vanished while processing; rerun to upload again",
                                     where="shopify processing")
            # A file's fileStatus on the files model; a product media's status otherwise (the same values).
            status = (node.get("fileStatus") if self.files_model else None) or node.get("status") or status
            if status == "READY":
                return node
            if status == "FAILED":
                errors = node.get("fileErrors") or node.get("mediaErrors") or []
                why = "; ".join(f"{e.get('code')}: {e.get('details') or e.get('message')}" for e in errors) or "no reason given"
                # Ours and useless: delete it so the store never shows a broken productreel video.
                self.delete_media(product_id, [media_id])
                raise PublishRejected(f"Shopify could not process the video ({why})", where="shopify processing")
            if self.pub.clock() >= deadline:
                raise TransientError(f"video {media_id} is still {status} after {max_wait:.0f} s; rerun to keep waiting",
                                     where="shopify processing")
            self.pub.sleep(interval)
            interval = min(interval * 1.5, 15.0)

    def replace_older(self, product_id: str, media_id: str, steps: dict[str, dict[str, Any]]) -> list[str]:
        """Delete older productreel videos of this slot (only ours, only after the new one is READY)."""
        # The slot is (market, kind, format) so that two formats of one kind can live side by side;
        # option slot="kind" makes a new clip replace every older format of its kind too.
        width = 2 if self.options.get("slot") == "kind" else 3
        older = [m.id for m in self.product_media(product_id)
                 if m.marker and m.id != media_id and m.marker["job_key"] != self.key
                 and (m.marker["market"], m.marker["kind"], m.marker["format"])[:width] == self.slot[:width]]
        previously = (steps.get("replaced") or {}).get("media_ids") or []
        if older:
            self.ledger.record_step(self.key, self.dest, "replaced", {"media_ids": sorted({*previously, *older})})
            self.delete_media(product_id, older)
        return sorted({*previously, *older})

    # --- reads and deletes ------------------------------------------------
    def product_gid(self) -> str:
        """The product's GraphQL id: from a numeric or gid id, else looked up by handle."""
        pid = str(self.product.id or "")
        if pid.startswith("gid://shopify/Product/"):
            return pid
        if pid.isdigit():
            return f"gid://shopify/Product/{pid}"
        handle = self.product.handle.replace("'", "\\'")
        data = self.client.graphql(PRODUCT_BY_HANDLE, {"query": f"handle:'{handle}'"})
        nodes = ((data.get("products") or {}).get("nodes")) or []
        match = [n for n in nodes if n.get("handle") == self.product.handle]
        if not match:
            raise PublishRejected(f"no product with handle {self.product.handle!r} on the store", where="shopify")
        return match[0]["id"]

    def product_media(self, product_id: str) -> list[_Media]:
        """The product's media, each with its productreel marker when it has one."""
        data = self.client.graphql(PRODUCT_MEDIA, {"id": product_id})
        product = data.get("product")
        if product is None:
            raise PublishRejected(f"product {product_id} does not exist on the store", where="shopify")
        out = []
        for node in (product.get("media") or {}).get("nodes") or []:
            alt = node.get("alt") or ""
            found = MARKER_RE.search(alt)
            marker = found.groupdict() if found and node.get("mediaContentType") == "VIDEO" else None
            out.append(_Media(id=node["id"], alt=alt, status=node.get("status") or "", marker=marker))
        return out

    def media_node(self, media_id: str) -> dict[str, Any] | None:
        """The media node with its status, errors and sources; None when it no longer exists."""
        return self.client.graphql(MEDIA_NODE, {"id": media_id}).get("node")

    def delete_media(self, product_id: str, media_ids: list[str]) -> None:
        """Delete productreel media (callers pass only marked ones); already-gone media counts as deleted."""
        _delete(self.client, product_id, media_ids, files_model=self.files_model)

    def alt_text(self) -> str:
        """Alt text a shopper's screen reader can use, ending with the productreel marker."""
        label = "how-to video" if self.clip.kind == "tutorial" else "video"
        text = f"{self.product.title} {label}"
        room = ALT_MAX - len(self.marker) - 1
        return f"{text[:room]} {self.marker}"


def _delete(client: ShopifyClient, product_id: str, media_ids: list[str], *, files_model: bool) -> None:
    """fileDelete (the file and every reference to it) on the files model, productDeleteMedia before it."""
    if files_model:
        result = client.graphql(FILE_DELETE, {"fileIds": media_ids}).get("fileDelete") or {}
        errors = [e for e in result.get("userErrors") or [] if e.get("code") != "FILE_DOES_NOT_EXIST"]
        _raise_user_errors(errors, "fileDelete")
        return
    result = client.graphql(PRODUCT_DELETE_MEDIA, {"productId": product_id, "mediaIds": media_ids}).get("productDeleteMedia") or {}
    errors = [e for e in result.get("mediaUserErrors") or [] if e.get("code") not in {"MEDIA_DOES_NOT_EXIST", "PRODUCT_DOES_NOT_EXIST"}]
    _raise_user_errors(errors, "productDeleteMedia")


def _safe_filename(stem: str) -> str:
    """A file name Shopify accepts and a ``filename:`` prefix search can match: letters, digits, underscores.

    No dashes: in Shopify's search syntax a leading ``-`` negates a term, and how a dash inside a
    value is tokenized is not documented.
    """
    return re.sub(r"[^A-Za-z0-9_]+", "_", stem).strip("_")[:200]


def _best_source(node: dict[str, Any]) -> str:
    sources = [s for s in node.get("sources") or [] if s.get("url")]
    mp4 = [s for s in sources if (s.get("format") or "").lower() == "mp4" or "mp4" in (s.get("mimeType") or "")]
    pick = max(mp4 or sources, key=lambda s: s.get("height") or 0, default=None)
    return pick["url"] if pick else ""


def _raise_user_errors(errors: list[dict[str, Any]] | None, mutation: str) -> None:
    if not errors:
        return
    parts = []
    for e in errors:
        field = ".".join(str(f) for f in e.get("field") or [])
        code = e.get("code")
        parts.append(" ".join(x for x in (code, f"({field})" if field else "", e.get("message", "")) if x))
    message = "; ".join(parts)  # the error's where names the mutation
    codes = {e.get("code") for e in errors}
    if codes & PLAN_LIMIT_CODES:
        # A plan cap, not a throttle: only the merchant can free room, so this is one clear line, never a retry.
        raise PublishRejected(f"{sorted(codes & PLAN_LIMIT_CODES)[0]}: {PLAN_LIMIT_HINT}", where=f"shopify {mutation}")
    if "VIDEO_THROTTLE_EXCEEDED" in codes:
        # A weekly cap (1,000 app-made videos per store): retrying within the hour cannot help.
        message += " (the store's weekly limit of app-created videos is reached; publish again next week)"
    raise PublishRejected(message, where=f"shopify {mutation}")


def _operation_name(query: str) -> str:
    found = re.search(r"(?:query|mutation)\s+(\w+)", query)
    return found.group(1) if found else "operation"
