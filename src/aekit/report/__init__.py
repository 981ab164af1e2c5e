"""One self-contained HTML report of a fitted model: curves, reconstructions, baselines.

The report is a single file: the plots are PNG images inlined as base64, the
styles are inline, nothing is fetched, so it opens offline and can be mailed.
matplotlib (the ``report`` extra) is imported only when a report is written,
and only its Agg canvas is used: the pyplot state of the caller is untouched.

The modules: `figures` (the matplotlib plots), `tables` (the HTML tables) and
`page` (`build_report` and `write_report`: the page assembled and written).
"""

from __future__ import annotations

from .figures import LINE_PLOT_ROWS, MAX_SCATTER_POINTS
from .page import CSS, build_report, write_report

__all__ = [
    "CSS",
    "LINE_PLOT_ROWS",
    "MAX_SCATTER_POINTS",
    "build_report",
    "write_report",
]
