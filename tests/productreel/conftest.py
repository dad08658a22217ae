"""Fixtures for the model store: a Hub emulator on loopback and every cache in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.hub_emulator import HubEmulator


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubEmulator]:
    """A Hub emulator that HF_ENDPOINT points at, with the HF cache, the lock file and the catalog in tmp_path."""
    import huggingface_hub.constants

    (tmp_path / "catalog").mkdir()
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(tmp_path / "catalog"))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "pr-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    # tests/conftest.py keeps the hub offline for every other test; a pull is the one place that goes online (to loopback).
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with HubEmulator() as emulator:
        monkeypatch.setenv("HF_ENDPOINT", emulator.url)
        yield emulator
