"""One settings class: every PRODUCTREEL_* variable is a Settings field, and no room reads one from os.environ."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from productreel.settings import DiffusionSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
# flows/ still hands per-run choices around through the environment; it joins when that is gone.
ROOMS = ["productreel", "catalog_adapters", "localization", "clips", "compliance", "publishers", "jobs", "flows"]


def test_fields_come_from_productreel_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("PRODUCTREEL_OCR_THREADS", "3")
    monkeypatch.setenv("PRODUCTREEL_C2PA_CERT", str(tmp_path / "chain.pem"))
    monkeypatch.setenv("PRODUCTREEL_VOICE_MODEL", str(tmp_path))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    s = Settings()
    assert s.ocr_threads == 3 and s.c2pa_cert == tmp_path / "chain.pem" and s.voice_model == tmp_path
    assert s.cache_dir == tmp_path / "cache"


def test_diffusion_group_reads_productreel_diffusion_variables(monkeypatch):
    monkeypatch.setenv("PRODUCTREEL_DIFFUSION_MAX_AREA", "4096")
    monkeypatch.setenv("PRODUCTREEL_DIFFUSION_TIMESTEPS", "[1000, 500, 0.5]")
    monkeypatch.setenv("PRODUCTREEL_DIFFUSION_CACHE_METHOD", "mag")
    d = Settings().diffusion
    assert (d.max_area, d.timesteps, d.cache_method) == (4096, [1000.0, 500.0, 0.5], "mag")
    assert DiffusionSettings().max_area is None  # built by hand it reads nothing: tests pass values


def test_a_bad_value_names_the_field(monkeypatch):
    monkeypatch.setenv("PRODUCTREEL_DIFFUSION_OFFLOAD", "sometimes")
    with pytest.raises(ValueError, match="offload"):
        Settings()


def _environment_reads(path: Path) -> list[str]:
    """``PRODUCTREEL_*`` names a module reads through os.environ / os.getenv."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Call, ast.Subscript)):
            text = ast.unparse(node)
            if ("os.environ" in text or "getenv" in text) and "PRODUCTREEL_" in text:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:80]}")
    return found


@pytest.mark.parametrize("room", ROOMS)
def test_no_room_reads_productreel_variables_itself(room):
    reads = [hit for path in sorted((ROOT / room).rglob("*.py")) for hit in _environment_reads(path)]
    assert reads == [], "read these through productreel.settings.Settings:\n" + "\n".join(reads)
