"""The floors of docs/architecture.md hold: no import cycle, no upward import.

Every import statement in src/aekit counts (those under TYPE_CHECKING and inside
functions too), so a lazy import cannot hide an upward edge.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "aekit"
DOC = ROOT / "docs" / "architecture.md"


def floors() -> list[list[str]]:
    """The table between the floors markers: module prefixes, face first."""
    text = DOC.read_text()
    table = text.split("<!-- floors -->")[1].split("<!-- /floors -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]
    return [re.findall(r"`([\w.]+)`", row.split("|")[2]) for row in rows]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The aekit modules `name` imports (a name imported from a package counts as
    its submodule when it is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    found.add(sub)
                elif target in known:
                    found.add(target)
    found.discard(name)
    return found


def floor_of(name: str, table: list[list[str]]) -> int:
    """Index of the floor whose longest listed prefix `name` starts with (0: face)."""
    best, floor = -1, None
    for i, prefixes in enumerate(table):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best:
                best, floor = len(p), i
    if floor is None:
        pytest.fail(f"{name} is on no floor: add it to docs/architecture.md")
    return floor


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: imports(n, p, set(mods)) for n, p in mods.items()}


def test_the_floors_table_is_read():
    table = floors()
    assert table[0][0] == "aekit" and "aekit.errors" in table[-1]
    assert len(table) >= 8


def test_every_import_goes_down_or_across():
    table = floors()
    upward = []
    for name, deps in graph().items():
        here = floor_of(name, table)
        for dep in deps:
            if floor_of(dep, table) < here:  # a floor nearer the face
                upward.append(f"{name} imports {dep}")
    assert not upward, "imports up the floors:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node, path):
        state[node] = 1
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_the_check_sees_an_upward_import_and_a_cycle(tmp_path):
    # the walker itself: a module importing one above it, and two in a circle
    (tmp_path / "low.py").write_text("from .high import x\n")
    (tmp_path / "high.py").write_text("from .low import y\n")
    found = imports("aekit.low", tmp_path / "low.py", {"aekit.low", "aekit.high"})
    assert found == {"aekit.high"}
    table = [["aekit.high"], ["aekit.low"]]
    assert floor_of("aekit.low", table) > floor_of("aekit.high", table)
