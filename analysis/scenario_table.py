#!/usr/bin/python3
"""Scenario table: every scenario of the library against the baseline, with 95% intervals.

Runs scenarios/baseline.yaml and every scenarios/*.yaml (not baseline*.yaml, not the
validation/ and calibration/ subfolders) for R replications, replication r with
`--seed SEED+r` in the baseline and in every scenario (common random numbers: the runs of
one seed share every random draw until a scenario's events change something). For each
scenario and metric it takes the paired differences d_r = scenario_r - baseline_r and
reports their mean with a 95% t interval, mean +- t(0.975, R-1) * sd(d) / sqrt(R).

Metrics (per run):
  us_top_share   US share of top-tier (top + elite) researchers at the last step, by location
  net_us_cn_top  net moves of top-tier researchers US -> CN over the run (moves to CN minus
                 moves to the US): hires, job-to-job moves, relocations and forced departures
                 from the event log (columns origin/tier; the runs log the top tier only);
                 if a file has no tier column, all tiers from /series/flows instead (marked *)
  us_cn_hc_ratio US / CN highly cited output over the whole run, by region of work [A13]
  us_top_pay     median annual pay of employed top-tier researchers working in the US at
                 the last step (snapshot of the last step; without one, the p50 of tier "top")

Usage (from the repository root; at most 2 runs at a time, each on 1 thread):
  /usr/bin/python3 analysis/scenario_table.py                       # full baseline, 60 steps, R = 5
  /usr/bin/python3 analysis/scenario_table.py --researchers 100000 --steps 60 --replications 5
Runs go to --out-dir (default out/scenario_table/NAME/seed_S.h5); the Markdown table goes to
stdout and replaces the marked section of docs/scenarios.md (--doc) and, if it has the same
markers, of README.md (--readme); --no-doc writes neither.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "analysis"))
from talentsim_analysis import TOP_TIERS, load_run, tier_stocks, us_cn_output_ratio  # noqa: E402

BEGIN_MARK = "<!-- BEGIN scenario_table.py output -->"
END_MARK = "<!-- END scenario_table.py output -->"

# Event kinds that move a researcher between regions (they add up to /series/flows).
MOVE_KINDS = ("hire", "move", "relocation", "forced_departure")


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    fmt: str          # format of a level and a difference
    scale: float = 1  # shown value = raw value * scale


METRICS = [
    Metric("us_top_share", "US share of top tier at end (pp)", "{:+.2f}", 100.0),
    Metric("net_us_cn_top", "net top-tier moves US→CN", "{:+.0f}"),
    Metric("us_cn_hc_ratio", "US/CN highly cited output", "{:+.4f}"),
    Metric("us_top_pay", "median top-tier pay in US ($k)", "{:+.1f}", 1e-3),
]


# ------------------------------------------------------------------ runs
@dataclass(frozen=True)
class Job:
    scenario: str  # name without .yaml
    seed: int
    path: Path     # output file


def scenario_names(scenarios_dir: Path) -> list[str]:
    """The library: every top-level YAML except the baselines, sorted by name."""
    return sorted(p.stem for p in scenarios_dir.glob("*.yaml") if not p.name.startswith("baseline"))


def run_overrides(args) -> list[str]:
    """--set overrides shared by every run (the same for the baseline and the scenarios)."""
    sets = ["output.event_log=top", f"output.snapshots=[{args.steps - 1}]"]
    if args.researchers:
        sets.append(f"population.researchers={args.researchers}")
    return sets + list(args.set)


def is_reusable(path: Path, seed: int, steps: int, overrides: list[str]) -> bool:
    """A complete run file made with the same seed, horizon and overrides."""
    if not path.exists():
        return False
    try:
        with h5py.File(path, "r") as f:
            have = [str(x) for x in f["metadata/overrides"].asstr()[()]] if "overrides" in f["metadata"] else []
            return (f.attrs.get("status") == "complete" and int(f.attrs["seed"]) == seed
                    and int(f.attrs["steps_planned"]) == steps and have[:len(overrides)] == overrides)
    except (OSError, KeyError):
        return False


def run_one(job: Job, args, overrides: list[str]) -> float:
    """Runs one scenario and seed; returns wall seconds (0 if an existing file was reused)."""
    if args.reuse and is_reusable(job.path, job.seed, args.steps, overrides):
        return 0.0
    job.path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(args.binary), "run", str(args.scenarios_dir / f"{job.scenario}.yaml"), "-o", str(job.path),
           "--seed", str(job.seed), "--steps", str(args.steps), "--threads", "1", "--quiet", "--force"]
    for s in overrides:
        cmd += ["--set", s]
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)}\nexit {res.returncode}: {res.stderr.strip()}")
    return time.monotonic() - t0


# ------------------------------------------------------------------ metrics of one run
def net_top_moves(run, a: str = "US", b: str = "CN") -> tuple[float, bool]:
    """Net moves a -> b of top-tier researchers; (value, exact). exact=False: all tiers from flows."""
    ev = run.event_columns
    if "tier" in ev and run.event_level in ("top", "all"):
        kinds = np.isin(ev["kind"], [run.event_kinds.index(k) for k in MOVE_KINDS])
        top = np.isin(ev["tier"], [run.tier_index(t) for t in TOP_TIERS])
        ia, ib = run.region_index(a), run.region_index(b)
        sel = kinds & top
        out = np.count_nonzero(sel & (ev["from_region"] == ia) & (ev["to_region"] == ib))
        back = np.count_nonzero(sel & (ev["from_region"] == ib) & (ev["to_region"] == ia))
        return float(out - back), True
    fl = run.series["flows"]
    ia, ib = run.region_index(a), run.region_index(b)
    return float(fl[:, ia, ib].sum() - fl[:, ib, ia].sum()), False


def median_top_pay(run, region: str = "US") -> float:
    """Median pay of employed top + elite researchers working in `region` at the last step."""
    last = int(run.steps[-1])
    if last in run.snapshot_steps:
        s = run.snapshot(last)
        top = s["tier"].isin([run.tier_index(t) for t in TOP_TIERS])
        sel = top & (s["employer"] >= 0) & (s["location"] == run.region_index(region))
        return float(np.median(s.loc[sel, "comp"])) if sel.any() else float("nan")
    pct = run.series["pay_percentiles"][-1]  # [tier, region, percentile]
    return float(pct[run.tier_index("top"), run.region_index(region), run.percentiles.index("p50")])


def run_metrics(path: Path) -> dict:
    run = load_run(path)
    top = tier_stocks(run, TOP_TIERS, by="location").iloc[-1]
    net, exact = net_top_moves(run)
    return {
        "us_top_share": float(top["US"] / top.sum()),
        "net_us_cn_top": net,
        "net_exact": exact,
        "us_cn_hc_ratio": us_cn_output_ratio(run, None, highly_cited=True, by="region"),
        "us_top_pay": median_top_pay(run),
        "git_commit": run.attrs.get("git_commit", "?"),
    }


# ------------------------------------------------------------------ statistics and table
def t_interval(d: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of the paired differences and its t interval (lo, hi); NaN bounds if R < 2."""
    d = np.asarray(d, dtype=float)
    m = float(d.mean())
    if len(d) < 2:
        return m, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return m, m - half, m + half


def cell(metric: Metric, d: np.ndarray) -> str:
    m, lo, hi = t_interval(d * metric.scale)
    f = metric.fmt
    bold = not (math.isnan(lo) or lo <= 0 <= hi)  # interval excludes 0
    text = f"{f.format(m)} [{f.format(lo)}, {f.format(hi)}]"
    return f"**{text}**" if bold else text


def table(results: dict, names: list[str], seeds: list[int]) -> str:
    base = results["baseline"]
    lines = ["| scenario | " + " | ".join(m.title for m in METRICS) + " |",
             "|---|" + "---:|" * len(METRICS)]
    levels = []
    for m in METRICS:
        x = np.array([base[s][m.key] for s in seeds]) * m.scale
        levels.append(m.fmt.format(x.mean()).lstrip("+") + (f" (sd {abs(x.std(ddof=1)):.3g})" if len(x) > 1 else ""))
    lines.append("| baseline (level, mean over seeds) | " + " | ".join(levels) + " |")
    for n in names:
        cells = [cell(m, np.array([results[n][s][m.key] - base[s][m.key] for s in seeds])) for m in METRICS]
        lines.append(f"| `{n}` (difference) | " + " | ".join(cells) + " |")
    exact = all(results[n][s]["net_exact"] for n in ["baseline", *names] for s in seeds)
    notes = ["", "Differences are scenario − baseline, paired by seed; mean [95% t interval]; "
                 "**bold**: the interval excludes 0."]
    if not exact:
        notes.append("* Some files had no event-log tier column: net moves there count all tiers (from /series/flows).")
    return "\n".join(lines + notes)


def write_doc(doc: Path, section: str) -> None:
    """Replaces the marked section of `doc` (appends one if the markers are missing)."""
    block = f"{BEGIN_MARK}\n{section}\n{END_MARK}"
    text = doc.read_text() if doc.exists() else "# Scenarios\n"
    if BEGIN_MARK in text and END_MARK in text:
        head, rest = text.split(BEGIN_MARK, 1)
        tail = rest.split(END_MARK, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    doc.write_text(text)


# ------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--binary", type=Path, default=Path(os.environ.get("TALENTSIM_BINARY", ROOT / "build/talentsim")))
    p.add_argument("--scenarios-dir", type=Path, default=ROOT / "scenarios")
    p.add_argument("--out-dir", type=Path, default=ROOT / "out/scenario_table")
    p.add_argument("--replications", "-R", type=int, default=5)
    p.add_argument("--seed", type=int, default=1, help="replication r uses --seed SEED+r (default 1)")
    p.add_argument("--steps", type=int, default=60, help="horizon in months (default 60 = 5 years)")
    p.add_argument("--researchers", type=int, default=0,
                   help="population.researchers for every run (default: the baseline's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra override for every run, baseline included")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these scenarios (the baseline always runs)")
    p.add_argument("--jobs", type=int, default=2, choices=[1, 2], help="runs at a time (at most 2)")
    p.add_argument("--reuse", action="store_true", help="keep complete runs already in --out-dir made with the same settings")
    p.add_argument("--doc", type=Path, default=ROOT / "docs/scenarios.md")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md",
                   help="also replace its marked section, if it has the markers (default README.md)")
    p.add_argument("--no-doc", action="store_true", help="print the table only")
    args = p.parse_args(argv)
    if args.replications < 1 or args.steps < 1:
        p.error("--replications and --steps must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    names = scenario_names(args.scenarios_dir)
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            sys.exit(f"unknown scenarios: {', '.join(unknown)} (library: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    seeds = [args.seed + r for r in range(args.replications)]
    overrides = run_overrides(args)
    jobs = [Job(n, s, args.out_dir / n / f"seed_{s}.h5") for n in ["baseline", *names] for s in seeds]

    t0 = time.monotonic()
    reused = 0
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each job is one talentsim process
        futures = {pool.submit(run_one, j, args, overrides): j for j in jobs}
        for k, fut in enumerate(cf.as_completed(futures), 1):
            j = futures[fut]
            secs = fut.result()
            reused += secs == 0
            print(f"[{k}/{len(jobs)}] {j.scenario} seed {j.seed}: " + (f"{secs:.1f} s" if secs else "reused"),
                  file=sys.stderr)
    wall = time.monotonic() - t0
    timing = f"{len(jobs) - reused} runs in {wall / 60:.1f} min with {args.jobs} at a time"
    if reused:
        timing += f" ({reused} more reused from {args.out_dir})"

    results: dict = {n: {} for n in ["baseline", *names]}
    for j in jobs:
        results[j.scenario][j.seed] = run_metrics(j.path)

    commits = sorted({r["git_commit"] for by_seed in results.values() for r in by_seed.values()})
    size = f"population.researchers={args.researchers}" if args.researchers else "the baseline's population"
    command = "/usr/bin/python3 analysis/scenario_table.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    section = "\n".join([
        f"Generated by `{command.strip()}` on {time.strftime('%Y-%m-%d')}: {size}, {args.steps} steps "
        f"({args.steps / 12:g} years from the scenarios' start), {args.replications} replications "
        f"(seeds {seeds[0]}..{seeds[-1]}), overrides for every run: `{' '.join(overrides)}`; "
        f"binary {args.binary.name} at commit {', '.join(commits)}; {timing}.",
        "",
        table(results, names, seeds),
    ])
    print(section)
    if not args.no_doc:
        write_doc(args.doc, section)
        print(f"(written to {args.doc})", file=sys.stderr)
        readme = args.readme.read_text() if args.readme.exists() else ""
        if BEGIN_MARK in readme and END_MARK in readme and args.readme.resolve() != args.doc.resolve():
            write_doc(args.readme, section)
            print(f"(written to {args.readme})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
