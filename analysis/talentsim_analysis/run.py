"""Reading a talentsim run file (layout: docs/hdf5-layout.md) into numpy arrays and pandas frames.

`load_run(path)` reads everything except the researcher snapshots into memory and closes the
file; tidy DataFrames are built on first use. Snapshots are read on demand by `Run.snapshot`.
"""
from __future__ import annotations

import functools
from typing import Dict, Iterable, List, Optional, Union

import h5py
import numpy as np
import pandas as pd

#: /series datasets with one column per firm, and the short names used by Run.firm_series.
FIRM_SERIES = {
    "headcount": "firm_headcount",
    "elite": "firm_elite",
    "vacancies": "firm_vacancies",
    "wage_bill": "firm_wage_bill",
    "compute_per_researcher": "firm_compute_per_researcher",
    "output": "firm_output",
    "hc_output": "firm_hc_output",
}

StepSelector = Union[None, int, slice, Iterable[int]]


def _strings(ds: h5py.Dataset):
    """A string dataset as str (scalar) or list of str (1-D)."""
    v = ds.asstr()[()]
    if isinstance(v, np.ndarray):
        return [str(x) for x in v.ravel()]
    return str(v)


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return [x.decode() if isinstance(x, bytes) else x for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


class Run:
    """One run file in memory.

    Attributes (filled by `load_run`):
      path          file name
      attrs         root attributes (creator, version, git_commit, seed, status, last_step, ...)
      metadata      /metadata as str or list of str (scenario_yaml, resolved_config, ...)
      regions, tiers, percentiles, visa_stats, market_stats, event_kinds, statuses
                    coordinate names from /dims
      steps, months numpy arrays (one per row of the series; months as YYYYMM)
      series        dict: /series dataset name -> numpy array (first axis = step row)
      firms         DataFrame of /firms, index = firm index (named "firm")
      cohorts       dict: /cohorts dataset name -> numpy array
      poaching_raw  dict: from_firm, to_firm, count arrays
      event_columns dict: /events column -> numpy array; event_level: /events@level
    """

    def __init__(self, path: str):
        self.path = str(path)
        with h5py.File(self.path, "r") as f:
            self.attrs = {k: _attr(v) for k, v in f.attrs.items()}
            self.metadata = {k: _strings(v) for k, v in f["metadata"].items()}
            d = f["dims"]
            self.regions: List[str] = _strings(d["regions"])
            self.tiers: List[str] = _strings(d["tiers"])
            self.percentiles: List[str] = _strings(d["percentiles"])
            self.visa_stats: List[str] = _strings(d["visa_stats"])
            self.market_stats: List[str] = _strings(d["market_stats"])
            self.event_kinds: List[str] = _strings(d["event_kinds"])
            self.statuses: List[str] = _strings(d["statuses"])
            fg = f["firms"]
            self.firms = pd.DataFrame(
                {k: (_strings(fg[k]) if h5py.check_string_dtype(fg[k].dtype) else fg[k][()]) for k in fg}
            )
            self.firms.index.name = "firm"
            cols = ["name", "kind", "hq", "controlled_by", "group", "productivity", "base_pay", "max_package"]
            self.firms = self.firms[[c for c in cols if c in self.firms] + [c for c in self.firms if c not in cols]]
            self.series: Dict[str, np.ndarray] = {k: v[()] for k, v in f["series"].items()}
            self.cohorts: Dict[str, np.ndarray] = {k: v[()] for k, v in f["cohorts"].items()} if "cohorts" in f else {}
            self.poaching_raw: Dict[str, np.ndarray] = (
                {k: v[()] for k, v in f["poaching"].items()} if "poaching" in f else {}
            )
            ev = f["events"]
            self.event_level = _attr(ev.attrs.get("level", ""))
            self.event_columns: Dict[str, np.ndarray] = {k: v[()] for k, v in ev.items()}
            self.snapshot_steps: List[int] = (
                sorted(int(k.split("_")[1]) for k in f["snapshots"]) if "snapshots" in f else []
            )
        self.steps: np.ndarray = self.series["step"]
        self.months: np.ndarray = self.series["month"]

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        return (f"<Run {self.path!r}: {len(self.steps)} steps from {self.attrs.get('start_month')}, "
                f"{len(self.regions)} regions, {len(self.firms)} firms, {len(self.event_columns.get('step', []))} events, "
                f"status={self.attrs.get('status')}>")

    @property
    def n_steps(self) -> int:
        return int(len(self.steps))

    @property
    def firm_names(self) -> List[str]:
        return list(self.firms["name"])

    @functools.cached_property
    def dates(self) -> pd.PeriodIndex:
        """Calendar month of each row as a monthly PeriodIndex."""
        return pd.PeriodIndex(pd.to_datetime(self.months.astype(np.int64).astype(str), format="%Y%m"), freq="M")

    def region_index(self, region: Union[str, int]) -> int:
        if isinstance(region, (int, np.integer)):
            return int(region)
        return self.regions.index(region)

    def tier_index(self, tier: Union[str, int]) -> int:
        if isinstance(tier, (int, np.integer)):
            return int(tier)
        return self.tiers.index(tier)

    def firm_index(self, name: str) -> int:
        hits = np.flatnonzero(self.firms["name"].to_numpy() == name)
        if len(hits) == 0:
            raise KeyError(f"no firm named {name!r}")
        return int(hits[0])

    def rows(self, steps: StepSelector = None) -> np.ndarray:
        """Row indices of the series for a step selector.

        None: every row; int: that step (negative counts from the end, -1 = last);
        slice: steps in the slice (over step numbers); iterable: those steps."""
        n = self.n_steps
        if steps is None:
            return np.arange(n)
        if isinstance(steps, (int, np.integer)):
            s = int(steps)
            if s < 0:
                s += n
            if not 0 <= s < n:
                raise IndexError(f"step {steps} outside 0..{n - 1}")
            return np.array([int(np.searchsorted(self.steps, s))])
        if isinstance(steps, slice):
            return np.arange(n)[steps]
        want = np.asarray(list(steps), dtype=np.int64)
        want = np.where(want < 0, want + n, want)
        if np.any((want < 0) | (want >= n)):
            raise IndexError(f"steps outside 0..{n - 1}")
        return np.searchsorted(self.steps, want)

    # ------------------------------------------------------------------ tidy frames
    def _cat(self, codes, names):
        """Codes -> labels as a Categorical (-1 -> NaN); object array if labels repeat."""
        codes = np.asarray(codes, dtype=np.int64)
        if len(set(names)) == len(names):
            return pd.Categorical.from_codes(codes, categories=names)
        labels = np.asarray(list(names) + [None], dtype=object)
        return labels[np.where(codes < 0, len(names), codes)]

    def _tidy(self, arr: np.ndarray, axes: List[tuple], value: str) -> pd.DataFrame:
        """Long frame of arr[step, ...] with categorical columns named by `axes` (name, labels)."""
        shape = arr.shape
        idx = np.indices(shape).reshape(len(shape), -1)
        out = {"step": self.steps[idx[0]], "month": self.months[idx[0]]}
        for k, (name, labels) in enumerate(axes, start=1):
            out[name] = self._cat(idx[k], labels)
        out[value] = arr.reshape(-1)
        return pd.DataFrame(out)

    @functools.cached_property
    def stocks(self) -> pd.DataFrame:
        """Tidy stocks: step, month, location, origin, tier, count."""
        return self._tidy(self.series["stocks"],
                          [("location", self.regions), ("origin", self.regions), ("tier", self.tiers)], "count")

    @functools.cached_property
    def flows(self) -> pd.DataFrame:
        """Tidy region-to-region flows: step, month, from_region, to_region, count."""
        return self._tidy(self.series["flows"], [("from_region", self.regions), ("to_region", self.regions)], "count")

    @functools.cached_property
    def pay(self) -> pd.DataFrame:
        """Tidy pay percentiles: step, month, tier, region, percentile, usd (NaN where nobody is employed)."""
        return self._tidy(self.series["pay_percentiles"],
                          [("tier", self.tiers), ("region", self.regions), ("percentile", self.percentiles)], "usd")

    @functools.cached_property
    def visa(self) -> pd.DataFrame:
        """Tidy visa statistics: step, month, destination, origin, stat, count."""
        return self._tidy(self.series["visa"],
                          [("destination", self.regions), ("origin", self.regions), ("stat", self.visa_stats)], "count")

    @functools.cached_property
    def market(self) -> pd.DataFrame:
        """Market statistics, one row per step (index 'step'), one column per /dims/market_stats."""
        df = pd.DataFrame(self.series["market"], columns=self.market_stats, index=pd.Index(self.steps, name="step"))
        return df

    @functools.cached_property
    def outputs(self) -> pd.DataFrame:
        """Tidy research output: step, month, by ('region' = where produced, 'origin'), region, papers, hc_papers."""
        parts = []
        for by, tot, hc in (("region", "output_by_region", "hc_output_by_region"),
                            ("origin", "output_by_origin", "hc_output_by_origin")):
            df = self._tidy(self.series[tot], [("region", self.regions)], "papers")
            df["hc_papers"] = self.series[hc].reshape(-1)
            df.insert(2, "by", by)
            parts.append(df)
        return pd.concat(parts, ignore_index=True)

    def output_table(self, by: str = "region", highly_cited: bool = False) -> pd.DataFrame:
        """Wide output table: index step, one column per region (by='region' or 'origin')."""
        key = ("hc_output_by_" if highly_cited else "output_by_") + by
        return pd.DataFrame(self.series[key], columns=self.regions, index=pd.Index(self.steps, name="step"))

    def firm_series(self, name: str) -> pd.DataFrame:
        """Wide per-firm series: index step, one column per firm (column names = firm names).

        name: headcount, elite, vacancies, wage_bill, compute_per_researcher, output, hc_output."""
        key = FIRM_SERIES.get(name, name)
        df = pd.DataFrame(self.series[key], columns=pd.Index(self.firm_names, name="firm"),
                          index=pd.Index(self.steps, name="step"))
        return df

    def firms_at(self, step: int = -1) -> pd.DataFrame:
        """The firm table joined with every firm series at one step (index = firm index)."""
        row = int(self.rows(step)[0])
        df = self.firms.copy()
        for short, key in FIRM_SERIES.items():
            df[short] = self.series[key][row]
        df.attrs["step"] = int(self.steps[row])
        return df

    # ------------------------------------------------------------------ events and poaching
    @functools.cached_property
    def events(self) -> pd.DataFrame:
        """The event log: step, month, researcher, kind (name), kind_code, from_firm, to_firm (indices,
        -1 = none), from_firm_name, to_firm_name, from_region, to_region (names), pay_before, pay_after."""
        c = self.event_columns
        n = len(c.get("step", []))
        names = self.firm_names
        step = c["step"].astype(np.int64)
        month = self.months[np.searchsorted(self.steps, step)] if n else np.zeros(0, np.int64)
        return pd.DataFrame({
            "step": step,
            "month": month,
            "researcher": c["researcher"],
            "kind": self._cat(c["kind"], self.event_kinds),
            "kind_code": c["kind"],
            "from_firm": c["from_firm"],
            "to_firm": c["to_firm"],
            "from_firm_name": self._cat(c["from_firm"], names),  # -1 -> NaN
            "to_firm_name": self._cat(c["to_firm"], names),
            "from_region": self._cat(c["from_region"], self.regions),
            "to_region": self._cat(c["to_region"], self.regions),
            "pay_before": c["pay_before"],
            "pay_after": c["pay_after"],
            # Columns of newer layouts, when present.
            **({"origin": self._cat(c["origin"], self.regions)} if "origin" in c else {}),
            **({"tier": self._cat(c["tier"], self.tiers)} if "tier" in c else {}),
        })

    @functools.cached_property
    def poaching(self) -> pd.DataFrame:
        """Who took whom from whom: from_firm, to_firm (indices), from_name, to_name, count; largest first."""
        p = self.poaching_raw
        if not p:
            return pd.DataFrame(columns=["from_firm", "to_firm", "from_name", "to_name", "count"])
        names = np.asarray(self.firm_names, dtype=object)
        df = pd.DataFrame({
            "from_firm": p["from_firm"],
            "to_firm": p["to_firm"],
            "from_name": names[p["from_firm"]] if len(p["from_firm"]) else np.array([], dtype=object),
            "to_name": names[p["to_firm"]] if len(p["to_firm"]) else np.array([], dtype=object),
            "count": p["count"],
        })
        return df.sort_values(["count", "from_firm", "to_firm"], ascending=[False, True, True], ignore_index=True)

    def poaching_matrix(self, firms: Optional[Iterable[Union[int, str]]] = None) -> pd.DataFrame:
        """Square table of poaching counts, rows = firm that lost, columns = firm that hired."""
        idx = (list(range(len(self.firms))) if firms is None
               else [f if isinstance(f, (int, np.integer)) else self.firm_index(f) for f in firms])
        pos = {f: k for k, f in enumerate(idx)}
        m = np.zeros((len(idx), len(idx)), dtype=np.int64)
        p = self.poaching_raw
        for a, b, n in zip(p.get("from_firm", []), p.get("to_firm", []), p.get("count", [])):
            if a in pos and b in pos:
                m[pos[a], pos[b]] += n
        labels = [self.firm_names[i] for i in idx]
        return pd.DataFrame(m, index=pd.Index(labels, name="from_firm"), columns=pd.Index(labels, name="to_firm"))

    # ------------------------------------------------------------------ cohorts
    @property
    def mark_steps(self) -> np.ndarray:
        return self.cohorts.get("mark_step", np.zeros(0, np.int64))

    @functools.cached_property
    def region_stay_rates(self) -> pd.DataFrame:
        """Tidy stay rates: mark, mark_step, years, region, origin, base, still, stay_rate.

        stay_rate = share of the base (researchers in the region at the mark) still there continuously
        `years` whole years later; rows where that is past the end of the run (NaN) are dropped."""
        r = self.cohorts["region_stay_rate"]  # [mark, years, region, origin]
        base = self.cohorts["region_base"]    # [mark, region, origin]
        M, K1, R, _ = r.shape
        m, k, reg, o = np.indices(r.shape).reshape(4, -1)
        b = base[m, reg, o]
        rate = r.reshape(-1)
        df = pd.DataFrame({
            "mark": m, "mark_step": self.mark_steps[m], "years": k,
            "region": self._cat(reg, self.regions), "origin": self._cat(o, self.regions),
            "base": b, "still": np.rint(np.nan_to_num(rate) * b).astype(np.int64), "stay_rate": rate,
        })
        # Keep the horizons the run reached (NaN there only for an empty base).
        return df[m + k < M].reset_index(drop=True)

    @functools.cached_property
    def firm_retention(self) -> pd.DataFrame:
        """Tidy firm retention: mark, mark_step, years, firm, name, base, retention (firms with base > 0)."""
        r = self.cohorts["firm_retention"]  # [mark, years, firm]
        base = self.cohorts["firm_base"]    # [mark, firm]
        M = r.shape[0]
        m, k, f = np.indices(r.shape).reshape(3, -1)
        b = base[m, f]
        keep = (m + k < M) & (b > 0)
        names = np.asarray(self.firm_names, dtype=object)
        return pd.DataFrame({
            "mark": m[keep], "mark_step": self.mark_steps[m[keep]], "years": k[keep], "firm": f[keep],
            "name": names[f[keep]], "base": b[keep], "retention": r.reshape(-1)[keep],
        }).reset_index(drop=True)

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, step: int) -> pd.DataFrame:
        """Every living researcher at the end of `step` (one of snapshot_steps), with coded columns
        decoded into extra *_name columns (origin, location, tier, status, employer)."""
        name = f"step_{int(step):06d}"
        with h5py.File(self.path, "r") as f:
            if "snapshots" not in f or name not in f["snapshots"]:
                raise KeyError(f"no snapshot at step {step} (have {self.snapshot_steps})")
            g = f["snapshots"][name]
            df = pd.DataFrame({k: g[k][()] for k in g})
        first = ["researcher", "origin", "location", "tier", "status", "employer"]
        df = df[[c for c in first if c in df] + [c for c in df if c not in first]]
        df["origin_name"] = self._cat(df["origin"], self.regions)
        df["location_name"] = self._cat(df["location"], self.regions)
        df["tier_name"] = self._cat(df["tier"], self.tiers)
        df["status_name"] = self._cat(df["status"], self.statuses)
        df["employer_name"] = self._cat(df["employer"], self.firm_names)
        return df


def load_run(path) -> Run:
    """Reads a talentsim run file (see docs/hdf5-layout.md)."""
    return Run(path)
