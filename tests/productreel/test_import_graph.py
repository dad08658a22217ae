"""No import circle inside a room, counting the package's ``__init__``.

The graph is read from the source with ``ast``: every import counts, at module
level or inside a function (a lazy import still ties two modules together), except
under ``if TYPE_CHECKING:``, which never runs. ``from pkg import name`` is an edge to
``pkg`` (its ``__init__``) and, when ``name`` is a submodule, to that submodule too;
``import pkg.sub`` and ``from pkg.sub import name`` are edges to ``pkg.sub``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every room, flows/ included.
ROOMS = ["productreel", "catalog_adapters", "localization", "clips", "compliance", "publishers", "jobs", "flows"]


def modules(folder: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its ``__init__``)."""
    out = {}
    for path in sorted(folder.rglob("*.py")):
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(tree: ast.AST):
    """Import nodes anywhere in the tree, skipping ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(folder: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    mods = modules(folder, package)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [source] + [f"{source}.{alias.name}" for alias in node.names]
            graph[name].update(t for t in targets if t in mods and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("room", ROOMS)
def test_no_import_circle_in_room(room):
    folder = ROOT / room
    assert (folder / "__init__.py").is_file(), f"{room}/ is not a package"
    cycle = find_cycle(import_graph(folder, room))
    assert cycle is None, f"import circle in {room}/: {' -> '.join(cycle)}"


@pytest.mark.parametrize(
    "files,circle",
    [
        # a lazy import inside a function still closes a circle
        ({"__init__.py": "", "a.py": "from pkg.b import x\n", "b.py": "def f():\n    from pkg.a import y\n"},
         ["pkg.a", "pkg.b", "pkg.a"]),
        # through the package's __init__: it re-exports a submodule that imports the package back
        ({"__init__.py": "from .run import go\n", "run.py": "def go():\n    from pkg import registry\n", "registry.py": ""},
         ["pkg", "pkg.run", "pkg"]),
        # `from . import mod` needs the package itself
        ({"__init__.py": "from .a import f\n", "a.py": "from . import b\n", "b.py": ""}, ["pkg", "pkg.a", "pkg"]),
        # TYPE_CHECKING imports never run; importing a sibling module directly is no circle
        ({"__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import f\n",
          "a.py": "from pkg.b import x\n", "b.py": "import pkg.c as c\n", "c.py": ""}, None),
    ],
)
def test_the_checker_finds_circles(tmp_path, files, circle):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert find_cycle(import_graph(tmp_path, "pkg")) == circle
