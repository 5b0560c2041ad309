"""The report's page in a real browser: headless Chromium (Debian's `chromium`, installed by
scripts/install-deps.sh) opens index.html from disk with the network off; the test takes a
screenshot and checks that the page is not blank, that every image loaded, and that nothing but
the report's own files was requested. A page with a missing image must be caught (negative case).
"""
import shutil
from pathlib import Path

import matplotlib.image
import pytest

from talentsim_analysis.report.browser import Browser, find_chromium
from conftest import SOURCE_DIR, run_talentsim

IMAGES = "Array.from(document.images).map(i => ({src: i.getAttribute('src'), complete: i.complete, " \
         "width: i.naturalWidth, height: i.naturalHeight}))"


@pytest.fixture(scope="module")
def report_dir(run_file, tmp_path_factory):
    if find_chromium() is None:
        pytest.fail("Debian's chromium is not installed: scripts/install-deps.sh installs it")
    d = tmp_path_factory.mktemp("browser")
    val = d / "markov.json"
    p = run_talentsim(["validate", SOURCE_DIR / "scenarios" / "validation" / "markov_two_region.yaml", "--json", val,
                       "--set", "validation.burn_in=40", "--set", "validation.window=10", "--quiet"])
    assert p.returncode == 0, p.stdout + p.stderr
    out = d / "report"
    p = run_talentsim(["report", run_file, val, "-o", out, "--quiet"])
    assert p.returncode == 0, p.stderr
    return out


def inspect(folder: Path, screenshot: Path):
    with Browser(width=1280, height=1000) as b:
        b.open(folder.resolve().as_uri() + "/index.html")
        images = b.evaluate(IMAGES)
        title = b.evaluate("document.title")
        first_table = b.evaluate("document.querySelector('#summary table').rows.length")
        height = b.evaluate("document.documentElement.scrollHeight")
        requests = b.requests()
        png = b.screenshot()
    screenshot.write_bytes(png)
    return images, title, first_table, height, requests


def test_every_image_loads_and_the_page_is_not_blank(report_dir, tmp_path):
    shot = tmp_path / "page.png"
    images, title, rows, height, requests = inspect(report_dir, shot)
    pngs = sorted(p.name for p in (report_dir / "figures").glob("*.png"))
    assert len(images) == len(pngs) >= 10
    assert sorted(Path(i["src"]).name for i in images) == pngs
    broken = [i["src"] for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, f"images that did not load: {broken}"
    assert title.startswith("talentsim report")
    assert rows > 5, "the summary table is missing or empty"
    assert height > 3000, "the page is much shorter than its figures"
    # Only the report's own files, from disk.
    base = report_dir.resolve().as_uri()
    assert requests and all(u.startswith(base) for u in requests), requests
    # The screenshot shows a page: mostly white paper with text and figures, not one colour.
    img = matplotlib.image.imread(str(shot))
    assert img.shape[0] > 3000 and img.shape[1] >= 1200
    grey = img[..., :3].mean(axis=2)
    assert (grey < 0.9).mean() > 0.03, "the screenshot is (nearly) blank"
    assert grey.std() > 0.1
    colourful = (img[..., :3].max(axis=2) - img[..., :3].min(axis=2)) > 0.25
    assert colourful.mean() > 0.005, "no coloured figure in the screenshot"


def test_a_missing_image_is_caught(report_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(report_dir, broken)
    victim = sorted((broken / "figures").glob("*.png"))[0]
    victim.unlink()
    images, *_ = inspect(broken, tmp_path / "broken.png")
    failed = [i["src"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert failed == [f"figures/{victim.name}"]
