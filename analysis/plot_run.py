#!/usr/bin/python3
"""Standard figures of one talentsim run.

usage: /usr/bin/python3 analysis/plot_run.py RUN.h5 -o FIGDIR [--region US] [--top 20] [--dpi 120]

Writes into FIGDIR:
  stocks_top_by_region.png   top-tier (top + elite) researchers by region of work over time
  flows_us_cn.png            monthly US→CN and CN→US flows and the cumulative net flow
  pay_top_by_region.png      top-tier pay percentiles (p10–p90 band, p25–p75 band, median) by region
  visa_by_origin.png         visa outcomes over the run by origin, and approval rates
  firms_elite_ranking.png    firms ranked by elite headcount at the last step (vs the first step)
  stay_rates_US.png          stay-rate curves in the region (default US) by origin
"""
from __future__ import annotations

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from talentsim_analysis import (  # noqa: E402
    approval_rate,
    elite_ranking,
    load_run,
    net_flow,
    stay_curves,
    tier_stocks,
    visa_totals,
)

COLORS = {"US": "#1f77b4", "CN": "#d62728", "EU": "#2ca02c", "UK": "#9467bd", "CA": "#ff7f0e", "IN": "#8c564b",
          "ROW": "#7f7f7f"}


def _color(region, k):
    return COLORS.get(region, plt.cm.tab10(k % 10))


def _time_axis(run):
    """Month labels as matplotlib-friendly datetimes."""
    return run.dates.to_timestamp()


def _title(run, text):
    a = run.attrs
    return f"{text}\n{os.path.basename(run.path)} · seed {a.get('seed')} · {a.get('start_month')} + {run.n_steps} months"


def _save(fig, outdir, name, written):
    path = os.path.join(outdir, name)
    fig.savefig(path)
    plt.close(fig)
    written.append(path)


def plot_stocks(run, outdir, written):
    df = tier_stocks(run, by="location")
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    t = _time_axis(run)
    for k, reg in enumerate(run.regions):
        ax.plot(t, df[reg].to_numpy(), label=reg, color=_color(reg, k), lw=2)
    ax.set_ylabel("researchers (top + elite tier)")
    ax.set_xlabel("month")
    ax.set_title(_title(run, "Top-tier researchers by region of work"))
    ax.grid(alpha=0.3)
    ax.legend(ncol=4, fontsize=9)
    _save(fig, outdir, "stocks_top_by_region.png", written)


def plot_flows(run, outdir, written, a="US", b="CN"):
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, layout="constrained")
    t = _time_axis(run)
    ia, ib = run.region_index(a), run.region_index(b)
    fl = run.series["flows"]
    ax1.plot(t, fl[:, ia, ib], label=f"{a} → {b}", color=_color(b, 1), lw=1.8)
    ax1.plot(t, fl[:, ib, ia], label=f"{b} → {a}", color=_color(a, 0), lw=1.8)
    ax1.set_ylabel("researchers per month")
    ax1.set_title(_title(run, f"Flows between {a} and {b} (all tiers)"))
    ax1.grid(alpha=0.3)
    ax1.legend()
    cum = net_flow(run, b, a, cumulative=True)
    ax2.plot(t, cum.to_numpy(), color="black", lw=2)
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_ylabel(f"cumulative net {b} → {a}")
    ax2.set_xlabel("month")
    ax2.grid(alpha=0.3)
    _save(fig, outdir, "flows_us_cn.png", written)


def _usd(v, _pos=None):
    if v >= 1e6:
        return f"${v / 1e6:g}M"
    if v >= 1e3:
        return f"${v / 1e3:g}k"
    return f"${v:g}"


def plot_pay(run, outdir, written, tier="top"):
    R = len(run.regions)
    ncol = min(4, R)
    nrow = int(np.ceil(R / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.0 * nrow + 0.8), sharex=True, sharey=True,
                             layout="constrained", squeeze=False)
    t = _time_axis(run)
    pp = run.series["pay_percentiles"][:, run.tier_index(tier)]  # [step, region, percentile]
    lab = {p: i for i, p in enumerate(run.percentiles)}
    for k, reg in enumerate(run.regions):
        ax = axes.flat[k]
        x = pp[:, k]
        c = _color(reg, k)
        if np.all(np.isnan(x)):
            ax.text(0.5, 0.5, "nobody employed", transform=ax.transAxes, ha="center", va="center", color="grey")
        else:
            ax.fill_between(t, x[:, lab["p10"]], x[:, lab["p90"]], color=c, alpha=0.15, label="p10–p90")
            ax.fill_between(t, x[:, lab["p25"]], x[:, lab["p75"]], color=c, alpha=0.35, label="p25–p75")
            ax.plot(t, x[:, lab["p50"]], color=c, lw=2, label="median")
        ax.set_title(reg)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for k in range(R, nrow * ncol):
        axes.flat[k].axis("off")
        if k - ncol >= 0:  # the panel above has no panel below it: show its dates
            axes.flat[k - ncol].xaxis.set_tick_params(labelbottom=True)
    axes.flat[0].yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_usd))
    for ax in axes[:, 0]:
        ax.set_ylabel("USD per year")
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(_title(run, f"Pay percentiles of the '{tier}' tier among the employed, by region of work"))
    _save(fig, outdir, "pay_top_by_region.png", written)


def plot_visa(run, outdir, written):
    tot = visa_totals(run)
    stats = [s for s in ["applications", "approvals", "denials", "lottery_losses", "expiries", "renewals",
                         "permanent_residency", "forced_departures"] if s in tot.columns]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 1.2]},
                                   layout="constrained")
    x = np.arange(len(run.regions))
    w = 0.8 / max(1, len(stats))
    cmap = plt.cm.tab10
    for k, s in enumerate(stats):
        v = tot[s].to_numpy().astype(float)
        ax1.bar(x + (k - (len(stats) - 1) / 2) * w, np.where(v > 0, v, np.nan), w, label=s.replace("_", " "),
                color=cmap(k))
    ax1.set_xticks(x, run.regions)
    ax1.set_yscale("log")
    ax1.set_ylabel("events over the run (log scale)")
    ax1.set_xlabel("origin")
    ax1.set_title(_title(run, "Visa outcomes by origin (all destinations)"))
    ax1.legend(fontsize=8, ncol=2)
    ax1.grid(alpha=0.3, axis="y", which="both")
    ar = approval_rate(run)
    ax2.barh(x, ar.to_numpy(), color=[_color(r, k) for k, r in enumerate(run.regions)])
    ax2.set_yticks(x, run.regions)
    ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("approvals / decisions")
    ax2.set_title("Approval rate\n(decisions = approvals + denials + lottery losses)", fontsize=10)
    ax2.grid(alpha=0.3, axis="x")
    for k, v in enumerate(ar.to_numpy()):
        if np.isfinite(v):
            ax2.text(min(v + 0.02, 0.9), k, f"{v:.0%}", va="center", fontsize=9)
    _save(fig, outdir, "visa_by_origin.png", written)


def plot_firms(run, outdir, written, n=20):
    top = elite_ranking(run, step=-1, n=n)
    first = run.firms_at(0)["elite"]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(top) + 1.8), layout="constrained")
    y = np.arange(len(top))
    ax.barh(y + 0.2, top["elite"], 0.4, label=f"step {int(run.steps[-1])}", color="#1f77b4")
    ax.barh(y - 0.2, first.loc[top["firm"]].to_numpy(), 0.4, label=f"step {int(run.steps[0])}", color="#aec7e8")
    ax.set_yticks(y, [f"{nm} ({hq})" for nm, hq in zip(top["name"], top["hq"])], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("elite-tier employees")
    ax.set_title(_title(run, f"Top {len(top)} firms by elite headcount"))
    ax.grid(alpha=0.3, axis="x")
    ax.legend()
    _save(fig, outdir, "firms_elite_ranking.png", written)


def plot_stay(run, outdir, written, region="US"):
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    name = f"stay_rates_{region}.png"
    if "region_stay_rate" not in run.cohorts or len(run.mark_steps) == 0:
        ax.text(0.5, 0.5, "no cohort tables in this file", ha="center", va="center", transform=ax.transAxes)
    else:
        cur = stay_curves(run, region)
        base = run.cohorts["region_base"][:, run.region_index(region), :].sum(axis=0)
        for k, o in enumerate(run.regions):
            ax.plot(cur.index, cur[o].to_numpy(), marker="o", lw=2, color=_color(o, k),
                    label=f"{o} origin (n={int(base[k]):,})")
        ax.set_xticks(cur.index)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"years after the yearly mark (pooled over {len(run.mark_steps)} marks; "
                      f"n = researchers in {region} summed over marks)")
        ax.set_ylabel(f"share still in {region} continuously")
        ax.legend(fontsize=9, loc="lower left")
        ax.grid(alpha=0.3)
    ax.set_title(_title(run, f"Stay rates in {region} by origin"))
    _save(fig, outdir, name, written)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Standard figures of one talentsim run file.")
    ap.add_argument("run", help="run file written by `talentsim run`")
    ap.add_argument("-o", "--outdir", required=True, help="directory for the PNG files (created if missing)")
    ap.add_argument("--region", default="US", help="region of the stay-rate figure (default US)")
    ap.add_argument("--top", type=int, default=20, help="firms in the elite ranking (default 20)")
    ap.add_argument("--dpi", type=int, default=120)
    args = ap.parse_args(argv)
    plt.rcParams["savefig.dpi"] = args.dpi
    os.makedirs(args.outdir, exist_ok=True)
    run = load_run(args.run)
    written = []
    plot_stocks(run, args.outdir, written)
    if "US" in run.regions and "CN" in run.regions:
        plot_flows(run, args.outdir, written)
    else:  # other region sets: the first two regions
        plot_flows(run, args.outdir, written, run.regions[0], run.regions[min(1, len(run.regions) - 1)])
    plot_pay(run, args.outdir, written)
    plot_visa(run, args.outdir, written)
    plot_firms(run, args.outdir, written, n=args.top)
    plot_stay(run, args.outdir, written, region=args.region)
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
