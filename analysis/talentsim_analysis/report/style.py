"""The report's look: one colour-blind-safe palette, used the same way on every figure, and the
helpers every figure shares (titles, units, money and date axes, saving PNG + CSV).

Palette: Okabe & Ito (2008), "Color Universal Design", safe for the common colour-vision
deficiencies. The default regions have fixed colours; other regions (a scenario's own) take the
remaining colours in the order the report first meets them, so a region keeps its colour on
every figure of a report. Heatmaps use cividis (sequential) and PuOr (diverging), both readable
with deficient colour vision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
GREY = "#7F7F7F"
#: The default regions' colours (docs/report.md lists them).
REGION_COLOURS = {
    "US": OKABE_ITO["blue"],
    "CN": OKABE_ITO["vermillion"],
    "EU": OKABE_ITO["green"],
    "UK": OKABE_ITO["purple"],
    "CA": OKABE_ITO["orange"],
    "IN": OKABE_ITO["sky"],
    "ROW": GREY,
}
#: Colours for other categories (scenarios, firms' groups, statistics), in order; the base of a
#: comparison is always black.
# (Okabe-Ito's yellow is left out: too faint for lines on white.)
SERIES_COLOURS = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "purple", "orange", "sky")] + [
    "#332288", GREY, "#44AA99", "#882255", "#999933", "#AA4499", "#117733", "#88CCEE"]
# Other regions take the Okabe-Ito colours no region of the report uses, then a colour-blind-safe
# extension (Paul Tol's "muted" scheme).
_EXTRA = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "purple", "orange", "sky", "black")] + [
    "#332288", "#44AA99", "#882255", "#999933", "#AA4499", "#117733", "#DDCC77", "#88CCEE"]
SEQUENTIAL = "cividis"
DIVERGING = "PuOr"
#: Visa outcomes (the decisions on petitions).
VISA_COLOURS = {"approvals": OKABE_ITO["green"], "denials": OKABE_ITO["vermillion"],
                "lottery_losses": OKABE_ITO["orange"]}

DPI = 110


class Palette:
    """Region and category colours for one report (shared by every page).

    `regions`: every region name of the report's inputs, known before the first figure, so that a
    scenario's own regions take colours that none of its default regions uses."""

    def __init__(self, regions: Iterable[str] = ()):
        self._regions: Dict[str, str] = {}
        names = list(dict.fromkeys(regions))
        for n in names:
            if n in REGION_COLOURS:
                self._regions[n] = REGION_COLOURS[n]
        for n in names:
            self.region(n)

    def region(self, name: str) -> str:
        if name not in self._regions:
            if name in REGION_COLOURS and REGION_COLOURS[name] not in self._regions.values():
                self._regions[name] = REGION_COLOURS[name]
            else:
                # a colour no region has, preferring those of default regions absent from the report
                used = set(self._regions.values())
                free = [c for c in _EXTRA if c not in used]
                self._regions[name] = free[0] if free else _EXTRA[len(self._regions) % len(_EXTRA)]
        return self._regions[name]

    @staticmethod
    def series(k: int) -> str:
        return SERIES_COLOURS[k % len(SERIES_COLOURS)]

    @property
    def assigned(self) -> Dict[str, str]:
        return dict(self._regions)


def tx(s) -> str:
    """Text safe for matplotlib: '$' would start mathtext (a name like 'A$B' would fail)."""
    return str(s).replace("$", r"\$")


def usd(v, _pos=None) -> str:
    """$1.2M, $350k, $900."""
    if v is None or not np.isfinite(v):
        return ""
    a = abs(v)
    if a >= 1e9:
        return f"${v / 1e9:.3g}B"
    if a >= 1e6:
        return f"${v / 1e6:.3g}M"
    if a >= 1e3:
        return f"${v / 1e3:.3g}k"
    return f"${v:.3g}"


def number(v, digits: int = 3) -> str:
    """A headline number: thousands separated, `digits` significant figures for fractions."""
    if v is None:
        return "n/a"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "n/a"
    if f == int(f) and abs(f) < 1e15:
        return f"{int(f):,}"
    if abs(f) >= 1000:
        return f"{f:,.0f}"
    return f"{f:.{digits}g}"




def month_axis(ax, dates) -> None:
    """Dates on the x axis, labelled as months."""
    ax.set_xlabel("month")
    loc = matplotlib.dates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(loc))


def usd_axis(axis) -> None:
    axis.set_major_formatter(mticker.FuncFormatter(usd))




@dataclass
class Spec:
    """A figure before it is saved: the matplotlib figure, the data behind it (one tidy table,
    written as CSV next to the PNG), its title (the figure's subject) and caption."""
    key: str
    title: str
    caption: str
    fig: object
    data: pd.DataFrame
    notes: List[str] = field(default_factory=list)


@dataclass
class Figure:
    """A saved figure as the page shows it (paths relative to the report folder)."""
    key: str
    title: str
    caption: str
    png: str
    csv: str
    notes: List[str] = field(default_factory=list)
    width: int = 0
    height: int = 0


def new_figure(w: float, h: float, nrows: int = 1, ncols: int = 1, **kw):
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), layout="constrained", squeeze=False, **kw)
    return fig, axes


def suptitle(fig, title: str, subtitle: Optional[str] = None) -> None:
    fig.suptitle(tx(title) + (f"\n{tx(subtitle)}" if subtitle else ""), fontsize=12, fontweight="bold")


def grid(ax, axis: str = "both") -> None:
    ax.grid(alpha=0.3, axis=axis)
    ax.set_axisbelow(True)




def annotate_cells(ax, values: np.ndarray, fmt, im=None, fontsize: int = 8) -> None:
    """Writes each cell's value into a heatmap, dark on light cells and light on dark ones."""
    norm = im.norm if im is not None else None
    cmap = im.cmap if im is not None else None
    for (i, j), v in np.ndenumerate(values):
        if not np.isfinite(v):
            continue
        colour = "black"
        if norm is not None and cmap is not None:
            r, g, b, _ = cmap(norm(v))
            colour = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
        ax.text(j, i, fmt(v), ha="center", va="center", fontsize=fontsize, color=colour)


def close(fig) -> None:
    plt.close(fig)
