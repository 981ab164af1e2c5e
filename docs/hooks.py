"""mkdocs hooks: links that leave docs/ on GitHub, pointed at their page on the site.

A guide links to `../benchmarks/RESULTS.md` so that it works when browsed in the
repository; the site includes that file as `benchmarks.md`, and this hook sends
the link there, so that strict mode still fails on every other broken link.
"""

from __future__ import annotations

import re
from typing import Any

OUTSIDE = {"../benchmarks/RESULTS.md": "benchmarks.md"}
LINK = re.compile(r"\]\((" + "|".join(re.escape(k) for k in OUTSIDE) + r")(#[^)]*)?\)")


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """The page's Markdown with links to files outside docs/ sent to their page."""
    depth = page.file.src_uri.count("/")
    return LINK.sub(
        lambda m: f"]({'../' * depth}{OUTSIDE[m.group(1)]}{m.group(2) or ''})",
        markdown,
    )
