"""The per-run files of a sweep (`keep: series` or `full`), read lazily, and each outcome of the
sweep (docs/experiments.md, "Outcomes") followed over time from a run file's series.

A sweep stores one value per run and outcome; the comparison's figures over time need the path
that leads to it. `outcome_path` rebuilds it from the series where the series hold it exactly
(shares, stocks, flows, output, ratios, visa and market counts, a firm's headcount or elite
staff), and says where they hold it only approximately (a pay percentile of several tiers: the
series have percentiles per tier) or not at all.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np

from ..run import _attr, _strings
from .run_figures import GROUP_MEMBER, MOVE_KINDS

PERCENTILE_NAMES = {10: "p10", 25: "p25", 50: "p50", 75: "p75", 90: "p90"}
LEVEL_MARKET = ("employed", "unemployed")


class RunFile:
    """One run file, its datasets read on first use (only what a figure needs)."""

    def __init__(self, path: str):
        self.path = str(path)
        self._f = h5py.File(self.path, "r")
        f = self._f
        self.attrs = {k: _attr(v) for k, v in f.attrs.items()}
        d = f["dims"]
        self.regions: List[str] = _strings(d["regions"])
        self.tiers: List[str] = _strings(d["tiers"])
        self.percentiles: List[str] = _strings(d["percentiles"])
        self.visa_stats: List[str] = _strings(d["visa_stats"])
        self.market_stats: List[str] = _strings(d["market_stats"])
        self.event_kinds: List[str] = _strings(d["event_kinds"])
        self.firm_names: List[str] = _strings(f["firms/name"]) if "firms/name" in f else []
        self.event_level = _attr(f["events"].attrs.get("level", "none")) if "events" in f else "none"
        self._cache: Dict[str, np.ndarray] = {}

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def has(self, name: str) -> bool:
        return f"series/{name}" in self._f

    def series(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._f[f"series/{name}"][()]
        return self._cache[name]

    def last_row(self, name: str) -> np.ndarray:
        ds = self._f[f"series/{name}"]
        return ds[ds.shape[0] - 1] if ds.shape[0] else np.zeros(ds.shape[1:], ds.dtype)

    def events(self, *columns: str) -> Dict[str, np.ndarray]:
        out = {}
        for c in columns:
            key = f"events/{c}"
            if key not in self._cache:
                self._cache[key] = self._f[key][()] if key in self._f else None
            out[c] = self._cache[key]
        return out

    @property
    def n_steps(self) -> int:
        return int(self._f["series/step"].shape[0])


def _names(v) -> List[str]:
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]


def _ids(names: List[str], all_names: List[str]) -> List[int]:
    """Indices of `names` (all when empty); a name the file lacks raises KeyError."""
    if not names:
        return list(range(len(all_names)))
    return [all_names.index(n) for n in names]


def _step(v, n: int) -> int:
    if v is None or v == "end":
        return n - 1
    v = int(v)
    return v + n if v < 0 else v


def _window(spec: dict, n: int) -> Tuple[int, int]:
    w = spec.get("window")
    if w is None or w == "all":
        return 0, n - 1
    return _step(w[0], n), _step(w[1], n)


def _cumulative(per_step: np.ndarray, spec: dict, n: int) -> Tuple[np.ndarray, str]:
    """A count followed over time: its running sum from the start of its window (NaN before)."""
    out = np.full(n, np.nan)
    if "at" in spec and "window" not in spec:
        return per_step.astype(float), "the outcome is the count of one step; the path shows every step's count"
    a, b = _window(spec, n)
    out[a:] = np.cumsum(per_step[a:].astype(float))
    note = "" if b == n - 1 else f"the outcome ends at step {b}; the path goes on to the end"
    return out, note


def _level(values: np.ndarray, spec: dict, n: int) -> Tuple[np.ndarray, str]:
    if "window" in spec:
        return values, "the outcome is a mean over a window; the path shows every step's level"
    at = _step(spec.get("at"), n)
    return values, "" if at == n - 1 else f"the outcome is taken at step {at}; the path shows every step"


def _tiers(spec: dict, rf: RunFile) -> List[int]:
    return _ids(_names(spec.get("tier")), rf.tiers)


def _moves(rf: RunFile, spec: dict, a: List[int], b: List[int]) -> Optional[np.ndarray]:
    """Moves from regions a to regions b per step, with the spec's tier and origin filters."""
    n = rf.n_steps
    tiers, origins = _names(spec.get("tier")), _names(spec.get("origin"))
    if not tiers and not origins:
        fl = rf.series("flows")
        return fl[:, a][:, :, b].sum(axis=(1, 2))
    need = "all" if origins or any(t == "regular" for t in tiers) else "top"
    if rf.event_level not in ("all", need):
        return None
    e = rf.events("step", "kind", "from_region", "to_region", "tier", "origin")
    if any(v is None for v in e.values()):
        return None
    codes = [rf.event_kinds.index(k) for k in MOVE_KINDS if k in rf.event_kinds]
    sel = np.isin(e["kind"], codes) & (e["from_region"] != e["to_region"])
    sel &= np.isin(e["from_region"], a) & np.isin(e["to_region"], b)
    if tiers:
        sel &= np.isin(e["tier"], _ids(tiers, rf.tiers))
    if origins:
        sel &= np.isin(e["origin"], _ids(origins, rf.regions))
    return np.bincount(e["step"][sel].astype(np.int64), minlength=n)[:n]


def outcome_path(spec: dict, rf: RunFile) -> Tuple[Optional[np.ndarray], str, bool]:
    """(values per step or None, a note, exact): the outcome `spec` (its declaration as stored in the
    sweep file) followed over the run file's steps. `exact` is True when the last value is the
    outcome itself (taken at the end, over the whole run)."""
    n = rf.n_steps
    if n == 0:
        return None, "the run has no steps", False
    metric = spec.get("metric")
    try:
        if metric in ("stock", "share"):
            st = rf.series("stocks")  # [step, location, origin, tier]
            loc, org, tr = (_ids(_names(spec.get("location")), rf.regions), _ids(_names(spec.get("origin")), rf.regions),
                            _tiers(spec, rf))
            num = st[:, loc][:, :, org][:, :, :, tr].sum(axis=(1, 2, 3)).astype(float)
            if metric == "stock":
                v, note = _level(num, spec, n)
                return v, note, not note
            # The denominator: `of` (its empty filters: everything), else the same tiers everywhere.
            of = spec.get("of") if isinstance(spec.get("of"), dict) else {"tier": spec.get("tier")}
            oloc = _ids(_names(of.get("location")), rf.regions)
            oorg = _ids(_names(of.get("origin")), rf.regions)
            otr = _ids(_names(of.get("tier")), rf.tiers)
            den = st[:, oloc][:, :, oorg][:, :, :, otr].sum(axis=(1, 2, 3)).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(den > 0, num / den, np.nan)
            v, note = _level(v, spec, n)
            return v, note, not note
        if metric in ("flow", "net_flow"):
            a = _ids(_names(spec.get("from")), rf.regions)
            b = _ids(_names(spec.get("to")), rf.regions)
            ab = _moves(rf, spec, a, b)
            if ab is None:
                return None, f"the run files' event log (level {rf.event_level}) does not hold these moves", False
            per = ab.astype(float)
            if metric == "net_flow":
                per = per - _moves(rf, spec, b, a)
            v, note = _cumulative(per, spec, n)
            return v, note, not note
        if metric in ("output", "output_ratio"):
            by = spec.get("by", "region")
            key = ("hc_output_by_" if spec.get("highly_cited") else "output_by_") + by
            x = rf.series(key)
            if metric == "output":
                v, note = _cumulative(x[:, _ids(_names(spec.get("region")), rf.regions)].sum(axis=1), spec, n)
                return v, note, not note
            num = x[:, _ids(_names(spec.get("numerator")), rf.regions)].sum(axis=1)
            den = x[:, _ids(_names(spec.get("denominator")), rf.regions)].sum(axis=1)
            cn, note1 = _cumulative(num, spec, n)
            cd, _ = _cumulative(den, spec, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(cd > 0, cn / cd, np.nan)
            return v, note1, not note1
        if metric == "visa":
            vs = rf.series("visa")
            if vs.ndim != 4:
                return None, "the run files' visa series has no destination axis", False
            k = rf.visa_stats.index(spec["stat"])
            per = vs[:, _ids(_names(spec.get("location")), rf.regions)][:, :, _ids(_names(spec.get("origin")), rf.regions), k]
            v, note = _cumulative(per.sum(axis=(1, 2)), spec, n)
            return v, note, not note
        if metric == "market":
            k = rf.market_stats.index(spec["stat"])
            col = rf.series("market")[:, k].astype(float)
            v, note = _level(col, spec, n) if spec["stat"] in LEVEL_MARKET else _cumulative(col, spec, n)
            return v, note, not note
        if metric == "firm_count":
            tiers = _names(spec.get("tier"))
            if spec.get("origin") or (tiers and tiers != ["elite"]):
                return None, "the series count a firm's staff in all tiers or the elite tier only, by no origin", False
            name = str(spec.get("firm"))
            members = [i for i, f in enumerate(rf.firm_names)
                       if f == name or (GROUP_MEMBER.match(f) and GROUP_MEMBER.match(f).group(1) == name)]
            if not members:
                return None, f"no firm named {name} in the run files", False
            x = rf.series("firm_elite" if tiers else "firm_headcount")[:, members].sum(axis=1).astype(float)
            v, note = _level(x, spec, n)
            return v, note, not note
        if metric == "pay_percentile":
            q = spec.get("percentile", 50)
            locs, orgs, tiers = _names(spec.get("location")), _names(spec.get("origin")), _names(spec.get("tier"))
            if q not in PERCENTILE_NAMES or len(locs) != 1 or orgs:
                return None, ("the series hold pay percentiles 10, 25, 50, 75, 90 by one region and tier, "
                              "without origin"), False
            pp = rf.series("pay_percentiles")  # [step, tier, region, percentile]
            approx = ""
            if len(tiers) != 1:
                # The series have one percentile per tier; the largest of several tiers stands for them
                # (the top tier for [top, elite]: elite is the top 0.1% of researchers).
                if "top" in tiers:
                    approx = ("the series have percentiles per tier: the path is the 'top' tier's, without the "
                              "elite (the outcome pools the tiers)")
                    tiers = ["top"]
                else:
                    return None, "the series hold pay percentiles of one tier at a time", False
            v = pp[:, rf.tiers.index(tiers[0]), rf.regions.index(locs[0]), rf.percentiles.index(PERCENTILE_NAMES[q])]
            v, note = _level(v.astype(float), spec, n)
            note = "; ".join(x for x in (approx, note) if x)
            return v, note, not note
    except (KeyError, ValueError, IndexError) as e:
        return None, f"cannot follow it in the run files ({e})", False
    return None, f"the metric '{metric}' is not followed over time", False
