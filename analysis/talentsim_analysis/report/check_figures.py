"""Figures of the calibration (targets against simulated values, fitted parameters), the
textbook validation (`talentsim validate --json`: checks and distributions against theory) and
the benchmark (`talentsim_bench --json`: throughput, phases, memory).
"""
from __future__ import annotations

from typing import List, Tuple, Union

import numpy as np
import pandas as pd

from .calibration import Calibration
from .style import GREY, OKABE_ITO, Palette, Spec, grid, new_figure, number, suptitle, tx

Result = Union[Spec, str]


# ------------------------------------------------------------------------------------ calibration
def calibration_headline(c: Calibration) -> List[Tuple[str, str, str]]:
    within = [t for t in c.targets if t.within or (t.within is None and abs(t.deviation) <= 1)]
    rows = [("targets within tolerance", f"{len(within)} of {len(c.targets)}", "|simulated mean − target| ≤ tolerance")]
    if np.isfinite(c.objective_fitted):
        rows.append(("objective J", f"{number(c.objective_fitted, 4)}"
                     + (f" (start {number(c.objective_start, 4)})" if np.isfinite(c.objective_start) else ""),
                     "weighted squared distance to the targets"))
    if c.evaluations is not None:
        rows.append(("evaluations", str(c.evaluations), c.stop or ""))
    return rows


def fig_targets(c: Calibration, pal: Palette) -> Result:
    if not c.targets:
        return "the calibration has no targets"
    n = len(c.targets)
    fig, axes = new_figure(10, 1.6 + 0.5 * n)
    ax = axes[0][0]
    y = np.arange(n)
    dev = np.array([t.deviation for t in c.targets])
    se = np.array([t.se / t.tolerance if t.tolerance else np.nan for t in c.targets])
    ax.axvspan(-1, 1, color=OKABE_ITO["green"], alpha=0.15, lw=0, label="within tolerance")
    ax.axvline(0, color=GREY, lw=1)
    for j, t in enumerate(c.targets):
        ok = t.within if t.within is not None else abs(dev[j]) <= 1
        colour = OKABE_ITO["blue"] if ok else OKABE_ITO["vermillion"]
        if np.isfinite(se[j]):
            ax.errorbar([dev[j]], [j], xerr=[[1.96 * se[j]], [1.96 * se[j]]], fmt="o", color=colour, capsize=3)
        else:
            ax.plot([dev[j]], [j], "o", color=colour)
    ax.set_yticks(y, [tx(f"{t.name}\n(target {number(t.value, 4)}, simulated {number(t.simulated_mean, 4)})")
                      for t in c.targets], fontsize=8)
    ax.invert_yaxis()
    lim = max(2.0, float(np.nanmax(np.abs(dev) + 1.96 * np.nan_to_num(se))) * 1.1) if np.isfinite(dev).any() else 2.0
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("simulated mean − target, in tolerances (±1 = the tolerance)")
    ax.plot([], [], "o", color=OKABE_ITO["blue"], label="target met")
    ax.plot([], [], "o", color=OKABE_ITO["vermillion"], label="target missed")
    ax.legend(fontsize=8, loc="lower right")
    grid(ax, "x")
    suptitle(fig, "Calibration targets against the simulated values", "points: simulated mean; bars: ±1.96 SE")
    data = pd.DataFrame([{"target": t.name, "moment": t.moment, "value": t.value, "tolerance": t.tolerance, "se": t.se,
                          "simulated_mean": t.simulated_mean, "within": t.within, "source": t.source,
                          "deviation_in_tolerances": t.deviation} for t in c.targets])
    return Spec("targets", "Calibration targets against the simulated values",
                "Each target's simulated mean minus its value, measured in the target's tolerance, so every target "
                "shares one scale: inside the green band (±1) the target is met. The bar is ±1.96 standard errors of "
                "the mean over the replications.",
                fig, data)


def fig_parameters(c: Calibration, pal: Palette) -> Result:
    ps = [p for p in c.parameters if np.isfinite(p.fitted)]
    if not ps:
        return "the calibration lists no fitted parameters"
    n = len(ps)
    fig, axes = new_figure(10, 1.5 + 0.5 * n)
    ax = axes[0][0]

    def unit(p, v):
        if not (np.isfinite(p.min) and np.isfinite(p.max)) or p.max == p.min:
            return np.nan
        if p.log and p.min > 0 and v > 0:
            return (np.log(v) - np.log(p.min)) / (np.log(p.max) - np.log(p.min))
        return (v - p.min) / (p.max - p.min)

    rows = []
    for j, p in enumerate(ps):
        u, u0 = unit(p, p.fitted), unit(p, p.start)
        if np.isfinite(p.se) and np.isfinite(u):
            lo, hi = unit(p, p.fitted - 1.96 * p.se), unit(p, p.fitted + 1.96 * p.se)
            ax.plot([lo, hi], [j, j], color=OKABE_ITO["blue"], lw=2)
        ax.plot([u0], [j], "|", color="black", ms=12, mew=2, label="start" if j == 0 else None)
        ax.plot([u], [j], "o", color=OKABE_ITO["blue"], ms=8, label="fitted" if j == 0 else None)
        ax.text(1.02, j, f"{number(p.fitted, 4)}", va="center", fontsize=8, transform=ax.get_yaxis_transform())
        rows.append({"key": p.key, "min": p.min, "max": p.max, "start": p.start, "fitted": p.fitted, "se": p.se,
                     "log": p.log, "position_in_range": u, "in_overlay": p.in_overlay})
    ax.set_yticks(range(n), [tx(p.key + (" (log scale)" if p.log else "")) for p in ps], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("position within the search range (0 = min, 1 = max)")
    ax.legend(fontsize=8, loc="lower left")
    grid(ax, "x")
    suptitle(fig, "Fitted calibration parameters within their ranges")
    se_note = ("; the bar is the fitted value ±1.96 standard errors" if any(np.isfinite(p.se) for p in ps)
               else "; the input gives no standard errors")
    return Spec("parameters", "Fitted calibration parameters within their ranges",
                "Where each free parameter ended (circle, value on the right) within the range it was searched over, "
                "and where it started (tick)" + se_note + ". A value at either end means the range may bind.",
                fig, pd.DataFrame(rows))


def fig_history(c: Calibration, pal: Palette) -> Result:
    h = np.array([x for x in c.history if np.isfinite(x)])
    if len(h) < 2:
        return "the input has no history of evaluations"
    fig, axes = new_figure(9, 3.8)
    ax = axes[0][0]
    k = np.arange(1, len(h) + 1)
    ax.plot(k, h, ".", color=GREY, ms=5, label="each evaluation")
    ax.plot(k, np.minimum.accumulate(h), color=OKABE_ITO["blue"], lw=2, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("objective J (log scale)")
    ax.legend(fontsize=8)
    grid(ax)
    suptitle(fig, "Calibration search: objective by evaluation")
    return Spec("history", "Calibration search: objective by evaluation",
                "The objective (weighted distance to the targets) of each evaluation of the search, and the best one "
                "found so far; a flat best line at the end means the search settled.",
                fig, pd.DataFrame({"evaluation": k, "objective": h, "best_so_far": np.minimum.accumulate(h)}))


# ------------------------------------------------------------------------------------ validation
KIND_NAMES = {"burdett_mortensen": "Burdett–Mortensen", "postel_vinay_robin": "Postel-Vinay–Robin",
              "markov": "two-region Markov chain"}


def validation_headline(v: dict) -> List[Tuple[str, str, str]]:
    checks = v.get("checks") or []
    passed = sum(1 for c in checks if c.get("pass"))
    return [(f"{KIND_NAMES.get(v.get('kind'), v.get('kind'))} checks passed", f"{passed} of {len(checks)}",
             f"{number(v.get('researchers'))} researchers, {v.get('steps')} steps")]


def fig_checks(v: dict, pal: Palette) -> Result:
    checks = v.get("checks") or []
    if not checks:
        return "the validation has no checks"
    n = len(checks)
    fig, axes = new_figure(10, 1.5 + 0.5 * n)
    ax = axes[0][0]
    rows = []
    for j, c in enumerate(checks):
        th, sim, tol = (float(c.get(k)) if c.get(k) is not None else np.nan for k in ("theory", "simulated", "tolerance"))
        dev = (sim - th) / tol if tol else np.nan
        colour = OKABE_ITO["blue"] if c.get("pass") else OKABE_ITO["vermillion"]
        ax.plot([dev], [j], "o", color=colour, ms=8)
        rows.append({"quantity": c.get("quantity"), "theory": th, "simulated": sim, "tolerance": tol,
                     "deviation_in_tolerances": dev, "pass": bool(c.get("pass")), "note": c.get("note", "")})
    ax.axvspan(-1, 1, color=OKABE_ITO["green"], alpha=0.15, lw=0, label="within tolerance (pass)")
    ax.axvline(0, color=GREY, lw=1)
    devs = np.array([r["deviation_in_tolerances"] for r in rows], float)
    lim = max(1.5, float(np.nanmax(np.abs(devs))) * 1.15) if np.isfinite(devs).any() else 1.5
    ax.set_xlim(-lim, lim)
    ax.set_yticks(range(n), [tx(f"{r['quantity']}\n(theory {r['theory']:.4g}, simulated {r['simulated']:.4g})")
                             for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("simulated − theory, in tolerances (±1 = the tolerance)")
    ax.legend(fontsize=8, loc="lower right")
    grid(ax, "x")
    name = KIND_NAMES.get(v.get("kind"), str(v.get("kind")))
    suptitle(fig, f"{name} reduction: simulated against theory")
    return Spec("checks", f"{name} reduction: simulated against theory",
                "Each check's simulated value minus its closed-form value, in units of the check's tolerance (derived "
                "from the sampling error, see the CSV's note): inside the green band the check passes.",
                fig, pd.DataFrame(rows))


def fig_distribution(v: dict, d: dict, pal: Palette, k: int) -> Result:
    x = np.array([np.nan if a is None else a for a in d.get("x", [])], float)
    th = np.array([np.nan if a is None else a for a in d.get("theory", [])], float)
    sim = np.array([np.nan if a is None else a for a in d.get("simulated", [])], float)
    name = d.get("name", "distribution")
    if not len(x) or len(th) != len(x) or len(sim) != len(x):
        return f"{name}: no points, or theory and simulation of different lengths"
    cats = d.get("categories") or []
    fig, axes = new_figure(9, 4.4)
    ax = axes[0][0]
    if cats:
        j = np.arange(len(cats))
        ax.bar(j - 0.2, th, 0.4, color=GREY, label="theory")
        ax.bar(j + 0.2, sim, 0.4, color=[pal.region(c) for c in cats], label="simulated")
        ax.set_xticks(j, [tx(c) for c in cats])
    else:
        ax.step(x, th, where="post", color="black", lw=2, label="theory")
        ax.step(x, sim, where="post", color=OKABE_ITO["vermillion"], lw=1.5, ls="--", label="simulated")
        if np.nanmin(x) > 0 and np.nanmax(x) / np.nanmin(x) > 20:
            ax.set_xscale("log")
    ax.set_xlabel(tx(d.get("x_label", "x")))
    ax.set_ylabel(tx(d.get("y_label", "")))
    ax.legend(fontsize=8)
    grid(ax)
    kind = KIND_NAMES.get(v.get("kind"), str(v.get("kind")))
    ks = float(np.nanmax(np.abs(sim - th))) if len(x) else np.nan
    suptitle(fig, f"{kind}: {name}, simulated against theory", f"largest gap {ks:.3g}")
    data = pd.DataFrame({"x": x, **({"category": cats} if cats else {}), "theory": th, "simulated": sim})
    return Spec(f"distribution_{k}", f"{kind}: {name}, simulated against theory",
                ("The closed form (black) and the simulation (dashed) of " + name + "; the check compares their "
                 f"largest vertical gap ({ks:.3g}) with its tolerance.") if not cats else
                "Each region's share in theory (grey) and in the simulation (colour); the checks compare each pair.",
                fig, data)


# ------------------------------------------------------------------------------------ benchmark
def bench_frame(b: dict) -> pd.DataFrame:
    runs = [r for r in b.get("runs", []) if isinstance(r, dict)]
    return pd.DataFrame(runs)


def bench_headline(b: dict) -> List[Tuple[str, str, str]]:
    df = bench_frame(b)
    ok = df[df["ok"] == True] if "ok" in df else df  # noqa: E712
    m = b.get("machine", {})
    rows = [("benchmark configurations", f"{len(ok)} of {len(df)} ran",
             f"{m.get('cpu_model', '?')}, {m.get('nproc', '?')} CPUs")]
    if len(ok) and "researcher_steps_per_second" in ok:
        best = ok.loc[ok["researcher_steps_per_second"].idxmax()]
        rows.append(("highest throughput", f"{best['researcher_steps_per_second']:.3g} researcher-steps/s",
                     f"{number(best['researchers'])} researchers, {int(best['threads'])} threads"))
    return rows


def fig_throughput(b: dict, pal: Palette) -> Result:
    df = bench_frame(b)
    if df.empty or "researcher_steps_per_second" not in df:
        return "the benchmark file has no runs"
    ok = df[df["ok"] == True]  # noqa: E712
    if ok.empty:
        return "no benchmark configuration ran successfully"
    sizes = sorted(ok["researchers"].unique())
    fig, axes = new_figure(11, 4.4, 1, 2)
    a1, a2 = axes[0]
    rows = []
    for k, n in enumerate(sizes):
        sub = ok[ok["researchers"] == n].sort_values("threads")
        c = pal.series(k)
        a1.plot(sub["threads"], sub["researcher_steps_per_second"], "o-", color=c, label=f"{number(n)} researchers")
        a2.plot(sub["threads"], sub["speedup"], "o-", color=c, label=f"{number(n)} researchers")
        for _, r in sub.iterrows():
            rows.append({"series": "model", "researchers": n, "threads": r["threads"],
                         "researcher_steps_per_second": r["researcher_steps_per_second"], "speedup": r["speedup"]})
    ref = (b.get("reference") or {}).get("results") or []
    if ref:
        rt = [r["threads"] for r in ref]
        rs = [r.get("speedup", np.nan) for r in ref]
        a2.plot(rt, rs, "s--", color="black", label="reference loop (trivially parallel)")
        rows.extend({"series": "reference loop", "researchers": np.nan, "threads": t, "researcher_steps_per_second": np.nan,
                     "speedup": s} for t, s in zip(rt, rs))
    threads = sorted(set(ok["threads"]) | set(r["threads"] for r in ref))
    a2.plot(threads, threads, ":", color=GREY, label="ideal")
    for ax in (a1, a2):
        ax.set_xlabel("threads")
        ax.set_xticks(threads)
        grid(ax)
    a1.set_ylabel("researcher-steps per second")
    a1.set_yscale("log")
    a2.set_ylabel("speed-up over 1 thread")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    a1.set_title("Throughput")
    a2.set_title("Speed-up, next to the reference loop")
    suptitle(fig, "Simulation throughput against threads")
    return Spec("throughput", "Simulation throughput against threads",
                "Left: researcher-steps simulated per second for each population size and thread count. Right: the "
                "speed-up over one thread, next to a trivially parallel reference loop on the same machine (what "
                "the hardware allows) and the ideal line.",
                fig, pd.DataFrame(rows))


def fig_phases(b: dict, pal: Palette) -> Result:
    df = bench_frame(b)
    if df.empty or "phase_seconds_per_step" not in df:
        return "the benchmark file has no time per phase"
    ok = df[(df["ok"] == True) & df["phase_seconds_per_step"].map(lambda x: isinstance(x, dict))]  # noqa: E712
    if ok.empty:
        return "no benchmark configuration ran successfully"
    phases = list(ok["phase_seconds_per_step"].iloc[0].keys())
    labels = [f"{number(r['researchers'])} × {int(r['threads'])} thr" for _, r in ok.iterrows()]
    fig, axes = new_figure(10, 1.6 + 0.42 * len(ok))
    ax = axes[0][0]
    left = np.zeros(len(ok))
    rows = []
    for k, ph in enumerate(phases):
        v = np.array([r["phase_seconds_per_step"].get(ph, 0.0) or 0.0 for _, r in ok.iterrows()]) * 1e3
        ax.barh(range(len(ok)), v, left=left, color=pal.series(k), label=tx(ph))
        left += v
        rows.extend({"researchers": r["researchers"], "threads": r["threads"], "phase": ph, "ms_per_step": x}
                    for (_, r), x in zip(ok.iterrows(), v))
    ax.set_yticks(range(len(ok)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds per step")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), title="phase", title_fontsize=7)
    grid(ax, "x")
    suptitle(fig, "Time per step by phase")
    return Spec("phases", "Time per step by phase",
                "Wall time of one simulated month split by the model's phases, for each configuration (researchers × "
                "threads); the longest bars are where the time goes.",
                fig, pd.DataFrame(rows))


def fig_memory(b: dict, pal: Palette) -> Result:
    df = bench_frame(b)
    need = "bytes_per_researcher_peak"
    if df.empty or need not in df:
        return "the benchmark file has no memory figures"
    ok = df[df["ok"] == True]  # noqa: E712
    if ok.empty:
        return "no benchmark configuration ran successfully"
    fig, axes = new_figure(9, 4.2)
    ax = axes[0][0]
    rows = []
    for k, th in enumerate(sorted(ok["threads"].unique())):
        sub = ok[ok["threads"] == th].sort_values("researchers")
        ax.plot(sub["researchers"], sub[need], "o-", color=pal.series(k), label=f"{int(th)} threads, peak")
        if "bytes_per_researcher_after_run" in sub:
            ax.plot(sub["researchers"], sub["bytes_per_researcher_after_run"], "o:", color=pal.series(k),
                    label=f"{int(th)} threads, after the run")
        for _, r in sub.iterrows():
            rows.append({"researchers": r["researchers"], "threads": th, "bytes_per_researcher_peak": r[need],
                         "bytes_per_researcher_after_run": r.get("bytes_per_researcher_after_run", np.nan),
                         "peak_rss_bytes": r.get("peak_rss", np.nan)})
    ax.set_xscale("log")
    ax.set_xlabel("researchers (log scale)")
    ax.set_ylabel("bytes per researcher")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    grid(ax)
    suptitle(fig, "Memory per researcher")
    return Spec("memory", "Memory per researcher",
                "Resident memory of the process divided by the number of researchers: at its peak (solid) and after "
                "the run (dotted). Fixed costs (firms, the program) weigh more in small populations.",
                fig, pd.DataFrame(rows))
