"""Shared fixtures: paths to the sample catalog and a settings object for tiny renders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def samples_dir() -> Path:
    """The bundled samples folder."""
    return ROOT / "samples"


@pytest.fixture
def sample_catalog(samples_dir: Path) -> Path:
    """The bundled Shopify CSV sample catalog."""
    return samples_dir / "catalog.csv"
