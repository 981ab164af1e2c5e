"""Every ```python block of README.md and docs/**/*.md runs, so no example rots.

A page's blocks run in order in one namespace, in a fresh working directory.
A block that is not meant to run carries a visible marker on the line before
its fence, ``<!-- docs-test: skip (why) -->``; the reason is required, and the
markers are counted so that they stay rare.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->")
MAX_SKIPS = 3  # a fourth opt-out is a reason to make a block runnable instead


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    code: str
    skip: str | None  # the reason, when marked


def blocks(page: Path) -> list[Block]:
    """The page's ```python blocks, with the opt-out reason of the marked ones."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start, body = i, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            before = next((s for s in reversed(lines[:start]) if s.strip()), "")
            m = SKIP.search(before)
            found.append(Block(page, start + 1, "\n".join(body) + "\n", m and m["why"]))
        i += 1
    return found


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = [p for p in PAGES if any(b.skip is None for b in blocks(p))]


def test_every_block_compiles_and_opt_outs_are_rare_and_justified():
    every = [b for p in PAGES for b in blocks(p)]
    for b in every:
        compile(b.code, f"{_name(b.page)}:{b.line}", "exec")
    skipped = [b for b in every if b.skip]
    assert len(every) >= 15 and len(skipped) <= MAX_SKIPS, [
        f"{_name(b.page)}:{b.line} ({b.skip})" for b in skipped
    ]


def test_the_marker_is_the_only_way_out(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "<!-- docs-test: skip (needs a cluster) -->\n```python\nx = 1\n```\n\n"
        "<!-- docs-test: skip -->\n```python\ny = 2\n```\n"
        "```python skip\nz = 3\n```\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [b.skip for b in found] == ["needs a cluster", None]  # no reason: runs
    assert [b.line for b in found] == [2, 7]


def test_the_home_page_includes_the_readme_quick_start():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("[start:quickstart]")[1].split("[end:quickstart]")[0]
    assert "## Quick start" in section and "```python" in section
    home = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert '--8<-- "README.md:quickstart"' in home


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=_name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an example may warn; it must not fail
        for b in blocks(page):
            if b.skip is None:
                exec(compile(b.code, f"{_name(page)}:{b.line}", "exec"), namespace)
