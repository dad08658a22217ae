"""Imports only point down: only flows/ knows Prefect, no room imports flows/, productreel/ imports no stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["catalog_adapters", "localization", "clips", "compliance", "publishers", "jobs"]


def imported(package: str) -> dict[str, set[str]]:
    """file -> top-level packages it imports (at module level or inside functions)."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


@pytest.mark.parametrize("package", ["productreel", *STAGES])
def test_only_flows_imports_prefect_and_nothing_imports_flows(package):
    bad = {f: sorted(n & {"prefect", "prefect_dask", "prefect_ray", "flows"}) for f, n in imported(package).items()}
    assert not {f: n for f, n in bad.items() if n}


def test_the_ground_floor_imports_no_stage():
    bad = {f: sorted(n & set(STAGES)) for f, n in imported("productreel").items()}
    assert not {f: n for f, n in bad.items() if n}
