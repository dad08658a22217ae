"""Shopify webhooks: products/create and products/update in, product-change work out, within a second.

A small Starlette (ASGI) app. Each delivery is verified (base64 HMAC-SHA256 of the raw body with the
app secret, compared in constant time; 401 otherwise), deduplicated by ``X-Shopify-Webhook-Id``,
dropped when older than the product's last processed ``updated_at`` (Shopify retries with the
original payload for hours), and handed to ``on_product`` in a background thread so the answer goes
back at once. ``on_product`` comes from flows/ (a Prefect deployment run or a local flow run): this
module does not import Prefect. Delivery state lives in two small tables of the ledger database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from sqlalchemy import Column, MetaData, String, Table, create_engine, event, select
from sqlalchemy.exc import IntegrityError

from productreel.errors import InputError

from publishers.base import setting

log = logging.getLogger(__name__)

OnProduct = Callable[[str, datetime, dict], None]
TOPICS = {"products/create", "products/update"}
WEBHOOK_PATH = "/webhooks/shopify"

_metadata = MetaData()
deliveries = Table(
    "webhook_deliveries",
    _metadata,
    Column("webhook_id", String(128), primary_key=True),
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


def webhook_secret(env: Mapping[str, str] | None = None) -> str:
    """The app secret that signs webhooks: SHOPIFY_WEBHOOK_SECRET, else SHOPIFY_API_SECRET."""
    secret = setting("SHOPIFY_WEBHOOK_SECRET", env) or setting("SHOPIFY_API_SECRET", env)
    if not secret:
        raise InputError("SHOPIFY_WEBHOOK_SECRET (or SHOPIFY_API_SECRET) is not set: webhooks cannot be verified",
                         where="serve-webhooks")
    return secret


def sign(body: bytes, secret: str) -> str:
    """The X-Shopify-Hmac-Sha256 value for a body: base64 of HMAC-SHA256 with the app secret."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """True when the header is the body's signature (constant-time compare)."""
    return bool(header) and hmac.compare_digest(sign(body, secret).encode("ascii"), header.strip().encode("ascii", "replace"))


class DeliveryStore:
    """Seen webhook ids and the last updated_at handed on per product, in SQL tables of their own."""

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


def create_app(
    on_product: OnProduct,
    *,
    db_url: str,
    secret: str | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> Any:
    """The ASGI app: POST /webhooks/shopify (and /), GET /healthz."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    key = secret or webhook_secret()
    store = DeliveryStore(db_url)
    pool = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="productreel-webhook")

    def hand_on(product_id: str, updated_at: datetime, payload: dict) -> None:
        try:
            on_product(product_id, updated_at, payload)
        except Exception:  # noqa: BLE001 - the answer has gone back; the failure must still be seen
            log.exception("product %s: handing on the webhook failed", product_id)

    async def receive(request: Request) -> JSONResponse:
        raw = await request.body()
        if not verify(raw, request.headers.get("X-Shopify-Hmac-Sha256"), key):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        topic = request.headers.get("X-Shopify-Topic", "")
        if topic not in TOPICS:
            return JSONResponse({"status": "ignored", "topic": topic})
        webhook_id = request.headers.get("X-Shopify-Webhook-Id", "")
        if not webhook_id:
            return JSONResponse({"error": "X-Shopify-Webhook-Id is missing"}, status_code=400)
        try:
            payload = json.loads(raw)
            product_id = str(payload["id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "the body is not a product"}, status_code=400)
        updated_at = _parse_time(payload.get("updated_at") or request.headers.get("X-Shopify-Triggered-At") or "")
        if updated_at is None:
            return JSONResponse({"error": "the product has no updated_at"}, status_code=400)
        outcome = await run_in_threadpool(
            store.admit, webhook_id=webhook_id, event_id=request.headers.get("X-Shopify-Event-Id", ""), topic=topic,
            shop=request.headers.get("X-Shopify-Shop-Domain", ""), product_id=product_id, updated_at=updated_at)
        if outcome == "accepted":
            pool.submit(hand_on, product_id, updated_at, payload)
        log.info("webhook %s %s product %s: %s", webhook_id, topic, product_id, outcome)
        return JSONResponse({"status": outcome, "product_id": product_id})

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[
        Route(WEBHOOK_PATH, receive, methods=["POST"]),
        Route("/", receive, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])
    app.state.store = store
    app.state.executor = pool
    return app


def serve_webhooks(on_product: OnProduct, *, db_url: str, host: str = "127.0.0.1", port: int = 8787,
                   secret: str | None = None) -> None:
    """Run the webhook receiver with uvicorn until interrupted."""
    import uvicorn

    app = create_app(on_product, db_url=db_url, secret=secret)
    log.info("listening for Shopify webhooks on http://%s:%s%s", host, port, WEBHOOK_PATH)
    uvicorn.run(app, host=host, port=port, log_level="info")


def _parse_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Same settings as the ledger: the receiver and the flows write to the same file.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
