import base64
import io
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from aekit import AutoEncoder
from aekit.report import build_report

pytest.importorskip("matplotlib")


class _Page(HTMLParser):
    """Collects the tags, headings and image sources of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.headings: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("href", "src"):
            if key in a and tag != "img":
                self.links.append(a[key])
        self._in_heading = tag in ("h1", "h2", "h3")

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading and data.strip():
            self.headings.append(data.strip())


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


def _decode_all(page):
    """Every embedded image is a base64 PNG that PIL can decode; return their sizes."""
    from PIL import Image

    sizes = []
    for src in page.images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        img = Image.open(
            io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True))
        )
        img.load()
        assert img.format == "PNG" and img.width > 50 and img.height > 50
        sizes.append(img.size)
    return sizes


@pytest.fixture(scope="module")
def square():
    """16 features (4x4 images), three labelled clusters."""
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b", "c"], 40)
    centers = rng.random((3, 16))
    X = np.clip(
        centers[np.searchsorted(["a", "b", "c"], y)]
        + 0.05 * rng.normal(size=(120, 16)),
        0,
        1,
    ).astype(np.float32)
    est = AutoEncoder(
        latent_dim=3,
        max_epochs=8,
        batch_size=32,
        random_state=0,
        verbose=0,
        dead_units="ignore",
    ).fit(X)
    return est, X, y


def test_report_structure_and_images(square, tmp_path):
    est, X, y = square
    path = est.report(tmp_path / "report.html", X, y)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page = _parse(text)
    for heading in (
        "Model",
        "Training curves",
        "Reconstruction examples",
        "Error per feature",
        "Latent space",
        "Diagnostics",
    ):
        assert heading in page.headings, (heading, page.headings)
    assert any(h.startswith("At fit time") for h in page.headings)
    # loss, dead units, examples, per-pixel error, projection, latent variance
    assert len(_decode_all(page)) == 6
    assert page.links == [] and "http" not in text  # nothing fetched: opens offline
    assert "<script" not in text
    # the comparison table holds the three representations and both probes
    for cell in ("autoencoder", "PCA", "raw features", "logistic probe", "5-NN probe"):
        assert f">{cell}<" in text
    assert "stratified 5-fold" in text
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_report_line_plots_for_non_square_features(tmp_path):
    X = np.random.default_rng(1).random((60, 10)).astype(np.float32)
    est = AutoEncoder(
        latent_dim=2, max_epochs=2, random_state=0, verbose=0, dead_units="ignore"
    ).fit(X)
    page = _parse(est.report(tmp_path / "r.html", X).read_text())
    assert len(_decode_all(page)) == 6
    text = (tmp_path / "r.html").read_text()
    assert "value per feature" in text and "no labels given: no probes" in text
    assert "logistic probe" not in text


def test_report_without_data(square, tmp_path):
    est = square[0]
    text = est.report(tmp_path / "r.html").read_text()
    page = _parse(text)
    assert len(_decode_all(page)) == 2  # loss and dead-unit curves
    assert "Reconstruction examples" not in page.headings
    assert "Pass X (and y)" in text


def test_report_image_shape_and_errors(square, tmp_path):
    est, X, y = square
    text = build_report(est.fitted_, X, record=est.record_, image_shape=(2, 8))
    assert len(_decode_all(_parse(text))) == 6
    with pytest.raises(ValueError, match=r"image_shape \(3, 3\) holds 9 pixels"):
        build_report(est.fitted_, X, record=est.record_, image_shape=(3, 3))
    with pytest.raises(ValueError, match="y has 3 labels for 120 rows"):
        build_report(est.fitted_, X, y[:3], record=est.record_)
    with pytest.raises(ValueError, match="y was given without X"):
        est.report(tmp_path / "r.html", y=y)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        est.report(tmp_path, X)


def test_report_escapes_text(square):
    est, X, _ = square
    text = build_report(est.fitted_, X[:20], record=est.record_, title="<b>&</b>")
    assert "<title>&lt;b&gt;&amp;&lt;/b&gt;</title>" in text
    assert not re.search(r"<b>&</b>", text)


def test_missing_matplotlib_names_the_extra(square, tmp_path, monkeypatch):
    for mod in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r"pip install aekit\[report\]"):
        square[0].report(tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
