"""Secrets: the environment first, then a registered lookup (flows/ registers Prefect Secret blocks).

The stage rooms never import Prefect; they ask ``setting("SHOPIFY_ACCESS_TOKEN")`` and get the
environment variable, else the block named in kebab case (``shopify-access-token``), else "".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

_secret_source: Callable[[str], str | None] | None = None


def set_secret_source(source: Callable[[str], str | None] | None) -> None:
    """Register a lookup for secrets by block name (e.g. Prefect ``Secret.load(name).get()``); None removes it."""
    global _secret_source
    _secret_source = source


def setting(name: str, env: Mapping[str, str] | None = None) -> str:
    """The environment variable ``name``, else the secret source's block ``name-in-kebab-case``, else ""."""
    value = (os.environ if env is None else env).get(name, "")
    if value or _secret_source is None:
        return value
    try:
        return _secret_source(name.lower().replace("_", "-")) or ""
    except Exception:  # noqa: BLE001 - a missing block is a missing setting, reported by the caller
        return ""
