"""The catalog API client's bounded retries (productreel.http underneath): timeouts, 5xx, Retry-After, giving up clearly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from werkzeug import Response

from catalog_adapters.http import HttpClient
from productreel.errors import TransientError
from productreel.http import retry_after_seconds


def test_retry_after_reads_seconds_and_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 30


def test_timeout_is_retried_then_succeeds(httpserver):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.6)
        return Response("ok")

    httpserver.expect_request("/x").respond_with_handler(handler)
    sleeps: list[float] = []
    client = HttpClient(timeout=0.2, sleep=sleeps.append)
    assert client.request("GET", httpserver.url_for("/x")).text == "ok"
    # The test server answers one request at a time, so a retry may queue behind the slow one
    # (and time out too): at least one backoff, each twice the last.
    assert sleeps[0] == 1.0 and sleeps == [2.0**n for n in range(len(sleeps))] and len(calls) >= 2


def test_connection_refused_gives_up_after_bounded_attempts():
    sleeps: list[float] = []
    client = HttpClient(name="shop", max_attempts=3, sleep=sleeps.append)
    with pytest.raises(TransientError, match="shop still failing: could not be reached"):
        client.request("GET", "http://127.0.0.1:9/nothing-listens-here")
    assert sleeps == [1.0, 2.0]


def test_a_long_retry_after_is_refused_rather_than_waited(httpserver):
    httpserver.expect_request("/x").respond_with_data("", status=429, headers={"Retry-After": "600"})
    sleeps: list[float] = []
    with pytest.raises(TransientError, match="limit") as info:
        HttpClient(max_wait=60, sleep=sleeps.append).request("GET", httpserver.url_for("/x"))
    assert sleeps == [] and info.value.retry_after == 600
