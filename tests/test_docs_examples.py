"""Every Python example of the README and the docs runs, so that none rots.

The ```python blocks of each page run in order in one namespace, in a fresh
working folder, as a reader would paste them. A block that is not meant to run
(it needs a cluster, or shows a signature) carries the marker
``<!-- docs-test: skip (why) -->`` on the line before its fence; the skips are
counted here so that they stay few and visible.
"""

from __future__ import annotations

import logging
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda p: str(p.relative_to(ROOT)),
)
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b.*?-->\s*\Z", re.S)
MAX_SKIPS = 3  # across all pages: a skip is an exception, not a habit


def blocks(page: Path) -> list[tuple[int, str, bool]]:
    """(line, code, skipped) of each ```python block of `page`, in order."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        skipped = bool(SKIP.search(text[: m.start()].rstrip("\n")[-200:] + "\n"))
        out.append((line, m.group(1), skipped))
    return out


WITH_CODE = [p for p in PAGES if blocks(p)]
# Running a page trains models (seconds each): every page but the README's
# quick start is a slow test, which CI runs too; every block compiles in the
# fast tests.
FAST = {"README.md"}


def _param(page: Path):
    name = str(page.relative_to(ROOT))
    marks = [] if name in FAST else [pytest.mark.slow]
    return pytest.param(page, id=name, marks=marks)


def test_every_block_compiles():
    for page in WITH_CODE:
        for line, code, _ in blocks(page):
            compile(code, f"{page.relative_to(ROOT)}:{line}", "exec")


def test_the_home_page_is_the_readme_quick_start():
    # included when the site is built (pymdownx.snippets, check_paths on),
    # so the section must exist in the README and hold code that runs here
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = (
        "<!-- --8<-- [start:quickstart] -->",
        "<!-- --8<-- [end:quickstart] -->",
    )
    assert readme.count(start) == 1 and readme.count(end) == 1
    section = readme.split(start)[1].split(end)[0]
    assert FENCE.search(section), "the quick start has no python block"
    home = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert '--8<-- "README.md:quickstart"' in home


def test_the_extractor_finds_blocks_and_skips(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "text\n```python\na = 1\n```\n<!-- docs-test: skip (a cluster) -->\n"
        "```python\nraise SystemExit\n```\n```bash\nls\n```\n"
    )
    assert blocks(page) == [(2, "a = 1\n", False), (6, "raise SystemExit\n", True)]


def test_skips_are_few():
    skipped = [(p.name, line) for p in PAGES for line, _, s in blocks(p) if s]
    assert len(skipped) <= MAX_SKIPS, skipped


def test_the_pages_hold_examples():
    # the README and the three worked examples at least: an extractor that
    # found nothing would pass every page vacuously
    names = {str(p.relative_to(ROOT)) for p in WITH_CODE}
    assert {"README.md", "docs/examples/embeddings.md"} <= names
    assert {"docs/examples/anomalies.md", "docs/examples/serving.md"} <= names


@pytest.fixture
def logging_as_it_was():
    """The root and aekit loggers restored after a page that configures logging."""
    loggers = [logging.getLogger(), logging.getLogger("aekit")]
    saved = [(list(g.handlers), g.level, g.propagate) for g in loggers]
    yield
    for g, (handlers, level, propagate) in zip(loggers, saved):
        g.handlers[:] = handlers
        g.setLevel(level)  # setLevel: it clears the loggers' caches
        g.propagate = propagate


@pytest.mark.parametrize("page", [_param(p) for p in WITH_CODE])
def test_the_examples_of_a_page_run(page, tmp_path, monkeypatch, logging_as_it_was):
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("__docs__")  # a module, as a pasted script is one
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for line, code, skipped in blocks(page):
        if skipped:
            continue
        where = f"{page.relative_to(ROOT)}:{line}"
        try:
            exec(compile(code, where, "exec"), namespace)
        except Exception as e:  # name the block, keep the cause
            raise AssertionError(f"the example at {where} failed: {e!r}") from e
