"""The Shopify webhook receiver: signatures, replays, out-of-order events, fast answers."""

from __future__ import annotations

import json
import threading

import pytest
from starlette.testclient import TestClient

from publishers.webhooks import create_app, sign, verify

SECRET = "whsec_test_app_secret"


class Calls:
    """Records on_product calls; can hold the callback until the test lets it go."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.release.set()
        self.done = threading.Event()

    def __call__(self, product_id, updated_at, payload) -> None:
        self.release.wait(30)
        self.calls.append((product_id, updated_at.isoformat()))
        self.done.set()


@pytest.fixture
def calls() -> Calls:
    """The on_product stand-in."""
    return Calls()


@pytest.fixture
def client(tmp_path, calls):
    """A TestClient on the receiver, with its delivery store in a temp SQLite file."""
    app = create_app(calls, db_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", secret=SECRET)
    with TestClient(app) as c:
        yield c
    app.state.executor.shutdown(wait=True)


def deliver(client, product_id=9554194432293, updated_at="2025-04-22T14:30:00-05:00", webhook_id="w1",
            topic="products/update", secret=SECRET, body=None):
    raw = body if body is not None else json.dumps(
        {"id": product_id, "title": "T-Shirt", "updated_at": updated_at, "variants": []}).encode()
    headers = {
        "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sign(raw, secret), "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-API-Version": "2025-01", "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Event-Id": "e-" + webhook_id,
        "X-Shopify-Triggered-At": "2025-04-22T19:30:01Z", "Content-Type": "application/json",
    }
    return client.post("/webhooks/shopify", content=raw, headers=headers)


def test_good_signature_is_accepted_and_handed_on(client, calls, tmp_path):
    response = deliver(client)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    client.app.state.executor.shutdown(wait=True)
    assert calls.calls == [("9554194432293", "2025-04-22T19:30:00+00:00")]


def test_bad_signature_is_401_and_nothing_happens(client, calls):
    response = deliver(client, secret="not-the-secret")
    assert response.status_code == 401
    raw = b'{"id": 1, "updated_at": "2025-04-22T14:30:00Z"}'
    tampered = client.post("/webhooks/shopify", content=raw + b" ", headers={
        "X-Shopify-Hmac-Sha256": sign(raw, SECRET), "X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": "w9"})
    assert tampered.status_code == 401
    missing = client.post("/webhooks/shopify", content=raw, headers={"X-Shopify-Topic": "products/update"})
    assert missing.status_code == 401
    client.app.state.executor.shutdown(wait=True)
    assert calls.calls == []


def test_replayed_webhook_id_is_handed_on_once(client, calls):
    assert deliver(client, webhook_id="w1").json()["status"] == "accepted"
    assert deliver(client, webhook_id="w1").json()["status"] == "duplicate"
    client.app.state.executor.shutdown(wait=True)
    assert len(calls.calls) == 1


def test_out_of_order_event_is_dropped(client, calls):
    assert deliver(client, webhook_id="w2", updated_at="2025-04-22T15:00:00-05:00").json()["status"] == "accepted"
    # The retry of an earlier change arrives late, with its original payload.
    assert deliver(client, webhook_id="w1", updated_at="2025-04-22T14:30:00-05:00").json()["status"] == "stale"
    assert deliver(client, webhook_id="w3", updated_at="2025-04-22T20:00:01Z").json()["status"] == "accepted"
    client.app.state.executor.shutdown(wait=True)
    assert [c[1] for c in calls.calls] == ["2025-04-22T20:00:00+00:00", "2025-04-22T20:00:01+00:00"]


def test_answer_does_not_wait_for_the_work(client, calls):
    calls.release.clear()  # the product flow is "still running"
    response = deliver(client)
    assert response.status_code == 200 and calls.calls == []
    calls.release.set()
    assert calls.done.wait(30)
    assert len(calls.calls) == 1


def test_other_topics_are_ignored_and_bad_bodies_refused(client, calls):
    assert deliver(client, topic="orders/create").json()["status"] == "ignored"
    assert deliver(client, body=b"not json").status_code == 400
    client.app.state.executor.shutdown(wait=True)
    assert calls.calls == []


def test_dedupe_survives_a_restart(tmp_path, calls):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    for expected in ("accepted", "duplicate"):
        app = create_app(calls, db_url=url, secret=SECRET)
        with TestClient(app) as c:
            assert deliver(c).json()["status"] == expected
        app.state.executor.shutdown(wait=True)
    assert len(calls.calls) == 1


def test_verify_is_strict():
    body = b'{"id":1}'
    assert verify(body, sign(body, SECRET), SECRET)
    assert not verify(body, None, SECRET) and not verify(body, "", SECRET) and not verify(body, "é", SECRET)


def test_real_server_round_trip(tmp_path, calls):
    import time

    import requests
    import uvicorn

    app = create_app(calls, db_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", secret=SECRET)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        raw = b'{"id": 42, "updated_at": "2025-04-22T14:30:00Z"}'
        response = requests.post(f"http://127.0.0.1:{port}/webhooks/shopify", data=raw, timeout=5, headers={
            "X-Shopify-Hmac-Sha256": sign(raw, SECRET), "X-Shopify-Topic": "products/create", "X-Shopify-Webhook-Id": "r1"})
        assert response.status_code == 200 and response.json() == {"status": "accepted", "product_id": "42"}
        assert calls.done.wait(30) and calls.calls[0][0] == "42"
    finally:
        server.should_exit = True
        thread.join(10)
