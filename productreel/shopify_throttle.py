"""Shopify's GraphQL cost bucket, for the catalog reader and the publisher alike.

Shopify meters GraphQL calls with a leaky bucket: every answer says what the
query cost (``requestedQueryCost``), what is left (``currentlyAvailable``) and
how fast it refills (``restoreRate`` points a second). A call that does not fit
answers HTTP 200 with a THROTTLED error and was not carried out, so waiting what
the bucket needs and sending it again is always safe. (HTTP 429 with Retry-After
is the other throttle style; productreel.http waits that one out.)
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from productreel.errors import TransientError

log = logging.getLogger(__name__)

# The bucket refills continuously; a little margin saves a second THROTTLED for a rounding error.
MARGIN_S = 0.05


def is_throttled(body: dict[str, Any]) -> bool:
    """True when a GraphQL answer says THROTTLED (by error code or by message)."""
    return any(
        (e.get("extensions") or {}).get("code") == "THROTTLED" or str(e.get("message", "")).lower() == "throttled"
        for e in body.get("errors") or []
        if isinstance(e, dict)
    )


def _bucket(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    cost = (body.get("extensions") or {}).get("cost") or {}
    return cost, cost.get("throttleStatus") or {}


def throttle_wait(body: dict[str, Any]) -> float | None:
    """Seconds until the bucket holds the refused query's cost; None when the answer is not THROTTLED."""
    if not is_throttled(body):
        return None
    cost, status = _bucket(body)
    try:
        need = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(need / rate, 0.0) + MARGIN_S


def pace_wait(body: dict[str, Any], min_available: float) -> float:
    """Seconds to wait so the bucket is back to ``min_available`` points; 0 when it has that much or more."""
    _cost, status = _bucket(body)
    try:
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    if available >= min_available or rate <= 0:
        return 0.0
    return (min_available - available) / rate


class Throttle:
    """Sends a GraphQL call until it is not THROTTLED, and paces calls so the bucket keeps some room."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        max_wait: float = 60.0,
        min_available: float = 0.0,
    ) -> None:
        self.sleep = sleep
        self.max_retries = max_retries
        self.max_wait = max_wait  # the longest one wait may be
        self.min_available = min_available

    def call(self, send: Callable[[], dict[str, Any]], *, where: str | None = None) -> dict[str, Any]:
        """``send()`` returns the parsed answer; it is sent again after each THROTTLED, at most ``max_retries`` times."""
        for attempt in range(self.max_retries + 1):
            body = send()
            wait = throttle_wait(body) if isinstance(body, dict) else None
            if wait is None:
                if isinstance(body, dict) and self.min_available > 0:
                    pause = pace_wait(body, self.min_available)
                    if pause > 0:
                        self.sleep(min(pause, self.max_wait))
                return body
            if wait > self.max_wait or attempt == self.max_retries:
                raise TransientError("Shopify throttled us (THROTTLED)", retry_after=wait, where=where)
            log.info("Shopify throttled %s; waiting %.1f s", where or "a call", wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
