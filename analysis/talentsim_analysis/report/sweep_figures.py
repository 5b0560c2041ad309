"""Figures and headline numbers of a sweep file (`talentsim sweep` / `talentsim compare`;
docs/experiments.md): a comparison (variants against a base) or a parameter sweep (response
curves, heatmaps, small multiples, Sobol and Morris indices).
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple, Union

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import yaml
from scipy import stats

from .run_figures import GROUP_MEMBER
from .runfiles import RunFile, outcome_path
from .style import (DIVERGING, GREY, SEQUENTIAL, Palette, Spec, annotate_cells, grid, new_figure, number, suptitle,
                    tx)

Result = Union[Spec, str]
BASE_COLOUR = "#000000"


# ------------------------------------------------------------------------------------ the sweep
class Sweep:
    """A loaded sweep file with what the figures need: outcome labels and scales, the parameters'
    kinds, summaries (from the file, or computed from the runs of an interrupted sweep), and the
    run files when the sweep kept them."""

    def __init__(self, exp):
        self.e = exp
        self.path = exp.path
        self.variants: List[str] = list(exp.variants)
        self.base = self.variants[0]
        self.outcomes: List[str] = list(exp.outcomes)
        self.labels: Dict[str, str] = {o: (l or o) for o, l in zip(exp.outcomes, exp.labels)}
        self.scale: Dict[str, float] = {o: (float(s) if np.isfinite(s) and s != 0 else 1.0)
                                        for o, s in zip(exp.outcomes, exp.scale)}
        self.params: List[str] = list(exp.parameters)
        with_specs = _read_strings(exp.path, "design/specs")
        self.param_specs = [(yaml.safe_load(s) or {}) if s else {} for s in with_specs]
        self.outcome_specs = [(yaml.safe_load(s) or {}) for s in _read_strings(exp.path, "outcomes/specs")]
        numeric = _read_array(exp.path, "design/numeric")
        self.numeric = [bool(x) for x in numeric] if numeric is not None else [True] * len(self.params)
        self.notes: List[str] = []
        s = exp.summaries
        if s.empty or not np.isfinite(s["mean"]).any():
            s = self._summaries_from_runs()
            if not s.empty:
                self.notes.append("The file has no summaries (the sweep did not complete): means and 95% intervals "
                                  "were computed here from the runs that finished.")
        self.summaries = s
        d = exp.differences
        if (d.empty or not np.isfinite(d["mean"]).any()) and len(self.variants) > 1:
            d = self._differences_from_runs()
            if not d.empty:
                self.notes.append("The file has no paired differences (the sweep did not complete): they were "
                                  "computed here from the pairs of runs that finished.")
        self.differences = d
        self.run_files = self._run_files()

    # -- statistics as docs/experiments.md defines them, for files without them
    @staticmethod
    def _t_stats(x: np.ndarray) -> Tuple[int, float, float, float, float]:
        x = x[np.isfinite(x)]
        n = len(x)
        if n == 0:
            return 0, np.nan, np.nan, np.nan, np.nan
        m = float(x.mean())
        if n == 1:
            return 1, m, np.nan, np.nan, np.nan
        sd = float(x.std(ddof=1))
        h = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
        return n, m, sd, m - h, m + h

    def _summaries_from_runs(self) -> pd.DataFrame:
        r = self.e.results
        rows = []
        for (v, p), g in r.groupby(["variant", "point"], observed=True):
            for o in self.outcomes:
                n, m, sd, lo, hi = self._t_stats(g[o].to_numpy(float))
                rows.append({"variant": v, "point": p, "outcome": o, "n": n, "mean": m, "sd": sd, "lo": lo, "hi": hi})
        df = pd.DataFrame(rows)
        return df.merge(self.e.design, on="point", how="left") if len(df) else df

    def _differences_from_runs(self) -> pd.DataFrame:
        r = self.e.results
        rows = []
        for v in self.variants[1:]:
            for p in sorted(r["point"].unique()):
                a = r[(r["variant"] == v) & (r["point"] == p)].set_index("replication")
                b = r[(r["variant"] == self.base) & (r["point"] == p)].set_index("replication")
                for o in self.outcomes:
                    d = (a[o] - b[o]).to_numpy(float) if len(a) and len(b) else np.zeros(0)
                    n, m, sd, lo, hi = self._t_stats(d)
                    rows.append({"variant": v, "point": p, "outcome": o, "n": n, "mean": m, "sd": sd, "lo": lo,
                                 "hi": hi})
        df = pd.DataFrame(rows)
        return df.merge(self.e.design, on="point", how="left") if len(df) else df

    def _run_files(self) -> Optional[pd.DataFrame]:
        """The runs that finished with a run file on disk: run, point, replication, variant, path."""
        keep = self.e.attrs.get("keep", "outcomes")
        if keep not in ("series", "full"):
            return None
        runs_dir = str(self.e.attrs.get("runs_dir", ""))
        folder = os.path.join(os.path.dirname(os.path.abspath(self.path)), runs_dir)
        files = _read_strings(self.path, "runs/file")
        r = self.e.runs.copy()
        r["path"] = [os.path.join(folder, f) if f else "" for f in files]
        ok = (r["status"] == "done") & r["path"].map(lambda p: bool(p) and os.path.isfile(p))
        missing = int(((r["status"] == "done") & ~ok).sum())
        if missing:
            self.notes.append(f"{missing} finished runs have no run file in {folder}: they are left out of the "
                              "figures drawn from run files.")
        return r[ok].reset_index(drop=True) if ok.any() else None

    @property
    def kind(self) -> str:
        if self.params:
            d = str(self.e.attrs.get("design", ""))
            return {"saltelli": "sobol", "morris": "morris"}.get(d, "sweep")
        return "comparison" if len(self.variants) > 1 else "replications"

    def shown(self, outcome: str, v):
        """An outcome's value in the units of its label (`scale` of the experiment)."""
        return np.asarray(v, dtype=float) * self.scale[outcome]

    def log_scale(self, j: int) -> bool:
        s = self.param_specs[j] if j < len(self.param_specs) else {}
        return isinstance(s, dict) and s.get("scale") == "log"


def _read_strings(path: str, key: str) -> List[str]:
    import h5py
    with h5py.File(path, "r") as f:
        if key not in f:
            return []
        v = f[key].asstr()[()]
        return [str(x) for x in np.ravel(v)]


def _read_array(path: str, key: str):
    import h5py
    with h5py.File(path, "r") as f:
        return f[key][()] if key in f else None


# ------------------------------------------------------------------------------------ headline
def headline(sw: Sweep) -> List[Tuple[str, str, str]]:
    a = sw.e.attrs
    rows = [("runs", f"{a.get('runs_done', 0):,} done of {a.get('runs', 0):,}"
             + (f", {a.get('runs_failed')} failed" if a.get("runs_failed") else ""),
             f"{a.get('points')} points × {a.get('replications')} replications × {a.get('variants')} variants, "
             f"{a.get('steps')} steps each")]
    if sw.kind == "comparison":
        d = sw.differences
        for o in sw.outcomes:
            base = sw.summaries[(sw.summaries["variant"] == sw.base) & (sw.summaries["outcome"] == o)]
            bm = float(base["mean"].iloc[0]) if len(base) else np.nan
            rows.append((f"{sw.labels[o]}: {sw.base}", number(sw.shown(o, bm), 4), "mean over the replications"))
            sub = d[(d["outcome"] == o) & np.isfinite(d["mean"])]
            if len(sub):
                big = sub.iloc[int(np.argmax(np.abs(sub["mean"].to_numpy())))]
                sig = np.isfinite(big["lo"]) and (big["lo"] > 0 or big["hi"] < 0)
                rows.append((f"{sw.labels[o]}: largest change", f"{big['variant']}: {_signed(sw.shown(o, big['mean']))} "
                             f"[{_signed(sw.shown(o, big['lo']))}, {_signed(sw.shown(o, big['hi']))}]",
                             "paired difference from the base, 95% interval" + ("" if sig else " (includes 0)")))
    elif sw.kind in ("sweep", "replications"):
        s = sw.summaries[sw.summaries["variant"] == sw.base] if len(sw.summaries) else sw.summaries
        for o in sw.outcomes:
            sub = s[(s["outcome"] == o) & np.isfinite(s["mean"])] if len(s) else s
            if not len(sub):
                continue
            lo, hi = sub.iloc[int(np.argmin(sub["mean"]))], sub.iloc[int(np.argmax(sub["mean"]))]
            rows.append((sw.labels[o], f"{number(sw.shown(o, lo['mean']), 4)} to {number(sw.shown(o, hi['mean']), 4)}",
                         f"lowest mean at {_point(sw, lo)}; highest at {_point(sw, hi)}"))
    else:
        ind = sw.e.indices
        key = "ST" if sw.kind == "sobol" else "mu_star"
        for o in sw.outcomes:
            sub = ind[(ind["index"] == key) & (ind["outcome"] == o) & (ind["variant"] == sw.base)]
            sub = sub[np.isfinite(sub["value"])]
            if len(sub):
                top = sub.iloc[int(np.argmax(sub["value"]))]
                rows.append((sw.labels[o], f"{top['parameter']} ({key} {top['value']:.3g})",
                             "the parameter with the largest " + ("total Sobol index" if key == "ST" else "Morris μ*")))
    return rows


def _signed(v) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:+.4g}"


def _point(sw: Sweep, row) -> str:
    return ", ".join(f"{p} = {_fmt_value(row[p])}" for p in sw.params) or "the only point"


def _fmt_value(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return str(v)


# ------------------------------------------------------------------------------------ comparison
def _quantiles(x: np.ndarray, qs=(0.05, 0.25, 0.5, 0.75, 0.95)) -> np.ndarray:
    """Quantiles over replications (axis 0), NaN where none is finite."""
    out = np.full((len(qs),) + x.shape[1:], np.nan)
    ok = np.isfinite(x).any(axis=0)
    if ok.any():
        out[:, ok] = np.nanquantile(x[:, ok], qs, axis=0)
    return out


def outcome_paths(sw: Sweep) -> Tuple[Dict[str, Dict[str, np.ndarray]], Dict[str, str], Optional[np.ndarray]]:
    """For each outcome that the series hold: {variant: [replication, step]} paths, a note per
    outcome, and the months of the steps."""
    rf = sw.run_files
    paths: Dict[str, Dict[str, List[np.ndarray]]] = {o: {} for o in sw.outcomes}
    notes: Dict[str, str] = {}
    months = None
    for _, r in rf[rf["point"] == rf["point"].min()].iterrows():
        with RunFile(r["path"]) as f:
            if months is None:
                months = f.series("month")
            for o, spec in zip(sw.outcomes, sw.outcome_specs):
                v, note, _ = outcome_path(spec, f)
                if note:
                    notes[o] = note
                if v is not None:
                    paths[o].setdefault(str(r["variant"]), []).append(v)
    out = {}
    for o, by_v in paths.items():
        if by_v:
            n = min(len(x) for xs in by_v.values() for x in xs)
            out[o] = {v: np.vstack([x[:n] for x in xs]) for v, xs in by_v.items()}
    return out, notes, months


def _dates(months: np.ndarray):
    return pd.to_datetime(pd.Series(months.astype(np.int64).astype(str)), format="%Y%m")


def fig_paths(sw: Sweep, pal: Palette, paths, notes, months, outcome: str, k: int) -> Result:
    if outcome not in paths:
        return f"{sw.labels[outcome]}: {notes.get(outcome, 'not held by the series')}"
    by_v = paths[outcome]
    if sw.base not in by_v:
        return f"{sw.labels[outcome]}: no run of the base has a run file"
    scen = [v for v in sw.variants[1:] if v in by_v]
    panels = scen or [sw.base]
    ncol = min(3, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = new_figure(4.3 * ncol, 0.9 + 2.9 * nrow, nrow, ncol, sharex=True, sharey=True)
    n = by_v[sw.base].shape[1]
    t = _dates(months[:n])
    rows = []

    def band(ax, v, colour, label, record):
        q = _quantiles(sw.shown(outcome, by_v[v]))
        ax.fill_between(t, q[0], q[4], color=colour, alpha=0.12, lw=0)
        ax.fill_between(t, q[1], q[3], color=colour, alpha=0.3, lw=0)
        ax.plot(t, q[2], color=colour, lw=1.8, label=tx(label))
        if record:
            rows.extend({"variant": v, "month": int(m), "replications": by_v[v].shape[0], "p5": a, "p25": b,
                         "median": c, "p75": d, "p95": e}
                        for m, a, b, c, d, e in zip(months[:n], *q))

    for a, v in enumerate(panels):
        ax = axes.flat[a]
        band(ax, sw.base, BASE_COLOUR, f"{sw.base} (base)", record=a == 0)
        if v != sw.base:
            band(ax, v, pal.series(sw.variants.index(v) - 1), v, record=True)
        ax.set_title(tx(v), fontsize=10)
        ax.legend(fontsize=7, loc="best")
        grid(ax)
        loc = mdates.AutoDateLocator(minticks=3, maxticks=6)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    for b in range(len(panels), nrow * ncol):
        axes.flat[b].axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(tx(sw.labels[outcome]))
    for ax in axes[-1, :]:
        ax.set_xlabel("month")
    reps = by_v[sw.base].shape[0]
    suptitle(fig, f"{sw.labels[outcome]} over time: scenarios against {sw.base}",
             f"median, 50% and 90% bands over {reps} replications")
    note = notes.get(outcome, "")
    return Spec(f"paths_{k}", f"{sw.labels[outcome]} over time: scenarios against {sw.base}",
                "Each panel shows one scenario (colour) against the base (black): the line is the median over the "
                "replications, the dark band holds the middle 50% of them and the light band 90%. "
                + (f"Note: {note}." if note else "Each run's path ends at its value of the outcome."),
                fig, pd.DataFrame(rows), [note] if note else [])


def fig_final(sw: Sweep, pal: Palette, why: str) -> Result:
    """The outcomes' spread over the replications per variant (median, 50% and 90%); `why` is the
    caption's second sentence (why the paths over time are not shown)."""
    r = sw.e.results
    r = r[r["point"] == r["point"].min()]
    K = len(sw.outcomes)
    V = len(sw.variants)
    fig, axes = new_figure(3.6 * min(K, 4), 1.4 + 0.38 * V * (-(-K // 4)), -(-K // 4), min(K, 4), sharey=True)
    rows = []
    for k, o in enumerate(sw.outcomes):
        ax = axes.flat[k]
        for j, v in enumerate(sw.variants):
            x = sw.shown(o, r.loc[r["variant"] == v, o].to_numpy(float))
            x = x[np.isfinite(x)]
            if not len(x):
                continue
            q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
            c = BASE_COLOUR if j == 0 else pal.series(j - 1)
            ax.plot([q[0], q[4]], [j, j], color=c, lw=1.5)
            ax.plot([q[1], q[3]], [j, j], color=c, lw=6, alpha=0.6)
            ax.plot([q[2]], [j], "o", color="white", mec=c, mew=2)
            rows.append({"outcome": o, "variant": v, "replications": len(x), "p5": q[0], "p25": q[1], "median": q[2],
                         "p75": q[3], "p95": q[4]})
        ax.set_xlabel(tx(sw.labels[o]))
        grid(ax, "x")
    for b in range(K, axes.size):
        axes.flat[b].axis("off")
    axes.flat[0].set_yticks(range(V), [tx(v) for v in sw.variants])
    axes.flat[0].invert_yaxis()
    suptitle(fig, "Outcomes at the end by scenario", "median, 50% and 90% of the replications")
    return Spec("final", "Outcomes at the end by scenario",
                "For each outcome and scenario: the circle is the median over the replications, the thick bar holds "
                "the middle 50% and the thin line 90%. " + why,
                fig, pd.DataFrame(rows))


def fig_forest(sw: Sweep, pal: Palette) -> Result:
    d = sw.differences
    if d.empty:
        return "the file has no paired differences (no run pair finished)"
    d = d[d["point"] == d["point"].min()]
    K = len(sw.outcomes)
    scen = sw.variants[1:]
    ncol = min(K, 2)
    nrow = -(-K // ncol)
    fig, axes = new_figure(2.0 + 4.2 * ncol, 1.0 + nrow * (1.1 + 0.38 * len(scen)), nrow, ncol, sharey=True)
    rows = []
    for k, o in enumerate(sw.outcomes):
        ax = axes.flat[k]
        for j, v in enumerate(scen):
            row = d[(d["variant"] == v) & (d["outcome"] == o)]
            if not len(row):
                continue
            row = row.iloc[0]
            m, lo, hi = (float(sw.shown(o, row[c])) for c in ("mean", "lo", "hi"))
            sig = bool(np.isfinite(lo) and (lo > 0 or hi < 0))
            c = pal.series(j)
            if np.isfinite(lo):
                ax.plot([lo, hi], [j, j], color=c, lw=2)
            ax.plot([m], [j], "o", color=c if sig else "white", mec=c, mew=2, ms=7)
            rows.append({"outcome": o, "label": sw.labels[o], "variant": v, "n": int(row["n"]), "mean": m, "lo": lo,
                         "hi": hi, "excludes_zero": sig})
        ax.axvline(0, color=GREY, lw=1)
        ax.set_title(tx(sw.labels[o]), fontsize=9)
        ax.set_xlabel("scenario − base (paired)")
        grid(ax, "x")
    for b in range(K, axes.size):
        axes.flat[b].axis("off")
    axes.flat[0].set_yticks(range(len(scen)), [tx(v) for v in scen])
    axes.flat[0].invert_yaxis()
    suptitle(fig, f"Change in each outcome: scenarios against {sw.base}",
             "mean paired difference with its 95% interval")
    return Spec("forest", f"Change in each outcome: scenarios against {sw.base}",
                "Each row is a scenario's mean difference from the base over replications with the same seed, with its "
                "95% t interval; a filled circle means the interval excludes zero (the scenario changes the outcome), "
                "a hollow one that it does not.",
                fig, pd.DataFrame(rows))


def _paired_end_values(sw: Sweep, read) -> Dict[str, Dict[int, np.ndarray]]:
    """read(RunFile) -> array for each run file of the first point: {variant: {replication: array}}."""
    rf = sw.run_files
    out: Dict[str, Dict[int, np.ndarray]] = {}
    for _, r in rf[rf["point"] == rf["point"].min()].iterrows():
        with RunFile(r["path"]) as f:
            out.setdefault(str(r["variant"]), {})[int(r["replication"])] = read(f)
    return out


def _paired(sw: Sweep, vals, v) -> Optional[np.ndarray]:
    """[pair, ...] differences variant − base over the replications both have."""
    a, b = vals.get(v, {}), vals.get(sw.base, {})
    reps = sorted(set(a) & set(b))
    if not reps:
        return None
    return np.stack([a[r].astype(float) - b[r].astype(float) for r in reps])


def _t_interval(d: np.ndarray):
    n = d.shape[0]
    m = d.mean(axis=0)
    if n < 2:
        return m, np.full_like(m, np.nan), np.full_like(m, np.nan)
    h = stats.t.ppf(0.975, n - 1) * d.std(axis=0, ddof=1) / np.sqrt(n)
    return m, m - h, m + h


def fig_flow_change(sw: Sweep, pal: Palette, regions: List[str]) -> Result:
    scen = sw.variants[1:]
    vals = _paired_end_values(sw, lambda f: f.series("flows").sum(axis=0))
    mats = [(v, _paired(sw, vals, v)) for v in scen]
    mats = [(v, d) for v, d in mats if d is not None]
    if not mats:
        return "no scenario run has a base run with the same seed"
    R = len(regions)
    ncol = min(3, len(mats))
    nrow = -(-len(mats) // ncol)
    lim = max(1.0, max(float(np.abs(d.mean(axis=0)).max()) for _, d in mats))
    fig, axes = new_figure(1.2 + 3.9 * ncol, 0.8 + nrow * (1.4 + 0.4 * R), nrow, ncol)
    rows = []
    im = None
    for a, (v, d) in enumerate(mats):
        ax = axes.flat[a]
        m, lo, hi = _t_interval(d)
        m = m.astype(float)
        np.fill_diagonal(m, np.nan)  # staying is not a move
        im = ax.imshow(m, cmap=DIVERGING, vmin=-lim, vmax=lim, aspect="auto")
        annotate_cells(ax, m, lambda x: f"{x:+.0f}", im, fontsize=7)
        ax.set_xticks(range(R), [tx(r) for r in regions], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(R), [tx(r) for r in regions], fontsize=8)
        ax.set_title(tx(v), fontsize=10)
        ax.set_xlabel("to region")
        ax.set_ylabel("from region")
        i, j = np.indices(m.shape)
        rows.append(pd.DataFrame({"variant": v, "from_region": np.asarray(regions, dtype=object)[i.ravel()],
                                  "to_region": np.asarray(regions, dtype=object)[j.ravel()], "pairs": d.shape[0],
                                  "mean_change": m.ravel(), "lo": lo.ravel(), "hi": hi.ravel()}))
    for b in range(len(mats), nrow * ncol):
        axes.flat[b].axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), label="change in moves over the run (researchers)", shrink=0.7)
    suptitle(fig, f"Change in moves between regions: scenarios against {sw.base}",
             "all tiers, mean paired difference over the run")
    return Spec("flow_change", f"Change in moves between regions: scenarios against {sw.base}",
                "For each scenario, how many more (purple) or fewer (orange) researchers moved from the row's region to "
                "the column's over the run than in the base with the same seed, averaged over the replications.",
                fig, pd.concat(rows, ignore_index=True))


def _heat_change(sw: Sweep, key: str, title: str, caption: str, cols: List[str], vals, unit: str) -> Result:
    scen = sw.variants[1:]
    rows, M, S = [], [], []
    for v in scen:
        d = _paired(sw, vals, v)
        if d is None:
            M.append(np.full(len(cols), np.nan))
            S.append(np.zeros(len(cols), bool))
            continue
        m, lo, hi = _t_interval(d)
        M.append(m)
        S.append(np.isfinite(lo) & ((lo > 0) | (hi < 0)))
        rows.append(pd.DataFrame({"variant": v, "column": cols, "pairs": d.shape[0], "mean_change": m, "lo": lo,
                                  "hi": hi, "excludes_zero": S[-1]}))
    if not rows:
        return "no scenario run has a base run with the same seed"
    M, S = np.array(M), np.array(S)
    if not np.isfinite(M).any():
        return "no value to compare (every cell is undefined)"
    lim = max(1e-9, float(np.nanmax(np.abs(M)))) if np.isfinite(M).any() else 1.0
    fig, axes = new_figure(max(7.5, 2.8 + 0.72 * len(cols)), 1.8 + 0.42 * len(scen))
    ax = axes[0][0]
    im = ax.imshow(M, cmap=DIVERGING, vmin=-lim, vmax=lim, aspect="auto")
    for (i, j), v in np.ndenumerate(M):
        if np.isfinite(v):
            r, g, b, _ = im.cmap(im.norm(v))
            ax.text(j, i, f"{v:+.3g}" + ("*" if S[i, j] else ""), ha="center", va="center", fontsize=7,
                    color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")
    ax.set_xticks(range(len(cols)), [tx(c) for c in cols], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(scen)), [tx(v) for v in scen], fontsize=8)
    fig.colorbar(im, ax=ax, label=unit, shrink=0.8)
    suptitle(fig, title, f"mean paired difference from {sw.base}; * the 95% interval excludes 0")
    data = pd.concat(rows, ignore_index=True)
    return Spec(key, title, caption, fig, data)


def fig_region_change(sw: Sweep, pal: Palette, regions: List[str], tiers: List[str]) -> Result:
    ids = [tiers.index(t) for t in ("top", "elite") if t in tiers]
    vals = _paired_end_values(sw, lambda f: f.last_row("stocks")[:, :, ids].sum(axis=(1, 2)))
    return _heat_change(sw, "region_change", "Winners and losers by region: top-tier researchers at the end",
                        "Change in the number of top-tier researchers (top + elite) working in each region at the end, "
                        "scenario minus base with the same seed, averaged over the replications; orange: the region "
                        "loses, purple: it gains; * marks a change whose 95% interval excludes zero.",
                        regions, vals, "change in top-tier researchers")


def fig_firm_change(sw: Sweep, pal: Palette, firm_names: List[str], max_firms: int = 20) -> Result:
    named = [n for n in firm_names if not GROUP_MEMBER.match(n)]
    if not named:
        return "the scenarios have no named firms"

    def read(f: RunFile) -> np.ndarray:
        # by name: a scenario may add, remove or reorder firms
        elite = f.last_row("firm_elite")
        pos = {n: i for i, n in enumerate(f.firm_names)}
        return np.array([float(elite[pos[n]]) if n in pos else np.nan for n in named])

    vals = _paired_end_values(sw, read)
    diffs = [d for v in sw.variants[1:] for d in [_paired(sw, vals, v)] if d is not None]
    if not diffs:
        return "no scenario run has a base run with the same seed"
    means = np.vstack([d.mean(axis=0) for d in diffs])
    if not np.isfinite(means).any():
        return "the scenarios share no named firm with the base"
    size = np.nan_to_num(np.abs(means), nan=-1.0).max(axis=0)
    order = [k for k in np.argsort(-size, kind="stable")[:max_firms] if size[k] >= 0]
    vals = {v: {r: x[order] for r, x in reps.items()} for v, reps in vals.items()}
    return _heat_change(sw, "firm_change", "Winners and losers by named firm: elite researchers at the end",
                        f"Change in each named firm's elite-tier staff at the end, scenario minus base with the same "
                        f"seed, averaged over the replications (the {len(order)} firms that change most; a blank cell: "
                        f"the scenario has no such firm); * marks a change whose 95% interval excludes zero.",
                        [named[k] for k in order], vals, "change in elite researchers")


# ------------------------------------------------------------------------------------ parameter sweeps
def _xvalues(sw: Sweep, s: pd.DataFrame, p: str, j: int):
    x = s[p]
    return x.astype(float).to_numpy() if sw.numeric[j] else x.astype(str).to_numpy()


def fig_response(sw: Sweep, pal: Palette) -> Result:
    """One parameter (or one numeric and one named): the outcome against it with 95% bands."""
    s = sw.summaries
    if s.empty:
        return "no run finished"
    P = sw.params
    if len(P) == 1:
        j, cat = 0, None
    else:
        j = [k for k in range(2) if sw.numeric[k]][0]
        cat = P[1 - j]
    p = P[j]
    K = len(sw.outcomes)
    ncol = min(K, 3)
    nrow = -(-K // ncol)
    fig, axes = new_figure(4.4 * ncol, 0.9 + 3.2 * nrow, nrow, ncol)
    groups = []
    for v in sw.variants:
        if cat is None:
            groups.append((v, None))
        else:
            for c in dict.fromkeys(s[cat].astype(str)):
                groups.append((v, c))
    rows = []
    for k, o in enumerate(sw.outcomes):
        ax = axes.flat[k]
        for g, (v, c) in enumerate(groups):
            sub = s[(s["variant"] == v) & (s["outcome"] == o)]
            if c is not None:
                sub = sub[sub[cat].astype(str) == c]
            sub = sub.sort_values(p, key=lambda col: col.astype(float) if sw.numeric[j] else col.astype(str))
            x = _xvalues(sw, sub, p, j)
            m, lo, hi = (sw.shown(o, sub[col]) for col in ("mean", "lo", "hi"))
            colour = BASE_COLOUR if len(groups) == 1 else pal.series(g)
            label = " · ".join(tx(z) for z in (v if len(sw.variants) > 1 else None, c) if z is not None) or None
            if sw.numeric[j]:
                ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
                ax.plot(x, m, "o-", color=colour, lw=1.8, ms=4, label=label)
            else:
                ax.errorbar(np.arange(len(x)) + 0.08 * g, m, yerr=[m - lo, hi - m], fmt="o", color=colour, label=label)
                ax.set_xticks(range(len(x)), [tx(z) for z in x])
            for xi, mi, li, hi_ in zip(x, m, lo, hi):
                rows.append({"outcome": o, "variant": v, **({cat: c} if cat else {}), p: xi, "mean": mi, "lo": li,
                             "hi": hi_})
        if sw.numeric[j] and sw.log_scale(j):
            ax.set_xscale("log")
        ax.set_xlabel(tx(p))
        ax.set_ylabel(tx(sw.labels[o]))
        ax.set_title(tx(sw.labels[o]), fontsize=10)
        grid(ax)
        if any(lbl for lbl in ax.get_legend_handles_labels()[1]):
            ax.legend(fontsize=7, title=tx(cat) if cat else None, title_fontsize=7)
    for b in range(K, axes.size):
        axes.flat[b].axis("off")
    reps = sw.e.attrs.get("replications")
    suptitle(fig, f"Response of the outcomes to {p}", f"mean over {reps} replications with its 95% interval")
    return Spec("response", f"Response of the outcomes to {p}",
                f"Each outcome's mean over the replications at each value of {p} (line), with the 95% t interval of "
                f"the mean (band)" + (f"; one line per value of {cat}" if cat else "") + ".",
                fig, pd.DataFrame(rows))


def fig_heatmap(sw: Sweep, pal: Palette) -> Result:
    """Two parameters on a grid: the outcome's mean at each combination."""
    s = sw.summaries
    s = s[s["variant"] == sw.base] if len(s) else s
    if s.empty:
        return "no run finished"
    p0, p1 = sw.params[:2]
    K = len(sw.outcomes)
    ncol = min(K, 3)
    nrow = -(-K // ncol)
    x0 = list(dict.fromkeys(s[p0].tolist()))
    x1 = list(dict.fromkeys(s[p1].tolist()))
    if len(x0) * len(x1) != len(s[s["outcome"] == sw.outcomes[0]]):
        return "the two parameters do not form a grid (use a grid design for a heatmap)"
    fig, axes = new_figure(1.5 + (1.6 + 0.55 * len(x1)) * ncol, 1.0 + (1.2 + 0.42 * len(x0)) * nrow, nrow, ncol)
    rows = []
    for k, o in enumerate(sw.outcomes):
        ax = axes.flat[k]
        sub = s[s["outcome"] == o]
        M = np.full((len(x0), len(x1)), np.nan)
        for _, r in sub.iterrows():
            M[x0.index(r[p0]), x1.index(r[p1])] = float(sw.shown(o, r["mean"]))
            rows.append({"outcome": o, p0: r[p0], p1: r[p1], "mean": r["mean"], "lo": r["lo"], "hi": r["hi"],
                         "n": r["n"]})
        im = ax.imshow(M, cmap=SEQUENTIAL, aspect="auto", origin="lower")
        annotate_cells(ax, M, lambda v: f"{v:.3g}", im, fontsize=7)
        ax.set_xticks(range(len(x1)), [tx(_fmt_value(v)) for v in x1], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(x0)), [tx(_fmt_value(v)) for v in x0], fontsize=8)
        ax.set_xlabel(tx(p1))
        ax.set_ylabel(tx(p0))
        ax.set_title(tx(sw.labels[o]), fontsize=10)
        fig.colorbar(im, ax=ax, label=tx(sw.labels[o]), shrink=0.8)
    for b in range(K, axes.size):
        axes.flat[b].axis("off")
    suptitle(fig, f"Outcomes over {p0} and {p1}", f"mean over {sw.e.attrs.get('replications')} replications")
    return Spec("heatmap", f"Outcomes over {p0} and {p1}",
                f"Each cell is an outcome's mean over the replications at one combination of {p0} (rows) and {p1} "
                f"(columns); the CSV gives the 95% intervals.",
                fig, pd.DataFrame(rows))


def fig_small_multiples(sw: Sweep, pal: Palette, outcome: str, k: int) -> Result:
    """Three or more parameters: the outcome against each parameter, the others varying."""
    r = sw.e.results
    r = r[(r["variant"] == sw.base) & np.isfinite(r[outcome].astype(float))]
    if r.empty:
        return f"{sw.labels[outcome]}: no run finished"
    # one value per point: the mean over replications
    pts = r.groupby("point", observed=True).agg({outcome: "mean", **{p: "first" for p in sw.params}}).reset_index()
    P = len(sw.params)
    ncol = min(P, 4)
    nrow = -(-P // ncol)
    fig, axes = new_figure(3.3 * ncol, 0.9 + 2.8 * nrow, nrow, ncol, sharey=True)
    y = sw.shown(outcome, pts[outcome])
    rows = []
    for j, p in enumerate(sw.params):
        ax = axes.flat[j]
        if sw.numeric[j]:
            x = pts[p].astype(float).to_numpy()
            ax.plot(x, y, ".", color=GREY, ms=4, alpha=0.6)
            levels = np.unique(x)
            if len(levels) <= 8:
                groups = [(lv, x == lv) for lv in levels]
            else:
                edges = np.quantile(x, np.linspace(0, 1, 7))
                idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 5)
                groups = [(float(np.median(x[idx == b])), idx == b) for b in range(6) if (idx == b).any()]
            gx, gm, glo, ghi = [], [], [], []
            for lv, sel in groups:
                n, m, sd, lo, hi = Sweep._t_stats(y[sel])
                gx.append(lv), gm.append(m), glo.append(lo), ghi.append(hi)
                rows.append({"parameter": p, "value": lv, "points": int(sel.sum()), "mean": m, "lo": lo, "hi": hi})
            ax.fill_between(gx, glo, ghi, color=BASE_COLOUR, alpha=0.2, lw=0)
            ax.plot(gx, gm, "o-", color=BASE_COLOUR, lw=1.8, ms=4)
            if sw.log_scale(j):
                ax.set_xscale("log")
        else:
            cats = list(dict.fromkeys(pts[p].astype(str)))
            for c_i, c in enumerate(cats):
                sel = (pts[p].astype(str) == c).to_numpy()
                n, m, sd, lo, hi = Sweep._t_stats(y[sel])
                ax.errorbar([c_i], [m], yerr=[[m - lo], [hi - m]] if np.isfinite(lo) else None, fmt="o",
                            color=BASE_COLOUR)
                rows.append({"parameter": p, "value": c, "points": int(sel.sum()), "mean": m, "lo": lo, "hi": hi})
            ax.set_xticks(range(len(cats)), [tx(c) for c in cats])
        ax.set_xlabel(tx(p), fontsize=8)
        grid(ax)
    for b in range(P, axes.size):
        axes.flat[b].axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(tx(sw.labels[outcome]))
    suptitle(fig, f"{sw.labels[outcome]} against each parameter", f"{len(pts)} design points; the others vary")
    return Spec(f"multiples_{k}", f"{sw.labels[outcome]} against each parameter",
                "One panel per parameter: each grey dot is a design point (its mean over replications), the line the "
                "mean of the points at each level (or in each sixth of the range) with its 95% interval; the other "
                "parameters vary across the points, so a flat line means the outcome does not depend on it on average.",
                fig, pd.DataFrame(rows))


def fig_sobol(sw: Sweep, pal: Palette) -> Result:
    ind = sw.e.indices
    ind = ind[(ind["method"] == "sobol") & (ind["variant"] == sw.base)]
    if ind.empty or not np.isfinite(ind["value"]).any():
        return "the file has no Sobol indices (the sweep did not complete)"
    K, P = len(sw.outcomes), sw.params
    ncol = min(K, 3)
    nrow = -(-K // ncol)
    fig, axes = new_figure(4.6 * ncol, 0.9 + nrow * (0.8 + 0.36 * len(P)), nrow, ncol, sharey=True)
    rows = []
    y = np.arange(len(P))
    for k, o in enumerate(sw.outcomes):
        ax = axes.flat[k]
        for off, (idx, colour, label) in zip((-0.2, 0.2), (("S1", pal.series(0), "first order S1"),
                                                          ("ST", pal.series(1), "total ST"))):
            sub = ind[(ind["outcome"] == o) & (ind["index"] == idx)].set_index("parameter").reindex(P)
            v, lo, hi = (sub[c].to_numpy(float) for c in ("value", "lo", "hi"))
            err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
            ax.barh(y + off, v, 0.38, color=colour, label=label, xerr=np.nan_to_num(err), ecolor="black",
                    error_kw={"lw": 1, "capsize": 2})
            for p, a, b, c in zip(P, v, lo, hi):
                rows.append({"outcome": o, "parameter": p, "index": idx, "value": a, "lo": b, "hi": c,
                             "base_samples": int(sub["n"].iloc[0]) if len(sub) and np.isfinite(sub["n"].iloc[0]) else 0})
        ax.axvline(0, color=GREY, lw=0.8)
        ax.set_title(tx(sw.labels[o]), fontsize=10)
        ax.set_xlabel("share of the outcome's variance")
        grid(ax, "x")
    for b in range(K, axes.size):
        axes.flat[b].axis("off")
    axes.flat[0].set_yticks(y, [tx(p) for p in P], fontsize=8)
    axes.flat[0].invert_yaxis()
    axes.flat[0].legend(fontsize=7)
    n = sw.e.attrs.get("points")
    suptitle(fig, "Which parameters drive the outcomes: Sobol indices", f"{n} design points, 95% bootstrap intervals")
    return Spec("sobol", "Which parameters drive the outcomes: Sobol indices",
                "For each outcome, the share of its variance due to each parameter alone (first order S1) and "
                "including its interactions with the others (total ST), with 95% bootstrap intervals; a parameter "
                "with a total index near zero can be fixed without changing the outcome.",
                fig, pd.DataFrame(rows))


def fig_morris(sw: Sweep, pal: Palette) -> Result:
    ind = sw.e.indices
    ind = ind[(ind["method"] == "morris") & (ind["variant"] == sw.base)]
    if ind.empty or not np.isfinite(ind["value"]).any():
        return "the file has no Morris indices (the sweep did not complete)"
    K, P = len(sw.outcomes), sw.params
    ncol = min(K, 3)
    nrow = -(-K // ncol)
    fig, axes = new_figure(4.8 * ncol, 0.9 + 3.8 * nrow, nrow, ncol)
    rows = []
    for k, o in enumerate(sw.outcomes):
        ax = axes.flat[k]
        sub = ind[ind["outcome"] == o]
        ms = sub[sub["index"] == "mu_star"].set_index("parameter").reindex(P)
        sg = sub[sub["index"] == "sigma"].set_index("parameter").reindex(P)
        mu = sub[sub["index"] == "mu"].set_index("parameter").reindex(P)
        x, lo, hi = [sw.shown(o, ms[c]) for c in ("value", "lo", "hi")]
        s = sw.shown(o, sg["value"])
        for j, p in enumerate(P):
            ax.errorbar([x[j]], [s[j]], xerr=[[max(0, x[j] - lo[j])], [max(0, hi[j] - x[j])]] if np.isfinite(lo[j]) else None,
                        fmt="o", color=pal.series(j), label=tx(p))
            rows.append({"outcome": o, "parameter": p, "mu_star": x[j], "mu_star_lo": lo[j], "mu_star_hi": hi[j],
                         "mu": float(sw.shown(o, mu["value"].iloc[j])), "sigma": s[j]})
        top = max(np.nanmax(x) if np.isfinite(x).any() else 1, np.nanmax(s) if np.isfinite(s).any() else 1)
        ax.plot([0, top], [0, top], ls="--", color=GREY, lw=0.8)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(f"μ*: mean |elementary effect| ({tx(sw.labels[o])})", fontsize=8)
        ax.set_ylabel("σ: sd of the elementary effects", fontsize=8)
        ax.set_title(tx(sw.labels[o]), fontsize=10)
        grid(ax)
    for b in range(K, axes.size):
        axes.flat[b].axis("off")
    axes.flat[0].legend(fontsize=7)
    suptitle(fig, "Which parameters drive the outcomes: Morris screening",
             f"{sw.e.attrs.get('points')} design points; μ* with its 95% bootstrap interval")
    return Spec("morris", "Which parameters drive the outcomes: Morris screening",
                "Each point is a parameter: to the right, it changes the outcome more over its range (μ*); higher up, "
                "its effect depends more on the other parameters or is non-linear (σ). Points above the dashed line "
                "(σ > μ*) act mostly through interactions.",
                fig, pd.DataFrame(rows))

