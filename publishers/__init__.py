"""Publishers: storefront and folder destinations, idempotent by job key."""

from __future__ import annotations

from publishers.base import Publisher, format_slug, set_secret_source
from publishers.registry import PUBLISHERS, get_publisher, publish
from publishers.run import PublishResult, publish_run

__all__ = ["PUBLISHERS", "PublishResult", "Publisher", "format_slug", "get_publisher", "publish", "publish_run", "set_secret_source"]
