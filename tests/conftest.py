"""Shared fixtures: paths to the sample catalog and a settings object for tiny renders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The tests never see the developer's own pulled models, model lock or translation cache: a model pulled with
# `productreel models pull` would otherwise change which voice or translation the render tests get.
_SANDBOX = Path(tempfile.mkdtemp(prefix="productreel-tests-"))
os.environ["HF_HOME"] = str(_SANDBOX / "hf")
os.environ["HF_HUB_CACHE"] = str(_SANDBOX / "hf" / "hub")
os.environ.setdefault("PRODUCTREEL_CACHE_DIR", str(_SANDBOX / "cache"))
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)


@pytest.fixture
def samples_dir() -> Path:
    """The bundled samples folder."""
    return ROOT / "samples"


@pytest.fixture
def sample_catalog(samples_dir: Path) -> Path:
    """The bundled Shopify CSV sample catalog."""
    return samples_dir / "catalog.csv"
