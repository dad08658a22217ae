"""WooCommerce webhooks at /webhooks/woocommerce: signature, ping, topics, dedupe, stale events, variations."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from publishers.webhooks import create_app, sign

WC_SECRET = "wc_webhook_secret_123"
SITE = "https://shop.example.com/"


class Calls:
    """Records the changes handed on."""

    def __init__(self) -> None:
        self.changes: list = []

    def __call__(self, change) -> str:
        self.changes.append(change)
        return "made"


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def client(tmp_path, calls):
    """A receiver with only a WooCommerce secret (a store without Shopify)."""
    app = create_app(calls, db_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", secret="", woocommerce_secret=WC_SECRET)
    with TestClient(app) as c:
        yield c
    app.state.executor.shutdown(wait=True)


def product(pid=794, modified="2026-06-01T10:00:00", **extra) -> dict:
    item = {"id": pid, "name": "Blue Mug", "slug": "ceramic-mug", "type": "simple", "sku": "MUG-1", "parent_id": 0,
            "date_modified_gmt": modified, "variations": []}
    item.update(extra)
    return item


def deliver(client, body: dict | bytes, delivery="d1", topic="product.updated", secret=WC_SECRET, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-WC-Webhook-Source": SITE, "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": topic.split(".")[0],
               "X-WC-Webhook-Event": topic.split(".")[1], "X-WC-Webhook-ID": "12", "X-WC-Webhook-Delivery-ID": delivery,
               "X-WC-Webhook-Signature": signature if signature is not None else sign(raw, secret),
               "Content-Type": "application/json"}
    return client.post("/webhooks/woocommerce", content=raw, headers=headers)


def done(client) -> None:
    client.app.state.executor.shutdown(wait=True)


def test_an_update_is_handed_on_with_id_slug_and_sku(client, calls):
    assert deliver(client, product()).json() == {"status": "accepted", "product_id": "794"}
    done(client)
    change = calls.changes[0]
    assert (change.storefront, change.product_id, change.handle, change.skus, change.deleted) == (
        "woocommerce", "794", "ceramic-mug", ("MUG-1",), False)
    assert change.updated_at.isoformat() == "2026-06-01T10:00:00+00:00"  # *_gmt carries no offset: UTC


def test_created_and_deleted_topics(client, calls):
    assert deliver(client, product(pid=800, slug="cap"), delivery="c1", topic="product.created").json()["status"] == "accepted"
    assert deliver(client, {"id": 800}, delivery="x1", topic="product.deleted").json()["status"] == "accepted"
    done(client)
    created, deleted = calls.changes
    assert not created.deleted and created.handle == "cap"
    assert deleted.deleted and deleted.product_id == "800" and deleted.handle == "cap"  # the name an earlier delivery gave


def test_a_variation_names_its_parent(client, calls):
    body = product(pid=901, type="variation", parent_id=794, slug="ceramic-mug-blue", sku="MUG-1-BLUE")
    assert deliver(client, body).json() == {"status": "accepted", "product_id": "794"}
    done(client)
    change = calls.changes[0]
    assert (change.product_id, change.handle, change.skus, change.deleted) == ("794", "", ("MUG-1-BLUE",), False)


def test_a_deleted_variation_is_its_parent_changed(client, calls):
    body = {"id": 901, "type": "variation", "parent_id": 794, "sku": "MUG-1-BLUE"}
    assert deliver(client, body, topic="product.deleted").json()["status"] == "accepted"
    done(client)
    assert not calls.changes[0].deleted and calls.changes[0].product_id == "794"


def test_bad_or_missing_signature_is_401(client, calls):
    assert deliver(client, product(), secret="not-the-secret").status_code == 401
    assert deliver(client, product(), signature="").status_code == 401
    raw = json.dumps(product()).encode()
    tampered = deliver(client, raw + b" ", signature=sign(raw, WC_SECRET))
    assert tampered.status_code == 401
    done(client)
    assert calls.changes == []


def test_no_woocommerce_secret_means_every_delivery_is_refused(tmp_path, calls):
    app = create_app(calls, db_url=f"sqlite:///{tmp_path / 'l.sqlite'}", secret="shopify-only", woocommerce_secret="")
    with TestClient(app) as c:
        response = deliver(c, product(), signature=sign(json.dumps(product()).encode(), ""))
        assert response.status_code == 401 and "WOOCOMMERCE_WEBHOOK_SECRET" in response.json()["error"]
    app.state.executor.shutdown(wait=True)
    assert calls.changes == []


def test_ping_is_answered_and_starts_nothing(client, calls):
    response = client.post("/webhooks/woocommerce", content=b"webhook_id=12",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and response.json() == {"status": "ping", "webhook_id": "12"}
    done(client)
    assert calls.changes == []


def test_a_duplicate_delivery_is_handled_once(client, calls):
    assert deliver(client, product(), delivery="same").json()["status"] == "accepted"
    assert deliver(client, product(), delivery="same").json()["status"] == "duplicate"
    done(client)
    assert len(calls.changes) == 1


def test_an_older_event_is_dropped(client, calls):
    assert deliver(client, product(modified="2026-06-01T11:00:00"), delivery="new").json()["status"] == "accepted"
    assert deliver(client, product(modified="2026-06-01T10:00:00"), delivery="old").json()["status"] == "stale"
    assert deliver(client, product(modified="2026-06-01T11:00:00"), delivery="same-time").json()["status"] == "stale"
    assert deliver(client, product(modified="2026-06-01T12:00:00"), delivery="newer").json()["status"] == "accepted"
    done(client)
    assert [c.updated_at.hour for c in calls.changes] == [11, 12]


def test_other_topics_are_ignored_and_bad_bodies_refused(client, calls):
    assert deliver(client, {"id": 5}, topic="order.created").json()["status"] == "ignored"
    assert deliver(client, b"not json").status_code == 400
    assert deliver(client, {"id": 5}).status_code == 400  # an update without date_modified_gmt
    assert deliver(client, {"name": "no id"}).status_code == 400
    done(client)
    assert calls.changes == []


def test_no_secret_at_all_refuses_to_start(tmp_path, monkeypatch):
    from productreel.errors import InputError

    for name in ("SHOPIFY_WEBHOOK_SECRET", "SHOPIFY_API_SECRET", "WOOCOMMERCE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InputError, match="WOOCOMMERCE_WEBHOOK_SECRET"):
        create_app(lambda change: None, db_url=f"sqlite:///{tmp_path / 'l.sqlite'}")
