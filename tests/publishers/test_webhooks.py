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
        self.changes: list = []
        self.release = threading.Event()
        self.release.set()
        self.done = threading.Event()

    def __call__(self, change) -> str:
        self.release.wait(30)
        self.calls.append((change.product_id, change.updated_at.isoformat()))
        self.changes.append(change)
        self.done.set()
        return "made"


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


def test_a_gid_and_the_rest_id_are_the_same_product(client, calls):
    body = json.dumps({"id": "gid://shopify/Product/42", "handle": "mug", "updated_at": "2025-04-22T14:30:00Z",
                       "variants": [{"sku": "MUG-1"}, {"sku": "MUG-2"}, {"sku": ""}]}).encode()
    assert deliver(client, body=body, webhook_id="g1").json() == {"status": "accepted", "product_id": "42"}
    # The same change by number is the same product: not newer, so stale.
    assert deliver(client, product_id=42, updated_at="2025-04-22T14:30:00Z", webhook_id="g2").json()["status"] == "stale"
    client.app.state.executor.shutdown(wait=True)
    change = calls.changes[0]
    assert (change.product_id, change.handle, change.skus, change.deleted) == ("42", "mug", ("MUG-1", "MUG-2"), False)


def test_a_delete_carries_the_names_an_earlier_delivery_gave(client, calls):
    body = json.dumps({"id": 42, "handle": "mug", "updated_at": "2025-04-22T14:30:00Z", "variants": [{"sku": "MUG-1"}]})
    assert deliver(client, body=body.encode(), webhook_id="u1").json()["status"] == "accepted"
    gone = json.dumps({"id": 42}).encode()  # products/delete says only the id
    assert deliver(client, body=gone, topic="products/delete", webhook_id="d1").json()["status"] == "accepted"
    assert deliver(client, body=gone, topic="products/delete", webhook_id="d1").json()["status"] == "duplicate"
    client.app.state.executor.shutdown(wait=True)
    deleted = calls.changes[-1]
    assert (deleted.deleted, deleted.product_id, deleted.handle, deleted.skus) == (True, "42", "mug", ("MUG-1",))
    assert len(calls.changes) == 2


def test_one_log_line_per_delivery_and_a_failed_run_is_one_line_with_its_reason(tmp_path, caplog):
    from productreel.errors import InputError

    def on_product(change):
        if change.product_id == "1":
            raise InputError("product 1 (handle mug) is not in the catalog cat.csv")
        raise RuntimeError("the renderer\nfell over")

    app = create_app(on_product, db_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", secret=SECRET)
    caplog.set_level("DEBUG", logger="publishers.webhooks")
    with TestClient(app) as c:
        deliver(c, product_id=1, webhook_id="a")
        deliver(c, product_id=2, webhook_id="b")
        deliver(c, product_id=2, webhook_id="b")
    app.state.executor.shutdown(wait=True)
    lines = [r for r in caplog.records if r.levelno >= 20]
    assert len(lines) == 5  # three deliveries, two runs
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in lines)
    failed = sorted(r.getMessage() for r in lines if r.levelname == "ERROR")
    assert failed[0].endswith("product-changed failed: product 1 (handle mug) is not in the catalog cat.csv")
    assert failed[1].endswith("product-changed failed: RuntimeError: the renderer fell over")
    assert app.state.store.result("a")[0] == "failed" and "not in the catalog" in app.state.store.result("a")[1]


def test_healthz_reports_the_queue_depth(client, calls):
    assert client.get("/healthz").json() == {"ok": True, "queue_depth": 0, "waiting": 0, "running": 0}
    calls.release.clear()
    deliver(client, webhook_id="q1")
    deliver(client, product_id=7, webhook_id="q2")
    deliver(client, product_id=8, webhook_id="q3")
    depth = client.get("/healthz").json()
    assert depth["queue_depth"] == 3 and depth["running"] <= 2
    calls.release.set()
    client.app.state.executor.shutdown(wait=True)
    assert client.get("/healthz").json()["queue_depth"] == 0


def test_a_delete_without_a_triggered_at_still_counts(client, calls):
    raw = json.dumps({"id": 5}).encode()
    response = client.post("/webhooks/shopify", content=raw, headers={
        "X-Shopify-Hmac-Sha256": sign(raw, SECRET), "X-Shopify-Topic": "products/delete", "X-Shopify-Webhook-Id": "d9"})
    assert response.json()["status"] == "accepted"
    client.app.state.executor.shutdown(wait=True)
    assert calls.changes[0].deleted and calls.changes[0].product_id == "5"


def test_runs_of_one_product_go_one_at_a_time_in_order(client, calls):
    calls.release.clear()
    deliver(client, webhook_id="u1", updated_at="2025-04-22T14:30:00Z")
    deliver(client, webhook_id="d1", topic="products/delete", body=json.dumps({"id": 9554194432293}).encode())
    deliver(client, product_id=7, webhook_id="other")
    depth = client.get("/healthz").json()
    assert depth["running"] <= 2 and depth["queue_depth"] == 3
    calls.release.set()
    client.app.state.executor.shutdown(wait=True)
    mine = [c for c in calls.changes if c.product_id == "9554194432293"]
    assert [c.deleted for c in mine] == [False, True]
