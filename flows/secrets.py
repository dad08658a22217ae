"""Secrets for the stage rooms: the environment first, then Prefect Secret blocks (only flows/ knows Prefect)."""

from __future__ import annotations

import functools


def _secret_block(name: str) -> str | None:
    """The value of the Prefect Secret block ``name``, or None when there is none (or no API)."""
    try:
        from prefect.blocks.system import Secret

        return Secret.load(name).get()
    except Exception:  # noqa: BLE001 - a missing block just means "not configured"
        return None


@functools.cache
def register_secret_sources() -> None:
    """Let catalog adapters and publishers look tokens up in Prefect Secret blocks."""
    from productreel.secrets import set_secret_source

    set_secret_source(_secret_block)
