#!/usr/bin/python3
"""A PNG of a `talentsim report` page, rendered by headless Chromium (Debian's `chromium`).

usage: /usr/bin/python3 scripts/report-screenshot.py DIR/index.html OUT.png [--element ID] [--height PX]
                                                     [--width PX]

Without --element: the top of the page (--height pixels, default 1400). With --element ID: the
part of the page from that element (a section such as s1, or a figure such as s1_forest) down,
--height pixels (default: the element's own height). The README's screenshots are made with it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from talentsim_analysis.report.browser import Browser, BrowserError  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page", help="the report's index.html")
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--element", help="id of the element to start at (default: the top of the page)")
    ap.add_argument("--height", type=int, help="pixels to capture (default 1400, or the element's height)")
    ap.add_argument("--width", type=int, default=1280, help="window width in pixels (default 1280)")
    a = ap.parse_args()
    if not os.path.isfile(a.page):
        print(f"report-screenshot: {a.page}: no such file", file=sys.stderr)
        return 2
    try:
        with Browser(width=a.width, height=a.height or 1400) as b:
            b.open("file://" + os.path.abspath(a.page))
            if a.element and not b.evaluate(f"document.getElementById({a.element!r}) !== null"):
                print(f"report-screenshot: no element with id {a.element!r} in {a.page}", file=sys.stderr)
                return 2
            png = b.screenshot(full_page=False, element=a.element, height=a.height)
    except BrowserError as e:
        print(f"report-screenshot: {e}", file=sys.stderr)
        return 1
    with open(a.out, "wb") as f:
        f.write(png)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
