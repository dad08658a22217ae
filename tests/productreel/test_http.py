"""The one HTTP session factory: Retry-After honoured, backoff, wait limits, and a POST that creates never sent twice."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from werkzeug import Response

from productreel import http
from productreel.errors import TransientError


def counting(answers: list[Response]):
    """A handler answering from ``answers`` in turn (then 200 "ok"), recording each request's method."""
    seen: list[str] = []

    def handler(request):
        seen.append(request.method)
        return answers[len(seen) - 1] if len(seen) <= len(answers) else Response("ok")

    return handler, seen


def test_retry_after_reads_seconds_and_dates():
    assert http.retry_after_seconds("3") == 3.0 and http.retry_after_seconds("2.5") == 2.5
    assert http.retry_after_seconds(None) is None and http.retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= http.retry_after_seconds(later) <= 30
    assert http.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_429_waits_what_retry_after_says_then_succeeds(httpserver):
    handler, seen = counting([Response("", status=429, headers={"Retry-After": "2"})])
    httpserver.expect_request("/x").respond_with_handler(handler)
    sleeps: list[float] = []
    response = http.session(sleep=sleeps.append).get(httpserver.url_for("/x"))
    assert response.text == "ok" and sleeps == [2.0] and seen == ["GET", "GET"]


def test_503_retry_after_as_an_http_date(httpserver):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    handler, _ = counting([Response("", status=503, headers={"Retry-After": when})])
    httpserver.expect_request("/x").respond_with_handler(handler)
    sleeps: list[float] = []
    assert http.session(sleep=sleeps.append).get(httpserver.url_for("/x")).text == "ok"
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 20


def test_5xx_backs_off_exponentially_then_gives_up_with_the_last_answer(httpserver):
    httpserver.expect_request("/x").respond_with_data("", status=502)
    sleeps: list[float] = []
    response = http.session(retries=3, sleep=sleeps.append).get(httpserver.url_for("/x"))
    assert response.status_code == 502 and sleeps == [1.0, 2.0, 4.0]
    with pytest.raises(TransientError, match=r"answered \(HTTP 502\); still failing after 4 attempts"):
        http.raise_for_transient(response, name="shop")


def test_a_post_that_creates_is_never_resent_after_a_5xx(httpserver):
    handler, seen = counting([Response("", status=502)])
    httpserver.expect_request("/create", method="POST").respond_with_handler(handler)
    sleeps: list[float] = []
    response = http.session(sleep=sleeps.append).post(httpserver.url_for("/create"), json={"a": 1})
    assert response.status_code == 502 and seen == ["POST"] and sleeps == []


def test_a_post_that_creates_is_never_resent_after_a_timeout(httpserver):
    seen: list[float] = []

    def slow(request):
        seen.append(1)
        time.sleep(0.5)
        return Response("late")

    httpserver.expect_request("/create", method="POST").respond_with_handler(slow)
    with pytest.raises(requests.Timeout) as info:  # raised at once, not after retries
        http.session(timeout=0.2, sleep=lambda _: None).post(httpserver.url_for("/create"), data=b"x")
    time.sleep(0.4)  # let the server finish the one request it got before counting
    assert seen == [1] and http.failure_reason(info.value) == "did not answer in time"


def test_a_post_marked_idempotent_is_resent(httpserver):
    handler, seen = counting([Response("", status=502)])
    httpserver.expect_request("/query", method="POST").respond_with_handler(handler)
    sleeps: list[float] = []
    response = http.session(idempotent_post=True, sleep=sleeps.append).post(httpserver.url_for("/query"), json={})
    assert response.text == "ok" and seen == ["POST", "POST"] and sleeps == [1.0]


def test_a_throttled_post_is_resent_because_nothing_was_done(httpserver):
    handler, seen = counting([Response("", status=429, headers={"Retry-After": "1"})])
    httpserver.expect_request("/create", method="POST").respond_with_handler(handler)
    sleeps: list[float] = []
    response = http.session(sleep=sleeps.append).post(httpserver.url_for("/create"), json={})
    assert response.text == "ok" and seen == ["POST", "POST"] and sleeps == [1.0]


def test_a_connection_never_made_is_retried_for_any_method():
    sleeps: list[float] = []
    with pytest.raises(requests.ConnectionError) as info:
        http.session(retries=2, sleep=sleeps.append).post("http://127.0.0.1:9/nothing-listens-here", json={})
    assert sleeps == [1.0, 2.0] and http.failure_reason(info.value).startswith("could not be reached")


def test_a_retry_after_past_the_wait_limit_fails_now_with_retry_after(httpserver):
    httpserver.expect_request("/x").respond_with_data("", status=429, headers={"Retry-After": "600"})
    sleeps: list[float] = []
    response = http.session(max_wait=60, sleep=sleeps.append).get(httpserver.url_for("/x"))
    with pytest.raises(TransientError, match="limit") as info:
        http.raise_for_transient(response, name="shop")
    assert sleeps == [] and info.value.retry_after == 600


def test_all_waits_together_stay_under_the_limit(httpserver):
    httpserver.expect_request("/x").respond_with_data("", status=500)
    sleeps: list[float] = []
    response = http.session(retries=10, max_wait=5.0, sleep=sleeps.append).get(httpserver.url_for("/x"))
    assert response.status_code == 500 and sleeps == [1.0, 2.0] and sum(sleeps) <= 5.0


def test_calls_get_the_sessions_timeout_unless_they_pass_one(httpserver):
    httpserver.expect_request("/slow").respond_with_handler(lambda request: (time.sleep(0.4), Response("late"))[1])
    s = http.session(retries=0, timeout=0.1)
    with pytest.raises(requests.ConnectionError):
        s.get(httpserver.url_for("/slow"))
    time.sleep(0.4)
    assert s.get(httpserver.url_for("/slow"), timeout=5).text == "late"


def test_one_requests_wait_limit_does_not_leak_into_the_next(httpserver):
    httpserver.expect_request("/long").respond_with_data("", status=429, headers={"Retry-After": "600"})
    httpserver.expect_request("/down").respond_with_data("", status=502)
    s = http.session(retries=1, max_wait=60, sleep=lambda _: None)
    with pytest.raises(TransientError, match="limit"):
        http.raise_for_transient(s.get(httpserver.url_for("/long")), name="shop")
    with pytest.raises(TransientError, match="still failing after 2 attempts$"):
        http.raise_for_transient(s.get(httpserver.url_for("/down")), name="shop")
