"""Derived quantities from a loaded run (see run.py). All functions take a Run from load_run."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .run import Run, StepSelector

TOP_TIERS = ("top", "elite")  # the NeurIPS-author slice of MODEL.md §2 (elite is its top 0.1 %)


def _tier_ids(run: Run, tiers: Union[str, Sequence[str]]) -> list:
    if isinstance(tiers, (str, int, np.integer)):
        tiers = [tiers]
    return [run.tier_index(t) for t in tiers]


def top_share_by_origin(run: Run, step: int = -1, tiers: Union[str, Sequence[str]] = TOP_TIERS,
                        location: Optional[Union[str, int]] = None) -> pd.Series:
    """Share of each origin among researchers of `tiers` (default top + elite) at `step` (-1 = last).

    location: restrict to researchers working in that region (default: the whole world).
    Returns a Series indexed by origin name summing to 1 (all NaN if nobody is in those tiers)."""
    row = int(run.rows(step)[0])
    st = run.series["stocks"][row][:, :, _tier_ids(run, tiers)].sum(axis=2)  # [location, origin]
    if location is not None:
        st = st[run.region_index(location)][None, :]
    by_origin = st.sum(axis=0).astype(float)
    total = by_origin.sum()
    share = by_origin / total if total > 0 else np.full_like(by_origin, np.nan)
    return pd.Series(share, index=pd.Index(run.regions, name="origin"), name="share")


def us_cn_output_ratio(run: Run, steps: StepSelector = None, highly_cited: bool = True, by: str = "region",
                       a: str = "US", b: str = "CN") -> float:
    """Ratio of US to CN research output summed over `steps` (None = the whole run).

    highly_cited: use highly cited output (the [A13] target is 34,036 / 29,229); by: 'region' credits the
    region where the work is done, 'origin' the researchers' origin. Returns NaN if CN output is 0."""
    key = ("hc_output_by_" if highly_cited else "output_by_") + by
    x = run.series[key][run.rows(steps)]
    num, den = float(x[:, run.region_index(a)].sum()), float(x[:, run.region_index(b)].sum())
    return num / den if den > 0 else float("nan")


def net_flow(run: Run, a: Union[str, int], b: Union[str, int], steps: StepSelector = None,
             per_step: bool = False, cumulative: bool = False):
    """Net movement of researchers from region a to region b: flows[a→b] − flows[b→a].

    Summed over `steps` (None = all) and returned as an int, or per step as a Series indexed by step
    when per_step=True (cumulative=True gives its running sum)."""
    ia, ib = run.region_index(a), run.region_index(b)
    rows = run.rows(steps)
    fl = run.series["flows"][rows]
    d = fl[:, ia, ib].astype(np.int64) - fl[:, ib, ia].astype(np.int64)
    if not per_step and not cumulative:
        return int(d.sum())
    s = pd.Series(np.cumsum(d) if cumulative else d, index=pd.Index(run.steps[rows], name="step"),
                  name=f"net_{run.regions[ia]}_to_{run.regions[ib]}")
    return s


def tier_stocks(run: Run, tiers: Union[str, Sequence[str]] = TOP_TIERS, by: str = "location") -> pd.DataFrame:
    """Researchers of `tiers` per step (index) and region (columns), by 'location' or 'origin'."""
    st = run.series["stocks"][:, :, :, _tier_ids(run, tiers)].sum(axis=3)  # [step, location, origin]
    arr = st.sum(axis=2) if by == "location" else st.sum(axis=1)
    return pd.DataFrame(arr, index=pd.Index(run.steps, name="step"), columns=pd.Index(run.regions, name=by))


def elite_ranking(run: Run, step: int = -1, n: Optional[int] = 20) -> pd.DataFrame:
    """Firms ranked by elite headcount at `step` (ties by headcount, then firm index)."""
    df = run.firms_at(step)
    df = df.reset_index().sort_values(["elite", "headcount", "firm"], ascending=[False, False, True])
    return (df.head(n) if n else df).reset_index(drop=True)


def stay_curves(run: Run, region: Union[str, int] = "US", mark: Optional[int] = None) -> pd.DataFrame:
    """Stay-rate curves for one region: index years (0..), one column per origin.

    mark=None pools every yearly mark: rate(k) = Σ_m still[m,k] / Σ_m base[m] over the marks m whose
    horizon k lies inside the run; mark=m gives that mark's row of /cohorts/region_stay_rate."""
    r = run.cohorts["region_stay_rate"]  # [mark, years, region, origin]
    base = run.cohorts["region_base"].astype(float)  # [mark, region, origin]
    M, K1 = r.shape[:2]
    ir = run.region_index(region)
    if mark is not None:
        out = r[mark, :, ir, :]
        out = out[: M - mark]
    else:
        rows = []
        for k in range(min(K1, M)):
            ms = np.arange(M - k)
            b = base[ms, ir, :]
            still = np.nan_to_num(r[ms, k, ir, :]) * b
            bs = b.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                rows.append(np.where(bs > 0, still.sum(axis=0) / np.where(bs > 0, bs, 1), np.nan))
        out = np.array(rows).reshape(-1, r.shape[3])
    return pd.DataFrame(out, index=pd.Index(np.arange(len(out)), name="years"),
                        columns=pd.Index(run.regions, name="origin"))


def visa_totals(run: Run, steps: StepSelector = None, destination: str | None = None) -> pd.DataFrame:
    """Visa statistics summed over `steps`: index origin, one column per visa statistic; in one
    destination (the region of the visa), or all destinations together."""
    v = run.series["visa"][run.rows(steps)].sum(axis=0)  # [destination, origin, stat]
    v = v[run.regions.index(destination)] if destination is not None else v.sum(axis=0)
    return pd.DataFrame(v, index=pd.Index(run.regions, name="origin"), columns=run.visa_stats)


def approval_rate(run: Run, steps: StepSelector = None, destination: str | None = None) -> pd.Series:
    """Share of visa decisions by origin that were approvals: approvals / (approvals + denials + lottery losses)."""
    t = visa_totals(run, steps, destination)
    dec = t["approvals"] + t["denials"] + t["lottery_losses"]
    return (t["approvals"] / dec.where(dec > 0)).rename("approval_rate")
