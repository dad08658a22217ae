"""Shopify's cost bucket, shared by the catalog reader and the publisher: waits, pacing, giving up."""

from __future__ import annotations

import pytest

from productreel.errors import TransientError
from productreel.shopify_throttle import Throttle, pace_wait, throttle_wait


def answer(available: float, requested: float = 100.0, throttled: bool = False) -> dict:
    body = {"data": None if throttled else {"ok": True},
            "extensions": {"cost": {"requestedQueryCost": requested,
                                    "throttleStatus": {"currentlyAvailable": available, "restoreRate": 50.0}}}}
    if throttled:
        body["errors"] = [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    return body


def test_wait_is_what_the_bucket_needs_plus_a_margin():
    assert throttle_wait(answer(20, throttled=True)) == pytest.approx((100 - 20) / 50 + 0.05)
    assert throttle_wait(answer(20)) is None
    assert throttle_wait({"errors": [{"message": "throttled"}]}) == 1.0  # no cost data: a second


def test_pacing_waits_only_below_the_floor():
    assert pace_wait(answer(40), min_available=100) == pytest.approx(1.2)
    assert pace_wait(answer(400), min_available=100) == 0.0
    assert pace_wait({"data": {}}, min_available=100) == 0.0


def test_call_resends_after_throttled_then_paces():
    answers = iter([answer(20, throttled=True), answer(60)])
    sleeps: list[float] = []
    body = Throttle(sleep=sleeps.append, min_available=100).call(lambda: next(answers))
    assert body["data"] == {"ok": True} and sleeps == [pytest.approx(1.65), pytest.approx(0.8)]


def test_call_gives_up_after_its_retries_or_a_wait_past_the_limit():
    sleeps: list[float] = []
    with pytest.raises(TransientError, match="THROTTLED") as info:
        Throttle(sleep=sleeps.append, max_retries=2).call(lambda: answer(0, throttled=True), where="shop")
    assert len(sleeps) == 2 and info.value.retry_after == pytest.approx(2.05)
    with pytest.raises(TransientError):
        Throttle(sleep=sleeps.append, max_wait=1.0).call(lambda: answer(0, requested=1000, throttled=True))
    assert len(sleeps) == 2  # 20 s is over the 1 s limit: not waited
