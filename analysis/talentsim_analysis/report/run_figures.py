"""Figures and headline numbers of one run file (docs/hdf5-layout.md).

Each builder takes a loaded Run and the report's Palette and returns a Spec (figure, the data
behind it, title, caption) or a str: the note saying why the figure cannot be drawn from this
file (an empty run, a series the file does not have, a region the scenario does not define).
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple, Union

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from .style import (GREY, SEQUENTIAL, VISA_COLOURS, Palette, Spec, annotate_cells, grid, month_axis, new_figure,
                    number, suptitle, tx, usd, usd_axis)

TOP = ("top", "elite")
#: Event kinds that move a researcher between regions (the identity of docs/hdf5-layout.md §11).
MOVE_KINDS = ("hire", "move", "relocation", "forced_departure")
GROUP_MEMBER = re.compile(r"^(.*)#(\d+)$")

Result = Union[Spec, str]


# ---------------------------------------------------------------------------------------- helpers
def dates(run):
    return run.dates.to_timestamp()


def has_series(run, name: str) -> bool:
    return name in run.series


def tier_ids(run, names) -> List[int]:
    return [run.tiers.index(t) for t in names if t in run.tiers]


def top_ids(run) -> List[int]:
    return tier_ids(run, TOP)


def entity_of(name: str) -> Tuple[str, bool]:
    """(entity, generated): a generated group's members NAME#k belong to the entity NAME."""
    m = GROUP_MEMBER.match(name)
    return (m.group(1), True) if m else (name, False)


def firm_entities(run) -> pd.DataFrame:
    """One row per firm: name, entity (named firm or generated group), generated, hq."""
    names = list(run.firms["name"]) if "name" in run.firms else []
    ent = [entity_of(n) for n in names]
    return pd.DataFrame({
        "name": names,
        "entity": [e for e, _ in ent],
        "generated": [g for _, g in ent],
        "hq": list(run.firms["hq"]) if "hq" in run.firms else [""] * len(names),
    })


def move_events(run) -> Optional[pd.DataFrame]:
    """Region-changing moves of the event log: step, from, to (region codes), tier (code), origin
    (code or -1). None when the log does not hold them by tier (level none, or no tier column)."""
    c = run.event_columns
    if not c or "tier" not in c or "kind" not in c or run.event_level == "none":
        return None
    codes = [run.event_kinds.index(k) for k in MOVE_KINDS if k in run.event_kinds]
    kind = c["kind"]
    sel = np.isin(kind, codes) & (c["from_region"] != c["to_region"])
    return pd.DataFrame({
        "step": c["step"][sel].astype(np.int64),
        "from": c["from_region"][sel].astype(np.int64),
        "to": c["to_region"][sel].astype(np.int64),
        "tier": c["tier"][sel].astype(np.int64),
        "origin": c["origin"][sel].astype(np.int64) if "origin" in c else np.full(int(sel.sum()), -1),
    })


def flows_by_tier(run) -> Tuple[Optional[np.ndarray], str]:
    """Moves between regions over the run by tier: array [tier, from, to], and how they were
    counted. With the full event log every tier comes from it; with level `top` the top and elite
    tiers come from it and the regular tier is the series' total minus them."""
    R, T = len(run.regions), len(run.tiers)
    total = run.series["flows"].sum(axis=0) if run.n_steps else np.zeros((R, R), np.int64)
    ev = move_events(run)
    if ev is None:
        return None, "the event log has no tier column or is off (output.event_log: none)"
    out = np.zeros((T, R, R), np.int64)
    np.add.at(out, (ev["tier"].to_numpy(), ev["from"].to_numpy(), ev["to"].to_numpy()), 1)
    if run.event_level == "all":
        return out, "from the event log"
    if run.event_level == "top" and "regular" in run.tiers:
        reg = run.tiers.index("regular")
        out[reg] = total - np.delete(out, reg, axis=0).sum(axis=0)
        return out, "top and elite from the event log (level top); regular = all moves of the series minus them"
    return None, f"the event log's level '{run.event_level}' does not cover every tier"


def net_top_flow(run, a: str, b: str) -> Tuple[Optional[pd.DataFrame], str]:
    """Top-tier (top + elite) moves a→b and b→a per step; the basis says where they come from."""
    ia, ib = run.regions.index(a), run.regions.index(b)
    ev = move_events(run)
    n = run.n_steps
    if ev is not None and run.event_level in ("all", "top"):
        top = ev[ev["tier"].isin(top_ids(run))]
        ab = np.bincount(top["step"][(top["from"] == ia) & (top["to"] == ib)], minlength=n)[:n]
        ba = np.bincount(top["step"][(top["from"] == ib) & (top["to"] == ia)], minlength=n)[:n]
        basis = "top + elite tiers, from the event log"
    else:
        fl = run.series["flows"]
        ab, ba = fl[:, ia, ib], fl[:, ib, ia]
        basis = "all tiers (the run's event log has no tiers: output.event_log none)"
    df = pd.DataFrame({"step": run.steps, "month": run.months, f"{a}_to_{b}": ab, f"{b}_to_{a}": ba})
    df[f"net_{a}_to_{b}"] = df[f"{a}_to_{b}"] - df[f"{b}_to_{a}"]
    df[f"cumulative_net_{a}_to_{b}"] = df[f"net_{a}_to_{b}"].cumsum()
    return df, basis


def pay_at_end(run, region: str, tier: str, percentile: str = "p50") -> float:
    if not run.n_steps or region not in run.regions or tier not in run.tiers:
        return float("nan")
    pp = run.series["pay_percentiles"][-1]
    return float(pp[run.tiers.index(tier), run.regions.index(region), run.percentiles.index(percentile)])


# ---------------------------------------------------------------------------------------- headline
def headline(run) -> List[Tuple[str, str, str]]:
    """(quantity, value, how it is measured) rows for the summary table."""
    rows: List[Tuple[str, str, str]] = []
    n = run.n_steps
    if n == 0:
        return [("steps run", "0", "the file has no steps: nothing to summarise")]
    st = run.series["stocks"]
    last = st[-1]
    tops = top_ids(run)
    alive = int(last.sum())
    top_total = int(last[:, :, tops].sum())
    rows.append(("months simulated", f"{n} ({run.attrs.get('start_month', '?')} to {_month(run.months[-1])})",
                 "steps in the file"))
    rows.append(("researchers at the end", number(alive), "alive, employed or not"))
    rows.append(("top-tier researchers at the end", number(top_total), "top + elite tiers"))
    for reg in ("US", "CN"):
        if reg in run.regions and top_total:
            share = last[run.regions.index(reg)][:, tops].sum() / top_total
            rows.append((f"{reg} share of the top tier (where they work)", f"{100 * share:.2f}%", "at the end"))
    if "CN" in run.regions and top_total:
        share = last[:, run.regions.index("CN")][:, tops].sum() / top_total
        rows.append(("CN-origin share of the top tier", f"{100 * share:.2f}%", "at the end"))
    if "US" in run.regions and "CN" in run.regions:
        df, basis = net_top_flow(run, "US", "CN")
        rows.append(("net top-tier moves US→CN", f"{int(df['net_US_to_CN'].sum()):+,}",
                     f"over the run; positive: more moved from the US to CN ({basis})"))
        hc = run.series.get("hc_output_by_region")
        if hc is not None:
            den = hc[:, run.regions.index("CN")].sum()
            ratio = hc[:, run.regions.index("US")].sum() / den if den > 0 else float("nan")
            rows.append(("US/CN highly cited output", number(ratio, 4), "summed over the run, by region of work"))
        rows.append(("median top-tier pay in the US", usd(pay_at_end(run, "US", "top")),
                     "tier 'top' (elite apart), employed, at the end"))
    if has_series(run, "unemployed"):
        u = run.series["unemployed"][-1].sum()
        rows.append(("unemployment", f"{100 * u / alive:.2f}%" if alive else "n/a", "share of researchers without an employer at the end"))
    ranked = elite_ranking(run)
    if isinstance(ranked, pd.DataFrame) and len(ranked) and ranked["elite_end"].iloc[0] > 0:
        r0 = ranked.iloc[0]
        rows.append(("most elite researchers", f"{r0['entity']} ({int(r0['elite_end'])})", "named firm or generated group, at the end"))
    return rows


def _month(yyyymm) -> str:
    s = str(int(yyyymm))
    return f"{s[:4]}-{s[4:]}"


# ---------------------------------------------------------------------------------------- figures
def fig_stocks(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    if not top_ids(run) or "elite" not in run.tiers:
        return "the file has no top and elite tiers"
    st = run.series["stocks"]
    if st[:, :, :, top_ids(run)].sum() == 0:
        return "nobody is in the top tier at any step"
    t = dates(run)
    groups = [("top tier (top + elite)", top_ids(run)), ("elite tier", [run.tiers.index("elite")])]
    fig, axes = new_figure(12, 4.6, 1, 2)
    rows = []
    for ax, (label, ids) in zip(axes[0], groups):
        by_loc = st[:, :, :, ids].sum(axis=(2, 3))  # [step, location]
        for k, reg in enumerate(run.regions):
            ax.plot(t, by_loc[:, k], color=pal.region(reg), lw=2, label=tx(reg))
            rows.append(pd.DataFrame({"step": run.steps, "month": run.months, "tier_group": label, "region": reg,
                                      "researchers": by_loc[:, k]}))
        ax.set_title(tx(label.capitalize()))
        ax.set_ylabel("researchers working in the region")
        month_axis(ax, t)
        grid(ax)
    axes[0][1].legend(title="region of work", fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    suptitle(fig, "Top-tier and elite researchers by region of work")
    return Spec("stocks", "Top-tier and elite researchers by region of work",
                "Researchers of the top tier (left) and of the elite tier alone (right) working in each region at "
                "the end of each month. A rising line is a region gaining talent, from abroad or its own pipeline.",
                fig, pd.concat(rows, ignore_index=True))


def fig_origin_location(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    tops = top_ids(run)
    m = run.series["stocks"][-1][:, :, tops].sum(axis=2).T.astype(float)  # [origin, location]
    total = m.sum(axis=1, keepdims=True)
    if total.sum() == 0:
        return "nobody is in the top tier at the end"
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, m / total, np.nan)
    R = len(run.regions)
    fig, axes = new_figure(2.2 + 0.75 * R, 1.8 + 0.6 * R)
    ax = axes[0][0]
    im = ax.imshow(100 * share, cmap=SEQUENTIAL, vmin=0, vmax=100, aspect="auto")
    annotate_cells(ax, 100 * share, lambda v: f"{v:.0f}%", im)
    ax.set_xticks(range(R), [tx(r) for r in run.regions])
    ax.set_yticks(range(R), [f"{tx(r)} (n={int(total[k, 0]):,})" for k, r in enumerate(run.regions)])
    ax.set_xlabel("region of work")
    ax.set_ylabel("region of origin (top-tier researchers)")
    fig.colorbar(im, ax=ax, label="% of the origin's top tier")
    suptitle(fig, "Where each origin's top tier works", f"at the end ({_month(run.months[-1])})")
    o, l = np.indices(m.shape)
    data = pd.DataFrame({"origin": np.asarray(run.regions, dtype=object)[o.ravel()],
                         "location": np.asarray(run.regions, dtype=object)[l.ravel()],
                         "researchers": m.ravel().astype(np.int64), "share_of_origin": share.ravel()})
    return Spec("origin_location", "Where each origin's top tier works",
                "Each row is one region of origin; the cells split its top-tier researchers (top + elite) by the "
                "region where they work at the end, so each row adds up to 100%. The diagonal is those working at home.",
                fig, data)


def fig_flows(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    R = len(run.regions)
    if R < 2:
        return "the scenario has one region: there are no moves between regions"
    if run.series["flows"].sum() == 0:
        return "nobody moved between regions in this run"
    by_tier, basis = flows_by_tier(run)
    if by_tier is None:
        panels = [("all tiers", run.series["flows"].sum(axis=0))]
        note = f"Moves by tier are not available ({basis}): all tiers together."
    else:
        panels = [(t, by_tier[k]) for k, t in enumerate(run.tiers)]
        note = f"Counted {basis}."
    fig, axes = new_figure(1.5 + 3.6 * len(panels), 1.6 + 0.42 * R, 1, len(panels))
    rows = []
    for ax, (label, mat) in zip(axes[0], panels):
        show = mat.astype(float)
        np.fill_diagonal(show, np.nan)  # staying is not a move
        im = ax.imshow(show, cmap=SEQUENTIAL, aspect="auto")
        annotate_cells(ax, show, lambda v: f"{v:,.0f}", im, fontsize=7)
        ax.set_xticks(range(R), [tx(r) for r in run.regions], rotation=45, ha="right")
        ax.set_yticks(range(R), [tx(r) for r in run.regions])
        ax.set_xlabel("to region")
        ax.set_ylabel("from region")
        ax.set_title(tx(f"{label} tier" if label != "all tiers" else label))
        fig.colorbar(im, ax=ax, label="researchers over the run", shrink=0.8)
        f, t = np.indices(mat.shape)
        rows.append(pd.DataFrame({"tier": label, "from_region": np.asarray(run.regions, dtype=object)[f.ravel()],
                                  "to_region": np.asarray(run.regions, dtype=object)[t.ravel()],
                                  "moves": mat.ravel().astype(np.int64)}))
    suptitle(fig, "Moves between regions by tier", f"over the whole run ({run.n_steps} months)")
    return Spec("flows", "Moves between regions by tier",
                "Researchers who moved from the row's region to the column's over the run (hires, job changes, "
                "relocations and forced departures across borders). " + note,
                fig, pd.concat(rows, ignore_index=True))


def fig_net_us_cn(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    if "US" not in run.regions or "CN" not in run.regions:
        return "the scenario has no regions US and CN"
    df, basis = net_top_flow(run, "US", "CN")
    t = dates(run)
    fig, axes = new_figure(10, 6.4, 2, 1, sharex=True)
    ax1, ax2 = axes[0][0], axes[1][0]
    ax1.plot(t, df["US_to_CN"], color=pal.region("CN"), lw=1.8, label="US → CN (arrive in CN)")
    ax1.plot(t, df["CN_to_US"], color=pal.region("US"), lw=1.8, label="CN → US (arrive in the US)")
    ax1.set_ylabel("researchers per month")
    ax1.set_title("Moves each month, each direction")
    ax1.legend(fontsize=8)
    grid(ax1)
    cum = df["cumulative_net_US_to_CN"].to_numpy()
    ax2.plot(t, cum, color="black", lw=2)
    ax2.fill_between(t, 0, cum, where=cum >= 0, color=pal.region("CN"), alpha=0.25, interpolate=True,
                     label="net gain for CN")
    ax2.fill_between(t, 0, cum, where=cum < 0, color=pal.region("US"), alpha=0.25, interpolate=True,
                     label="net gain for the US")
    ax2.axhline(0, color=GREY, lw=0.8)
    ax2.set_ylabel("net moves US → CN, cumulative\n(US→CN minus CN→US)")
    ax2.set_title("Net moves from the US to CN since the start")
    ax2.legend(fontsize=8, loc="best")
    month_axis(ax2, t)
    grid(ax2)
    suptitle(fig, "Net top-tier moves between the US and CN", basis)
    total = int(cum[-1])
    direction = "from the US to CN" if total > 0 else "from CN to the US" if total < 0 else "in neither direction"
    return Spec("net_us_cn", "Net top-tier moves between the US and CN",
                f"Moves of top-tier researchers each month in each direction (top) and, below, moves from the US to "
                f"CN minus moves from CN to the US added up since the start: above zero CN has gained, below zero "
                f"the US has. Over the run {abs(total):,} more moved {direction} ({basis}).",
                fig, df)


def fig_pay(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    pp = run.series["pay_percentiles"][-1]  # [tier, region, percentile]
    need = ["p10", "p25", "p50", "p75", "p90"]
    if any(p not in run.percentiles for p in need):
        return "the file's pay percentiles are not p10, p25, p50, p75, p90"
    ix = [run.percentiles.index(p) for p in need]
    if np.all(np.isnan(pp)):
        return "nobody is employed at the end"
    T, R = len(run.tiers), len(run.regions)
    fig, axes = new_figure(4.0 * T, 1.6 + 0.38 * R, 1, T, sharey=True)
    rows = []
    for k, tier in enumerate(run.tiers):
        ax = axes[0][k]
        for j, reg in enumerate(run.regions):
            v = pp[k, j, ix]
            rows.append({"tier": tier, "region": reg, **{p: float(x) for p, x in zip(need, v)}})
            if np.all(np.isnan(v)):
                ax.text(1, j, " nobody employed", va="center", fontsize=7, color=GREY,
                        transform=ax.get_yaxis_transform())
                continue
            c = pal.region(reg)
            ax.plot([v[0], v[4]], [j, j], color=c, lw=1.5, solid_capstyle="butt")
            ax.plot([v[1], v[3]], [j, j], color=c, lw=6, alpha=0.6, solid_capstyle="butt")
            ax.plot([v[2]], [j], "o", color="white", mec=c, mew=2, ms=7)
        ax.set_xscale("log")
        usd_axis(ax.xaxis)
        ax.set_title(tx(f"{tier} tier"))
        ax.set_xlabel("annual pay (USD per year, log scale)")
        ax.set_yticks(range(R), [tx(r) for r in run.regions])
        grid(ax, "x")
    axes[0][0].invert_yaxis()
    axes[0][0].set_ylabel("region of work")
    suptitle(fig, "Pay by tier and region of work", f"employed researchers at the end ({_month(run.months[-1])})")
    return Spec("pay", "Pay by tier and region of work",
                "For each tier and region: the thin line spans the 10th to 90th percentile of annual pay among "
                "employed researchers, the thick bar the 25th to 75th, the circle is the median.",
                fig, pd.DataFrame(rows))


def visa_table(run) -> Optional[pd.DataFrame]:
    v = run.series.get("visa")
    if v is None or v.ndim != 4:
        return None
    tot = v.sum(axis=0)  # [destination, origin, stat]
    R = len(run.regions)
    d, o = np.indices((R, R))
    df = pd.DataFrame({"destination": np.asarray(run.regions, dtype=object)[d.ravel()],
                       "origin": np.asarray(run.regions, dtype=object)[o.ravel()]})
    for k, s in enumerate(run.visa_stats):
        df[s] = tot[:, :, k].ravel()
    dec = df[["approvals", "denials", "lottery_losses"]].sum(axis=1)
    df["decisions"] = dec
    df["approval_rate"] = df["approvals"] / dec.where(dec > 0)
    return df


def fig_visa(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    v = run.series.get("visa")
    if v is None:
        return "the file has no visa series (/series/visa)"
    if v.ndim != 4:
        return ("the file's visa series is by origin only (layout before version 4): outcomes by destination "
                "cannot be shown")
    df = visa_table(run)
    if any(s not in df for s in ("approvals", "denials", "lottery_losses")):
        return "the file's visa statistics lack approvals, denials or lottery losses"
    dests = [d for d in run.regions if df[df.destination == d]["decisions"].sum() > 0]
    if not dests:
        return "no visa petition was decided in this run"
    R = len(run.regions)
    ncol = min(3, len(dests))
    nrow = -(-len(dests) // ncol)
    fig, axes = new_figure(4.4 * ncol, 0.9 + nrow * (0.9 + 0.32 * R), nrow, ncol)
    for a, dest in enumerate(dests):
        ax = axes.flat[a]
        sub = df[df.destination == dest].set_index("origin").loc[run.regions]
        left = np.zeros(R)
        for s in ("approvals", "denials", "lottery_losses"):
            ax.barh(range(R), sub[s].to_numpy(), left=left, color=VISA_COLOURS[s], label=s.replace("_", " "))
            left += sub[s].to_numpy()
        for j, (dec, rate) in enumerate(zip(sub["decisions"], sub["approval_rate"])):
            if dec > 0:
                ax.text(dec, j, f" {rate:.0%} approved", va="center", fontsize=7)
        ax.set_yticks(range(R), [tx(r) for r in run.regions])
        ax.invert_yaxis()
        ax.set_title(tx(f"petitions to {dest}"))
        ax.set_xlabel("decisions over the run (petitions)")
        ax.set_ylabel("origin of the researcher")
        ax.set_xlim(0, max(1.0, float(left.max())) * 1.3)
        grid(ax, "x")
    for b in range(len(dests), nrow * ncol):
        axes.flat[b].axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    suptitle(fig, "Visa decisions by destination and origin", f"over the run ({run.n_steps} months)")
    return Spec("visa", "Visa decisions by destination and origin",
                "One panel per destination (the region of the visa): the decisions on petitions of researchers of "
                "each origin, split into approvals, denials and lottery losses (approved but without a place under "
                "the cap); the label gives the share approved.",
                fig, df)


def elite_ranking(run) -> Union[pd.DataFrame, str]:
    """Named firms and generated groups (members summed) by elite researchers at the end."""
    if run.n_steps == 0:
        return "the run has no steps"
    if "firm_elite" not in run.series or len(run.firms) == 0:
        return "the file has no firms or no elite headcounts (/series/firm_elite)"
    ent = firm_entities(run)
    ent["elite_start"] = run.series["firm_elite"][0]
    ent["elite_end"] = run.series["firm_elite"][-1]
    ent["headcount_end"] = run.series["firm_headcount"][-1] if "firm_headcount" in run.series else np.nan
    g = ent.groupby("entity", sort=False).agg(generated=("generated", "max"), members=("name", "size"),
                                             hq=("hq", "first"), elite_start=("elite_start", "sum"),
                                             elite_end=("elite_end", "sum"), headcount_end=("headcount_end", "sum"))
    g = g.reset_index().sort_values(["elite_end", "headcount_end", "entity"], ascending=[False, False, True])
    g.insert(0, "rank", np.arange(1, len(g) + 1))
    return g.reset_index(drop=True)


def fig_firms(run, pal: Palette, n: int = 20) -> Result:
    ranked = elite_ranking(run)
    if isinstance(ranked, str):
        return ranked
    if ranked["elite_end"].sum() == 0 and ranked["elite_start"].sum() == 0:
        return "no firm employs an elite researcher"
    top = ranked.head(n)
    fig, axes = new_figure(9.5, 1.6 + 0.3 * len(top))
    ax = axes[0][0]
    y = np.arange(len(top))
    ax.barh(y, top["elite_end"], color=[pal.region(h) for h in top["hq"]], label="at the end")
    ax.plot(top["elite_start"], y, "|", color="black", ms=12, mew=2, label="at the start")
    labels = [f"{e} ({m:,} firms)" if gen else e for e, m, gen in zip(top["entity"], top["members"], top["generated"])]
    ax.set_yticks(y, [tx(s) for s in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("elite-tier researchers employed")
    grid(ax, "x")
    handles = [matplotlib_patch(pal.region(h), f"HQ {h}") for h in dict.fromkeys(top["hq"])]
    handles.append(ax.lines[-1])
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    which = (f"the {len(top)} largest of {len(ranked)}" if len(top) < len(ranked)
             else f"all {len(ranked)} named firms and groups")
    suptitle(fig, "Firms ranked by elite researchers", f"{which}; generated groups summed over their members")
    return Spec("firms", "Firms ranked by elite researchers",
                "Elite-tier researchers employed at the end (bars, coloured by the firm's headquarters) and at the "
                "start (black tick). A generated group (NAME#1, NAME#2, ...) counts as one entry, its members summed.",
                fig, ranked)


def matplotlib_patch(colour, label):
    return Patch(color=colour, label=tx(label))


def fig_poaching(run, pal: Palette) -> Result:
    p = run.poaching_raw
    if not p or "count" not in p:
        return "the file has no poaching table (/poaching)"
    ent = firm_entities(run)
    named = [i for i, g in enumerate(ent["generated"]) if not g]
    if len(named) < 2:
        return "fewer than two named firms: no poaching between named firms to show"
    pos = {f: k for k, f in enumerate(named)}
    m = np.zeros((len(named), len(named)), np.int64)
    other = 0
    for a, b, c in zip(p["from_firm"], p["to_firm"], p["count"]):
        if a in pos and b in pos:
            m[pos[a], pos[b]] += c
        else:
            other += c
    if m.sum() == 0:
        return (f"no researcher moved between two named firms ({other:,} job-to-job moves involved generated "
                f"firms)")
    names = [run.firm_names[i] for i in named]
    keep = [k for k in range(len(named)) if m[k].sum() + m[:, k].sum() > 0]
    m = m[np.ix_(keep, keep)]
    names = [names[k] for k in keep]
    n = len(names)
    fig, axes = new_figure(2.8 + 0.55 * n, 2.2 + 0.45 * n)
    ax = axes[0][0]
    show = np.where(m > 0, m, np.nan).astype(float)
    im = ax.imshow(show, cmap=SEQUENTIAL, aspect="auto")
    annotate_cells(ax, show, lambda v: f"{v:,.0f}", im, fontsize=7)
    ax.set_xticks(range(n), [tx(s) for s in names], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), [tx(s) for s in names], fontsize=8)
    ax.set_xlabel("hired by")
    ax.set_ylabel("lost by")
    fig.colorbar(im, ax=ax, label="researchers over the run", shrink=0.8)
    suptitle(fig, "Poaching between named firms", "job-to-job moves over the run")
    f, t = np.indices(m.shape)
    data = pd.DataFrame({"from_firm": np.asarray(names, dtype=object)[f.ravel()],
                         "to_firm": np.asarray(names, dtype=object)[t.ravel()], "moves": m.ravel()})
    return Spec("poaching", "Poaching between named firms",
                f"Researchers who left the row's firm for the column's firm over the run (named firms with any such "
                f"move; empty cells: none). Another {other:,} moves involved generated firms or academia groups.",
                fig, data)


def fig_stay(run, pal: Palette) -> Result:
    if "region_stay_rate" not in run.cohorts or len(run.mark_steps) < 2:
        return ("stay rates need at least two yearly marks (a run of 13 months or more); this run has "
                f"{len(run.mark_steps)}")
    from ..metrics import stay_curves
    R = len(run.regions)
    ncol = min(4, R)
    nrow = -(-R // ncol)
    fig, axes = new_figure(3.3 * ncol, 0.8 + 2.7 * nrow, nrow, ncol, sharey=True)
    rows = []
    for k, reg in enumerate(run.regions):
        ax = axes.flat[k]
        cur = stay_curves(run, reg)
        base = run.cohorts["region_base"][:, k, :].sum(axis=0)
        for o, org in enumerate(run.regions):
            y = cur[org].to_numpy()
            rows.append(pd.DataFrame({"region": reg, "origin": org, "years": cur.index, "stay_rate": y,
                                      "base_researcher_years": int(base[o])}))
            if base[o] == 0 or np.all(np.isnan(y)):
                continue
            ax.plot(cur.index, y, marker="o", ms=3, lw=1.6, color=pal.region(org), label=tx(org))
        ax.set_title(tx(f"staying in {reg}"), fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("years after the mark")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        grid(ax)
    for b in range(R, nrow * ncol):
        axes.flat[b].axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("share still there")
    axes.flat[0].legend(title="origin", fontsize=7, ncol=2)
    suptitle(fig, "Stay rates by region and origin", f"pooled over {len(run.mark_steps)} yearly marks")
    return Spec("stay", "Stay rates by region and origin",
                "Of the researchers of each origin (colour) in a region at a yearly mark, the share still there, "
                "without having left in between, after k whole years; the marks of the run are pooled.",
                fig, pd.concat(rows, ignore_index=True))


def fig_unemployment(run, pal: Palette) -> Result:
    if run.n_steps == 0:
        return "the run has no steps"
    if "unemployed" not in run.series:
        return "the file has no unemployment series (/series/unemployed; added in layout version 4)"
    u = run.series["unemployed"].astype(float)  # [step, location]
    n = run.series["stocks"].sum(axis=(2, 3)).astype(float)
    if n.sum() == 0:
        return "the run has no researchers"
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, u / n, np.nan)
    t = dates(run)
    fig, axes = new_figure(10, 4.6)
    ax = axes[0][0]
    rows = []
    for k, reg in enumerate(run.regions):
        ax.plot(t, 100 * rate[:, k], color=pal.region(reg), lw=1.8, label=tx(reg))
        rows.append(pd.DataFrame({"step": run.steps, "month": run.months, "region": reg,
                                  "unemployed": u[:, k].astype(np.int64), "researchers": n[:, k].astype(np.int64),
                                  "rate": rate[:, k]}))
    ax.set_ylabel("researchers without an employer (% of those living there)")
    month_axis(ax, t)
    ax.legend(title="region", fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    grid(ax)
    suptitle(fig, "Unemployment by region")
    return Spec("unemployment", "Unemployment by region",
                "Share of the researchers living in each region who have no employer at the end of each month "
                "(students and new entrants looking for a first job included).",
                fig, pd.concat(rows, ignore_index=True))


FIGURES = [fig_stocks, fig_origin_location, fig_flows, fig_net_us_cn, fig_pay, fig_visa, fig_firms, fig_poaching,
           fig_stay, fig_unemployment]

#: What each figure is about, for its note when it cannot be drawn.
FIGURE_SUBJECTS = {
    "fig_stocks": "Top-tier and elite researchers by region",
    "fig_origin_location": "Where each origin's top tier works",
    "fig_flows": "Moves between regions by tier",
    "fig_net_us_cn": "Net top-tier moves between the US and CN",
    "fig_pay": "Pay by tier and region",
    "fig_visa": "Visa decisions by destination and origin",
    "fig_firms": "Firms ranked by elite researchers",
    "fig_poaching": "Poaching between named firms",
    "fig_stay": "Stay rates by region and origin",
    "fig_unemployment": "Unemployment by region",
}
