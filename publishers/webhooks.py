"""Storefront webhooks: Shopify and WooCommerce product events in, product-change work out, within a second.

A small Starlette (ASGI) app with one route per storefront:

- ``POST /webhooks/shopify``: ``products/create``, ``products/update`` and ``products/delete``, signed
  with ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body with the app secret),
  deduplicated by ``X-Shopify-Webhook-Id``, stale by the product's ``updated_at``.
- ``POST /webhooks/woocommerce``: ``product.created``, ``product.updated`` and ``product.deleted``,
  signed with ``X-WC-Webhook-Signature`` (the same scheme with the webhook's secret), deduplicated by
  ``X-WC-Webhook-Delivery-ID``, stale by ``date_modified_gmt``; WooCommerce's unsigned ping
  (``webhook_id=N``) is answered 200 and starts nothing. A variation names its parent product.
- ``GET /healthz``: ok, and how many handed-on changes wait or run (the queue depth).

Signatures are compared in constant time (401 otherwise). Shopify retries a delivery with its
original payload for hours, so an event older than the product's last one handed on is dropped.
Each accepted change goes to ``on_product`` in a background thread, so the answer goes back at once
(one run per product at a time, in arrival order, so a delete never races the update before it);
``on_product`` comes from flows/ (a Prefect deployment run or a local flow run): this module does not
import Prefect. The log holds one line per delivery and one per finished run (its reason when it
failed, never a traceback). Delivery state lives in small tables of the ledger database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs

from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, event, select
from sqlalchemy.exc import IntegrityError

from productreel.errors import InputError, ProductreelError

from publishers.base import setting

log = logging.getLogger(__name__)

SHOPIFY_TOPICS = {"products/create", "products/update", "products/delete"}
WOO_TOPICS = {"product.created", "product.updated", "product.deleted"}
TOPICS = SHOPIFY_TOPICS  # the Shopify topics, as before
WEBHOOK_PATH = "/webhooks/shopify"
WOO_WEBHOOK_PATH = "/webhooks/woocommerce"
_GID = re.compile(r"gid://shopify/Product/(\d+)")


@dataclass(frozen=True)
class ProductChange:
    """One storefront product event as the receiver hands it on: which product, named every way the store names it."""

    storefront: str  # shopify or woocommerce
    topic: str
    product_id: str  # the store's id (a Shopify GID becomes its number; a variation names its parent)
    updated_at: datetime
    handle: str = ""  # Shopify's handle, WooCommerce's slug; "" when the event does not say
    skus: tuple[str, ...] = ()
    deleted: bool = False
    delivery_id: str = ""
    shop: str = ""
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How a log line names the product: "product 1234 (ceramic-mug)"."""
        return f"product {self.product_id}" + (f" ({self.handle})" if self.handle else "")


# on_product(change) -> one line saying what the run did (logged), or an exception saying why it failed.
OnProduct = Callable[[ProductChange], "str | None"]

_metadata = MetaData()
deliveries = Table(
    "webhook_deliveries",
    _metadata,
    Column("webhook_id", String(128), primary_key=True),  # Shopify's webhook id; "woocommerce:<delivery id>"
    Column("event_id", String(128), default=""),
    Column("topic", String(64), default=""),
    Column("shop", String(255), default=""),
    Column("product_id", String(64), default=""),
    Column("updated_at", String(40), default=""),
    Column("outcome", String(16), default=""),  # accepted, stale
    Column("received_at", String(40), default=""),
)
product_marks = Table(
    "webhook_products",
    _metadata,
    Column("shop", String(255), primary_key=True),
    Column("product_id", String(64), primary_key=True),
    Column("updated_at", String(40), nullable=False),  # UTC ISO 8601, the last one handed on
    Column("webhook_id", String(128), default=""),
)
product_names = Table(
    "webhook_product_names",
    _metadata,
    Column("shop", String(255), primary_key=True),
    Column("product_id", String(64), primary_key=True),
    Column("handle", String(255), default=""),
    Column("skus", Text, default="[]"),  # JSON list
)
runs = Table(
    "webhook_runs",
    _metadata,
    Column("webhook_id", String(128), primary_key=True),
    Column("result", String(16), nullable=False),  # done, failed
    Column("detail", Text, default=""),
    Column("finished_at", String(40), default=""),
)


def webhook_secret(env: Mapping[str, str] | None = None) -> str:
    """The app secret that signs Shopify webhooks: SHOPIFY_WEBHOOK_SECRET, else SHOPIFY_API_SECRET (or their blocks)."""
    secret = setting("SHOPIFY_WEBHOOK_SECRET", env) or setting("SHOPIFY_API_SECRET", env)
    if not secret:
        raise InputError("SHOPIFY_WEBHOOK_SECRET (or SHOPIFY_API_SECRET) is not set: webhooks cannot be verified",
                         where="serve-webhooks")
    return secret


def woo_webhook_secret(env: Mapping[str, str] | None = None) -> str:
    """The secret of the WooCommerce webhooks: WOOCOMMERCE_WEBHOOK_SECRET or its block; "" when not set."""
    return setting("WOOCOMMERCE_WEBHOOK_SECRET", env)


def sign(body: bytes, secret: str) -> str:
    """The signature header value for a body (both stores): base64 of HMAC-SHA256 with the secret."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """True when the header is the body's signature (constant-time compare)."""
    return bool(header) and bool(secret) and hmac.compare_digest(
        sign(body, secret).encode("ascii"), header.strip().encode("ascii", "replace"))


def delivery_key(change: ProductChange) -> str:
    """The key a delivery is recorded under: Shopify's webhook id, "woocommerce:<delivery id>" (one table, two stores)."""
    return change.delivery_id if change.storefront == "shopify" else f"{change.storefront}:{change.delivery_id}"


class BadDelivery(ValueError):
    """A signed delivery whose body is not a product event (answered 400)."""


def shopify_change(payload: Any, headers: Mapping[str, str]) -> ProductChange:
    """The change a Shopify products/* delivery names (REST-shaped product; a delete carries only the id)."""
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        raise BadDelivery("the body is not a product")
    topic = headers.get("X-Shopify-Topic", "")
    raw_id = str(payload["id"])
    found = _GID.fullmatch(raw_id)  # a GID and the REST number name the same product: keep the number
    product_id = found.group(1) if found else raw_id
    deleted = topic == "products/delete"
    stamp = _parse_time(str(payload.get("updated_at") or "")) or _parse_time(headers.get("X-Shopify-Triggered-At", ""))
    if stamp is None and deleted:
        stamp = datetime.now(timezone.utc)
    if stamp is None:
        raise BadDelivery("the product has no updated_at")
    return ProductChange(
        storefront="shopify", topic=topic, product_id=product_id, updated_at=stamp,
        handle=str(payload.get("handle") or ""), skus=_skus(payload.get("variants")), deleted=deleted,
        delivery_id=headers.get("X-Shopify-Webhook-Id", ""), shop=headers.get("X-Shopify-Shop-Domain", ""),
        payload=payload,
    )


def woo_change(payload: Any, headers: Mapping[str, str]) -> ProductChange:
    """The change a WooCommerce product.* delivery names (REST v3 product; a variation names its parent)."""
    if not isinstance(payload, dict) or not str(payload.get("id") or "").isdigit():
        raise BadDelivery("the body is not a product")
    topic = headers.get("X-WC-Webhook-Topic", "")
    parent = str(payload.get("parent_id") or "0")
    variation = payload.get("type") == "variation" or (parent.isdigit() and parent != "0")
    stamp = _parse_time(str(payload.get("date_modified_gmt") or ""))
    if stamp is None and topic != "product.deleted":
        raise BadDelivery("the product has no date_modified_gmt")
    sku = str(payload.get("sku") or "")
    return ProductChange(
        storefront="woocommerce", topic=topic,
        # A variation changed is its parent product changed (removed, too): the parent's clips show it.
        product_id=parent if variation else str(payload["id"]),
        updated_at=stamp or datetime.now(timezone.utc),
        handle="" if variation else str(payload.get("slug") or ""),
        skus=(sku,) if sku else (), deleted=topic == "product.deleted" and not variation,
        delivery_id=headers.get("X-WC-Webhook-Delivery-ID", ""), shop=headers.get("X-WC-Webhook-Source", ""),
        payload=payload,
    )


class DeliveryStore:
    """Seen deliveries, the last updated_at handed on per product, the names a store gave it, and run results."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _metadata.create_all(self.engine)

    def admit(self, *, webhook_id: str, event_id: str, topic: str, shop: str, product_id: str,
              updated_at: datetime) -> str:
        """Record a delivery and say what to do with it: "accepted", "duplicate" or "stale"."""
        stamp = _iso(updated_at)
        try:
            with self.engine.begin() as conn:
                seen = conn.execute(select(deliveries.c.webhook_id).where(deliveries.c.webhook_id == webhook_id)).first()
                if seen is not None:
                    return "duplicate"
                where = (product_marks.c.shop == shop) & (product_marks.c.product_id == product_id)
                last = conn.execute(select(product_marks.c.updated_at).where(where)).scalar()
                outcome = "stale" if last is not None and _parse_time(last) >= updated_at else "accepted"
                conn.execute(deliveries.insert().values(
                    webhook_id=webhook_id, event_id=event_id, topic=topic, shop=shop, product_id=product_id,
                    updated_at=stamp, outcome=outcome, received_at=_iso(datetime.now(timezone.utc))))
                if outcome == "accepted" and last is None:
                    conn.execute(product_marks.insert().values(shop=shop, product_id=product_id, updated_at=stamp,
                                                               webhook_id=webhook_id))
                elif outcome == "accepted":
                    conn.execute(product_marks.update().where(where).values(updated_at=stamp, webhook_id=webhook_id))
        except IntegrityError:
            return "duplicate"  # the same delivery arrived twice at once; the other one took it
        return outcome

    def remember_names(self, change: ProductChange) -> ProductChange:
        """Keep the handle and SKUs a store gave a product; fill them into a change that lacks them (a delete)."""
        where = (product_names.c.shop == change.shop) & (product_names.c.product_id == change.product_id)
        with self.engine.begin() as conn:
            row = conn.execute(select(product_names.c.handle, product_names.c.skus).where(where)).first()
            if change.handle or change.skus:
                # SKUs add up: a variation's event names one, and only the last resort of a match uses them.
                known_skus = json.loads(row[1] or "[]") if row else []
                values = dict(handle=change.handle or (row[0] if row else ""),
                              skus=json.dumps(list(dict.fromkeys([*known_skus, *change.skus]))))
                if row is None:
                    conn.execute(product_names.insert().values(shop=change.shop, product_id=change.product_id, **values))
                else:
                    conn.execute(product_names.update().where(where).values(**values))
        if row is None or change.handle:
            return change
        known = {"handle": row[0] or "", "skus": change.skus or tuple(json.loads(row[1] or "[]"))}
        return replace(change, **known)

    def finish(self, webhook_id: str, result: str, detail: str) -> None:
        """Record what the run a delivery started did (done or failed, in one line)."""
        with self.engine.begin() as conn:
            conn.execute(runs.delete().where(runs.c.webhook_id == webhook_id))
            conn.execute(runs.insert().values(webhook_id=webhook_id, result=result, detail=detail,
                                              finished_at=_iso(datetime.now(timezone.utc))))

    def result(self, webhook_id: str) -> tuple[str, str] | None:
        """(result, detail) of the run a delivery started, once it finished."""
        with self.engine.connect() as conn:
            row = conn.execute(select(runs.c.result, runs.c.detail).where(runs.c.webhook_id == webhook_id)).first()
        return (row[0], row[1]) if row else None


class _Queue:
    """The background runs: how many wait and run (for /healthz), each finished run said in one line."""

    def __init__(self, on_product: OnProduct, store: DeliveryStore, pool: ThreadPoolExecutor) -> None:
        self.on_product, self.store, self.pool = on_product, store, pool
        self.lock = threading.Lock()
        self.waiting = 0
        self.running = 0
        # One run per product at a time, in arrival order: a delete never races the update before it.
        self.products: dict[tuple[str, str, str], threading.Lock] = {}

    def submit(self, change: ProductChange) -> None:
        with self.lock:
            self.waiting += 1
        self.pool.submit(self._run, change)

    def _run(self, change: ProductChange) -> None:
        with self.lock:
            product = self.products.setdefault((change.storefront, change.shop, change.product_id), threading.Lock())
        with product:
            self._run_alone(change)

    def _run_alone(self, change: ProductChange) -> None:
        with self.lock:
            self.waiting -= 1
            self.running += 1
        what = "product-deleted" if change.deleted else "product-changed"
        try:
            said = self.on_product(change)
            line = f"{change.storefront} {change.delivery_id} {change.label}: {what}: {said or 'done'}"
            log.info("%s", line)
            self.store.finish(delivery_key(change), "done", line)
        except Exception as exc:  # noqa: BLE001 - the answer has gone back; the failure is said in one line
            reason = " ".join(str(exc).split())
            if not isinstance(exc, ProductreelError):
                reason = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
                log.debug("%s failed for %s", what, change.label, exc_info=exc)  # the traceback, at debug only
            line = f"{change.storefront} {change.delivery_id} {change.label}: {what} failed: {reason}"
            log.error("%s", line)
            try:
                self.store.finish(delivery_key(change), "failed", line)
            except Exception:  # noqa: BLE001 - the log line above is the record then
                log.debug("could not record the run of %s", change.delivery_id, exc_info=True)
        finally:
            with self.lock:
                self.running -= 1

    def depth(self) -> dict[str, int]:
        with self.lock:
            return {"queue_depth": self.waiting + self.running, "waiting": self.waiting, "running": self.running}


def create_app(
    on_product: OnProduct,
    *,
    db_url: str,
    secret: str | None = None,
    woocommerce_secret: str | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> Any:
    """The ASGI app: POST /webhooks/shopify (and /), POST /webhooks/woocommerce, GET /healthz.

    ``secret`` signs Shopify deliveries and ``woocommerce_secret`` WooCommerce ones (from the
    environment or Secret blocks when not given); at least one must be set.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    woo_key = woocommerce_secret if woocommerce_secret is not None else woo_webhook_secret()
    if secret is None:
        try:
            secret = webhook_secret()
        except InputError:
            if not woo_key:
                raise InputError("neither SHOPIFY_WEBHOOK_SECRET nor WOOCOMMERCE_WEBHOOK_SECRET is set: webhooks "
                                 "cannot be verified", where="serve-webhooks") from None
            secret = ""
    store = DeliveryStore(db_url)
    pool = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="productreel-webhook")
    queue = _Queue(on_product, store, pool)

    async def take(change: ProductChange, event_id: str = "") -> JSONResponse:
        outcome = await run_in_threadpool(
            store.admit, webhook_id=delivery_key(change), event_id=event_id, topic=change.topic, shop=change.shop,
            product_id=change.product_id, updated_at=change.updated_at)
        if outcome == "accepted":
            change = await run_in_threadpool(store.remember_names, change)
            queue.submit(change)
        log.info("%s %s %s %s: %s", change.storefront, change.delivery_id, change.topic, change.label, outcome)
        return JSONResponse({"status": outcome, "product_id": change.product_id})

    def refuse(storefront: str, delivery: str, status: int, error: str) -> JSONResponse:
        log.warning("%s %s: %s (%s)", storefront, delivery or "-", error, status)
        return JSONResponse({"error": error}, status_code=status)

    async def shopify(request: Request) -> JSONResponse:
        raw = await request.body()
        webhook_id = request.headers.get("X-Shopify-Webhook-Id", "")
        if not verify(raw, request.headers.get("X-Shopify-Hmac-Sha256"), secret):
            return refuse("shopify", webhook_id, 401, "invalid signature" if secret else
                          "invalid signature (SHOPIFY_WEBHOOK_SECRET is not set)")
        topic = request.headers.get("X-Shopify-Topic", "")
        if topic not in SHOPIFY_TOPICS:
            log.info("shopify %s %s: ignored", webhook_id or "-", topic or "(no topic)")
            return JSONResponse({"status": "ignored", "topic": topic})
        if not webhook_id:
            return refuse("shopify", webhook_id, 400, "X-Shopify-Webhook-Id is missing")
        try:
            change = shopify_change(json.loads(raw), request.headers)
        except (ValueError, BadDelivery) as exc:
            return refuse("shopify", webhook_id, 400, str(exc) if isinstance(exc, BadDelivery) else "the body is not JSON")
        return await take(change, request.headers.get("X-Shopify-Event-Id", ""))

    async def woocommerce(request: Request) -> JSONResponse:
        raw = await request.body()
        delivery = request.headers.get("X-WC-Webhook-Delivery-ID", "")
        if "X-WC-Webhook-Signature" not in request.headers and re.fullmatch(rb"webhook_id=\d+", raw.strip()):
            # WooCommerce's ping when a webhook is saved: unsigned, starts nothing, must get a 2xx.
            webhook = parse_qs(raw.decode("ascii"))["webhook_id"][0]
            log.info("woocommerce ping from webhook %s: ok", webhook)
            return JSONResponse({"status": "ping", "webhook_id": webhook})
        if not verify(raw, request.headers.get("X-WC-Webhook-Signature"), woo_key):
            return refuse("woocommerce", delivery, 401, "invalid signature" if woo_key else
                          "invalid signature (WOOCOMMERCE_WEBHOOK_SECRET is not set)")
        topic = request.headers.get("X-WC-Webhook-Topic", "")
        if topic not in WOO_TOPICS:
            log.info("woocommerce %s %s: ignored", delivery or "-", topic or "(no topic)")
            return JSONResponse({"status": "ignored", "topic": topic})
        if not delivery:
            return refuse("woocommerce", delivery, 400, "X-WC-Webhook-Delivery-ID is missing")
        try:
            change = woo_change(json.loads(raw), request.headers)
        except (ValueError, BadDelivery) as exc:
            return refuse("woocommerce", delivery, 400, str(exc) if isinstance(exc, BadDelivery) else "the body is not JSON")
        return await take(change)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, **queue.depth()})

    app = Starlette(routes=[
        Route(WEBHOOK_PATH, shopify, methods=["POST"]),
        Route("/", shopify, methods=["POST"]),
        Route(WOO_WEBHOOK_PATH, woocommerce, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])
    app.state.store = store
    app.state.executor = pool
    app.state.queue = queue
    return app


def serve_webhooks(on_product: OnProduct, *, db_url: str, host: str = "127.0.0.1", port: int = 8787,
                   secret: str | None = None, woocommerce_secret: str | None = None) -> None:
    """Run the webhook receiver with uvicorn until interrupted; one log line per delivery, no access log."""
    import uvicorn

    app = create_app(on_product, db_url=db_url, secret=secret, woocommerce_secret=woocommerce_secret)
    _say_lines()
    log.info("listening on http://%s:%s: Shopify at %s, WooCommerce at %s", host, port, WEBHOOK_PATH, WOO_WEBHOOK_PATH)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def _say_lines() -> None:
    """Give this module's one-line records a plain handler of their own (the root may have none or be quiet)."""
    if not any(getattr(h, "_productreel_webhooks", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler._productreel_webhooks = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _skus(variants: Any) -> tuple[str, ...]:
    if not isinstance(variants, list):
        return ()
    return tuple(dict.fromkeys(str(v["sku"]) for v in variants if isinstance(v, dict) and v.get("sku")))


def _parse_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # WooCommerce's *_gmt stamps carry no offset
    return parsed.astimezone(timezone.utc)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Same settings as the ledger: the receiver and the flows write to the same file.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
